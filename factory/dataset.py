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
import hashlib
import json
import mimetypes
import tarfile
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from factory.errors import FactoryError
from factory.shards import compare_members, put_atomic, sha256_of, tar_members

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


def read_parquet(fs, path: str, columns: list[str] | None = None) -> pa.Table:
    """A Parquet file on `fs`, read into memory and parsed on this thread.

    `pq.read_table` reads and decodes on pyarrow's thread pools; when one of those threads
    still holds a Python object (a Python file, a buffer over Python bytes) as the interpreter
    exits, it is stopped while it waits for the GIL and the process aborts (rc 134, "terminate
    called without an active exception"; about 1 run in 30 of `verify`, 0 in 300 this way).
    """
    return parse_parquet(fs.cat_file(path), columns)


def read_parquet_schema(fs, path: str) -> pa.Schema:
    """A Parquet file's schema (from its footer), parsed on this thread (see `read_parquet`)."""
    return pq.ParquetFile(pa.BufferReader(fs.cat_file(path)), pre_buffer=False).schema_arrow


def parse_parquet(data: bytes, columns: list[str] | None = None) -> pa.Table:
    """Parquet bytes as a table, parsed on this thread (see `read_parquet`)."""
    return pq.ParquetFile(pa.BufferReader(data), pre_buffer=False).read(columns=columns, use_threads=False)


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
    """(filesystem, root path) of a local path or fsspec URL; a URL whose filesystem is unknown or
    not installed is a FactoryError naming the URL and what to install."""
    try:
        fs, root = fsspec.core.url_to_fs(str(url))
    except ImportError as exc:        # fsspec knows the protocol; its package (s3fs, gcsfs, ...) is absent
        raise FactoryError(f"{url}: {exc} (pip install it into this environment), or use a local folder") from None
    except ValueError as exc:         # "Protocol not known: foo"
        raise FactoryError(f"{url}: {exc}; use a local folder or an fsspec URL such as s3://, gs://, hf:// "
                           f"or memory://") from None
    return fs, root.rstrip("/") or "/"


# ---------------------------------------------------------------- the manifest

SHARD_NAME = r"^[a-z][a-z0-9_]*-\d{6}\.tar$"       # <split>-NNNNNN.tar: never a path


class ShardRecord(BaseModel):
    """A written shard as the manifest records it."""

    count: int = Field(ge=0)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    split: str


class IndexRecord(BaseModel):
    """The index file as the manifest records it."""

    file: str = INDEX
    rows: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ManifestShape(BaseModel):
    """What every reader relies on in a manifest; other keys (recipe, packages, ...) ride along."""

    model_config = ConfigDict(extra="allow")

    format: Literal[FORMAT]
    complete: bool
    shards: dict[Annotated[str, StringConstraints(pattern=SHARD_NAME)], ShardRecord]
    planned_shards: dict[Annotated[str, StringConstraints(pattern=SHARD_NAME)], dict[str, Any]] = {}
    index: Optional[IndexRecord] = None

    @model_validator(mode="after")
    def _finished_has_index(self):
        if self.complete and self.index is None:
            raise ValueError("a complete dataset records its index (index is null)")
        return self


class NotOurManifest(FactoryError):
    """DIR/manifest.json exists but affect-factory did not write it (no format marker)."""


class DamagedManifest(FactoryError):
    """DIR/manifest.json carries the factory's marker (or sits beside `.factory/`) but cannot be used."""


def read_manifest(fs, root: str) -> dict[str, Any] | None:
    """The factory's manifest of `root`; None if there is no manifest.json.

    A manifest.json without the factory's format marker raises NotOurManifest (the folder is not
    a dataset: it is never resumed into, replaced or read as one); a truncated or malformed one
    raises DamagedManifest naming the file and the key at fault.
    """
    path = f"{root}/{MANIFEST}"
    if not fs.isfile(path):
        return None
    raw = fs.cat_file(path)
    ours = f'"format": "{FORMAT}"'.encode() in raw or fs.isdir(f"{root}/{FACTORY_DIR}")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        if not ours:
            raise NotOurManifest(f"{path} is not an affect-factory manifest (not even JSON)") from None
        raise DamagedManifest(f"{path} is not valid JSON ({str(exc)[:120]}; truncated?)") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        if not ours:
            raise NotOurManifest(f"{path} was not written by affect-factory (no \"format\": \"{FORMAT}\")")
        raise DamagedManifest(f"{path} has lost its format marker (\"format\": \"{FORMAT}\")")
    try:
        ManifestShape.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise DamagedManifest(f"{path}: {where}: {first['msg'].removeprefix('Value error, ')} "
                              f"({len(exc.errors())} problem(s))") from None
    return data


