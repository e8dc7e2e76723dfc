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
from pydantic import ValidationError

from factory.assemble import assemble, index_table
from factory.dataset import open_dir, parse_parquet
from factory.errors import FactoryError
from factory.folder import OutputFolder, shard_entry, write_part
from factory.generators import Generator, declaration, load_generator
from factory.plan import Plan, episode_of, specs_from_rows
from factory.recipe import Recipe
from factory.shards import write_shard

_GENERATORS: dict[str, dict[str, Generator]] = {}   # per process: the latest recipe's, by its hash


def build_generators(recipe: Recipe) -> dict[str, Generator]:
    """The recipe's generators, built once per process (a long-lived worker keeps only the
    latest recipe's, so models of earlier runs are freed)."""
    key = recipe.hash()
    if key not in _GENERATORS:
        _GENERATORS.clear()
        _GENERATORS[key] = {m: load_generator(m, s) for m, s in recipe.modalities.items()}
    return _GENERATORS[key]


def generator_info(generators: dict[str, Generator]) -> dict[str, dict[str, Any]]:
    """Backend names and versions of each modality's generator (what each sample's JSON records;
    the manifest adds each generator's `declaration`)."""
    return {m: {"backend": g.backend, "versions": g.versions()} for m, g in generators.items()}


# ---------------------------------------------------------------- the shard task

def make_shard(recipe_json: str, shard: str, rows: bytes, out: str) -> dict[str, Any]:
    """Generate and write one shard; returns its manifest entry (a Dask task)."""
    recipe = Recipe.model_validate_json(recipe_json)
    generators = build_generators(recipe)
    frame = parse_parquet(rows).to_pandas()
    specs = list(specs_from_rows(frame, list(recipe.population), episode_of(recipe)))
    made = {m: g.generate(specs) for m, g in generators.items()}
    info = generator_info(generators)
    samples = [assemble(spec, {m: parts[i] for m, parts in made.items()}, info) for i, spec in enumerate(specs)]
    fs, root = open_dir(out)
    written = write_shard(fs, root, shard, samples)
    write_part(fs, root, shard, index_table(samples, written))
    return {"name": shard, **shard_entry(written, specs[0].split)}


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
            ask_scheduler(scheduler)
            with dask.config.set({"distributed.comm.timeouts.connect": f"{SCHEDULER_TIMEOUT_S}s"}):
                client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s", set_as_default=False)
        except FactoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever answered there, it is not a usable scheduler
            first = (str(exc).splitlines() or [""])[0][:200]
            raise FactoryError(f"--scheduler: no Dask scheduler answered at {scheduler} within "
                               f"{SCHEDULER_TIMEOUT_S} s ({type(exc).__name__}: {first}); check the address "
                               f"and that `dask scheduler` is running there") from None
        return client, None
    # One thread per worker process (the generators are CPU-bound and not all thread-safe);
    # not daemonic, so a generator may start child processes; workers exit if the driver dies.
    with dask.config.set({"distributed.worker.daemon": False}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40,
                               death_timeout=WORKER_DEATH_TIMEOUT_S)
    return Client(cluster, set_as_default=False), cluster


def ask_scheduler(address: str) -> None:
    """Reach `address` and ask who is there, each step within SCHEDULER_TIMEOUT_S: a closed port,
    a port that accepts but never answers and a server of another protocol (HTTP) each fail
    here with their own message, instead of hanging or being read as Dask frames."""
    import asyncio
    import socket

    from distributed.comm import connect as comm_connect
    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, location = parse_address(address)
    if scheme in ("tcp", "tls"):
        host, port = parse_host_port(location, 8786)
        try:
            socket.create_connection((host, port), timeout=SCHEDULER_TIMEOUT_S).close()
        except OSError as exc:
            raise FactoryError(f"--scheduler: cannot reach a Dask scheduler at {address} within {SCHEDULER_TIMEOUT_S} s "
                               f"({exc.strerror or type(exc).__name__}); check the address and that `dask scheduler` "
                               f"is running there") from None

    async def identity():
        comm = await comm_connect(address, timeout=SCHEDULER_TIMEOUT_S)
        try:
            await comm.write({"op": "identity"})
            return await comm.read()
        finally:
            comm.abort()

    try:
        reply = asyncio.run(asyncio.wait_for(identity(), SCHEDULER_TIMEOUT_S))
    except (asyncio.TimeoutError, TimeoutError):
        raise FactoryError(f"--scheduler {address}: the port accepts connections but nothing answered as a Dask "
                           f"scheduler within {SCHEDULER_TIMEOUT_S} s; check the address and port (a scheduler "
                           f"listens on 8786 by default)") from None
    except Exception as exc:  # noqa: BLE001 - bytes Dask cannot read: another protocol answered
        raise FactoryError(f"--scheduler {address}: something answered that does not speak Dask's protocol "
                           f"({type(exc).__name__}; an HTTP server such as the dashboard on 8787?); give the "
                           f"scheduler's address, e.g. tcp://host:8786") from None
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        kind = reply.get("type") if isinstance(reply, dict) else type(reply).__name__
        raise FactoryError(f"--scheduler {address}: a {kind} answered there, not a Dask scheduler; give the "
                           f"scheduler's address, e.g. tcp://host:8786")


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
    _refuse_threaded_workers(client)
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


