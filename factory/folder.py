"""The output folder of a run, from an empty folder to a finished dataset.

`OutputFolder.prepare` checks the folder (writable; empty, or a dataset of this factory that
`--resume` may finish or `--force` may replace), keeps the shards that verify and saves an
unfinished manifest; the run then `record`s each shard as it arrives, and `finalize` builds the
index and marks the dataset complete. The manifest lives in the folder object from start to
end. Workers write their shard and its index part with `write_part` and return `shard_entry`.
`--force` removes only the files the factory writes (its shards and `dataset.DOCUMENTS`),
never a user's own files kept beside them.
"""
from __future__ import annotations

import json
import platform
import re
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Iterable, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from factory import __version__
from factory.dataset import (DOCUMENTS, FACTORY_DIR, FORMAT, INDEX, MANIFEST, PARTS_DIR, DamagedManifest,
                             NotOurManifest, damaged_hint, open_dir, read_manifest, read_parquet,
                             read_parquet_schema)
from factory.errors import FactoryError
from factory.lock import LOCK, FolderLock, acquire
from factory.shards import PARTIAL_DIR, ShardInfo, partial_path, put_atomic, sha256_of

SAVE_EVERY_S = 2.0      # a run killed at any moment loses at most the shards of the last 2 s
_PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "neurokit2", "webdataset", "dask", "distributed", "pydantic")


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages every dataset depends on."""
    out = {"python": platform.python_version(), "affect-factory": __version__}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def new_manifest(recipe, made_by: dict[str, Any], planned: dict[str, dict],
                 complement: Optional[dict[str, Any]]) -> dict[str, Any]:
    """An incomplete manifest for a run that is about to start."""
    manifest = {
        "format": FORMAT, "name": recipe.name, "version": recipe.version, "complete": False,
        "recipe_hash": recipe.hash(), "recipe": recipe.resolved(), "packages": package_versions(),
        "generators": made_by["generators"], "planned_shards": planned, "shards": {}, "index": None,
        "plan_sha256": made_by["plan_sha256"],
    }
    if complement:   # what the synthetic part complements (never the real labels)
        manifest["complement"] = complement
    return manifest


def shard_entry(info: ShardInfo, split: str) -> dict[str, Any]:
    """A manifest entry for a written shard."""
    return {"count": info.count, "size": info.size, "sha256": info.sha256, "split": split}


def write_part(fs, root: str, name: str, table: pa.Table) -> None:
    """Write one shard's index part (atomically)."""
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf)
    fs.makedirs(f"{root}/{PARTS_DIR}", exist_ok=True)
    put_atomic(fs, root, buf.getvalue().to_pybytes(), f"{root}/{PARTS_DIR}/{name}.parquet", f"{name}.parquet")


def write_json_atomic(fs, path: str, data: dict[str, Any]) -> None:
    """Write JSON under a temporary name, then move it into place."""
    folder, name = path.rsplit("/", 1)
    put_atomic(fs, folder, json.dumps(data, indent=2, sort_keys=True).encode(), path, name)


