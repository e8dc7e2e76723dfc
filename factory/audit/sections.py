"""The audit's four sections, each a pure function of the manifest, the index and the thresholds.

(a) representation: achieved vs target share of every factor level and every balanced cell;
(b) label parity: each emotion's share in every group of every demographic factor;
(c) fidelity parity: per group and per ``*.met.*`` column, how often the output met its target;
(d) downstream parity: a baseline recognizer trained on train, scored per group on test.

Per-group numbers come from fairlearn's MetricFrame through `factory.fairness`; each section
returns its results and its threshold `checks`.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Optional

import numpy as np
import pandas as pd

from factory.dataset import demographic_factors
from factory.errors import FactoryError
from factory.fairness import group_metrics, judged_groups, macro_f1
from factory.recipe import AuditThresholds, shares
from factory.recognizer import train_test


def _num(x) -> Optional[float]:
    """A JSON-able float (None for NaN/inf/None)."""
    if x is None:
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return round(x, 6) if math.isfinite(x) else None


def _shares(manifest: dict[str, Any]) -> dict[str, dict[str, float]]:
    recipe = manifest.get("recipe") or {}
    raw = {"emotion": recipe.get("emotions") or {}, **(recipe.get("population") or {})}
    out = {}
    for factor, levels in raw.items():
        if sum(float(w) for w in levels.values()) > 0:
            share = shares({str(lv): float(w) for lv, w in levels.items()})
            # manifest.json sorts keys; put numeric levels (skin tones) back in numeric order
            order = sorted(share, key=int) if all(lv.isdigit() for lv in share) else list(share)
            out[factor] = {lv: share[lv] for lv in order}
    return out


def _check(section: str, name: str, value, threshold: float, passed: Optional[bool], detail: str,
           judged: bool = True) -> dict[str, Any]:
    return {"section": section, "name": name, "value": _num(value), "threshold": threshold,
            "judged": bool(judged), "passed": None if not judged else bool(passed), "detail": detail}


# ---------------------------------------------------------------- (a) representation

def representation(manifest: dict[str, Any], index: pd.DataFrame, th: AuditThresholds) -> dict[str, Any]:
    """Achieved vs target share per factor level and per balanced cell."""
    n = len(index)
    shares = _shares(manifest)
    recipe = manifest.get("recipe") or {}
    tolerance = max(th.max_representation_gap, 1.0 / n)
    complement = recipe.get("complement") is not None
    # A factor outside `balance` is fixed per person, so the planner can only meet its shares
    # to within one person's samples: that step is the tolerance for it.
    balanced = {"emotion", *(f for combo in recipe.get("balance") or [] for f in combo)}
    person_step = index.groupby("identity").size().max() / n if "identity" in index.columns and n else 0.0
    tolerances = {f: tolerance if f in balanced else max(tolerance, person_step) for f in shares}
    factors, cells, checks = {}, {}, []
    for factor, target in shares.items():
        if factor not in index.columns:
            factors[factor] = {"missing": True, "rows": []}
            checks.append(_check("representation", f"{factor}", None, th.max_representation_gap, False,
                                 f"factor {factor!r} is in the recipe but not in the index"))
            continue
        counts = index[factor].astype(str).value_counts()
        rows = []
        for lv in list(target) + sorted(set(counts.index) - set(target)):
            c = int(counts.get(lv, 0))
            t = target.get(lv, 0.0)
            rows.append({"level": lv, "count": c, "share": _num(c / n), "target": _num(t),
                         "target_count": _num(t * n), "gap": _num(abs(c / n - t))})
        factors[factor] = {"rows": rows, "max_gap": max(r["gap"] for r in rows)}
    for combo in recipe.get("balance") or []:
        name = " x ".join(combo)
        if any(f not in index.columns or f not in shares for f in combo):
            cells[name] = {"missing": True, "rows": []}
            continue
        counts = index[list(combo)].astype(str).value_counts()
        grids = pd.MultiIndex.from_product([list(shares[f]) for f in combo]).tolist()
        rows = []
        for cell in grids:
            t = math.prod(shares[f][lv] for f, lv in zip(combo, cell))
            c = int(counts.get(tuple(cell), 0))
            rows.append({"cell": list(cell), "count": c, "share": _num(c / n), "target": _num(t),
                         "target_count": _num(t * n), "gap": _num(abs(c / n - t))})
        cells[name] = {"rows": rows, "max_gap": max(r["gap"] for r in rows) if rows else 0.0}
    why = ("complement dataset: the targets apply to real + synthetic data together, so the synthetic "
           "part alone is not judged" if complement else "")
    for kind, table in (("level", factors), ("cell", cells)):
        for name, res in table.items():
            if res.get("missing"):
                continue
            worst = max(res["rows"], key=lambda r: r["gap"])
            label = worst.get("level") if kind == "level" else " / ".join(worst["cell"])
            allowed = tolerances.get(name, tolerance)
            checks.append(_check("representation", name, res["max_gap"], allowed,
                                 res["max_gap"] <= allowed + 1e-9,
                                 why or f"worst {kind} {label}: {worst['share']:.3f} vs target {worst['target']:.3f}",
                                 judged=not complement))
    shown = skin_tone_shown(index)
    if shown is not None:
        checks.append(shown)
    return {"samples": n, "tolerance": _num(tolerance), "factors": factors, "cells": cells,
            "judged": not complement, "checks": checks}


SKIN_TONE_SHOWN = "face.appearance.skin_tone"


def skin_tone_shown(index: pd.DataFrame) -> Optional[dict[str, Any]]:
    """How often a face's skin shows the Monk tone its sample is labelled with, within one step
    (the face generator measures it on the image): balance on labels is balance on what the
    images show only where this is high. Reported, not judged (no recipe threshold)."""
    if SKIN_TONE_SHOWN not in index.columns or "skin_tone" not in index.columns:
        return None
    both = index[["skin_tone", SKIN_TONE_SHOWN]].apply(pd.to_numeric, errors="coerce").dropna()
    if both.empty:
        return None
    within = (both["skin_tone"] - both[SKIN_TONE_SHOWN]).abs() <= 1
    by_tone = within.groupby(both["skin_tone"].astype(int)).mean()
    worst = int(by_tone.idxmin())
    return _check("representation", "skin_tone shown by the faces", within.mean(), "–", None,
                  f"share of faces whose skin shows their labelled Monk tone within one step "
                  f"({SKIN_TONE_SHOWN}); lowest at MST {worst}: {by_tone[worst]:.2f}", judged=False)


# ---------------------------------------------------------------- (b) label parity

def label_parity(manifest: dict[str, Any], index: pd.DataFrame, th: AuditThresholds) -> dict[str, Any]:
    """Each emotion's share in every group of every demographic factor (demographic parity)."""
    from fairlearn.metrics import selection_rate

    emotions = [str(e) for e in pd.unique(index["emotion"].astype(str))]
    # A complement fills the real data's gaps, so its own label shares are skewed on purpose:
    # reported, not judged (its parity is a property of real + synthetic together).
    complement = (manifest.get("recipe") or {}).get("complement") is not None
    out, checks = {}, []
    for factor in demographic_factors(manifest, index):
        groups = index[factor].astype(str)
        sizes, judged = judged_groups(groups, th.min_group_size)
        res = {"groups": {lv: int(c) for lv, c in sizes.items()}, "judged_groups": judged, "emotions": {}}
        for emo in emotions:
            y = (index["emotion"].astype(str) == emo).to_numpy().astype(int)
            gm = group_metrics({"share": selection_rate}, y, y, groups, th.min_group_size)
            diff = ratio = None
            if gm.gap("share") is not None and gm.by_group["share"][gm.judged].max() > 0:
                diff, ratio = gm.difference["share"], gm.ratio["share"]
            res["emotions"][emo] = {"shares": {str(k): _num(v) for k, v in gm.by_group["share"].items()},
                                    "overall": _num(gm.overall["share"]), "difference": _num(diff),
                                    "ratio": _num(ratio)}
        ratios = [(e["ratio"], emo) for emo, e in res["emotions"].items() if e["ratio"] is not None]
        diffs = [e["difference"] for e in res["emotions"].values() if e["difference"] is not None]
        res["min_ratio"] = min(ratios)[0] if ratios else None
        res["max_difference"] = max(diffs) if diffs else None
        out[factor] = res
        if len(sizes) < 2:
            detail, ok = "a single level: nothing to compare", False
        elif ratios:
            worst = min(ratios)[1]
            detail = f"worst emotion {worst}: " + ", ".join(
                f"{lv} {res['emotions'][worst]['shares'].get(lv, 0):.2f}" for lv in judged)
            ok = True
        else:
            detail = (f"fewer than 2 groups with at least {th.min_group_size} samples "
                      f"(sizes: {', '.join(f'{k} {v}' for k, v in res['groups'].items())})")
            ok = False
        if complement:
            detail, ok = "complement dataset: skewed on purpose to fill the real data's gaps; " + detail, False
        checks.append(_check("label_parity", factor, res["min_ratio"], th.min_label_parity_ratio,
                             ok and res["min_ratio"] >= th.min_label_parity_ratio, detail, judged=ok))
    return {"factors": out, "checks": checks}


