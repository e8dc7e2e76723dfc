"""A finished dataset documents and audits itself: the audit first, then its cards and report.

This is the one module that knows the order of those steps; `audit`, `cards` and `report`
each take an open `factory.dataset.Dataset` (and what an earlier step made) and never import
one another. Everything comes from the dataset's `manifest.json` and `index.parquet` (never
the memory of the run that made it), so it works on any finished dataset, local or behind an
fsspec URL.
"""
from __future__ import annotations

from typing import Any

from factory import cards, report
from factory.audit import audit_markdown, current_audit, make_plots, run_audit
from factory.dataset import Dataset, open_dataset


def document_dataset(url: str, with_report: bool = True) -> dict[str, Any]:
    """Audit the dataset and write its datasheet, Hub card, Croissant and report.

    Returns the audit result (a dict, as in audit.json). The audit always runs.
    """
    ds = open_dataset(url)
    result = run_audit(ds)
    _write_cards(ds, result)
    if with_report:
        _write_report(ds, result)
    return result


def write_cards(url: str) -> dict[str, str]:
    """Write datasheet.md, README.md and croissant.json; returns {name: path}.

    They use DIR/audit.json if it was made from this index and thresholds, else the audit runs
    first (a card never goes out without one).
    """
    ds = open_dataset(url)
    return _write_cards(ds, current_audit(ds))


def write_report(url: str) -> str:
    """Write DIR/report.html (with the current audit, as `write_cards`); returns its path."""
    ds = open_dataset(url)
    return _write_report(ds, current_audit(ds))


def _write_cards(ds: Dataset, result: dict[str, Any]) -> dict[str, str]:
    return cards.write_cards(ds, result, audit_markdown(result, heading="###"))


def _write_report(ds: Dataset, result: dict[str, Any]) -> str:
    paths = result.get("plots") or {}
    plots = ({name: ds.read_bytes(rel) for name, rel in paths.items() if ds.exists(rel)} if paths
             else make_plots(result))
    return report.write_report(ds, result, plots)