@dataclass
class OutputFolder:
    """The folder a run writes, and the manifest it keeps there, under the folder's lock."""

    fs: Any
    root: str
    manifest: dict[str, Any]
    kept: list[str]                  # shards verified from an earlier run (--resume)
    lock: Optional[FolderLock] = None
    finished: bool = False           # --resume found the dataset already complete: nothing to write
    _saved: float = 0.0

    @classmethod
    def prepare(cls, out: str, recipe, made_by: dict[str, Any], planned: dict[str, dict], *,
                resume: bool = False, force: bool = False,
                complement: Optional[dict[str, Any]] = None) -> "OutputFolder":
        """Check `out` and start (or, with `resume`, continue) a run there, holding its lock.

        Refuses, before writing anything: a non-empty folder that is not an affect-factory
        dataset (only a manifest.json with the factory's format marker makes one), a dataset
        without --resume/--force, a damaged manifest without --force, and (for --resume) a
        dataset made from another recipe, another plan (e.g. a complemented labels file that
        changed) or other generator versions: `made_by` holds this run's recipe hash, plan
        digest and generator versions. Then takes the folder's lock (a second run refuses,
        naming this one) and decides again under it. `--resume` of a dataset that is already
        complete and verifies writes nothing (it is never turned back into an unfinished one).
        """
        fs, root = open_dir(out)
        _manifest_to_resume(fs, root, made_by, resume, force, act=False)     # read-only: refuse early
        _check_writable(fs, root)
        lock = acquire(fs, root)
        try:
            manifest = _manifest_to_resume(fs, root, made_by, resume, force, act=True)
            if manifest is None:
                manifest = new_manifest(recipe, made_by, planned, complement)
            kept = verified_shards(fs, root, manifest)
            folder = cls(fs, root, manifest, kept, lock)
            if resume and manifest.get("complete") and set(kept) == set(planned) and _index_matches(fs, root, manifest):
                folder.finished = True
                return folder
            _clean_partials(fs, root)
            manifest["complete"] = False
            manifest["shards"] = {s: manifest["shards"][s] for s in kept}
            folder.save()
            return folder
        except BaseException:
            lock.release()
            raise

    def save(self) -> None:
        """Write the manifest as it stands."""
        write_json_atomic(self.fs, f"{self.root}/{MANIFEST}", self.manifest)
        self._saved = time.monotonic()

    def record(self, name: str, entry: dict[str, Any]) -> None:
        """Note a written shard; the manifest is saved at most every `SAVE_EVERY_S` seconds."""
        self.manifest["shards"][name] = entry
        if time.monotonic() - self._saved > SAVE_EVERY_S:
            self.save()

    def finalize(self, shards: list[str]) -> None:
        """Order the manifest's shards, build index.parquet and mark the dataset complete."""
        if self.finished:
            return
        missing = [s for s in shards if s not in self.manifest["shards"]]
        if missing:
            raise FactoryError(f"{len(missing)} shards were not written (first: {missing[0]}); "
                               f"run again with --resume")
        self.manifest["shards"] = {s: self.manifest["shards"][s] for s in shards}
        self.manifest["index"] = build_index(self.fs, self.root, shards)
        self.manifest["complete"] = True
        self.save()
        _clean_partials(self.fs, self.root)

    def release(self) -> None:
        """Let another run write here (the lock is released; the files stay)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None


# ---------------------------------------------------------------- preparing

def _check_writable(fs, root: str) -> None:
    try:
        fs.makedirs(root, exist_ok=True)
        probe = f"{root}/{FACTORY_DIR}/write-test"
        fs.makedirs(f"{root}/{FACTORY_DIR}", exist_ok=True)
        with fs.open(probe, "wb") as f:
            f.write(b"ok")
        fs.rm(probe)
    except OSError as exc:
        raise FactoryError(f"--out {root}: cannot write there ({exc.strerror or exc}); choose a writable folder") from None


def _manifest_to_resume(fs, root: str, made_by: dict[str, Any], resume: bool, force: bool,
                        act: bool) -> Optional[dict[str, Any]]:
    """The manifest of the run to continue, or None to start afresh (after --force removed the old
    dataset). With `act` False only the refusals happen: nothing is removed."""
    if not fs.exists(root):
        return None
    if not fs.isdir(root):
        raise FactoryError(f"--out {root}: is a file, not a folder; choose a new or empty folder")
    try:
        manifest = read_manifest(fs, root)
    except NotOurManifest as exc:
        raise FactoryError(f"--out {root}: the folder is not empty and holds no affect-factory dataset ({exc}); "
                           f"refusing to write into it (choose an empty or new folder)") from None
    except DamagedManifest as exc:
        if not force:
            raise FactoryError(f"--out {root}: {exc}; {damaged_hint(root)}") from None
        if act:
            _remove_damaged(fs, root)
        return None
    entries = [p for p in fs.ls(root, detail=False) if not p.rstrip("/").rsplit("/", 1)[-1].startswith(".")]
    if manifest is None:
        if entries:
            raise FactoryError(f"--out {root}: the folder is not empty and holds no affect-factory dataset; "
                               f"refusing to write into it (choose an empty or new folder)")
        return None
    if resume:
        _check_same_run(root, manifest, made_by)
        return manifest
    if not force:
        state = "a finished" if manifest.get("complete") else "an unfinished"
        raise FactoryError(f"--out {root}: already holds {state} dataset ({manifest.get('name')}); "
                           f"use --resume to finish it or --force to replace it")
    if act:
        _remove_dataset(fs, root, manifest)
    return None


def _index_matches(fs, root: str, manifest: dict[str, Any]) -> bool:
    path = f"{root}/{INDEX}"
    return fs.exists(path) and sha256_of(fs, path) == (manifest.get("index") or {}).get("sha256")


def _check_same_run(root: str, manifest: dict[str, Any], made_by: dict[str, Any]) -> None:
    if manifest.get("recipe_hash") != made_by["recipe_hash"]:
        raise FactoryError(f"--resume: {root} was made from another recipe "
                           f"(its hash {manifest.get('recipe_hash', '?')[:12]}…, this recipe {made_by['recipe_hash'][:12]}…); "
                           f"use a new --out or the original recipe")
    if manifest.get("plan_sha256") != made_by["plan_sha256"]:
        raise FactoryError(f"--resume: the plan differs from the one {root} was started with (the complemented "
                           f"labels file changed?); use --force to start again or a new --out")
    if manifest.get("generators") != made_by["generators"]:
        raise FactoryError(f"--resume: {root} was started with other generator versions "
                           f"({manifest.get('generators')} vs now {made_by['generators']}); finishing it would "
                           f"mix versions: use --force to start again or a new --out")


def _clean_partials(fs, root: str) -> None:
    """Remove temporary files a killed run left behind."""
    if fs.exists(f"{root}/{PARTIAL_DIR}"):
        fs.rm(f"{root}/{PARTIAL_DIR}", recursive=True)


def _remove_dataset(fs, root: str, manifest: dict[str, Any]) -> None:
    """Remove a dataset this factory made: only the files it writes (its shards, index, documents
    and bookkeeping), never a user's own files kept beside it. Marked unfinished first."""
    manifest["complete"] = False
    write_json_atomic(fs, f"{root}/{MANIFEST}", manifest)
    _remove_ours(fs, root, {INDEX, *DOCUMENTS} | set(manifest.get("planned_shards", {})) | set(manifest.get("shards", {})))


