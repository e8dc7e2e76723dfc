"""Run a plan: one task per shard, in this process or on a Dask cluster, with resume.

A shard task is a pure function of the recipe and the shard's plan rows: it builds the
generators (once per worker process), makes the samples, writes the tar atomically and its
index part, and returns the shard's manifest entry. The driver records each entry as it
arrives (streamed, in completion order), then builds the index once every shard is there.
"""
from __future__ import annotations

import io
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

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
        _GENERATORS[key] = {m: load_generator(m, s) for m, s in recipe.modalities.items()}
    return _GENERATORS[key]


def generator_info(generators: dict[str, Generator]) -> dict[str, dict[str, Any]]:
    """Backend name, versions and licence line of each modality's generator."""
    return {m: {"backend": g.backend, "versions": g.versions(), "licence": getattr(g, "licence", "")}
            for m, g in generators.items()}


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

SCHEDULER_TIMEOUT_S = 5          # an unreachable --scheduler fails after this long
WORKER_WAIT_S = 120              # a scheduler with no workers fails after this long
WORKER_DEATH_TIMEOUT_S = 15      # local workers whose scheduler vanished (driver killed) exit


def run_in_process(recipe: Recipe, tasks: Iterable[Task], out: str) -> Iterator[dict[str, Any]]:
    """Shards one after another in this process."""
    payload = recipe.model_dump_json()
    for name, rows in tasks:
        yield make_shard(payload, name, rows, out)


def connect(scheduler: Optional[str], workers: int):
    """(client, cluster or None): a client of `scheduler`, or of a new local cluster of `workers` processes."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        if "://" not in scheduler:
            scheduler = f"tcp://{scheduler}"
        try:
            with dask.config.set({"distributed.comm.timeouts.connect": f"{SCHEDULER_TIMEOUT_S}s"}):
                client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise FactoryError(f"--scheduler: cannot reach a Dask scheduler at {scheduler} within "
                               f"{SCHEDULER_TIMEOUT_S} s ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
                               f"check the address and that `dask scheduler` is running there") from None
        return client, None
    # One thread per worker process (the generators are CPU-bound and not all thread-safe);
    # not daemonic, so a generator may start child processes; workers exit if the driver dies.
    with dask.config.set({"distributed.worker.daemon": False}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40,
                               death_timeout=WORKER_DEATH_TIMEOUT_S)
    return Client(cluster, set_as_default=False), cluster


def run_on_dask(recipe: Recipe, tasks: Iterable[Task], out: str, client,
                scheduler: Optional[str] = None) -> Iterator[dict[str, Any]]:
    """Shards as Dask tasks on `client`'s cluster, streamed as they finish.

    At most two tasks per worker thread are in flight (each holds one shard in memory; only
    its small manifest entry comes back), so memory stays bounded by the shards being made,
    not by the dataset. A task lost with its worker is rescheduled by the scheduler (up to
    `distributed.scheduler.allowed-failures` times); a task that raised is retried 3 times.
    """
    from distributed import as_completed

    payload = recipe.model_dump_json()
    run_id = f"{recipe.hash()[:8]}-{uuid.uuid4().hex[:6]}"
    _wait_for_workers(client, scheduler)
    _probe_workers(client, payload)
    pending = iter(tasks)
    futures = as_completed(loop=client.loop)
    in_flight, target, checked = 0, _window(client), time.monotonic()
    while in_flight < target and _submit_next(client, futures, pending, payload, out, run_id):
        in_flight += 1
    for future in futures:
        entry = future.result()
        future.release()
        in_flight -= 1
        yield entry
        if time.monotonic() - checked > 5:      # workers may come and go (adaptive clusters)
            target, checked = _window(client), time.monotonic()
        while in_flight < target and _submit_next(client, futures, pending, payload, out, run_id):
            in_flight += 1


def _window(client) -> int:
    """Tasks to keep in flight: two per worker thread (one running, one queued)."""
    return max(2 * sum(client.nthreads().values()), 2)


def _wait_for_workers(client, scheduler: Optional[str]) -> None:
    if client.nthreads():
        return
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except TimeoutError:
        raise FactoryError(f"--scheduler {scheduler}: no Dask worker connected within {WORKER_WAIT_S} s; "
                           f"start some with `dask worker {scheduler}`") from None


def _submit_next(client, futures, pending, payload, out, run_id) -> bool:
    task = next(pending, None)
    if task is None:
        return False
    name, rows = task
    futures.add(client.submit(make_shard, payload, name, rows, out, key=f"shard-{name}-{run_id}",
                              retries=3, pure=False))
    return True


def _probe_workers(client, payload: str) -> None:
    """Fail fast if a worker lacks a package the recipe's generators need (names worker and package)."""
    problems = client.run(_probe, payload)
    bad = {w: p for w, p in problems.items() if p}
    if bad:
        worker, message = sorted(bad.items())[0]
        more = f" (and {len(bad) - 1} more workers)" if len(bad) > 1 else ""
        raise FactoryError(f"Dask worker {worker}{more} cannot run this recipe: {message}")


