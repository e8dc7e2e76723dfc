"""Run a plan: one task per shard, in this process or on a Dask cluster, with resume.

A shard task is a pure function of the recipe and the shard's plan rows: it builds the
generators (once per worker process), makes the samples, writes the tar atomically and its
index part, and returns the shard's manifest entry. The driver records each entry as it
arrives (streamed, in completion order), then builds the index once every shard is there.
"""
from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from factory import dataset
from factory.assemble import assemble, index_table
from factory.errors import FactoryError
from factory.generators import Generator, load_generator
from factory.plan import Plan, episode_of, specs_from_rows
from factory.recipe import Recipe
from factory.shards import PARTIAL_DIR, sha256_of, write_shard

_GENERATORS: dict[str, dict[str, Generator]] = {}   # per process, by recipe hash


def build_generators(recipe: Recipe) -> dict[str, Generator]:
    """The recipe's generators, built once per process."""
    key = recipe.hash()
    if key not in _GENERATORS:
        _GENERATORS[key] = {m: load_generator(m, s) for m, s in recipe.modalities.enabled().items()}
    return _GENERATORS[key]


def generator_info(generators: dict[str, Generator]) -> dict[str, dict[str, Any]]:
    """Backend names and versions of each modality's generator."""
    return {m: {"backend": g.backend, "versions": g.versions()} for m, g in generators.items()}


# ---------------------------------------------------------------- the shard task

def make_shard(recipe_json: str, shard: str, rows: bytes, out: str) -> dict[str, Any]:
    """Generate and write one shard; returns its manifest entry (a Dask task)."""
    recipe = Recipe.model_validate_json(recipe_json)
    generators = build_generators(recipe)
    frame = pq.read_table(io.BytesIO(rows)).to_pandas()
    specs = list(specs_from_rows(frame, list(recipe.population), episode_of(recipe)))
    made = {m: g.generate(specs) for m, g in generators.items()}
    info = generator_info(generators)
    samples = [assemble(spec, {m: parts[i] for m, parts in made.items()}, info) for i, spec in enumerate(specs)]
    fs, root = dataset.open_dir(out)
    written = write_shard(fs, root, shard, samples)
    dataset.write_part(fs, root, shard, index_table(samples, written))
    return {"name": shard, **dataset.shard_entry(written, specs[0].split)}


def _rows_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf)
    return buf.getvalue()


# ---------------------------------------------------------------- runners

Task = tuple[str, bytes]


def run_in_process(recipe: Recipe, tasks: list[Task], out: str) -> Iterator[dict[str, Any]]:
    """Shards one after another in this process."""
    payload = recipe.model_dump_json()
    for name, rows in tasks:
        yield make_shard(payload, name, rows, out)


