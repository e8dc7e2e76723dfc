"""What synthetic data buys: train a recognizer on real, real + synthetic and synthetic data,
score each on the same real test set.

Inputs are feature tables: an affect-factory dataset folder (its index: the measured
features, labels and demographics), or a CSV/Parquet file the user provides with the same
feature columns. ``PATH:SPLIT`` selects one split of a table that has a `split` column
(splits are by identity in the factory's own datasets).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd

from factory.dataset import open_dataset
from factory.errors import FactoryError
from factory.fairness import group_metrics, macro_f1
from factory.recognizer import Recognizer, feature_columns, measured_columns

TRAINING_SETS = ("real", "real+synthetic", "synthetic")


def load_table(spec: str) -> pd.DataFrame:
    """A feature table from ``PATH`` or ``PATH:SPLIT`` (dataset folder, CSV or Parquet)."""
    path, _, split = spec.partition(":") if not Path(spec).exists() else (spec, "", "")
    p = Path(path)
    if not p.exists():
        raise FactoryError(f"{path}: no such dataset folder or features file")
    try:
        if p.is_dir():
            table = open_dataset(str(p)).index
        elif p.suffix.lower() in (".parquet", ".pq"):
            table = pd.read_parquet(p)
        else:
            table = pd.read_csv(p)
    except FactoryError:
        raise
    except Exception as exc:
        raise FactoryError(f"{path}: cannot read features ({exc})") from None
    if split:
        if "split" not in table.columns:
            raise FactoryError(f"{path}: has no `split` column to select {split!r} from")
        have = sorted(table["split"].astype(str).unique())
        table = table[table["split"].astype(str) == split]
        if table.empty:
            raise FactoryError(f"{path}: no {split!r} split (splits: {', '.join(have)})")
    return table.reset_index(drop=True)


def check_compatible(real_train: pd.DataFrame, real_test: pd.DataFrame, synthetic: pd.DataFrame,
                     label: str) -> list[str]:
    """The shared feature columns; errors list what differs or what is missing."""
    for name, table in (("real train", real_train), ("real test", real_test), ("synthetic", synthetic)):
        if label not in table.columns:
            raise FactoryError(f"{name} set has no label column {label!r}")
    real_cols, synth_cols = set(measured_columns(real_train)), set(measured_columns(synthetic))
    if real_cols != synth_cols:
        raise FactoryError("real and synthetic sets have different feature columns: "
                           f"only real: {sorted(real_cols - synth_cols)}; only synthetic: {sorted(synth_cols - real_cols)}")
    missing = set(real_test[label].astype(str)) - set(real_train[label].astype(str))
    if missing:
        raise FactoryError(f"the test set has classes absent from the real training set: {sorted(missing)}")
    missing = set(real_test[label].astype(str)) - set(synthetic[label].astype(str))
    if missing:
        raise FactoryError(f"the test set has classes absent from the synthetic set: {sorted(missing)}")
    # Columns measured somewhere (a column that is NaN throughout one set is imputed there).
    usable = set(feature_columns(real_train)) | set(feature_columns(synthetic))
    return [c for c in measured_columns(real_train) if c in usable]


def scores(y_true: np.ndarray, y_pred: np.ndarray, proba: Optional[np.ndarray], classes: list[str],
           groups: pd.DataFrame) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class recall, one-vs-rest ROC AUC and per-group accuracy/F1."""
    from sklearn.metrics import accuracy_score, f1_score, recall_score, roc_auc_score

    labels = sorted(set(y_true))
    out: dict[str, Any] = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", labels=labels, zero_division=0)),
        "recall": {c: float(r) for c, r in zip(labels, recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0))},
        "support": {c: int((y_true == c).sum()) for c in labels},   # test samples per class: how noisy recall is
    }
    if proba is not None and len(labels) > 1:
        cols = [classes.index(c) for c in labels]
        p = proba[:, cols]
        p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
        out["roc_auc_ovr"] = float(roc_auc_score(y_true, p, multi_class="ovr", labels=labels)) if len(labels) > 2 \
            else float(roc_auc_score(y_true == labels[1], p[:, 1]))
    out["groups"] = {}
    for factor in groups.columns:
        gm = group_metrics({"accuracy": accuracy_score, "macro_f1": macro_f1}, y_true, y_pred, groups[factor])
        out["groups"][factor] = {
            "accuracy": {str(k): float(v) for k, v in gm.by_group["accuracy"].items()},
            "macro_f1": {str(k): float(v) for k, v in gm.by_group["macro_f1"].items()},
            "accuracy_gap": float(gm.difference["accuracy"]),
            "macro_f1_gap": float(gm.difference["macro_f1"]),
        }
    return out