def damaged_hint(root: str) -> str:
    """What to do about a damaged manifest."""
    return (f"restore it, or run `affect-factory generate RECIPE --out {root} --force` to make the dataset again "
            f"(--force removes only the factory's files)")


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
        """Bytes of one tar member, by the offsets stored in the index; a shard shorter than the
        index says, or one the manifest does not list, is a FactoryError naming it."""
        if shard not in self.manifest["shards"]:
            raise FactoryError(f"{self.root}/{INDEX} names a shard {shard!r} that manifest.json does not list; run "
                               f"`affect-factory verify {self.url}`")
        with self.fs.open(f"{self.root}/{shard}", "rb") as f:
            f.seek(int(offset))
            data = f.read(int(size))
        if len(data) != int(size):
            raise FactoryError(f"{self.root}/{shard} ends before the member the index places at byte {offset} "
                               f"(truncated?); run `affect-factory verify {self.url}` and regenerate it with "
                               f"--resume")
        return data

    def verify(self) -> list[str]:
        """Re-hash every shard, re-count the index against the manifest and check each shard's
        members against the index; the problems found."""
        return shard_problems(self.fs, self.root, self.manifest, hashes=True) + \
            index_problems(self.index[["key", "shard"]], self.manifest) + \
            member_problems(self.fs, self.root, self.manifest, self.index)


def open_dataset(url: str) -> Dataset:
    """The one door into a finished dataset: refuses an unfinished one, an index the manifest
    disowns and a missing or truncated shard, each with a FactoryError saying what to do."""
    fs, root = open_dir(url)
    manifest = finished_manifest(fs, root)
    entry = manifest.get("index") or {}
    if not entry.get("sha256"):
        raise FactoryError(f"{root}: manifest.json has no checksum for {INDEX}; "
                           f"rebuild it with `affect-factory generate RECIPE --out {root} --resume`")
    data = fs.cat_file(f"{root}/{INDEX}")
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise FactoryError(f"{root}: {INDEX} does not match the checksum in manifest.json (changed or "
                           f"corrupted); run `affect-factory verify {url}` to see what differs")
    problems = shard_problems(fs, root, manifest, hashes=False)
    if problems:
        raise FactoryError(f"{root}: the dataset is incomplete ({problems[0]}); run `affect-factory verify {url}` "
                           f"and finish it with `affect-factory generate RECIPE --out {root} --resume`")
    index = parse_parquet(data).to_pandas()
    if index.empty:
        raise FactoryError(f"{root}: {INDEX} has no samples")
    return Dataset(str(url), fs, root, manifest, index)


def finished_manifest(fs, root: str) -> dict[str, Any]:
    """The manifest of a finished dataset, or a FactoryError saying what is missing."""
    try:
        manifest = read_manifest(fs, root)
    except NotOurManifest as exc:
        raise FactoryError(f"{root}: not an affect-factory dataset: {exc}") from None
    except DamagedManifest as exc:
        raise FactoryError(f"{exc}; {damaged_hint(root)}") from None
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


def member_problems(fs, root: str, manifest: dict[str, Any], index: pd.DataFrame) -> list[str]:
    """Each present shard's tar members against the index: a member the index does not place
    (a `../../evil.txt` added, even with the manifest's checksum updated to match), one it
    places that is missing or elsewhere, or a tar that cannot be read."""
    offsets = [c for c in index.columns if c.startswith("tar_offset.")]
    problems = []
    for shard, rows in index.groupby("shard", sort=False):
        if shard not in manifest["shards"] or not fs.exists(f"{root}/{shard}"):
            continue
        expected = {f"{key}.{col.removeprefix('tar_offset.')}": (int(off), int(size))
                    for col in offsets
                    for key, off, size in zip(rows["key"], rows[col], rows[col.replace("tar_offset.", "tar_size.")])
                    if pd.notna(off)}
        try:
            found = tar_members(fs, f"{root}/{shard}")
        except (tarfile.TarError, OSError) as exc:
            problems.append(f"{shard}: not a readable tar ({exc})")
            continue
        problems += [f"{shard}: {p}" for p in compare_members(found, expected)]
    return problems


def verify(url: str) -> list[str]:
    """Re-check a finished dataset's shards and index against its manifest; the problems found
    (unlike `open_dataset`, an index of another checksum is one problem among the others, found
    and reported before the index is parsed)."""
    fs, root = open_dir(url)
    manifest = finished_manifest(fs, root)
    problems = shard_problems(fs, root, manifest, hashes=True)
    data = fs.cat_file(f"{root}/{INDEX}")
    if hashlib.sha256(data).hexdigest() != manifest["index"]["sha256"]:
        problems.append(f"{root}/{INDEX}: SHA-256 differs from the manifest (corrupted or changed)")
    try:
        index = parse_parquet(data).to_pandas()
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds on a damaged file
        return problems + [f"{root}/{INDEX}: cannot be read as Parquet ({type(exc).__name__}: "
                           f"{str(exc)[:160]}); rebuild it with `affect-factory generate RECIPE --out {root} --resume`"]
    missing = [c for c in ("key", "shard") if c not in index.columns]
    if missing:
        return problems + [f"{root}/{INDEX}: has no {missing} column"]
    return problems + index_problems(index, manifest) + member_problems(fs, root, manifest, index)