def _refuse_threaded_workers(client) -> None:
    """Generators seed process-wide state (torch, eSpeak NG) per sample, so a worker running two
    tasks at once in threads could change the bytes: each worker must have one thread."""
    threaded = sorted(w for w, n in client.nthreads().items() if n > 1)
    if threaded:
        more = f" (and {len(threaded) - 1} more)" if len(threaded) > 1 else ""
        raise FactoryError(f"Dask worker {threaded[0]}{more} runs {client.nthreads()[threaded[0]]} threads; "
                           f"the factory needs one thread per worker for byte-identical output: start "
                           f"workers with `dask worker ADDRESS --nthreads 1` (use --nworkers for more)")


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
    except ValidationError as exc:     # a modality block its generator's Settings refuse here
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
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
    manifest is saved as shard entries arrive (see `factory.folder`), so a run killed at any
    moment loses at most the last few shards; `resume` re-checks the rest.
    """
    start = time.perf_counter()
    distributed_run = bool(scheduler) or workers > 1
    out = output_url(out, distributed_run)
    client = cluster = folder = None
    if distributed_run:                      # first: an unreachable scheduler fails before anything is written
        client, cluster = connect(scheduler, workers)
    try:
        generators = build_generators(recipe)
        for g in generators.values():
            g.preflight(plan.levels())
        planned = {s: {"count": int(len(r)), "split": str(r["split"].iloc[0])}
                   for s, r in plan.samples.groupby("shard", sort=False)}
        declared = {m: {**info, **declaration(generators[m], recipe.modalities[m])}
                    for m, info in generator_info(generators).items()}
        made_by = {"recipe_hash": recipe.hash(), "plan_sha256": plan.digest(), "generators": declared}
        folder = OutputFolder.prepare(out, recipe, made_by, planned, resume=resume, force=force,
                                      complement=plan.complement)
        todo = ((s, _rows_bytes(plan.rows(s))) for s in plan.shards() if s not in folder.kept)   # lazy: one shard at a time
        if progress:
            progress(sum(planned[s]["count"] for s in folder.kept), len(plan.samples))
        runner = (run_on_dask(recipe, todo, out, client, scheduler) if distributed_run
                  else run_in_process(recipe, todo, out))
        for entry in runner:
            name = entry.pop("name")
            if distributed_run:
                _check_visible(folder, name, entry, scheduler)
            folder.record(name, entry)
            if progress:
                progress(entry["count"], None)
        folder.finalize(plan.shards())
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        if folder is not None:
            folder.release()
    sizes = [e["size"] for e in folder.manifest["shards"].values()]
    return RunSummary(out=out, shards=len(plan.shards()), samples=len(plan.samples), skipped_shards=len(folder.kept),
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


def _check_visible(folder: OutputFolder, name: str, entry: dict[str, Any], scheduler: Optional[str]) -> None:
    """A worker said it wrote `name`: make sure this process sees it where it should be."""
    path = f"{folder.root}/{name}"
    if not folder.fs.exists(path) or folder.fs.size(path) != entry["size"]:
        where = f"the workers of {scheduler}" if scheduler else "a worker"
        raise FactoryError(f"{where} wrote {name}, but it is not at {path} as seen from here; --out must be "
                           f"a filesystem every worker and this machine share (a shared mount or an "
                           f"s3:// / gs:// / hf:// URL)")