def _remove_damaged(fs, root: str) -> None:
    """--force on a damaged manifest: remove the files the factory wrote, as far as they can be
    told without the manifest: its documents, index, manifest and bookkeeping, and the shards
    named by its index parts or by what is left of the manifest's text."""
    shards = {p.rsplit("/", 1)[-1].removesuffix(".parquet") for p in fs.glob(f"{root}/{PARTS_DIR}/*.parquet")}
    shards |= set(re.findall(r'"([a-z][a-z0-9_]*-\d{6}\.tar)"', fs.cat_file(f"{root}/{MANIFEST}").decode("utf-8", "replace")))
    _remove_ours(fs, root, {MANIFEST, INDEX, *DOCUMENTS} | shards)


def _remove_ours(fs, root: str, names: set[str]) -> None:
    """Remove DIR/<name> for each of `names` that exists, and `.factory/` except the lock this run holds."""
    for path in fs.ls(root, detail=False):
        if path.rstrip("/").rsplit("/", 1)[-1] in names:
            fs.rm(path, recursive=True)
    for path in fs.ls(f"{root}/{FACTORY_DIR}", detail=False) if fs.isdir(f"{root}/{FACTORY_DIR}") else []:
        if path.rstrip("/") != f"{root}/{LOCK}".rstrip("/"):
            fs.rm(path, recursive=True)


def verified_shards(fs, root: str, manifest: dict[str, Any]) -> list[str]:
    """Shards whose tar, index part and manifest entry agree (what resume trusts)."""
    done = []
    for name, entry in manifest.get("shards", {}).items():
        tar, part = f"{root}/{name}", f"{root}/{PARTS_DIR}/{name}.parquet"
        if fs.exists(tar) and fs.exists(part) and fs.size(tar) == entry["size"] and sha256_of(fs, tar) == entry["sha256"]:
            done.append(name)
    return done


# ---------------------------------------------------------------- the index

def build_index(fs, root: str, shards: Iterable[str]) -> dict[str, Any]:
    """Concatenate the index parts, in shard order, into index.parquet (streamed)."""
    paths = [f"{root}/{PARTS_DIR}/{s}.parquet" for s in shards]
    schemas = [read_parquet_schema(fs, p) for p in paths]
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
