"""End to end: generate, determinism, round trip through webdataset and datasets, verify, bad --out."""
import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from factory.cli import main
from factory.dataset import verify


def tars(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.tar"))}


def test_dataset_is_complete_and_verifies(small_dataset):
    manifest = json.loads((small_dataset / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert sum(e["count"] for e in manifest["shards"].values()) == 28
    assert manifest["recipe"]["size"] == 28 and len(manifest["recipe_hash"]) == 64
    assert "neurokit2" in manifest["packages"]
    assert verify(str(small_dataset)) == []
    index = pd.read_parquet(small_dataset / "index.parquet")
    assert len(index) == 28 and index["key"].is_unique
    assert {"physiology.target.heart_rate", "physiology.measured.heart_rate", "split", "shard"} <= set(index.columns)


@pytest.mark.slow
def test_same_recipe_gives_byte_identical_shards(small_dataset, small_recipe_path, tmp_path):
    again = tmp_path / "again"
    assert main(["generate", str(small_recipe_path), "--out", str(again), "--no-progress"]) == 0
    assert tars(again) == tars(small_dataset)
    assert (again / "index.parquet").read_bytes() == (small_dataset / "index.parquet").read_bytes()


def test_tar_members_are_fixed(small_dataset):
    with tarfile.open(next(small_dataset.glob("*.tar"))) as tar:
        members = tar.getmembers()
    assert all(m.mtime == 0 and m.uname == "affect" for m in members)
    assert all(m.name.count(".") >= 1 and "." not in m.name.split(".")[0] for m in members)


def test_webdataset_reads_every_sample(small_dataset):
    import webdataset as wds

    urls = [str(p) for p in sorted(small_dataset.glob("*.tar"))]
    samples = list(wds.WebDataset(urls, shardshuffle=False).decode())
    assert len(samples) == 28
    s = samples[0]
    labels = s["json"]
    signals = s["physio.npy"]
    assert signals.shape == (len(labels["physiology"]["channels"]), 10 * 128)
    assert signals.dtype == np.float32 and np.isfinite(signals).all()
    assert labels["emotion"] in {"neutral", "happiness", "anger", "fear"}
    assert labels["episode"]["onset"] == 3.0


def test_datasets_loads_the_shards_offline(small_dataset):
    from datasets import load_dataset

    files = {split: [str(p) for p in sorted(small_dataset.glob(f"{split}-*.tar"))] for split in ("train", "test")}
    ds = load_dataset("webdataset", data_files=files)
    assert ds["train"].num_rows + ds["test"].num_rows == 28
    row = ds["train"][0]
    assert np.asarray(row["physio.npy"]).shape[1] == 1280
    assert row["json"]["split"] == "train"


def test_anger_and_fear_raise_heart_rate_and_scr_over_neutral(small_dataset):
    # Persons differ in resting heart rate and respond with realistic variability and artifacts,
    # so the direction shows in a typical (median) within-episode change, not in absolute rates.
    index = pd.read_parquet(small_dataset / "index.parquet")
    by = index.groupby("emotion")[["physiology.measured.heart_rate_change", "physiology.measured.scr_count"]]
    change, scrs = by.median()["physiology.measured.heart_rate_change"], by.mean()["physiology.measured.scr_count"]
    for emotion in ("anger", "fear"):
        assert change[emotion] > change["neutral"] + 2
        assert scrs[emotion] > scrs["neutral"]


def test_refuses_a_folder_holding_other_files(small_recipe_path, tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    assert main(["generate", str(small_recipe_path), "--out", str(out), "--no-progress"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (out / "thesis.tex").read_text() == "precious"


def test_refuses_to_clobber_a_dataset_without_force(small_dataset, small_recipe_path, tmp_path, capsys):
    out = tmp_path / "copy"
    shutil.copytree(small_dataset, out)
    assert main(["generate", str(small_recipe_path), "--out", str(out), "--no-progress"]) == 2
    assert "--resume" in capsys.readouterr().err and tars(out) == tars(small_dataset)


def test_unwritable_out(small_recipe_path, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["generate", str(small_recipe_path), "--out", str(blocker / "sub"), "--no-progress"]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_verify_catches_a_corrupted_shard(small_dataset, tmp_path, capsys):
    out = tmp_path / "corrupt"
    shutil.copytree(small_dataset, out)
    shard = next(out.glob("*.tar"))
    data = bytearray(shard.read_bytes()); data[2000] ^= 0xFF; shard.write_bytes(bytes(data))
    assert main(["verify", str(out)]) == 1
    assert shard.name in capsys.readouterr().err


@pytest.mark.slow
def test_resume_keeps_verified_shards(small_dataset, small_recipe_path, tmp_path):
    out = tmp_path / "resume"
    shutil.copytree(small_dataset, out)
    manifest = json.loads((out / "manifest.json").read_text())
    victim = sorted(manifest["shards"])[0]
    (out / victim).unlink()
    (out / "index.parquet").unlink()
    manifest["complete"] = False
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert main(["generate", str(small_recipe_path), "--out", str(out), "--resume", "--no-progress"]) == 0
    assert tars(out) == tars(small_dataset)
    assert verify(str(out)) == []


@pytest.mark.slow
def test_multimodal_samples_decode_with_webdataset_and_datasets(multimodal):
    """Face, speech, transcript and signals of one sample decode with stock readers."""
    import io

    import soundfile as sf
    import webdataset as wds
    from datasets import Audio, Image, load_dataset

    urls = [str(p) for p in sorted(multimodal.glob("*.tar"))]
    samples = list(wds.WebDataset(urls, shardshuffle=False).decode("pil"))
    assert len(samples) == 8
    s = samples[0]
    assert s["png"].size == (64, 64)
    audio, rate = sf.read(io.BytesIO(s["flac"]))
    labels = s["json"]
    assert rate == 16000          # the recipe's default speech sample rate
    assert audio.ndim == 1 and len(audio) == int(round(6 * rate))
    assert labels["episode"]["onset"] < labels["speech"]["start"] < labels["speech"]["end"] <= 6
    assert s["txt"].strip() and s["physio.npy"].shape == (2, 6 * 128)

    ds = load_dataset("webdataset", data_files={"train": urls})["train"]
    assert isinstance(ds.features["flac"], Audio) and isinstance(ds.features["png"], Image)
    row = ds[0]
    decoded = row["flac"]
    array = decoded["array"] if isinstance(decoded, dict) else decoded.get_all_samples().data.numpy()[0]
    assert len(array) == len(audio)
    assert row["png"].size == (64, 64)
    assert row["json"]["key"] == samples[0]["__key__"]


@pytest.mark.slow
def test_force_replaces_only_the_factorys_own_files(small_dataset, small_recipe_path, tmp_path):
    out = tmp_path / "forced"
    shutil.copytree(small_dataset, out)
    (out / "my-notes.md").write_text("mine")
    (out / "recipe.yaml").write_text("mine too")
    assert main(["generate", str(small_recipe_path), "--out", str(out), "--force", "--no-progress"]) == 0
    assert (out / "my-notes.md").read_text() == "mine" and (out / "recipe.yaml").read_text() == "mine too"
    assert tars(out) == tars(small_dataset)


@pytest.mark.slow
def test_resume_refuses_a_changed_plan(tmp_path, capsys):
    """A complement whose real labels changed plans other samples: resuming would mix plans."""
    real = tmp_path / "real.csv"
    pd.DataFrame({"emotion": ["anger"] * 3, "sex": ["female"] * 3}).to_csv(real, index=False)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("size: 16\nshard_size: 4\nemotions: [anger, fear]\npopulation: {sex: {female: 1, male: 1}}\n"
                      "balance: [[emotion, sex]]\nsplits: {train: 1.0}\ncomplement: {path: real.csv}\n"
                      "modalities: {physiology: {signals: [eda], sampling_rate: 64}}\n")
    out = tmp_path / "out"
    assert main(["generate", str(recipe), "--out", str(out), "--no-progress"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["complete"] = False
    (out / "manifest.json").write_text(json.dumps(manifest))
    pd.DataFrame({"emotion": ["fear"] * 3, "sex": ["male"] * 3}).to_csv(real, index=False)
    assert main(["generate", str(recipe), "--out", str(out), "--resume", "--no-progress"]) == 2
    assert "plan differs" in capsys.readouterr().err
