"""A dataset folder: its manifest, its index, and the checks that it is whole.

Layout (local path or any fsspec URL)::

    DIR/manifest.json            resolved recipe + hash, versions, per-shard count/size/SHA-256
    DIR/index.parquet            one row per sample (flattened JSON scalars, shard, offsets)
    DIR/<split>-NNNNNN.tar       WebDataset shards
    DIR/.factory/parts/*.parquet per-shard index parts (what resume and finalize read)

`manifest.json` says ``"complete": false`` until every shard is written and the index is
built; only then does the dataset count as finished.
"""
from __future__ import annotations

import json
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Iterable

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from factory import __version__
from factory.errors import FactoryError
from factory.shards import PARTIAL_DIR, ShardInfo, partial_path, put_atomic, sha256_of

MANIFEST = "manifest.json"
INDEX = "index.parquet"
PARTS_DIR = ".factory/parts"
FORMAT = "affect-factory/1"
_PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "neurokit2", "webdataset", "dask", "distributed", "pydantic")


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


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages every dataset depends on."""
    out = {"python": platform.python_version(), "affect-factory": __version__}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


# ---------------------------------------------------------------- manifest

def read_manifest(fs, root: str) -> dict[str, Any] | None:
    """The manifest, or None if the folder has none."""
    path = f"{root}/{MANIFEST}"
    if not fs.exists(path):
        return None
    with fs.open(path, "rb") as f:
        return json.loads(f.read())


def write_json_atomic(fs, path: str, data: dict[str, Any]) -> None:
    """Write JSON under a temporary name, then move it into place."""
    folder, name = path.rsplit("/", 1)
    put_atomic(fs, folder, json.dumps(data, indent=2, sort_keys=True).encode(), path, name)


def new_manifest(recipe, generators: dict[str, dict[str, Any]], plan_shards: dict[str, dict]) -> dict[str, Any]:
    """An incomplete manifest for a run that is about to start."""
    return {
        "format": FORMAT, "name": recipe.name, "version": recipe.version, "complete": False,
        "recipe_hash": recipe.hash(), "recipe": recipe.resolved(), "packages": package_versions(),
        "generators": generators, "planned_shards": plan_shards, "shards": {}, "index": None,
    }


def shard_entry(info: ShardInfo, split: str) -> dict[str, Any]:
    """A manifest entry for a written shard."""
    return {"count": info.count, "size": info.size, "sha256": info.sha256, "split": split}


# ---------------------------------------------------------------- index

def write_part(fs, root: str, name: str, table: pa.Table) -> None:
    """Write one shard's index part (atomically)."""
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf)
    fs.makedirs(f"{root}/{PARTS_DIR}", exist_ok=True)
    put_atomic(fs, root, buf.getvalue().to_pybytes(), f"{root}/{PARTS_DIR}/{name}.parquet", f"{name}.parquet")


def build_index(fs, root: str, shards: Iterable[str]) -> dict[str, Any]:
    """Concatenate the index parts, in shard order, into index.parquet (streamed)."""
    paths = [f"{root}/{PARTS_DIR}/{s}.parquet" for s in shards]
    schemas = [read_parquet(fs, p).schema for p in paths]
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    tmp = partial_path(root, INDEX)
    fs.makedirs(f"{root}/{PARTIAL_DIR}", exist_ok=True)
    rows = 0
    with fs.open(tmp, "wb") as f, pq.ParquetWriter(f, schema) as writer:
        for p in paths:
            table = read_parquet(fs, p)
            writer.write_table(_conform(table, schema))
            rows += table.num_rows
    fs.mv(tmp, f"{root}/{INDEX}")
    return {"file": INDEX, "rows": rows, "sha256": sha256_of(fs, f"{root}/{INDEX}")}


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = []
    for field in schema:
        if field.name in table.column_names:
            columns.append(table[field.name].cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def read_index(url: str):
    """The index of a finished dataset as a pandas DataFrame."""
    fs, root = open_dir(url)
    require_finished(fs, root)
    return read_parquet(fs, f"{root}/{INDEX}").to_pandas()


def read_parquet(fs, path: str, columns: list[str] | None = None) -> pa.Table:
    """A Parquet file on `fs`, read into memory and parsed on this thread.

    `pq.read_table` reads and decodes on pyarrow's thread pools; when one of those threads
    still holds a Python object (a Python file, a buffer over Python bytes) as the interpreter
    exits, it is stopped while it waits for the GIL and the process aborts (rc 134, "terminate
    called without an active exception"; about 1 run in 30 of `verify`, 0 in 300 this way).
    """
    return parse_parquet(fs.cat_file(path), columns)


def parse_parquet(data: bytes, columns: list[str] | None = None) -> pa.Table:
    """Parquet bytes as a table, parsed on this thread (see `read_parquet`)."""
    return pq.ParquetFile(pa.BufferReader(data), pre_buffer=False).read(columns=columns, use_threads=False)


# ---------------------------------------------------------------- checks

def require_finished(fs, root: str) -> dict[str, Any]:
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


def verify(url: str, check_index_checksum: bool = True) -> list[str]:
    """Re-check every shard against the manifest and the index; returns the problems found."""
    import pyarrow.compute as pc

    fs, root = open_dir(url)
    manifest = require_finished(fs, root)
    problems = []
    for name, entry in manifest["shards"].items():
        path = f"{root}/{name}"
        if not fs.exists(path):
            problems.append(f"{name}: missing")
            continue
        if fs.size(path) != entry["size"]:
            problems.append(f"{name}: size {fs.size(path)} != manifest {entry['size']}")
        elif sha256_of(fs, path) != entry["sha256"]:
            problems.append(f"{name}: SHA-256 differs from the manifest (corrupted or changed)")
    if check_index_checksum and sha256_of(fs, f"{root}/{INDEX}") != manifest["index"]["sha256"]:
        problems.append(f"{INDEX}: SHA-256 differs from the manifest")
    index = read_parquet(fs, f"{root}/{INDEX}", columns=["key", "shard"])
    counts = dict(zip(*[c.to_pylist() for c in pc.value_counts(index["shard"]).flatten()]))
    for name, entry in manifest["shards"].items():
        if counts.get(name, 0) != entry["count"]:
            problems.append(f"{name}: index has {counts.get(name, 0)} rows, manifest says {entry['count']}")
    extra = set(counts) - set(manifest["shards"])
    problems += [f"{name}: in the index but not in the manifest" for name in sorted(extra)]
    keys = index["key"].to_pylist()
    if len(set(keys)) != len(keys):
        problems.append(f"{len(keys) - len(set(keys))} sample keys appear more than once")
    return problems

