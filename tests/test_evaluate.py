"""`evaluate`: real only vs real + synthetic vs synthetic, scored on the real test set."""
import json

import pandas as pd
import pytest

from factory.cli import EXIT_AUDIT_FAILED, main
from factory.errors import FactoryError
from factory.evaluate import evaluate, load_table
from factory.recognizer import Recognizer

COMPLEMENT = """
name: small-complement
seed: 3
size: auto
shard_size: 16
emotions: [neutral, happiness, anger, fear]
population:
  sex: {{female: 1, male: 1}}
  skin_tone: {{2: 1, 6: 1, 9: 1}}
  age_band: {{"18-29": 1, "65+": 1}}
balance: [[emotion, sex]]
splits: {{train: 1.0}}
modalities:
  physiology: {{signals: [ecg, eda, rsp], sampling_rate: 128}}
complement: {{path: {real}}}
"""


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory, small_dataset):
    folder = tmp_path_factory.mktemp("complement")
    recipe = folder / "complement.yaml"
    recipe.write_text(COMPLEMENT.format(real=small_dataset))
    # Top up to 3x the largest cell so the complement is clearly larger than the real set.
    recipe.write_text(recipe.read_text().replace("size: auto", "size: 96"))
    out = folder / "data"
    # Exit 1: made, but its fairness audit fails (a complement is skewed on purpose); 2 would be bad input.
    assert main(["generate", str(recipe), "--out", str(out), "--no-progress"]) in (0, EXIT_AUDIT_FAILED)
    assert json.loads((out / "manifest.json").read_text())["complete"] is True
    return out


@pytest.mark.slow
def test_complement_of_a_factory_dataset_is_recorded(synthetic, small_dataset):
    manifest = json.loads((synthetic / "manifest.json").read_text())
    assert manifest["complement"]["file"] == small_dataset.name
    assert manifest["complement"]["rows"] == 28 and manifest["complement"]["combined_size"] == 96
    assert sum(e["count"] for e in manifest["shards"].values()) == 96 - 28
    for doc in ("datasheet.md", "README.md"):   # the card names the labels, never their contents
        text = (synthetic / doc).read_text()
        assert manifest["complement"]["sha256"] in text and "28 rows" in text


@pytest.mark.slow
def test_evaluate_scores_three_training_sets(synthetic, small_dataset, tmp_path):
    out = tmp_path / "eval"
    assert main(["evaluate", "--real", str(small_dataset), "--synthetic", str(synthetic), "--out", str(out)]) == 0
    report = json.loads((out / "evaluation.json").read_text())
    real_train = load_table(f"{small_dataset}:train")
    assert report["train_sizes"]["real"] == len(real_train)
    # Every synthetic sample is used: the test fails if any were silently dropped.
    assert report["train_sizes"]["real+synthetic"] == len(real_train) + 96 - 28
    real_test = load_table(f"{small_dataset}:test")
    for name, r in report["results"].items():
        # accuracy is the support-weighted mean of per-class recall; the gap is max - min group accuracy
        support = r["support"]
        assert support == real_test["emotion"].value_counts().to_dict()
        assert r["accuracy"] == pytest.approx(sum(r["recall"][c] * n for c, n in support.items()) / len(real_test))
        by_sex = r["groups"]["sex"]["accuracy"]
        assert set(by_sex) == set(real_test["sex"]) and r["groups"]["sex"]["accuracy_gap"] == pytest.approx(
            max(by_sex.values()) - min(by_sex.values()))
    # "real" is the recognizer trained on the real train split alone: rebuilt here, it scores the same.
    model = Recognizer(features=report["features"]).fit(real_train)
    hits = model.predict(real_test).astype(str) == real_test["emotion"].astype(str).to_numpy()
    assert report["results"]["real"]["accuracy"] == pytest.approx(hits.mean())
    assert (out / "evaluation.md").read_text().count("|") > 10 and (out / "evaluation.png").stat().st_size > 1000


def test_feature_mismatch_lists_the_difference(small_dataset):
    real = load_table(f"{small_dataset}:train")
    synth = real.drop(columns=["physiology.measured.scl"])
    with pytest.raises(FactoryError, match="only real: \\['physiology.measured.scl'\\]"):
        evaluate(real, load_table(f"{small_dataset}:test"), synth)


def test_test_class_absent_from_training_is_named(small_dataset):
    real = load_table(f"{small_dataset}:train")
    test = load_table(f"{small_dataset}:test")
    with pytest.raises(FactoryError, match="fear"):
        evaluate(real[real["emotion"] != "fear"], test, real)


def test_missing_split_and_file(small_dataset, tmp_path):
    with pytest.raises(FactoryError, match="no 'validation' split"):
        load_table(f"{small_dataset}:validation")
    with pytest.raises(FactoryError, match="no such"):
        load_table(str(tmp_path / "none.csv"))


@pytest.mark.slow
def test_features_of_raw_recordings_match_the_factorys_columns(small_dataset, tmp_path):
    """Raw signals measured by `features` give the same columns and values as the index."""
    import webdataset as wds

    index = load_table(str(small_dataset))
    rows = []
    for sample in wds.WebDataset(sorted(str(p) for p in small_dataset.glob("train-*.tar")), shardshuffle=False).decode():
        np_path = tmp_path / f"{sample['__key__']}.npy"
        import numpy as np
        np.save(np_path, sample["physio.npy"])
        rows.append({"file": np_path.name, "channels": "+".join(sample["json"]["physiology"]["channels"]),
                     "sampling_rate": 128, "onset": 3, "emotion": sample["json"]["emotion"], "key": sample["__key__"]})
    listing = tmp_path / "listing.csv"
    pd.DataFrame(rows).to_csv(listing, index=False)
    assert main(["features", str(listing), "--out", str(tmp_path / "f.parquet")]) == 0
    feats = pd.read_parquet(tmp_path / "f.parquet").set_index("key")
    ours = index.set_index("key").loc[feats.index]
    for col in ("physiology.measured.heart_rate", "physiology.measured.scr_count", "physiology.measured.scl_change"):
        assert col in feats.columns
        pd.testing.assert_series_equal(feats[col], ours[col], check_names=False, atol=1e-3)