def run_on_dask(recipe: Recipe, tasks: list[Task], out: str, workers: int,
                scheduler: Optional[str]) -> Iterator[dict[str, Any]]:
    """Shards as Dask tasks on a local cluster or an existing scheduler, streamed as they finish.

    At most a few tasks per worker are in flight, so memory stays bounded by the shards being
    made, not by the dataset; a task lost with its worker is retried elsewhere.
    """
    import dask
    from distributed import Client, LocalCluster, as_completed

    if scheduler:
        try:
            client = Client(scheduler, timeout="5s")
        except (OSError, TimeoutError) as exc:
            raise FactoryError(f"--scheduler: cannot reach a Dask scheduler at {scheduler} within 5 s ({exc})") from None
        cluster = None
    else:
        # Workers may fork (eSpeak NG runs each shard in a fresh child): not daemonic.
        with dask.config.set({"distributed.worker.daemon": False}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    payload = recipe.model_dump_json()
    try:
        _probe_workers(client, payload)
        pending = iter(tasks)
        window = max(2 * len(client.scheduler_info()["workers"]), 4)
        futures = as_completed()
        for _ in range(window):
            _submit_next(client, futures, pending, payload, out)
        for future in futures:
            yield future.result()
            _submit_next(client, futures, pending, payload, out)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _submit_next(client, futures, pending, payload, out) -> None:
    task = next(pending, None)
    if task is not None:
        name, rows = task
        futures.add(client.submit(make_shard, payload, name, rows, out, key=f"shard-{name}-{hash(payload) & 0xffffff:x}",
                                  retries=3, pure=False))


def _probe_workers(client, payload: str) -> None:
    """Fail fast if a worker lacks a package the recipe's generators need."""
    problems = client.run(_probe, payload)
    bad = {w: p for w, p in problems.items() if p}
    if bad:
        worker, message = next(iter(bad.items()))
        raise FactoryError(f"Dask worker {worker} cannot run this recipe: {message}")


def _probe(payload: str) -> Optional[str]:
    try:
        build_generators(Recipe.model_validate_json(payload))
    except FactoryError as exc:
        return str(exc)
    return None


# ---------------------------------------------------------------- the run

@dataclass
class RunSummary:
    """What a run did."""

    out: str
    shards: int
    samples: int
    skipped_shards: int
    bytes: int
    seconds: float
    per_split: dict[str, int] = field(default_factory=dict)


def generate(recipe: Recipe, plan: Plan, out: str, *, workers: int = 1, scheduler: Optional[str] = None,
             resume: bool = False, force: bool = False,
             progress: Callable[[int, int], None] | None = None) -> RunSummary:
    """Generate every shard of `plan` into `out`, then build the index and finish the manifest."""
    start = time.perf_counter()
    generators = build_generators(recipe)
    for g in generators.values():
        g.preflight(plan.levels())
    fs, root = dataset.open_dir(out)
    planned = {s: {"count": int(len(r)), "split": str(r["split"].iloc[0])}
               for s, r in plan.samples.groupby("shard", sort=False)}
    manifest = prepare_output(fs, root, recipe, resume, force)
    if manifest is None:
        manifest = dataset.new_manifest(recipe, generator_info(generators), planned)
        if plan.complement:
            manifest["complement"] = plan.complement
    dataset.write_json_atomic(fs, f"{root}/{dataset.MANIFEST}", manifest)
    done = verified_shards(fs, root, manifest)
    manifest["shards"] = {s: manifest["shards"][s] for s in done}
    todo = [(s, _rows_bytes(plan.rows(s))) for s in plan.shards() if s not in done]
    if progress:
        progress(sum(planned[s]["count"] for s in done), len(plan.samples))
    runner = (run_on_dask(recipe, todo, out, workers, scheduler) if (scheduler or workers > 1)
              else run_in_process(recipe, todo, out))
    last_save = time.monotonic()
    for entry in runner:
        manifest["shards"][entry.pop("name")] = entry
        if progress:
            progress(entry["count"], None)
        if time.monotonic() - last_save > 2.0:
            dataset.write_json_atomic(fs, f"{root}/{dataset.MANIFEST}", manifest)
            last_save = time.monotonic()
    finalize(fs, root, manifest, plan.shards())
    sizes = [e["size"] for e in manifest["shards"].values()]
    return RunSummary(out=out, shards=len(plan.shards()), samples=len(plan.samples), skipped_shards=len(done),
                      bytes=sum(sizes), seconds=time.perf_counter() - start,
                      per_split=plan.samples["split"].value_counts(sort=False).to_dict())


def finalize(fs, root: str, manifest: dict[str, Any], shards: list[str]) -> None:
    """Order the manifest's shards, build index.parquet and mark the dataset complete."""
    missing = [s for s in shards if s not in manifest["shards"]]
    if missing:
        raise FactoryError(f"{len(missing)} shards were not written (first: {missing[0]}); "
                           f"run again with --resume")
    manifest["shards"] = {s: manifest["shards"][s] for s in shards}
    manifest["index"] = dataset.build_index(fs, root, shards)
    manifest["complete"] = True
    dataset.write_json_atomic(fs, f"{root}/{dataset.MANIFEST}", manifest)
    if fs.exists(f"{root}/{PARTIAL_DIR}"):
        fs.rm(f"{root}/{PARTIAL_DIR}", recursive=True)


# ---------------------------------------------------------------- output folder

def prepare_output(fs, root: str, recipe: Recipe, resume: bool, force: bool) -> Optional[dict[str, Any]]:
    """Check the output folder; return the manifest to resume from, if any.

    Refuses a non-empty folder that is not an affect-factory dataset, a dataset of another
    recipe (for --resume), and a finished or unfinished dataset without --resume/--force.
    """
    try:
        fs.makedirs(root, exist_ok=True)
        probe = f"{root}/.factory/write-test"
        fs.makedirs(f"{root}/.factory", exist_ok=True)
        with fs.open(probe, "wb") as f:
            f.write(b"ok")
        fs.rm(probe)
    except OSError as exc:
        raise FactoryError(f"--out {root}: cannot write there ({exc.strerror or exc}); choose a writable folder") from None
    manifest = dataset.read_manifest(fs, root)
    entries = [p for p in fs.ls(root, detail=False) if not p.rstrip("/").rsplit("/", 1)[-1].startswith(".")]
    if manifest is None:
        if entries:
            raise FactoryError(f"--out {root}: the folder is not empty and holds no affect-factory dataset; "
                               f"refusing to write into it (choose an empty or new folder)")
        return None
    if resume:
        if manifest.get("recipe_hash") != recipe.hash():
            raise FactoryError(f"--resume: {root} was made from another recipe "
                               f"(its hash {manifest.get('recipe_hash', '?')[:12]}…, this recipe {recipe.hash()[:12]}…); "
                               f"use a new --out or the original recipe")
        _clean_partials(fs, root)
        manifest["complete"] = False
        return manifest
    if not force:
        state = "a finished" if manifest.get("complete") else "an unfinished"
        raise FactoryError(f"--out {root}: already holds {state} dataset ({manifest.get('name')}); "
                           f"use --resume to finish it or --force to replace it")
    _remove_dataset(fs, root, manifest)
    return None


def _clean_partials(fs, root: str) -> None:
    if fs.exists(f"{root}/{PARTIAL_DIR}"):
        fs.rm(f"{root}/{PARTIAL_DIR}", recursive=True)


def _remove_dataset(fs, root: str, manifest: dict[str, Any]) -> None:
    """Remove a dataset this factory made (only its own files), marking it unfinished first."""
    manifest["complete"] = False
    dataset.write_json_atomic(fs, f"{root}/{dataset.MANIFEST}", manifest)
    for path in fs.ls(root, detail=False):
        name = path.rstrip("/").rsplit("/", 1)[-1]
        if name != dataset.MANIFEST and (name.endswith((".tar", ".parquet", ".json", ".md", ".png", ".html", ".yaml"))
                                         or name in (".factory", "plots", "preview")):
            fs.rm(path, recursive=True)


def verified_shards(fs, root: str, manifest: dict[str, Any]) -> list[str]:
    """Shards whose tar, index part and manifest entry agree (what resume trusts)."""
    done = []
    for name, entry in manifest.get("shards", {}).items():
        tar, part = f"{root}/{name}", f"{root}/{dataset.PARTS_DIR}/{name}.parquet"
        if fs.exists(tar) and fs.exists(part) and fs.size(tar) == entry["size"] and sha256_of(fs, tar) == entry["sha256"]:
            done.append(name)
    return done
