"""The fairness audit of a finished dataset (fairlearn), from its index and manifest only.

Four sections (docs/audit.md explains each and its threshold):

(a) representation: achieved vs target share of every factor level and every balanced cell;
(b) label parity: each emotion's share in every group of every demographic factor
    (demographic-parity difference and ratio);
(c) fidelity parity: per group and per ``*.met.*`` column (prosody, physiology, face AUs,
    face critic), how often the measured output met its target;
(d) downstream parity: a baseline recognizer (factory.recognizer) trained on the train split
    and scored on the test split; per-group accuracy, macro-F1 and equalized-odds difference.

Results go to ``audit.json``, ``audit.md`` and ``plots/*.png`` in the dataset folder.
Thresholds come from the recipe (``audit:``); `affect-factory audit` exits 1 when one is broken.
Groups with fewer than ``min_group_size`` samples are reported but not judged: their shares and
rates are mostly sampling noise.
"""
from __future__ import annotations

import io
import json
import math
import warnings
from functools import partial
from typing import Any, Optional

import numpy as np
import pandas as pd

from factory.dataset import AUDIT_JSON, AUDIT_MD, PLOTS_DIR, Dataset, demographic_factors
from factory.errors import FactoryError
from factory.recipe import AuditThresholds


# ---------------------------------------------------------------- helpers

def _num(x) -> Optional[float]:
    """A JSON-able float (None for NaN/inf/None)."""
    if x is None:
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return round(x, 6) if math.isfinite(x) else None


def thresholds_of(manifest: dict[str, Any]) -> AuditThresholds:
    """The audit thresholds of a dataset's recipe (defaults for keys an older recipe lacks)."""
    return AuditThresholds.model_validate((manifest.get("recipe") or {}).get("audit") or {})


def _shares(manifest: dict[str, Any]) -> dict[str, dict[str, float]]:
    recipe = manifest.get("recipe") or {}
    raw = {"emotion": recipe.get("emotions") or {}, **(recipe.get("population") or {})}
    out = {}
    for factor, levels in raw.items():
        total = sum(float(w) for w in levels.values())
        if total > 0:
            # manifest.json sorts keys; put numeric levels (skin tones) back in numeric order
            order = sorted(levels, key=int) if all(str(lv).isdigit() for lv in levels) else list(levels)
            out[factor] = {str(lv): float(levels[lv]) / total for lv in order}
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
    return {"samples": n, "tolerance": _num(tolerance), "factors": factors, "cells": cells,
            "judged": not complement, "checks": checks}


# ---------------------------------------------------------------- (b) label parity

