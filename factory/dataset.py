"""A dataset folder: its layout, its manifest, and the one door into a finished dataset.

Layout (local path or any fsspec URL)::

    DIR/manifest.json            resolved recipe + hash, versions, per-shard count/size/SHA-256
    DIR/index.parquet            one row per sample (flattened JSON scalars, shard, offsets)
    DIR/<split>-NNNNNN.tar       WebDataset shards
    DIR/audit.json, audit.md, plots/, datasheet.md, README.md, croissant.json, report.html,
    preview.png                  what the factory writes about a finished dataset
    DIR/.factory/parts/*.parquet per-shard index parts (what resume and finalize read)

`manifest.json` says ``"complete": false`` until every shard is written and the index is
built; only then does the dataset count as finished. Every reader of a finished dataset goes
through `open_dataset`, which checks that it is complete, that its index matches the
manifest's checksum and that every shard is there at its recorded size; `Dataset.verify`
re-hashes every shard. Writing a dataset is `factory.folder`'s part.
"""
from __future__ import annotations

import fnmatch
import json
import mimetypes
from dataclasses import dataclass
from typing import Any

import fsspec
import pandas as pd
import pyarrow.parquet as pq

from factory.errors import FactoryError
from factory.shards import put_atomic, sha256_of

MANIFEST = "manifest.json"
INDEX = "index.parquet"
FACTORY_DIR = ".factory"
PARTS_DIR = f"{FACTORY_DIR}/parts"
FORMAT = "affect-factory/1"

# What the factory writes beside the shards about a finished dataset.
AUDIT_JSON, AUDIT_MD, PLOTS_DIR = "audit.json", "audit.md", "plots"
DATASHEET, CARD, CROISSANT = "datasheet.md", "README.md", "croissant.json"
REPORT, PREVIEW = "report.html", "preview.png"
DOCUMENTS = (AUDIT_JSON, AUDIT_MD, PLOTS_DIR, DATASHEET, CARD, CROISSANT, REPORT, PREVIEW)

NOT_DEMOGRAPHIC = ("emotion", "identity", "split")
# Every sample's own member, written by the factory (the generators declare theirs).
LABELS_FILE = {"extension": "json", "media_type": "application/json",
               "description": "labels, demographics, episode timestamps, each modality's targets and measurements"}


def demographic_factors(manifest: dict[str, Any], index: pd.DataFrame) -> list[str]:
    """Population factors of the dataset's recipe that its index carries, in recipe order."""
    population = (manifest.get("recipe") or {}).get("population") or {}
    return [f for f in population if f in index.columns and f not in NOT_DEMOGRAPHIC]


def member_kind(manifest: dict[str, Any], extension: str) -> dict[str, Any]:
    """What a tar member with `extension` is: the declaring modality (None for the labels),
    media type and description, from the generators' declarations in the manifest."""
    if extension == LABELS_FILE["extension"]:
        return {"modality": None, **LABELS_FILE}
    for modality, info in (manifest.get("generators") or {}).items():
        for declared in info.get("files") or []:
            if fnmatch.fnmatchcase(extension, declared["extension"]):
                return {"modality": modality, **declared, "extension": extension}
    guess = mimetypes.guess_type(f"member.{extension}")[0]   # a dataset older than the declarations
    return {"modality": None, "extension": extension, "media_type": guess or "application/octet-stream",
            "description": "file"}


def open_dir(url: str):
    """(filesystem, root path) of a local path or fsspec URL."""
    fs, root = fsspec.core.url_to_fs(str(url))
    return fs, root.rstrip("/")


def read_manifest(fs, root: str) -> dict[str, Any] | None:
    """The manifest, or None if the folder has none."""
    path = f"{root}/{MANIFEST}"
    if not fs.exists(path):
        return None
    with fs.open(path, "rb") as f:
        return json.loads(f.read())


# ---------------------------------------------------------------- the finished dataset

@dataclass
class Dataset:
    """A finished dataset as read from disk: its manifest and index, and its files by name."""

    url: str
    fs: Any
    root: str
    manifest: dict[str, Any]
    index: pd.DataFrame

    @property
    def recipe(self) -> dict[str, Any]:
        """The resolved recipe the dataset was made from (plain data)."""
        return self.manifest.get("recipe") or {}

    def exists(self, name: str) -> bool:
        """Whether DIR/name exists."""
        return self.fs.exists(f"{self.root}/{name}")

    def read_bytes(self, name: str) -> bytes:
        """The bytes of DIR/name."""
        with self.fs.open(f"{self.root}/{name}", "rb") as f:
            return f.read()

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

    def verify(self) -> list[str]:
        """Re-hash every shard and re-count the index against the manifest; the problems found."""
        return shard_problems(self.fs, self.root, self.manifest, hashes=True) + \
            index_problems(self.index[["key", "shard"]], self.manifest)