def _probe(payload: str) -> Optional[str]:
    try:
        build_generators(Recipe.model_validate_json(payload))
    except FactoryError as exc:
        return str(exc)
    except ImportError as exc:
        return f"a package is missing: {exc.name or exc} ({exc})"
    except Exception as exc:  # noqa: BLE001 - reported to the driver, which stops the run
        return f"{type(exc).__name__}: {exc}"
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
    """Generate every shard of `plan` into `out`, then build the index and finish the manifest.

    `out` is a local folder or any fsspec URL (file://, s3://, gs://, hf://, memory://). The
    manifest is saved as shard entries arrive (at most every 2 s), so a run killed at any
    moment loses at most the shards of the last 2 s; `resume` re-checks the rest.
    """
    start = time.perf_counter()
    distributed_run = bool(scheduler) or workers > 1
    out = output_url(out, distributed_run)
    client = cluster = None
    if distributed_run:                      # first: an unreachable scheduler fails before anything is written
        client, cluster = connect(scheduler, workers)
    try:
        generators = build_generators(recipe)
        for g in generators.values():
            g.preflight(plan.levels())
        fs, root = dataset.open_dir(out)
        planned = {s: {"count": int(len(r)), "split": str(r["split"].iloc[0])}
                   for s, r in plan.samples.groupby("shard", sort=False)}
        made_by = {"recipe_hash": recipe.hash(), "plan_sha256": plan.digest(), "generators": generator_info(generators)}
        manifest = prepare_output(fs, root, made_by, resume, force)
        if manifest is None:
            manifest = dataset.new_manifest(recipe, made_by["generators"], planned)
            manifest["plan_sha256"] = made_by["plan_sha256"]
            if plan.complement:   # what the synthetic part complements (never the real labels)
                manifest["complement"] = plan.complement
        done = verified_shards(fs, root, manifest)
        manifest["shards"] = {s: manifest["shards"][s] for s in done}
        dataset.write_json_atomic(fs, f"{root}/{dataset.MANIFEST}", manifest)
        todo = ((s, _rows_bytes(plan.rows(s))) for s in plan.shards() if s not in done)   # lazy: one shard at a time
        if progress:
            progress(sum(planned[s]["count"] for s in done), len(plan.samples))
        runner = (run_on_dask(recipe, todo, out, client, scheduler) if distributed_run
                  else run_in_process(recipe, todo, out))
        last_save = time.monotonic()
        for entry in runner:
            name = entry.pop("name")
            if distributed_run:
                _check_visible(fs, root, name, entry, scheduler)
            manifest["shards"][name] = entry
            if progress:
                progress(entry["count"], None)
            if time.monotonic() - last_save > 2.0:
                dataset.write_json_atomic(fs, f"{root}/{dataset.MANIFEST}", manifest)
                last_save = time.monotonic()
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    finalize(fs, root, manifest, plan.shards())
    sizes = [e["size"] for e in manifest["shards"].values()]
    return RunSummary(out=out, shards=len(plan.shards()), samples=len(plan.samples), skipped_shards=len(done),
                      bytes=sum(sizes), seconds=time.perf_counter() - start,
                      per_split=plan.samples["split"].value_counts(sort=False).to_dict())