def label_parity(manifest: dict[str, Any], index: pd.DataFrame, th: AuditThresholds) -> dict[str, Any]:
    """Each emotion's share in every group of every demographic factor."""
    from fairlearn.metrics import (MetricFrame, count, demographic_parity_difference,
                                   demographic_parity_ratio, selection_rate)

    emotions = [str(e) for e in pd.unique(index["emotion"].astype(str))]
    # A complement fills the real data's gaps, so its own label shares are skewed on purpose:
    # reported, not judged (its parity is a property of real + synthetic together).
    complement = (manifest.get("recipe") or {}).get("complement") is not None
    out, checks = {}, []
    for factor in demographic_factors(manifest, index):
        groups = index[factor].astype(str)
        sizes = groups.value_counts()
        judged = sorted(lv for lv, c in sizes.items() if c >= th.min_group_size)
        res = {"groups": {lv: int(c) for lv, c in sizes.items()}, "judged_groups": judged, "emotions": {}}
        mask = groups.isin(judged).to_numpy()
        for emo in emotions:
            y = (index["emotion"].astype(str) == emo).to_numpy().astype(int)
            mf = MetricFrame(metrics={"share": selection_rate, "count": count}, y_true=y, y_pred=y,
                             sensitive_features=groups)
            rates = {str(k): _num(v) for k, v in mf.by_group["share"].items()}
            diff = ratio = None
            if len(judged) >= 2 and y[mask].sum() > 0:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    diff = demographic_parity_difference(y[mask], y[mask], sensitive_features=groups[mask])
                    ratio = demographic_parity_ratio(y[mask], y[mask], sensitive_features=groups[mask])
            res["emotions"][emo] = {"shares": rates, "overall": _num(mf.overall["share"]),
                                    "difference": _num(diff), "ratio": _num(ratio)}
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
    from fairlearn.metrics import MetricFrame

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
                mf = MetricFrame(metrics={"rate": rate}, y_true=v, y_pred=v, sensitive_features=groups)
                sizes = groups.value_counts()
                judged = sorted(lv for lv, c in sizes.items() if c >= th.min_group_size)
                rates = {str(k): _num(x) for k, x in mf.by_group["rate"].items()}
                gap = (max(rates[lv] for lv in judged) - min(rates[lv] for lv in judged)) if len(judged) >= 2 else None
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
    from fairlearn.metrics import MetricFrame, count, equalized_odds_difference
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    from factory.recognizer import train_test

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
    f1 = partial(f1_score, average="macro", zero_division=0)
    res = {"assessed": True, "estimator": estimator if isinstance(estimator, str) else type(estimator).__name__,
           "features": model.features, "train_split": "train", "test_split": str(rows["split"].iloc[0]),
           "train_samples": int((index["split"].astype(str) == "train").sum()), "test_samples": int(len(rows)),
           "train_classes": model.classes_, "test_classes": sorted(set(y)),
           "accuracy": _num(accuracy_score(y, pred)), "macro_f1": _num(f1(y, pred)),
           "chance": _num(1.0 / max(len(set(y)), 1)),
           "confusion": {"labels": labels, "matrix": confusion_matrix(y, pred, labels=labels).tolist()},
           "factors": {}}
    unseen = sorted(set(y) - set(model.classes_))
    if unseen:
        res["note"] = f"test emotions absent from train: {', '.join(unseen)}"
    checks = []
    for factor in demographic_factors(manifest, index):
        groups = rows[factor].astype(str).reset_index(drop=True)
        mf = MetricFrame(metrics={"accuracy": accuracy_score, "macro_f1": f1, "count": count},
                         y_true=y, y_pred=pred, sensitive_features=groups)
        sizes = groups.value_counts()
        judged = sorted(lv for lv, c in sizes.items() if c >= th.min_group_size)
        entry = {"groups": {str(k): {"accuracy": _num(r["accuracy"]), "macro_f1": _num(r["macro_f1"]),
                                     "count": int(r["count"])} for k, r in mf.by_group.iterrows()},
                 "judged_groups": judged, "accuracy_difference": None, "equalized_odds_difference": None,
                 "per_class_equalized_odds": {}}
        if len(judged) >= 2:
            m = groups.isin(judged).to_numpy()
            entry["accuracy_difference"] = _num(max(entry["groups"][g]["accuracy"] for g in judged)
                                                - min(entry["groups"][g]["accuracy"] for g in judged))
            for cls in sorted(set(y[m])):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        v = equalized_odds_difference((y[m] == cls).astype(int), (pred[m] == cls).astype(int),
                                                      sensitive_features=groups[m])
                    except (ValueError, ZeroDivisionError):
                        v = float("nan")
                entry["per_class_equalized_odds"][cls] = _num(v)
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


# ---------------------------------------------------------------- the audit