# ---------------------------------------------------------------- (c) fidelity parity

def met_columns(index: pd.DataFrame) -> dict[str, list[str]]:
    """``*.met.*`` columns by modality (the part before the first dot)."""
    out: dict[str, list[str]] = {}
    for col in index.columns:
        if ".met." in col:
            out.setdefault(col.split(".", 1)[0], []).append(col)
    return out


def _met_values(s: pd.Series) -> pd.Series:
    """A met column as floats 1/0, NaN where the sample has no such check."""
    return s.map(lambda v: np.nan if v is None or (isinstance(v, float) and math.isnan(v)) else float(bool(v)))


def fidelity_parity(manifest: dict[str, Any], index: pd.DataFrame, th: AuditThresholds) -> dict[str, Any]:
    """Per group and per met column (and per modality), the rate of outputs that met their target."""
    def rate(y_true, y_pred):
        return float(np.mean(y_pred)) if len(y_pred) else float("nan")

    modalities = met_columns(index)
    factors = demographic_factors(manifest, index)
    out, checks = {}, []
    for modality, cols in modalities.items():
        mod = {"columns": {}, "overall": None}
        stacked = []
        for col in cols:
            vals = _met_values(index[col])
            have = vals.notna().to_numpy()
            entry = {"overall": _num(vals[have].mean()) if have.any() else None, "samples": int(have.sum()),
                     "by_factor": {}}
            stacked.append(vals)
            for factor in factors:
                groups = index[factor].astype(str)[have]
                v = vals[have].to_numpy()
                if not len(v):
                    continue
                gm = group_metrics({"rate": rate}, v, v, groups, th.min_group_size)
                rates = {str(k): _num(x) for k, x in gm.by_group["rate"].items()}
                sizes, judged, gap = gm.sizes, gm.judged, gm.gap("rate")
                entry["by_factor"][factor] = {"rates": rates, "groups": {k: int(c) for k, c in sizes.items()},
                                              "judged_groups": judged, "gap": _num(gap)}
                if len(sizes) < 2:
                    detail = "a single level: nothing to compare"
                elif gap is None:
                    detail = f"fewer than 2 groups with at least {th.min_group_size} samples"
                else:
                    order = sorted(judged, key=lambda lv: rates[lv])
                    detail = f"{order[-1]} {rates[order[-1]]:.2f} vs {order[0]} {rates[order[0]]:.2f}"
                checks.append(_check("fidelity", f"{col} by {factor}", gap, th.max_fidelity_gap,
                                     gap is not None and gap <= th.max_fidelity_gap + 1e-9, detail,
                                     judged=gap is not None))
            mod["columns"][col] = entry
        allv = pd.concat(stacked, axis=1)
        mod["overall"] = _num(np.nanmean(allv.to_numpy())) if allv.notna().any().any() else None
        mod["by_factor"] = {f: {str(k): _num(v) for k, v in
                                allv.groupby(index[f].astype(str)).apply(lambda d: np.nanmean(d.to_numpy())
                                                                         if d.notna().any().any() else np.nan).items()}
                            for f in factors}
        out[modality] = mod
    return {"modalities": out, "checks": checks}


