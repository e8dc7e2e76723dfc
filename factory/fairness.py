"""Metrics per group of a sensitive feature, with fairlearn's `MetricFrame`.

The audit (label, fidelity and downstream parity) and `affect-factory evaluate` both read
their per-group numbers from here. Groups smaller than `min_group_size` are reported but not
judged: the between-group difference and ratio are taken over the judged groups only (the
rates of a group of three samples are mostly sampling noise).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class GroupMetrics:
    """Each metric per group, overall, and between the judged groups."""

    by_group: pd.DataFrame            # one row per group (every group), one column per metric
    overall: pd.Series                # each metric on all samples
    sizes: pd.Series                  # samples per group, largest first
    judged: list[str]                 # groups with at least `min_group_size` samples, sorted
    difference: Optional[pd.Series]   # largest minus smallest value over the judged groups
    ratio: Optional[pd.Series]        # smallest over largest value over the judged groups

    def gap(self, metric: str) -> Optional[float]:
        """The judged groups' difference in `metric`, or None with fewer than two judged groups."""
        return float(self.difference[metric]) if len(self.judged) >= 2 else None


def macro_f1(y_true, y_pred) -> float:
    """Macro-averaged F1 (0 for a class never predicted)."""
    from sklearn.metrics import f1_score

    return f1_score(y_true, y_pred, average="macro", zero_division=0)


def judged_groups(groups: pd.Series, min_group_size: int) -> tuple[pd.Series, list[str]]:
    """Samples per group (largest first) and the groups with at least `min_group_size` of them (sorted)."""
    sizes = groups.astype(str).value_counts()
    return sizes, sorted(str(g) for g, n in sizes.items() if n >= min_group_size)


def group_metrics(metrics: Mapping[str, Callable], y_true, y_pred, groups: pd.Series,
                  min_group_size: int = 1) -> GroupMetrics:
    """`metrics` (name -> fn(y_true, y_pred)) per group of `groups` (one label per sample)."""
    from fairlearn.metrics import MetricFrame

    groups = groups.astype(str).reset_index(drop=True)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    everyone = MetricFrame(metrics=dict(metrics), y_true=y_true, y_pred=y_pred, sensitive_features=groups)
    sizes, judged = judged_groups(groups, min_group_size)
    difference = ratio = None
    if judged:
        keep = groups.isin(judged).to_numpy()
        between = everyone if keep.all() else MetricFrame(
            metrics=dict(metrics), y_true=y_true[keep], y_pred=y_pred[keep], sensitive_features=groups[keep])
        with warnings.catch_warnings():     # a ratio whose largest value is 0 is NaN, not an error
            warnings.simplefilter("ignore")
            difference, ratio = between.difference(), between.ratio()
    return GroupMetrics(everyone.by_group, everyone.overall, sizes, judged, difference, ratio)