def audit_index(manifest: dict[str, Any], index: pd.DataFrame, estimator="logistic",
                thresholds: Optional[AuditThresholds] = None) -> dict[str, Any]:
    """All four sections and the threshold checks, as JSON-able data (no files written).

    `thresholds` overrides the recipe's `audit:` block (e.g. a stricter gate in a pipeline)."""
    th = thresholds or thresholds_of(manifest)
    if "emotion" not in index.columns:
        raise FactoryError("index.parquet has no `emotion` column; is this an affect-factory dataset?")
    sections = {
        "representation": representation(manifest, index, th),
        "label_parity": label_parity(manifest, index, th),
        "fidelity": fidelity_parity(manifest, index, th),
        "downstream": downstream_parity(manifest, index, th, estimator),
    }
    checks = [c for s in sections.values() for c in s.pop("checks")]
    broken = [c for c in checks if c["judged"] and not c["passed"]]
    from factory import __version__

    return {
        "format": "affect-factory-audit/1", "tool": f"affect-factory {__version__}",
        "dataset": manifest.get("name"), "version": manifest.get("version"),
        "recipe_hash": manifest.get("recipe_hash"), "index_sha256": (manifest.get("index") or {}).get("sha256"),
        "samples": int(len(index)), "splits": {str(k): int(v) for k, v in index["split"].value_counts().items()},
        "thresholds": th.model_dump(), "demographic_factors": demographic_factors(manifest, index),
        **sections, "checks": checks, "passed": not broken,
        "broken": [f"{c['section']}: {c['name']} = {c['value']} (threshold {c['threshold']}; {c['detail']})"
                   for c in broken],
        "not_judged": sum(1 for c in checks if not c["judged"]),
    }


def run_audit(ds: Dataset, plots: bool = True, estimator="logistic",
              thresholds: Optional[AuditThresholds] = None) -> dict[str, Any]:
    """Audit a finished dataset; write audit.json, audit.md and the plots beside it."""
    result = audit_index(ds.manifest, ds.index, estimator, thresholds)
    result["plots"] = {}
    if plots:
        for name, png in make_plots(result).items():
            path = f"{PLOTS_DIR}/{name}.png"
            ds.write_bytes(path, png)
            result["plots"][name] = path
    ds.write_text(AUDIT_JSON, json.dumps(result, indent=2, sort_keys=False, allow_nan=False) + "\n")
    ds.write_text(AUDIT_MD, audit_markdown(result))
    return result


def current_audit(ds: Dataset) -> dict[str, Any]:
    """DIR/audit.json when it was made from this very index (same SHA-256), else a fresh audit."""
    if ds.exists(AUDIT_JSON):
        cached = json.loads(ds.read_bytes(AUDIT_JSON))
        if (cached.get("index_sha256") == (ds.manifest.get("index") or {}).get("sha256")
                and cached.get("thresholds") == thresholds_of(ds.manifest).model_dump()):
            return cached
    return run_audit(ds)


# ---------------------------------------------------------------- audit.md

def _fmt(x, pct=False) -> str:
    if x is None:
        return "–"
    return f"{x:.1%}" if pct else f"{x:.3f}"


