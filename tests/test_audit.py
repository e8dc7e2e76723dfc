"""Fairness audit: sections, thresholds from the recipe, exit codes, degenerate and bad input."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pyarrow.parquet as pq
import pytest

from factory.audit import audit_index
from factory.cli import main
from factory.recognizer import Recognizer, feature_columns, train_test

LENIENT = {"max_representation_gap": 1.0, "min_label_parity_ratio": 0.0, "max_fidelity_gap": 1.0,
           "max_equalized_odds_difference": 1.0, "min_group_size": 1}


@pytest.fixture()
def copy(small_dataset, tmp_path):
    """A private copy of the session dataset (which must not be mutated)."""
    out = tmp_path / "ds"
    shutil.copytree(small_dataset, out)
    return out


def set_thresholds(path, **thresholds):
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["recipe"]["audit"] = thresholds
    (path / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def test_generate_writes_the_audit(small_dataset):
    audit = json.loads((small_dataset / "audit.json").read_text())
    assert audit["samples"] == 28
    assert set(audit) >= {"representation", "label_parity", "fidelity", "downstream", "checks", "passed", "broken"}
    # (a) representation: emotion x sex is balanced exactly (4 emotions x 2 sexes, 28 samples)
    cells = audit["representation"]["cells"]["emotion x sex"]["rows"]
    assert len(cells) == 8 and {c["count"] for c in cells} <= {3, 4}
    assert sum(c["count"] for c in cells) == 28
    sex = {r["level"]: r for r in audit["representation"]["factors"]["sex"]["rows"]}
    assert sex["female"]["count"] == 14 and sex["female"]["target"] == 0.5
    # (b) every demographic factor, every emotion
    lp = audit["label_parity"]["factors"]
    assert set(lp) == {"sex", "skin_tone", "age_band"}
    assert set(lp["sex"]["emotions"]) == {"neutral", "happiness", "anger", "fear"}
    # (c) physiology met columns, per group
    cols = audit["fidelity"]["modalities"]["physiology"]["columns"]
    assert "physiology.met.heart_rate" in cols and "sex" in cols["physiology.met.heart_rate"]["by_factor"]
    # (d) the recognizer was trained on train and scored on test, with per-group metrics
    d = audit["downstream"]
    index = pd.read_parquet(small_dataset / "index.parquet")
    assert d["assessed"] and d["test_split"] == "test" and d["test_samples"] == (index["split"] == "test").sum()
    assert all(c.startswith("physiology.measured.") for c in d["features"])
    assert set(d["factors"]["sex"]["groups"]) <= {"female", "male"}
    assert (small_dataset / "audit.md").read_text().startswith("# Fairness audit")
    for name in ("representation", "label_parity", "fidelity", "downstream"):
        assert (small_dataset / "plots" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    # the verdict is consistent with the checks
    assert audit["passed"] == (not any(c["judged"] and not c["passed"] for c in audit["checks"]))


@pytest.mark.slow
def test_audit_passes_with_lenient_thresholds(copy, capsys):
    set_thresholds(copy, **LENIENT)
    assert main(["audit", str(copy)]) == 0
    assert "audit ok" in capsys.readouterr().out
    audit = json.loads((copy / "audit.json").read_text())
    assert audit["passed"] and audit["thresholds"]["min_group_size"] == 1
    # with min_group_size 1 every comparison with two or more levels is judged
    assert any(c["judged"] for c in audit["checks"] if c["section"] == "downstream")


@pytest.mark.slow
def test_broken_threshold_exits_1_and_names_it(copy, capsys):
    set_thresholds(copy, **{**LENIENT, "max_fidelity_gap": 0.0, "min_label_parity_ratio": 1.0})
    assert main(["audit", str(copy)]) == 1
    err = capsys.readouterr().err
    assert "threshold(s) broken" in err and "label_parity: skin_tone" in err
    audit = json.loads((copy / "audit.json").read_text())
    assert not audit["passed"]
    assert any(b.startswith("label_parity:") for b in audit["broken"])


@pytest.mark.slow
def test_small_groups_are_reported_not_judged(copy):
    set_thresholds(copy, **{**LENIENT, "min_group_size": 1000, "min_label_parity_ratio": 1.0,
                            "max_fidelity_gap": 0.0, "max_equalized_odds_difference": 0.0})
    assert main(["audit", str(copy)]) == 0
    audit = json.loads((copy / "audit.json").read_text())
    judged = [c for c in audit["checks"] if c["judged"]]
    assert {c["section"] for c in judged} == {"representation"}
    assert all("at least 1000" in c["detail"] or "single level" in c["detail"]
               for c in audit["checks"] if c["section"] in ("label_parity", "fidelity"))


def test_refuses_unfinished_and_tampered_datasets(copy, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["audit", str(empty)]) == 2
    assert "no manifest.json" in capsys.readouterr().err
    table = pq.read_table(copy / "index.parquet")
    pq.write_table(table.slice(0, 27), copy / "index.parquet")
    for cmd in ("audit", "card", "report"):
        assert main([cmd, str(copy)]) == 2
        err = capsys.readouterr().err
        assert "checksum" in err and "affect-factory verify" in err
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["complete"] = False
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert main(["audit", str(copy)]) == 2
    assert "unfinished" in capsys.readouterr().err


def _manifest(small_dataset):
    return json.loads((small_dataset / "manifest.json").read_text())


@pytest.mark.slow
def test_degenerate_indexes_give_clear_results(small_dataset):
    manifest = _manifest(small_dataset)
    index = pd.read_parquet(small_dataset / "index.parquet")
    # no test/validation split
    r = audit_index(manifest, index.assign(split="train"))
    assert not r["downstream"]["assessed"] and "no 'test' or 'validation' split" in r["downstream"]["reason"]
    # one emotion only: the recognizer degenerates to a constant, the audit still completes
    one = index.assign(emotion="anger")
    r = audit_index(manifest, one)
    assert r["downstream"]["assessed"] and r["downstream"]["accuracy"] == 1.0
    # a test emotion never seen in training is named
    mixed = index.copy()
    mixed.loc[mixed["split"] == "test", "emotion"] = "surprise"
    r = audit_index(manifest, mixed)
    assert "surprise" in r["downstream"]["note"]
    # a recipe factor the index lacks is a broken representation check, not a crash
    r = audit_index(manifest, index.drop(columns=["skin_tone"]))
    assert any(c["name"] == "skin_tone" and c["passed"] is False for c in r["checks"])
    # a single-sample index
    r = audit_index(manifest, index.head(1))
    assert r["samples"] == 1 and r["downstream"]["assessed"] is False


def test_recognizer_features_and_fit(small_dataset):
    index = pd.read_parquet(small_dataset / "index.parquet")
    cols = feature_columns(index)
    assert cols and all(".measured." in c for c in cols)
    assert not any(".met." in c or ".target." in c for c in cols)
    model, rows, pred = train_test(index, estimator="forest")
    assert len(pred) == len(rows) == (index["split"] == "test").sum()
    # The measured features carry the emotion: chance is 1/4, and with shuffled labels the same
    # forest stays below 0.3 (20 permutations of this index).
    assert (pred == rows["emotion"].astype(str).to_numpy()).mean() > 0.5
    with pytest.raises(Exception, match="unknown recognizer"):
        Recognizer(estimator="nope").fit(index)


@pytest.mark.slow
def test_thresholds_file_overrides_the_recipe(small_dataset, tmp_path, capsys):
    """A pipeline can gate on its own thresholds: strict fails, lenient passes, a typo is exit 2."""
    import shutil

    from factory.cli import main

    ds = tmp_path / "ds"
    shutil.copytree(small_dataset, ds)
    strict, lenient, typo = tmp_path / "strict.yaml", tmp_path / "lenient.yaml", tmp_path / "typo.yaml"
    strict.write_text("min_group_size: 1\nmin_label_parity_ratio: 1.0\nmax_equalized_odds_difference: 0.0\n")
    lenient.write_text("min_group_size: 1\nmin_label_parity_ratio: 0.0\nmax_equalized_odds_difference: 1.0\n"
                       "max_fidelity_gap: 1.0\nmax_representation_gap: 1.0\n")
    typo.write_text("max_gap: 1\n")
    assert main(["audit", str(ds), "--thresholds", str(strict)]) == 1
    assert main(["audit", str(ds), "--thresholds", str(lenient)]) == 0
    assert main(["audit", str(ds), "--thresholds", str(typo)]) == 2
    assert "max_gap" in capsys.readouterr().err
