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

The package: `sections` (the four sections), `render` (Markdown), `plots` (PNG plots); here,
the audit of an index and of an open `factory.dataset.Dataset`, and its cache (`current_audit`).
"""
from __future__ import annotations

import json
from typing import Any, Optional

import pandas as pd

from factory import __version__
from factory.audit.plots import make_plots
from factory.audit.render import audit_markdown
from factory.audit.sections import downstream_parity, fidelity_parity, label_parity, representation
from factory.dataset import AUDIT_JSON, AUDIT_MD, PLOTS_DIR, Dataset, demographic_factors
from factory.errors import FactoryError
from factory.recipe import AuditThresholds

__all__ = ["audit_index", "audit_markdown", "current_audit", "make_plots", "run_audit", "thresholds_of"]


def thresholds_of(manifest: dict[str, Any]) -> AuditThresholds:
    """The audit thresholds of a dataset's recipe (defaults for keys an older recipe lacks)."""
    return AuditThresholds.model_validate((manifest.get("recipe") or {}).get("audit") or {})


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
        try:
            cached = json.loads(ds.read_bytes(AUDIT_JSON))
        except ValueError:        # a truncated or edited audit.json is not trusted: audit again
            cached = {}
        if isinstance(cached, dict) and (cached.get("index_sha256") == (ds.manifest.get("index") or {}).get("sha256")
                and cached.get("thresholds") == thresholds_of(ds.manifest).model_dump()):
            return cached
    return run_audit(ds)
