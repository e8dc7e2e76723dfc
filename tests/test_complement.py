"""Complement plans: only the deficit of each balanced cell is planned, mapped from real labels."""
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from factory.cli import main
from factory.complement import complement_plan
from factory.errors import FactoryError
from factory.plan import largest_remainder
from factory.recipe import Recipe

EMOTIONS = ["anger", "happiness", "neutral", "fear"]


def recipe(path, size=400, balance=(("emotion", "sex"),), **extra):
    return Recipe.model_validate({
        "size": size, "emotions": EMOTIONS,
        "population": {"sex": {"female": 1, "male": 1}, "skin_tone": {1: 1, 2: 1, 3: 1}},
        "balance": [list(b) for b in balance],
        "complement": {"path": str(path), **extra}})


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(counts=st.lists(st.integers(0, 120), min_size=8, max_size=8), size=st.integers(100, 900))
def test_after_meets_target_wherever_real_does_not_exceed_it(tmp_path, counts, size):
    cells = [(e, s) for e in EMOTIONS for s in ("female", "male")]
    rows = [{"emotion": e, "sex": s, "skin_tone": 1 + i % 3} for (e, s), n in zip(cells, counts) for i in range(n)]
    path = tmp_path / "real.csv"
    pd.DataFrame(rows, columns=["emotion", "sex", "skin_tone"]).to_csv(path, index=False)
    r = recipe(path, size=size)
    plan, real = complement_plan(r, tmp_path)
    targets = dict(zip(cells, largest_remainder([1] * 8, size)))
    planned = plan.samples.groupby(["emotion", "sex"]).size() if len(plan.samples) else pd.Series(dtype=int)
    for cell, have in zip(cells, counts):
        got = int(planned.get(cell, 0))
        assert got >= 0
        if have <= targets[cell]:
            assert have + got == targets[cell], (cell, have, got, targets[cell])
        else:
            assert got == 0


def test_columns_and_values_are_mapped(tmp_path):
    path = tmp_path / "crema.csv"
    pd.DataFrame({"label": ["ang", "hap", "neu", "fea"] * 5, "gender": ["F", "M"] * 10}).to_csv(path, index=False)
    r = recipe(path, columns={"label": "emotion", "gender": "sex"},
               values={"emotion": {"ang": "anger", "hap": "happiness", "neu": "neutral", "fea": "fear"},
                       "sex": {"F": "female", "M": "male"}})
    plan, real = complement_plan(r, tmp_path)
    assert real.source["rows"] == 20 and len(real.source["sha256"]) == 64
    assert len(plan.samples) == 400 - 20
    assert plan.complement["file"] == "crema.csv"


def test_missing_column_lists_what_the_file_has(tmp_path):
    path = tmp_path / "real.csv"
    pd.DataFrame({"label": ["anger"], "gender": ["female"]}).to_csv(path, index=False)
    with pytest.raises(FactoryError, match="its columns: label, gender"):
        complement_plan(recipe(path), tmp_path)


def test_unknown_level_lists_levels(tmp_path):
    path = tmp_path / "real.csv"
    pd.DataFrame({"emotion": ["ang"], "sex": ["female"]}).to_csv(path, index=False)
    with pytest.raises(FactoryError, match="'ang'"):
        complement_plan(recipe(path), tmp_path)


def test_missing_and_unparsable_files(tmp_path):
    with pytest.raises(FactoryError, match="does not exist"):
        complement_plan(recipe(tmp_path / "nope.csv"), tmp_path)
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(FactoryError, match="cannot read"):
        complement_plan(recipe(bad), tmp_path)


def test_size_auto_tops_up_to_the_largest_cell(tmp_path):
    path = tmp_path / "real.csv"
    pd.DataFrame({"emotion": ["anger"] * 30 + ["fear"] * 3, "sex": ["female"] * 33}).to_csv(path, index=False)
    plan, real = complement_plan(recipe(path, size="auto"), tmp_path)
    after = plan.samples.groupby(["emotion", "sex"]).size().add(
        real.labels.groupby(["emotion", "sex"]).size(), fill_value=0)
    assert len(after) == 8 and after.min() == after.max() == 30


def test_nothing_to_plan_exits_zero_with_message(tmp_path, capsys):
    real = tmp_path / "real.csv"
    cells = [(e, s) for e in EMOTIONS for s in ("female", "male")] * 10
    pd.DataFrame(cells, columns=["emotion", "sex"]).to_csv(real, index=False)
    text = ("size: 40\nemotions: [anger, happiness, neutral, fear]\npopulation: {sex: {female: 1, male: 1}}\n"
            "balance: [[emotion, sex]]\ncomplement: {path: real.csv}\n")
    (tmp_path / "r.yaml").write_text(text)
    assert main(["plan", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "p.parquet")]) == 0
    assert "nothing to plan" in capsys.readouterr().out
