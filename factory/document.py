"""A finished dataset documents and audits itself: audit, cards and report, from disk only.

Everything here reads the dataset's `manifest.json` and `index.parquet` (never the memory of
the run that made it), so it works on any finished dataset, local or behind an fsspec URL.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from factory.dataset import INDEX, open_dir, read_parquet, require_finished
from factory.errors import FactoryError
from factory.shards import put_atomic, sha256_of


@dataclass
class Finished:
    """A finished dataset as read from disk."""

    url: str
    fs: Any
    root: str
    manifest: dict[str, Any]
    index: pd.DataFrame

    def write_bytes(self, name: str, data: bytes) -> str:
        """Write `data` to DIR/name (atomically where the filesystem allows); returns the path."""
        path = f"{self.root}/{name}"
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        put_atomic(self.fs, self.root, data, path, name.replace("/", "_"))
        return path

    def write_text(self, name: str, text: str) -> str:
        """Write UTF-8 text to DIR/name; returns the path."""
        return self.write_bytes(name, text.encode("utf-8"))

    def read_member(self, shard: str, offset: int, size: int) -> bytes:
        """Bytes of one tar member, by the offsets stored in the index."""
        with self.fs.open(f"{self.root}/{shard}", "rb") as f:
            f.seek(int(offset))
            return f.read(int(size))


def open_finished(url: str) -> Finished:
    """Read a finished dataset: refuses unfinished ones and an index the manifest disowns."""
    fs, root = open_dir(url)
    manifest = require_finished(fs, root)
    entry = manifest.get("index") or {}
    if not entry.get("sha256"):
        raise FactoryError(f"{root}: manifest.json has no checksum for {INDEX}; "
                           f"rebuild it with `affect-factory generate RECIPE --out {root} --resume`")
    if sha256_of(fs, f"{root}/{INDEX}") != entry["sha256"]:
        raise FactoryError(f"{root}: {INDEX} does not match the checksum in manifest.json (changed or "
                           f"corrupted); run `affect-factory verify {url}` to see what differs")
    index = read_parquet(fs, f"{root}/{INDEX}").to_pandas()
    if index.empty:
        raise FactoryError(f"{root}: {INDEX} has no samples")
    return Finished(str(url), fs, root, manifest, index)


def document_dataset(url: str, report: bool = True) -> dict[str, Any]:
    """Audit the dataset and write its datasheet, Hub card, Croissant and report.

    Returns the audit result (a dict, as in audit.json). The audit always runs.
    """
    from factory.audit import run_audit
    from factory.cards import write_cards

    ds = open_finished(url)
    result = run_audit(ds)
    write_cards(ds, result)
    if report:
        from factory.report import write_report

        write_report(ds, result)
    return result
