"""Publishing: dry run (files, sizes, card check), the upload calls, and the token never leaking."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from factory.cli import main
from factory.dataset import open_dataset
from factory.errors import FactoryError
from factory.publish import glob_match, plan_publish, publish

CLI = Path(sys.executable).parent / "affect-factory"
FAKE_TOKEN = "hf_PlantedFakeToken0123456789abcdefXYZ"


@pytest.fixture
def folder(small_dataset, tmp_path) -> Path:
    out = tmp_path / "ds"
    shutil.copytree(small_dataset, out)
    if not (out / "README.md").exists():      # the card step is someone else's; make a minimal card if absent
        (out / "README.md").write_text("---\nconfigs:\n- config_name: default\n  data_files:\n"
                                       "  - split: train\n    path: train-*.tar\n  - split: test\n"
                                       "    path: test-*.tar\n---\n# small\n")
    return out


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dry_run_lists_every_file_and_checks_the_card(folder, capsys):
    assert main(["publish", str(folder), "--repo-id", "someone/small", "--dry-run"]) == 0
    out = capsys.readouterr().out
    files = [p for p in folder.rglob("*") if p.is_file() and ".factory" not in p.parts]
    for p in files:
        assert p.relative_to(folder).as_posix() in out
        assert f"{p.stat().st_size:,}" in out
    assert ".factory" not in out and "parts/" not in out
    assert "match every shard" in out


def test_dry_run_says_when_the_card_is_absent(folder, capsys):
    (folder / "README.md").unlink()
    assert main(["publish", str(folder), "--repo-id", "someone/small", "--dry-run"]) == 1
    assert "README.md is absent" in capsys.readouterr().err


def test_dry_run_catches_patterns_that_miss_the_shards(folder, capsys):
    card = (folder / "README.md").read_text()
    (folder / "README.md").write_text(card.replace("test-*.tar", "validation-*.tar", 1))
    assert main(["publish", str(folder), "--repo-id", "someone/small", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "validation-*.tar" in err and "matches no file" in err and "match no data_files pattern" in err


def test_repo_id_defaults_to_the_recipe(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    with pytest.raises(FactoryError, match="publish.repo_id"):
        plan_publish(open_dataset(folder))
    manifest["recipe"]["publish"] = {"repo_id": "lab/affect-small", "private": False}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    plan = plan_publish(open_dataset(folder))
    assert plan.repo_id == "lab/affect-small" and plan.private is False
    assert plan_publish(open_dataset(folder), private=True).private is True


def test_publish_creates_a_dataset_repo_and_uploads_without_factory_files(folder, monkeypatch):
    import huggingface_hub

    calls = {}

    class FakeApi:
        def __init__(self, token=None):
            calls["token_given"] = token == FAKE_TOKEN

        def create_repo(self, repo_id, **kw):
            calls["create"] = (repo_id, kw)
            return type("R", (), {"url": f"https://hub.example/datasets/{repo_id}"})()

        def upload_large_folder(self, **kw):
            calls["upload"] = kw

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    plan = publish(plan_publish(open_dataset(folder), repo_id="lab/x", private=True), token=FAKE_TOKEN)
    assert calls["token_given"]
    assert calls["create"] == ("lab/x", {"repo_type": "dataset", "private": True, "exist_ok": True})
    assert calls["upload"]["repo_type"] == "dataset" and calls["upload"]["folder_path"] == str(folder)
    assert any(p.startswith(".factory") for p in calls["upload"]["ignore_patterns"])
    assert plan.url.endswith("datasets/lab/x")


@pytest.mark.slow
def test_the_token_never_appears_in_files_or_logs(folder, tmp_path):
    home = tmp_path / "hf-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_TOKEN=FAKE_TOKEN, HF_HOME=str(home), HF_HUB_VERBOSITY="debug", HF_HUB_DISABLE_TELEMETRY="1",
               HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}")
    logs = []
    dry = subprocess.run([str(CLI), "publish", str(folder), "--repo-id", "someone/small", "--dry-run"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert dry.returncode == 0, dry.stderr
    logs += [dry.stdout, dry.stderr]
    real = subprocess.run([str(CLI), "publish", str(folder), "--repo-id", "someone/small", "--private"],
                          capture_output=True, text=True, env=env, timeout=120)
    logs += [real.stdout, real.stderr]
    assert real.returncode == 2
    assert "failed" in real.stderr and env["HF_ENDPOINT"] in real.stderr and "Traceback" not in real.stderr
    for text in logs:
        assert FAKE_TOKEN not in text
    for path in [*folder.rglob("*"), *tmp_path.rglob("*")]:
        if path.is_file():
            assert FAKE_TOKEN.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("pattern,path,expected", [
    ("train-*.tar", "train-000001.tar", True),
    ("train-*.tar", "test-000001.tar", False),
    ("*.tar", "sub/train-000001.tar", False),
    ("**/*.tar", "sub/train-000001.tar", True),
    ("data/train-*", "data/train-000001.tar", True),
    ("train-00000[0-1].tar", "train-000001.tar", True),
])
def test_glob_match(pattern, path, expected):
    assert glob_match(pattern, path) is expected
