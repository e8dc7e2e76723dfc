"""Datasheet, Hub dataset card (parsed back, loaded offline with `datasets`) and Croissant."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from factory.cli import main


@pytest.fixture(scope="module")
def carded(small_dataset, tmp_path_factory):
    """A copy of the session dataset whose cards were rewritten by `affect-factory card`."""
    out = tmp_path_factory.mktemp("cards") / "ds"
    shutil.copytree(small_dataset, out)
    for name in ("datasheet.md", "README.md", "croissant.json"):
        (out / name).unlink()
    assert main(["card", str(out)]) == 0
    return out


def test_generate_wrote_every_document(small_dataset):
    for name in ("datasheet.md", "README.md", "croissant.json", "audit.json", "audit.md", "report.html"):
        assert (small_dataset / name).stat().st_size > 0, name


def test_card_is_deterministic(small_dataset, carded):
    for name in ("datasheet.md", "README.md", "croissant.json"):
        assert (carded / name).read_text() == (small_dataset / name).read_text(), name


def test_datasheet_answers_gebru_and_names_prohibited_uses(carded):
    text = (carded / "datasheet.md").read_text()
    for section in ("## Motivation", "## Composition", "## Collection process", "## Preprocessing",
                    "## Uses", "## Distribution", "## Maintenance", "## Fairness audit"):
        assert section in text, section
    for ref in ("Art. 5(1)(f)", "Annex III, point 1(c)", "Art. 50(3)", "workplace", "education"):
        assert ref in text, ref
    index = pd.read_parquet(carded / "index.parquet")
    # counts per level come from the index
    for level, n in index["skin_tone"].astype(str).value_counts().items():
        assert f"{level} {n} (" in text
    assert "emotion x sex" in text and "neurokit2" in text and "seed" in text.lower()
    manifest = json.loads((carded / "manifest.json").read_text())
    assert manifest["recipe_hash"] in text
    assert "No pretrained model was used" in text


def test_hub_card_parses_and_loads_offline(carded, tmp_path):
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(carded / "README.md")
    manifest = json.loads((carded / "manifest.json").read_text())
    data = card.data.to_dict()
    assert data["license"] == manifest["recipe"]["license"]
    assert data["size_categories"] == ["n<1K"]
    assert "tabular-classification" in data["task_categories"] and "synthetic" in data["tags"]
    files = {f["split"]: f["path"] for f in data["configs"][0]["data_files"]}
    assert files == {"train": "train-*.tar", "test": "test-*.tar"}
    lines = card.text.splitlines()
    assert "Art. 5(1)(f)" in card.text and "## Motivation" not in lines and "### Motivation" in lines

    import datasets

    loaded = datasets.load_dataset(str(carded), cache_dir=str(tmp_path / "hf-cache"))
    per_split = {}
    for entry in manifest["shards"].values():
        per_split[entry["split"]] = per_split.get(entry["split"], 0) + entry["count"]
    assert {k: v.num_rows for k, v in loaded.items()} == per_split
    row = loaded["train"][0]
    assert row["json"]["emotion"] and row["physio.npy"] is not None


def test_croissant_validates_with_mlcroissant(carded):
    import mlcroissant as mlc

    doc = json.loads((carded / "croissant.json").read_text())
    for key in ("rai:dataCollection", "rai:dataBiases", "rai:dataUseCases", "rai:dataLimitations",
                "rai:personalSensitiveInformation", "rai:dataSocialImpact"):
        assert doc[key], key
    assert "http://mlcommons.org/croissant/RAI/1.0" in doc["conformsTo"]
    ds = mlc.Dataset(jsonld=str(carded / "croissant.json"))
    assert not ds.metadata.ctx.issues.errors
    assert {d.name for d in ds.metadata.distribution} >= {"index.parquet", "shards-train", "shards-test"}
    records = list(ds.records("samples"))
    index = pd.read_parquet(carded / "index.parquet")
    assert len(records) == len(index)
    first = records[0]
    assert first["samples/key"].decode() == index["key"].iloc[0]
    assert len([k for k in first if k.startswith("samples/")]) == len(index.columns)