def open_dataset(url: str) -> Dataset:
    """The one door into a finished dataset: refuses an unfinished one, an index the manifest
    disowns and a missing or truncated shard, each with a FactoryError saying what to do."""
    fs, root = open_dir(url)
    manifest = finished_manifest(fs, root)
    entry = manifest.get("index") or {}
    if not entry.get("sha256"):
        raise FactoryError(f"{root}: manifest.json has no checksum for {INDEX}; "
                           f"rebuild it with `affect-factory generate RECIPE --out {root} --resume`")
    if sha256_of(fs, f"{root}/{INDEX}") != entry["sha256"]:
        raise FactoryError(f"{root}: {INDEX} does not match the checksum in manifest.json (changed or "
                           f"corrupted); run `affect-factory verify {url}` to see what differs")
    problems = shard_problems(fs, root, manifest, hashes=False)
    if problems:
        raise FactoryError(f"{root}: the dataset is incomplete ({problems[0]}); run `affect-factory verify {url}` "
                           f"and finish it with `affect-factory generate RECIPE --out {root} --resume`")
    with fs.open(f"{root}/{INDEX}", "rb") as f:
        index = pq.read_table(f).to_pandas()
    if index.empty:
        raise FactoryError(f"{root}: {INDEX} has no samples")
    return Dataset(str(url), fs, root, manifest, index)


def finished_manifest(fs, root: str) -> dict[str, Any]:
    """The manifest of a finished dataset, or a FactoryError saying what is missing."""
    manifest = read_manifest(fs, root)
    if manifest is None:
        raise FactoryError(f"{root}: not an affect-factory dataset (no {MANIFEST}); "
                           f"make one with `affect-factory generate RECIPE --out {root}`")
    if not manifest.get("complete"):
        done, planned = len(manifest.get("shards", {})), len(manifest.get("planned_shards", {}))
        raise FactoryError(f"{root}: the dataset is unfinished ({done} of {planned} shards); "
                           f"finish it with `affect-factory generate RECIPE --out {root} --resume`")
    if not fs.exists(f"{root}/{INDEX}"):
        raise FactoryError(f"{root}: {INDEX} is missing; rebuild it with `affect-factory generate ... --resume`")
    return manifest


# ---------------------------------------------------------------- checks

def shard_problems(fs, root: str, manifest: dict[str, Any], hashes: bool) -> list[str]:
    """Shards of the manifest that are missing, of another size or (with `hashes`) another SHA-256."""
    problems = []
    for name, entry in manifest["shards"].items():
        path = f"{root}/{name}"
        if not fs.exists(path):
            problems.append(f"{name}: missing")
        elif fs.size(path) != entry["size"]:
            problems.append(f"{name}: size {fs.size(path)} != manifest {entry['size']}")
        elif hashes and sha256_of(fs, path) != entry["sha256"]:
            problems.append(f"{name}: SHA-256 differs from the manifest (corrupted or changed)")
    return problems


def index_problems(index: pd.DataFrame, manifest: dict[str, Any]) -> list[str]:
    """Rows per shard in the index against the manifest's counts; keys that appear twice."""
    counts = index["shard"].value_counts().to_dict()
    problems = [f"{name}: index has {counts.get(name, 0)} rows, manifest says {entry['count']}"
                for name, entry in manifest["shards"].items() if counts.get(name, 0) != entry["count"]]
    problems += [f"{name}: in the index but not in the manifest" for name in sorted(set(counts) - set(manifest["shards"]))]
    repeated = len(index) - index["key"].nunique()
    if repeated:
        problems.append(f"{repeated} sample keys appear more than once")
    return problems


def verify(url: str) -> list[str]:
    """Re-check a finished dataset's shards and index against its manifest; the problems found
    (unlike `open_dataset`, an index of another checksum is one problem among the others)."""
    fs, root = open_dir(url)
    manifest = finished_manifest(fs, root)
    problems = shard_problems(fs, root, manifest, hashes=True)
    if sha256_of(fs, f"{root}/{INDEX}") != (manifest.get("index") or {}).get("sha256"):
        problems.append(f"{INDEX}: SHA-256 differs from the manifest")
    with fs.open(f"{root}/{INDEX}", "rb") as f:
        index = pq.read_table(f, columns=["key", "shard"]).to_pandas()
    return problems + index_problems(index, manifest)
