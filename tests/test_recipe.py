"""Recipe validation: defaults, and errors that name the key path, the line and what is allowed."""
import pytest

from factory.cli import main
from factory.errors import FactoryError
from factory.recipe import parse_recipe


def error_of(text: str) -> str:
    with pytest.raises(FactoryError) as exc:
        parse_recipe(text, source="r.yaml")
    return str(exc.value)


def test_a_name_alone_gets_every_default():
    r = parse_recipe("name: defaults\n")
    assert r.size == 140 and r.shard_size == 100
    assert set(r.emotions) >= {"neutral", "anger"}
    assert r.modalities["physiology"] is not None
    assert r.episode.apex > r.episode.onset


def test_unknown_key_has_hint_path_and_line():
    msg = error_of("name: demo\nmodalities:\n  physiology:\n    sampling_rat: 128\n")
    assert "modalities.physiology.sampling_rat" in msg
    assert "r.yaml:4" in msg
    assert "did you mean 'sampling_rate'" in msg


def test_wrong_type_names_key_and_value():
    msg = error_of("size: lots\n")
    assert "size" in msg and "r.yaml:1" in msg and "lots" in msg


def test_unknown_emotion_lists_known():
    msg = error_of("emotions: [anger, joyy]\n")
    assert "joyy" in msg and "happiness" in msg


def test_unknown_balance_factor():
    msg = error_of("balance:\n  - [emotion, gender]\n")
    assert "balance" in msg and "gender" in msg and "sex" in msg


def test_bad_levels():
    assert "Monk" in error_of("population:\n  skin_tone: {11: 1}\n")
    assert "age_band" in error_of("population:\n  age_band: {young: 1}\n")


def test_malformed_yaml_names_line():
    msg = error_of("name: demo\nsize: [1,\n")
    assert "not valid YAML" in msg


def test_yaml_is_data_not_code():
    msg = error_of("name: !!python/object/apply:os.system ['echo hi']\n")
    assert "YAML" in msg


def test_cli_bad_recipe_exits_2_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("size: -3\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "size" in err and "Traceback" not in err


def test_missing_recipe_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "no such recipe file" in capsys.readouterr().err


def test_every_shipped_recipe_is_valid():
    from pathlib import Path

    from factory.recipe import load_recipe

    recipes = sorted(Path(__file__).resolve().parents[1].joinpath("recipes").glob("*.yaml"))
    assert len(recipes) >= 4
    for path in recipes:
        assert load_recipe(path).name


def test_a_key_given_twice_is_refused_with_its_line():
    msg = error_of("name: demo\nsize: 8\nsize: 9\n")
    assert "given twice" in msg and "line 3" in msg


def test_levels_that_collapse_and_repeated_emotions_are_refused():
    assert "twice" in error_of('population:\n  skin_tone: {"1": 1, 1: 3}\n')
    assert "twice" in error_of("emotions: [anger, anger]\n")


def test_no_modality_is_refused():
    assert "at least one" in error_of("modalities: {}\n")


def test_binary_recipe_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe\x00binary")
    assert main(["validate", str(bad)]) == 2
    assert "not a text file" in capsys.readouterr().err