@dataclass
class Evaluation:
    """Scores of each training set on the real test set."""

    results: dict[str, dict[str, Any]]
    sizes: dict[str, int]
    features: list[str]
    label: str

    def to_json(self) -> dict[str, Any]:
        """Plain data for evaluation.json."""
        return {"label": self.label, "features": self.features, "train_sizes": self.sizes, "results": self.results}


def evaluate(real_train: pd.DataFrame, real_test: pd.DataFrame, synthetic: pd.DataFrame, *,
             label: str = "emotion", groups: Optional[list[str]] = None, estimator: str = "logistic",
             seed: int = 0) -> Evaluation:
    """Train on real, real + synthetic and synthetic; score each on `real_test`."""
    features = check_compatible(real_train, real_test, synthetic, label)
    groups = [g for g in (groups if groups is not None else ["sex", "age_band", "skin_tone"]) if g in real_test.columns]
    keep = features + [label]
    sets = {"real": real_train[keep], "real+synthetic": pd.concat([real_train[keep], synthetic[keep]], ignore_index=True),
            "synthetic": synthetic[keep]}
    y_true = real_test[label].astype(str).to_numpy()
    results = {}
    for name, train in sets.items():
        model = Recognizer(estimator=estimator, label=label, features=features, seed=seed).fit(train)
        y_pred = model.predict(real_test).astype(str)
        results[name] = scores(y_true, y_pred, model.predict_proba(real_test), model.classes_, real_test[groups])
    return Evaluation(results, {k: int(len(v)) for k, v in sets.items()}, features, label)


def write_report(ev: Evaluation, out: Path) -> list[Path]:
    """evaluation.json, evaluation.md and evaluation.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(ev.to_json(), indent=2, sort_keys=True))
    (out / "evaluation.md").write_text(markdown(ev))
    plot(ev, out / "evaluation.png")
    return [out / "evaluation.json", out / "evaluation.md", out / "evaluation.png"]


def markdown(ev: Evaluation) -> str:
    """A readable summary table."""
    lines = ["# Evaluation on the real test set", "",
             f"Label `{ev.label}`, {len(ev.features)} measured features; training sizes: "
             + ", ".join(f"{k} {v}" for k, v in ev.sizes.items()) + ".", "",
             "| training set | accuracy | macro-F1 | ROC AUC (ovr) | largest group accuracy gap |", "| --- | --- | --- | --- | --- |"]
    for name, r in ev.results.items():
        gap = max((g["accuracy_gap"] for g in r["groups"].values()), default=float("nan"))
        lines.append(f"| {name} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {r.get('roc_auc_ovr', float('nan')):.3f} | {gap:.3f} |")
    support = next(iter(ev.results.values()))["support"]
    lines += ["", "## Per-class recall", "", "With few test samples of a class, its recall moves in large steps "
              "(1 / test samples): read small classes with care.", "",
              "| class | test samples | " + " | ".join(ev.results) + " |", "| --- | --- |" + " --- |" * len(ev.results)]
    for c in next(iter(ev.results.values()))["recall"]:
        lines.append(f"| {c} | {support[c]} | " + " | ".join(f"{r['recall'][c]:.3f}" for r in ev.results.values()) + " |")
    return "\n".join(lines) + "\n"


def plot(ev: Evaluation, path: Path) -> None:
    """Per-class recall and per-group accuracy, the three training sets side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = next(iter(ev.results.values()))
    panels = [("recall per class", {n: r["recall"] for n, r in ev.results.items()})]
    for factor in first["groups"]:
        panels.append((f"accuracy by {factor}", {n: r["groups"][factor]["accuracy"] for n, r in ev.results.items()}))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for ax, (title, data) in zip(axes[0], panels):
        cats = list(next(iter(data.values())))
        width = 0.8 / len(data)
        for i, (name, values) in enumerate(data.items()):
            ax.bar(np.arange(len(cats)) + i * width, [values.get(c, 0) for c in cats], width, label=name)
        ax.set_xticks(np.arange(len(cats)) + 0.4 - width / 2, cats, rotation=45, ha="right")
        ax.set_ylim(0, 1); ax.set_title(title)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
