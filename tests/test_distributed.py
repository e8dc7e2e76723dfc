"""Dask execution, faults and resume with real processes.

A `dask scheduler` and two `dask worker` processes on 127.0.0.1 (random free ports) are
started by the tests; one worker is SIGKILLed mid-run. A generate subprocess is SIGKILLed
after some shards are written and resumed. Every result is compared, byte for byte, with an
uninterrupted in-process run. Recipes are physiology-only at 64 Hz so the file stays fast.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pandas as pd
import pytest

from factory.dataset import verify
from factory.errors import FactoryError
from factory.execute import SCHEDULER_TIMEOUT_S, generate
from factory.plan import make_plan
from factory.recipe import load_recipe

pytestmark = pytest.mark.slow          # clusters of OS processes

VENV_BIN = Path(sys.executable).parent
DASK = VENV_BIN / "dask"
CLI = VENV_BIN / "affect-factory"

RECIPE = """
name: dask-test
seed: 3
size: 48
shard_size: 4
emotions: [neutral, anger, fear]
population:
  sex: {female: 1, male: 1}
identities: null
splits: {train: 0.75, test: 0.25}
episode: {duration: 6, onset: 2}
modalities:
  physiology:
    signals: [eda, rsp]
    sampling_rate: 64
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tars(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.tar"))}


def keys_in_tars(folder: Path) -> list[str]:
    keys = []
    for path in sorted(folder.glob("*.tar")):
        with tarfile.open(path) as tar:
            keys += sorted({m.name.split(".", 1)[0] for m in tar.getmembers()})
    return keys


def worker_env(**extra: str) -> dict[str, str]:
    return dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False", PYTHONUNBUFFERED="1", **extra)


class DaskCluster:
    """A scheduler and workers as separate OS processes (stopped by pid at the end)."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.scheduler = self._spawn("scheduler", [str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                                                   str(self.port), "--no-dashboard"], worker_env())

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "wb")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.tmp)
        self.procs.append(proc)
        return proc

    def add_worker(self, name: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        proc = self._spawn(name, [str(DASK), "worker", self.address, "--nthreads", "1", "--no-nanny",
                                  "--no-dashboard", "--name", name, "--death-timeout", "60"], env or worker_env())
        self.workers.append(proc)
        return proc

    def wait_for_workers(self, n: int, timeout: float = 45) -> None:
        from distributed import Client

        with Client(self.address, timeout="20s", set_as_default=False) as client:
            client.wait_for_workers(n, timeout=timeout)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture(scope="module")
def recipe_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dask-recipe") / "dask.yaml"
    path.write_text(RECIPE)
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory, recipe_path) -> Path:
    """The recipe made in this process, uninterrupted."""
    out = tmp_path_factory.mktemp("reference") / "ref"
    recipe = load_recipe(recipe_path)
    generate(recipe, make_plan(recipe), str(out))
    return out


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = DaskCluster(tmp_path_factory.mktemp("cluster"))
    try:
        c.add_worker("w1")
        c.add_worker("w2")
        c.wait_for_workers(2)
        yield c
    finally:
        c.stop()


def assert_same_dataset(out: Path, reference: Path) -> None:
    assert verify(str(out)) == []
    assert tars(out) == tars(reference)
    assert (out / "index.parquet").read_bytes() == (reference / "index.parquet").read_bytes()
    keys = keys_in_tars(out)
    assert len(keys) == 48 and len(set(keys)) == len(keys)
    assert pd.read_parquet(out / "index.parquet")["key"].is_unique
    assert not list((out / ".factory").glob("partial/*"))


def test_local_cluster_gives_the_same_bytes(recipe_path, reference, tmp_path):
    recipe = load_recipe(recipe_path)
    seen = []
    summary = generate(recipe, make_plan(recipe), str(tmp_path / "local"), workers=2,
                       progress=lambda n, total: seen.append(n))
    assert summary.samples == 48
    assert sum(seen) == 48 and len(seen) == 1 + 12          # streamed: one update per shard
    assert_same_dataset(tmp_path / "local", reference)


def test_worker_killed_mid_run_the_run_completes(cluster, recipe_path, reference, tmp_path):
    from distributed import Client

    recipe = load_recipe(recipe_path)
    victim = cluster.workers[1]
    done = []

    def progress(n, total):
        done.append(n)
        if len(done) == 3 and victim.poll() is None:        # two shards are in, ten are to come
            os.kill(victim.pid, signal.SIGKILL)

    out = tmp_path / "killed"
    summary = generate(recipe, make_plan(recipe), str(out), scheduler=cluster.address, progress=progress)
    assert victim.poll() is not None, "the worker was not killed during the run"
    assert summary.samples == 48 and sum(done) == 48
    assert_same_dataset(out, reference)
    with Client(cluster.address, timeout="10s", set_as_default=False) as client:
        assert len(client.nthreads()) == 1                   # the run finished on the survivor


def test_unreachable_scheduler_fails_fast_naming_the_address(recipe_path, tmp_path, capsys):
    from factory.cli import main

    address = f"tcp://127.0.0.1:{free_port()}"
    out = tmp_path / "never"
    assert main(["generate", str(recipe_path), "--out", str(out), "--scheduler", address, "--no-progress"]) == 2
    err = capsys.readouterr().err          # how fast: benchmarks/scaling.py (fail fast)
    assert address in err and f"cannot reach a Dask scheduler at {address} within {SCHEDULER_TIMEOUT_S} s" in err
    assert not out.exists()                                    # nothing written


def test_worker_missing_a_backend_package_fails_fast_naming_it(recipe_path, tmp_path):
    # This worker's Python finds a neurokit2 that cannot be imported, as if it were not installed.
    fake = tmp_path / "site"
    (fake / "neurokit2").mkdir(parents=True)
    (fake / "neurokit2" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'neurokit2'\", name='neurokit2')\n")
    c = DaskCluster(tmp_path)
    try:
        c.add_worker("bad", worker_env(PYTHONPATH=str(fake)))
        c.wait_for_workers(1)
        recipe = load_recipe(recipe_path)
        out = tmp_path / "out"
        with pytest.raises(FactoryError, match="neurokit2") as info:
            generate(recipe, make_plan(recipe), str(out), scheduler=c.address)
        from distributed import Client

        with Client(c.address, timeout="10s", set_as_default=False) as client:
            workers = client.scheduler_info()["workers"]
        bad = next(address for address, w in workers.items() if w["name"] == "bad")
        assert (f"Dask worker {bad} cannot run this recipe: modalities.physiology.backend: 'neurokit2' needs a "
                f"package that is not installed: neurokit2 (pip install neurokit2)") == str(info.value)
        assert not list(out.glob("*.tar"))
    finally:
        c.stop()


def test_sigkill_then_resume_gives_the_same_bytes(recipe_path, reference, tmp_path):
    out = tmp_path / "sigkilled"
    cmd = [str(CLI), "generate", str(recipe_path), "--out", str(out), "--no-progress"]
    log = open(tmp_path / "first.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and proc.poll() is None and len(list(out.glob("*.tar"))) < 3:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is False and len(manifest["shards"]) < 12
    assert not (out / "index.parquet").exists()

    resumed = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0 and "kept from before" in resumed.stdout, resumed.stdout + resumed.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert_same_dataset(out, reference)


def test_resume_repairs_every_state_a_kill_can_leave(reference, recipe_path, tmp_path):
    """The states a SIGKILL can leave, all at once: a partial temp file, a tar renamed into
    place but not yet in the manifest, a manifest entry whose tar is truncated, a missing index."""
    import shutil

    out = tmp_path / "states"
    shutil.copytree(reference, out)
    manifest = json.loads((out / "manifest.json").read_text())
    names = list(manifest["shards"])
    del manifest["shards"][names[0]]                            # written, not yet recorded
    (out / names[1]).write_bytes((out / names[1]).read_bytes()[:1000])   # recorded, then damaged
    (out / names[2]).unlink()                                   # recorded, then lost
    (out / ".factory" / "partial").mkdir(parents=True, exist_ok=True)
    (out / ".factory" / "partial" / f"{names[3]}.123-abc.partial").write_bytes(b"half a tar")
    (out / "index.parquet").unlink()
    manifest["complete"] = False
    manifest["index"] = None
    (out / "manifest.json").write_text(json.dumps(manifest))
    recipe = load_recipe(recipe_path)
    summary = generate(recipe, make_plan(recipe), str(out), resume=True)
    assert summary.skipped_shards == 12 - 3
    assert_same_dataset(out, reference)


def test_resume_refuses_another_recipe(reference, recipe_path, tmp_path):
    import shutil

    out = tmp_path / "other"
    shutil.copytree(reference, out)
    other = load_recipe(recipe_path).model_copy(update={"seed": 4})
    with pytest.raises(FactoryError, match="another recipe") as info:
        generate(other, make_plan(other), str(out), resume=True)
    ours = json.loads((out / "manifest.json").read_text())["recipe_hash"]
    assert ours[:12] in str(info.value) and other.hash()[:12] in str(info.value)


ALL_MODALITIES = """
name: dask-all-modalities
seed: 8
size: 8
shard_size: 2
emotions: [neutral, anger]
population:
  sex: {female: 1, male: 1}
  locale: {en-US: 1}
identities: 4
splits: {train: 0.5, test: 0.5}
episode: {duration: 6, onset: 2}
modalities:
  physiology: {signals: [ecg, eda, rsp], sampling_rate: 128}
  speech: {}
  face: {size: 64}
  eeg: {montage: emotiv-14, sampling_rate: 128}
"""


def test_every_modality_gives_the_same_bytes_on_two_workers(tmp_path):
    """Fresh generators in other processes, shards in any order: the bytes of every modality
    (per-process caches such as speech's neutral references included) equal one process's."""
    (tmp_path / "all.yaml").write_text(ALL_MODALITIES)
    recipe = load_recipe(tmp_path / "all.yaml")
    generate(recipe, make_plan(recipe), str(tmp_path / "one"))
    generate(recipe, make_plan(recipe), str(tmp_path / "two"), workers=2)
    one, two = tars(tmp_path / "one"), tars(tmp_path / "two")
    assert len(one) == 4 and one == two
