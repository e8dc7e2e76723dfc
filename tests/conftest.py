"""Shared fixtures: small recipes and datasets made once per test session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SMALL_RECIPE = """
name: small-test
seed: 11
size: 28
shard_size: 8
emotions: [neutral, happiness, anger, fear]
population:
  sex: {female: 1, male: 1}
  skin_tone: {2: 1, 6: 1, 9: 1}
  age_band: {"18-29": 1, "65+": 1}
balance:
  - [emotion, sex]
identities: 8
splits: {train: 0.75, test: 0.25}
modalities:
  physiology:
    signals: [ecg, eda, rsp]
    sampling_rate: 128
"""


@pytest.fixture(scope="session")
def small_recipe_path(tmp_path_factory) -> Path:
    """A 28-sample, physiology-only recipe file."""
    path = tmp_path_factory.mktemp("recipes") / "small.yaml"
    path.write_text(SMALL_RECIPE)
    return path


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory, small_recipe_path) -> Path:
    """The small recipe generated once, in this process."""
    from factory.cli import main

    out = tmp_path_factory.mktemp("datasets") / "small"
    assert main(["generate", str(small_recipe_path), "--out", str(out), "--no-progress"]) == 0
    return out


MULTIMODAL_RECIPE = """
name: multimodal-test
seed: 3
size: 8
shard_size: 8
emotions: [neutral, happiness, anger, sadness]
population:
  sex: {female: 1, male: 1}
  skin_tone: {2: 1, 9: 1}
  locale: {en-US: 1}
identities: 4
splits: {train: 0.5, test: 0.5}
episode: {duration: 6, onset: 2}
modalities:
  physiology: {signals: [ecg, eda], sampling_rate: 128}
  speech: {}
  face: {size: 64}
"""


@pytest.fixture(scope="session")
def multimodal(tmp_path_factory) -> Path:
    """Eight samples with faces, speech and physiology (generate also writes report.html)."""
    from factory.cli import main

    root = tmp_path_factory.mktemp("multimodal")
    (root / "mm.yaml").write_text(MULTIMODAL_RECIPE)
    out = root / "mm"
    assert main(["generate", str(root / "mm.yaml"), "--out", str(out), "--no-progress"]) == 0
    return out
