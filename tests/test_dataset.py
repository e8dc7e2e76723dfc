"""The one door into a finished dataset: every reader refuses what the manifest disowns."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from factory.complement import load_real
from factory.dataset import open_dataset, verify
from factory.errors import FactoryError
from factory.evaluate import load_table
from factory.recipe import Recipe


@pytest.fixture
def copy(small_dataset, tmp_path) -> Path:
    out = tmp_path / "ds"
    shutil.copytree(small_dataset, out)
    return out


def first_shard(folder: Path) -> Path:
    manifest = json.loads((folder / "manifest.json").read_text())
    return folder / sorted(manifest["shards"])[0]


def readers(folder: Path):
    """Every way the factory reads a dataset folder: the door itself, evaluate and complement."""
    complement = Recipe.model_validate({"emotions": ["neutral", "happiness", "anger", "fear"],
                                        "population": {"sex": {"female": 1, "male": 1}},
                                        "balance": [["emotion", "sex"]], "complement": {"path": str(folder)}})
    return {"open_dataset": lambda: open_dataset(str(folder)),
            "evaluate": lambda: load_table(f"{folder}:train"),
            "complement": lambda: load_real(complement, folder.parent)}


def test_a_finished_dataset_opens_and_verifies(copy):
    ds = open_dataset(str(copy))
    assert len(ds.index) == 28 and ds.manifest["complete"] is True
    assert ds.verify() == [] and verify(str(copy)) == []
    row = ds.index.iloc[0]
    member = ds.read_member(row["shard"], row["tar_offset.json"], row["tar_size.json"])
    assert json.loads(member)["key"] == row["key"]
    for name, read in readers(copy).items():
        assert read() is not None, name


@pytest.mark.parametrize("damage,message", [
    ("unfinished", "unfinished"),
    ("index", "checksum"),
    ("missing shard", "missing"),
    ("truncated shard", "size"),
])
def test_every_reader_refuses_a_damaged_dataset(copy, damage, message):
    if damage == "unfinished":
        manifest = json.loads((copy / "manifest.json").read_text())
        manifest["complete"] = False
        (copy / "manifest.json").write_text(json.dumps(manifest))
    elif damage == "index":
        pq.write_table(pq.read_table(copy / "index.parquet").slice(0, 27), copy / "index.parquet")
    elif damage == "missing shard":
        first_shard(copy).unlink()
    else:
        shard = first_shard(copy)
        shard.write_bytes(shard.read_bytes()[:-512])
    for name, read in readers(copy).items():
        with pytest.raises(FactoryError, match=message):
            read()


def test_a_flipped_byte_is_found_by_verify_not_by_opening(copy):
    """Opening checks presence and sizes (cheap); `verify` re-hashes every shard."""
    shard = first_shard(copy)
    data = bytearray(shard.read_bytes())
    data[2000] ^= 0xFF
    shard.write_bytes(bytes(data))
    ds = open_dataset(str(copy))
    assert [p.split(":")[0] for p in ds.verify()] == [shard.name]
    assert [p.split(":")[0] for p in verify(str(copy))] == [shard.name]