# ---------------------------------------------------------------- (d) downstream parity

def downstream_parity(manifest: dict[str, Any], index: pd.DataFrame, th: AuditThresholds,
                      estimator="logistic") -> dict[str, Any]:
    """Baseline recognizer trained on `train`, scored on `test`; per-group metrics and equalized odds."""
    with warnings.catch_warnings():  # tiny groups make scikit-learn warn about single labels
        warnings.simplefilter("ignore")
        return _downstream(manifest, index, th, estimator)


def _downstream(manifest, index, th, estimator):
    from fairlearn.metrics import count
    from sklearn.metrics import accuracy_score, confusion_matrix

    seed = int((manifest.get("recipe") or {}).get("seed") or 0)
    try:
        model, rows, pred = train_test(index, estimator=estimator, seed=seed)
    except FactoryError as exc:
        reason = str(exc)
        return {"assessed": False, "reason": reason,
                "checks": [_check("downstream", "recognizer", None, th.max_equalized_odds_difference, None,
                                  f"not assessed: {reason}", judged=False)]}
    if rows.empty:
        reason = "the test split is empty"
        return {"assessed": False, "reason": reason,
                "checks": [_check("downstream", "recognizer", None, th.max_equalized_odds_difference, None,
                                  f"not assessed: {reason}", judged=False)]}
    y = rows["emotion"].astype(str).to_numpy()
    pred = pred.astype(str)
    labels = sorted(set(y) | set(pred) | set(model.classes_))
    res = {"assessed": True, "estimator": estimator if isinstance(estimator, str) else type(estimator).__name__,
           "features": model.features, "train_split": "train", "test_split": str(rows["split"].iloc[0]),
           "train_samples": int((index["split"].astype(str) == "train").sum()), "test_samples": int(len(rows)),
           "train_classes": model.classes_, "test_classes": sorted(set(y)),
           "accuracy": _num(accuracy_score(y, pred)), "macro_f1": _num(macro_f1(y, pred)),
           "chance": _num(1.0 / max(len(set(y)), 1)),
           "confusion": {"labels": labels, "matrix": confusion_matrix(y, pred, labels=labels).tolist()},
           "factors": {}}
    unseen = sorted(set(y) - set(model.classes_))
    if unseen:
        res["note"] = f"test emotions absent from train: {', '.join(unseen)}"
    checks = []
    for factor in demographic_factors(manifest, index):
        groups = rows[factor].astype(str).reset_index(drop=True)
        gm = group_metrics({"accuracy": accuracy_score, "macro_f1": macro_f1, "count": count}, y, pred, groups,
                           th.min_group_size)
        sizes, judged = gm.sizes, gm.judged
        entry = {"groups": {str(k): {"accuracy": _num(r["accuracy"]), "macro_f1": _num(r["macro_f1"]),
                                     "count": int(r["count"])} for k, r in gm.by_group.iterrows()},
                 "judged_groups": judged, "accuracy_difference": _num(gm.gap("accuracy")),
                 "equalized_odds_difference": None, "per_class_equalized_odds": {}}
        if len(judged) >= 2:
            entry["per_class_equalized_odds"] = _equalized_odds_per_class(y, pred, groups, judged)
            vals = [v for v in entry["per_class_equalized_odds"].values() if v is not None]
            entry["equalized_odds_difference"] = max(vals) if vals else None
        eod = entry["equalized_odds_difference"]
        if sizes.size < 2:
            detail = "a single level in the test split: nothing to compare"
        elif eod is None:
            detail = (f"fewer than 2 groups with at least {th.min_group_size} test samples "
                      f"(sizes: {', '.join(f'{k} {v}' for k, v in sizes.items())})")
        else:
            worst = max(entry["per_class_equalized_odds"].items(), key=lambda kv: kv[1] or -1)[0]
            detail = f"worst class {worst}; accuracy " + ", ".join(
                f"{g} {entry['groups'][g]['accuracy']:.2f}" for g in judged)
        checks.append(_check("downstream", f"equalized odds by {factor}", eod, th.max_equalized_odds_difference,
                             eod is not None and eod <= th.max_equalized_odds_difference + 1e-9, detail,
                             judged=eod is not None))
        res["factors"][factor] = entry
    res["checks"] = checks
    return res


def _equalized_odds_per_class(y: np.ndarray, pred: np.ndarray, groups: pd.Series, judged: list[str]) -> dict:
    """fairlearn's equalized-odds difference of each class (one vs rest), over the judged groups."""
    from fairlearn.metrics import equalized_odds_difference

    m = groups.isin(judged).to_numpy()
    out = {}
    for cls in sorted(set(y[m])):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                v = equalized_odds_difference((y[m] == cls).astype(int), (pred[m] == cls).astype(int),
                                              sensitive_features=groups[m])
            except (ValueError, ZeroDivisionError):
                v = float("nan")
        out[cls] = _num(v)
    return out