def output_url(out: str, distributed_run: bool) -> str:
    """`out` as workers can use it: local paths made absolute (a worker's cwd is not ours);
    `memory://` refused for Dask runs (each process has its own memory filesystem)."""
    out = str(out)
    protocol = out.split("://", 1)[0] if "://" in out else "file"
    if protocol == "memory" and distributed_run:
        raise FactoryError(f"--out {out}: a memory:// filesystem lives in one process; Dask workers cannot "
                           f"write to it (use a folder or an s3:// / gs:// / hf:// URL, or run without --workers/--scheduler)")
    if "://" not in out and "::" not in out:
        return str(Path(out).expanduser().absolute())
    return out


def _check_visible(fs, root: str, name: str, entry: dict[str, Any], scheduler: Optional[str]) -> None:
    """A worker said it wrote `name`: make sure this process sees it where it should be."""
    path = f"{root}/{name}"
    if not fs.exists(path) or fs.size(path) != entry["size"]:
        where = f"the workers of {scheduler}" if scheduler else "a worker"
        raise FactoryError(f"{where} wrote {name}, but it is not at {path} as seen from here; --out must be "
                           f"a filesystem every worker and this machine share (a shared mount or an "
                           f"s3:// / gs:// / hf:// URL)")


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
    _clean_partials(fs, root)


# ---------------------------------------------------------------- output folder

def prepare_output(fs, root: str, made_by: dict[str, Any], resume: bool, force: bool) -> Optional[dict[str, Any]]:
    """Check the output folder; return the manifest to resume from, if any.

    Refuses a non-empty folder that is not an affect-factory dataset, a finished or unfinished
    dataset without --resume/--force, and (for --resume) a dataset made from another recipe,
    another plan (e.g. a complemented labels file that changed) or other generator versions:
    `made_by` holds this run's recipe hash, plan digest and generator versions.
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
    """Remove temporary files a killed run left behind."""
    if fs.exists(f"{root}/{PARTIAL_DIR}"):
        fs.rm(f"{root}/{PARTIAL_DIR}", recursive=True)


FACTORY_FILES = {dataset.INDEX, "audit.json", "audit.md", "datasheet.md", "README.md", "croissant.json",
                 "report.html", "preview.png", "plots", ".factory"}


def _remove_dataset(fs, root: str, manifest: dict[str, Any]) -> None:
    """Remove a dataset this factory made: only the files it writes (its shards and the names
    above), never a user's own files kept beside it. Marked unfinished first."""
    manifest["complete"] = False
    dataset.write_json_atomic(fs, f"{root}/{dataset.MANIFEST}", manifest)
    ours = FACTORY_FILES | set(manifest.get("planned_shards", {})) | set(manifest.get("shards", {}))
    for path in fs.ls(root, detail=False):
        if path.rstrip("/").rsplit("/", 1)[-1] in ours:
            fs.rm(path, recursive=True)


def verified_shards(fs, root: str, manifest: dict[str, Any]) -> list[str]:
    """Shards whose tar, index part and manifest entry agree (what resume trusts)."""
    done = []
    for name, entry in manifest.get("shards", {}).items():
        tar, part = f"{root}/{name}", f"{root}/{dataset.PARTS_DIR}/{name}.parquet"
        if fs.exists(tar) and fs.exists(part) and fs.size(tar) == entry["size"] and sha256_of(fs, tar) == entry["sha256"]:
            done.append(name)
    return done
