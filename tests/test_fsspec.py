"""Output to fsspec URLs: memory:// (in-process only) and file://; verify, index and resume on them."""
from __future__ import annotations

import json
import uuid

import fsspec
import pytest

from factory.cli import main
from factory.dataset import open_dataset, verify
from factory.errors import FactoryError
from factory.execute import generate
from factory.plan import make_plan
from factory.recipe import load_recipe


def local_tars(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.tar"))}


def url_tars(url: str) -> dict[str, bytes]:
    fs, root = fsspec.core.url_to_fs(url)
    return {p.rsplit("/", 1)[1]: fs.cat_file(p) for p in sorted(fs.glob(f"{root}/*.tar"))}


@pytest.fixture
def memory_url():
    url = f"memory://affect-{uuid.uuid4().hex[:8]}"
    yield url
    fs, root = fsspec.core.url_to_fs(url)
    if fs.exists(root):
        fs.rm(root, recursive=True)


@pytest.mark.slow
def test_memory_url_same_bytes_verify_index_resume(small_dataset, small_recipe_path, memory_url):
    recipe = load_recipe(small_recipe_path)
    plan = make_plan(recipe)
    generate(recipe, plan, memory_url)
    assert url_tars(memory_url) == local_tars(small_dataset)
    assert verify(memory_url) == []
    assert len(open_dataset(memory_url).index) == 28
    fs, root = fsspec.core.url_to_fs(memory_url)
    assert not fs.exists(f"{root}/.factory/partial")

    # a run that died: one shard gone, index gone, a stray temporary file, manifest unfinished
    manifest = json.loads(fs.cat_file(f"{root}/manifest.json"))
    victim = sorted(manifest["shards"])[1]
    fs.rm(f"{root}/{victim}")
    fs.rm(f"{root}/index.parquet")
    fs.pipe_file(f"{root}/.factory/partial/{victim}.1-x.partial", b"half")
    manifest["complete"] = False
    fs.pipe_file(f"{root}/manifest.json", json.dumps(manifest).encode())
    summary = generate(recipe, plan, memory_url, resume=True)
    assert summary.skipped_shards == len(manifest["shards"]) - 1
    assert url_tars(memory_url) == local_tars(small_dataset)
    assert verify(memory_url) == []
    assert not fs.exists(f"{root}/.factory/partial")


def test_memory_url_is_refused_for_dask_workers(small_recipe_path, memory_url):
    recipe = load_recipe(small_recipe_path)
    with pytest.raises(FactoryError, match="memory://"):
        generate(recipe, make_plan(recipe), memory_url, workers=2)


@pytest.mark.slow
def test_file_url_with_cli_generate_and_verify(small_dataset, small_recipe_path, tmp_path, capsys):
    url = f"file://{tmp_path}/via-url"
    assert main(["generate", str(small_recipe_path), "--out", url, "--no-progress"]) == 0
    assert local_tars(tmp_path / "via-url") == local_tars(small_dataset)
    assert (tmp_path / "via-url" / "index.parquet").read_bytes() == (small_dataset / "index.parquet").read_bytes()
    capsys.readouterr()
    assert main(["verify", url]) == 0
    assert "ok" in capsys.readouterr().out