def audit_markdown(r: dict[str, Any], heading: str = "#") -> str:
    """The audit as Markdown (audit.md; the datasheet embeds it)."""
    h = heading
    th = r["thresholds"]
    lines = [f"{h} Fairness audit: {r['dataset']} {r['version']}", "",
             f"{r['samples']} samples; splits: " + ", ".join(f"{k} {v}" for k, v in r["splits"].items()) + ".",
             f"Result: **{'PASSED' if r['passed'] else 'FAILED'}** "
             f"({sum(1 for c in r['checks'] if c['judged'])} checks judged, {r['not_judged']} not judged: "
             f"groups smaller than {th['min_group_size']} samples or nothing to compare).", ""]
    if r["broken"]:
        lines += ["Broken thresholds:", ""] + [f"- {b}" for b in r["broken"]] + [""]
    lines += [f"{h}# Checks", "", "| section | check | value | threshold | result | detail |", "|---|---|---|---|---|---|"]
    for c in r["checks"]:
        res = "not judged" if not c["judged"] else ("ok" if c["passed"] else "**broken**")
        lines.append(f"| {c['section']} | {c['name']} | {_fmt(c['value'])} | {c['threshold']} | {res} | {c['detail']} |")
    rep = r["representation"]
    lines += ["", f"{h}# (a) Representation", "",
              f"Achieved vs target share; a gap up to {_fmt(rep['tolerance'])} "
              f"(max of the threshold and one sample, 1/N) passes.", ""]
    for factor, res in rep["factors"].items():
        if res.get("missing"):
            lines.append(f"- {factor}: missing from the index")
            continue
        lines.append(f"- **{factor}**: " + ", ".join(
            f"{x['level']} {x['count']} ({_fmt(x['share'], True)} / target {_fmt(x['target'], True)})" for x in res["rows"]))
    for name, res in rep["cells"].items():
        if res.get("rows"):
            counts = [x["count"] for x in res["rows"]]
            lines.append(f"- **{name}** (balanced): {len(counts)} cells, {min(counts)}-{max(counts)} samples each, "
                         f"max gap {_fmt(res['max_gap'])}")
    lines += ["", f"{h}# (b) Label parity", "",
              "Share of each emotion within each group; ratio = smallest / largest share across judged groups.", ""]
    for factor, res in r["label_parity"]["factors"].items():
        lines.append(f"- **{factor}** (groups: {', '.join(f'{k} {v}' for k, v in res['groups'].items())}): "
                     f"min ratio {_fmt(res['min_ratio'])}, max difference {_fmt(res['max_difference'])}")
    lines += ["", f"{h}# (c) Fidelity parity", "", "Rate of outputs whose measured value met its target.", ""]
    if not r["fidelity"]["modalities"]:
        lines.append("- no `*.met.*` columns in the index")
    for modality, res in r["fidelity"]["modalities"].items():
        lines.append(f"- **{modality}**: overall {_fmt(res['overall'], True)}")
        for col, e in res["columns"].items():
            gaps = ", ".join(f"{f} gap {_fmt(v['gap'])}" for f, v in e["by_factor"].items())
            lines.append(f"  - `{col}`: {_fmt(e['overall'], True)} of {e['samples']}; {gaps}")
    d = r["downstream"]
    lines += ["", f"{h}# (d) Downstream parity", ""]
    if not d["assessed"]:
        lines.append(f"Not assessed: {d['reason']}.")
    else:
        lines.append(f"Baseline `{d['estimator']}` on {len(d['features'])} measured features, trained on "
                     f"{d['train_split']} ({d['train_samples']}), scored on {d['test_split']} ({d['test_samples']}): "
                     f"accuracy {_fmt(d['accuracy'])}, macro-F1 {_fmt(d['macro_f1'])} (chance {_fmt(d['chance'])}).")
        if d.get("note"):
            lines.append(f"Note: {d['note']}.")
        lines.append("")
        for factor, e in d["factors"].items():
            lines.append(f"- **{factor}**: equalized-odds difference {_fmt(e['equalized_odds_difference'])}; " +
                         ", ".join(f"{g} acc {_fmt(v['accuracy'])} F1 {_fmt(v['macro_f1'])} (n={v['count']})"
                                   for g, v in e["groups"].items()))
    if r.get("plots"):
        lines += ["", f"{h}# Plots", ""] + [f"![{k}]({v})" for k, v in r["plots"].items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- plots

def make_plots(r: dict[str, Any]) -> dict[str, bytes]:
    """PNG plots of each section: {name: png bytes}."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    out = {}

    def save(fig, name):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
        plt.close(fig)
        out[name] = buf.getvalue()

    rep = [(f, v) for f, v in r["representation"]["factors"].items() if v.get("rows")]
    if rep:
        fig, axes = plt.subplots(1, len(rep), figsize=(3.2 * len(rep), 2.8), squeeze=False)
        for ax, (factor, v) in zip(axes[0], rep):
            x = np.arange(len(v["rows"]))
            ax.bar(x - 0.2, [row["share"] for row in v["rows"]], 0.4, label="achieved")
            ax.bar(x + 0.2, [row["target"] for row in v["rows"]], 0.4, label="target")
            ax.set_xticks(x, [row["level"] for row in v["rows"]], rotation=60, fontsize=7)
            ax.set_title(factor, fontsize=9)
        axes[0][0].legend(fontsize=7)
        fig.suptitle("(a) representation: share per level")
        save(fig, "representation")

    lp = [(f, v) for f, v in r["label_parity"]["factors"].items() if v["emotions"]]
    if lp:
        fig, axes = plt.subplots(1, len(lp), figsize=(3.2 * len(lp), 3), squeeze=False)
        for ax, (factor, v) in zip(axes[0], lp):
            emos = list(v["emotions"])
            groups = list(v["groups"])
            grid = np.array([[v["emotions"][e]["shares"].get(g) or 0.0 for g in groups] for e in emos])
            im = ax.imshow(grid, vmin=0, vmax=max(grid.max(), 1e-9), cmap="viridis", aspect="auto")
            ax.set_xticks(range(len(groups)), groups, rotation=60, fontsize=7)
            ax.set_yticks(range(len(emos)), emos, fontsize=7)
            ax.set_title(factor, fontsize=9)
        fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8)
        fig.suptitle("(b) label parity: emotion share per group")
        save(fig, "label_parity")

    fid = r["fidelity"]["modalities"]
    factors = r["demographic_factors"]
    if fid and factors:
        cols = [c for m in fid.values() for c in m["columns"]]
        fig, axes = plt.subplots(1, len(factors), figsize=(3.2 * len(factors), 0.35 * len(cols) + 1.6), squeeze=False)
        for ax, factor in zip(axes[0], factors):
            entries = [fid[c.split(".", 1)[0]]["columns"][c]["by_factor"].get(factor, {}) for c in cols]
            groups = sorted({g for e in entries for g in e.get("rates", {})})
            grid = np.array([[(e.get("rates", {}).get(g)) if e.get("rates", {}).get(g) is not None else np.nan
                              for g in groups] for e in entries], dtype=float).reshape(len(cols), len(groups))
            ax.imshow(grid, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
            ax.set_xticks(range(len(groups)), groups, rotation=60, fontsize=7)
            ax.set_yticks(range(len(cols)), [c.replace(".met.", ": ") for c in cols] if ax is axes[0][0] else [""] * len(cols),
                          fontsize=7)
            ax.set_title(factor, fontsize=9)
        fig.suptitle("(c) fidelity: rate of targets met per group")
        save(fig, "fidelity")

    d = r["downstream"]
    if d["assessed"]:
        fs = list(d["factors"].items())
        fig, axes = plt.subplots(1, len(fs) + 1, figsize=(3.2 * (len(fs) + 1), 3), squeeze=False)
        cm = np.array(d["confusion"]["matrix"])
        ax = axes[0][0]
        ax.imshow(cm, cmap="Blues")
        ax.set_xticks(range(len(d["confusion"]["labels"])), d["confusion"]["labels"], rotation=60, fontsize=7)
        ax.set_yticks(range(len(d["confusion"]["labels"])), d["confusion"]["labels"], fontsize=7)
        ax.set_xlabel("predicted", fontsize=8); ax.set_ylabel("true", fontsize=8)
        ax.set_title(f"accuracy {d['accuracy']:.2f}", fontsize=9)
        for ax, (factor, e) in zip(axes[0][1:], fs):
            groups = list(e["groups"])
            ax.bar(range(len(groups)), [e["groups"][g]["accuracy"] or 0 for g in groups])
            ax.axhline(d["chance"] or 0, color="grey", ls="--", lw=1)
            ax.set_ylim(0, 1)
            ax.set_xticks(range(len(groups)), groups, rotation=60, fontsize=7)
            ax.set_title(f"accuracy by {factor}", fontsize=9)
        fig.suptitle("(d) downstream: baseline recognizer on the test split")
        save(fig, "downstream")
    return out
