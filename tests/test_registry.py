"""A third-party backend is one class plus an entry point: its own settings, files and licence.

The backend below lives only in this test. It is registered through a real entry point (a
``*.dist-info`` folder on sys.path, as an installed package would leave), makes a modality the
factory has never heard of, and takes settings keys the factory does not know.
"""
from __future__ import annotations

import io
import json
import tarfile
from typing import Any, Mapping, Sequence

import numpy as np
import pytest
from pydantic import Field

from factory.errors import FactoryError
from factory.generators import GeneratorSettings, OutputFile, SampleParts, available
from factory.recipe import parse_recipe


class ThermalSettings(GeneratorSettings):
    """Settings only this backend knows."""

    backend: str = "toy"
    hotspots: int = Field(2, ge=1, le=9)
    resolution: int = Field(8, ge=4, le=64)


class ThermalGenerator:
    """`thermal.toy`: a tiny thermal image per sample, warmer for higher arousal."""

    modality = "thermal"
    backend = "toy"
    Settings = ThermalSettings
    files = (OutputFile("thermal.npy", "application/x-npy", "a toy thermal image, float32 kelvin"),)
    licence = "test fixture (Apache-2.0)"

    def __init__(self, settings: ThermalSettings) -> None:
        self.settings = settings

    def preflight(self, levels: Mapping[str, Sequence[Any]]) -> None:
        """Nothing to check."""

    def versions(self) -> dict[str, str]:
        """No libraries beyond numpy."""
        return {"numpy": np.__version__}

    def generate(self, specs):
        """One image per spec; the measured mean temperature goes beside its target."""
        out = []
        for spec in specs:
            rng = spec.rng("thermal")
            n = self.settings.resolution
            target = 306.0 + spec.arousal
            img = (target + rng.normal(0, 0.01, (n, n))).astype(np.float32)
            buf = io.BytesIO()
            np.save(buf, img, allow_pickle=False)
            mean = float(img.mean())
            out.append(SampleParts(files={"thermal.npy": buf.getvalue()},
                                   labels={"hotspots": self.settings.hotspots, "target": {"mean_k": target},
                                           "measured": {"mean_k": mean},
                                           "met": {"mean_k": bool(abs(mean - target) < 0.05)}}))
        return out


@pytest.fixture
def thermal_registered(tmp_path, monkeypatch):
    """Register `thermal.toy` the way an installed package does: an entry point in a dist-info."""
    info = tmp_path / "thermal_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: thermal-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[factory.generators]\nthermal.toy = {__name__}:ThermalGenerator\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "thermal.toy" in available()


RECIPE = """
name: thermal-test
seed: 5
size: 6
emotions: [neutral, anger]
population: {sex: {female: 1, male: 1}}
splits: {train: 1}
modalities:
  thermal:
    hotspots: 4
    resolution: 6
"""


def test_recipe_validates_a_plugin_block_with_its_own_settings(thermal_registered):
    recipe = parse_recipe(RECIPE)
    settings = recipe.modalities["thermal"]
    assert isinstance(settings, ThermalSettings)
    assert (settings.backend, settings.hotspots, settings.resolution) == ("toy", 4, 6)
    assert recipe.resolved()["modalities"]["thermal"] == {"backend": "toy", "hotspots": 4, "resolution": 6}


def test_plugin_settings_errors_name_key_and_line(thermal_registered):
    with pytest.raises(FactoryError) as err:
        parse_recipe(RECIPE.replace("resolution: 6", "resolutoin: 6"), source="r.yaml")
    msg = str(err.value)
    assert "r.yaml:11: modalities.thermal.resolutoin" in msg and "did you mean 'resolution'" in msg
    with pytest.raises(FactoryError, match=r"r.yaml:10: modalities.thermal.hotspots: Input should be less"):
        parse_recipe(RECIPE.replace("hotspots: 4", "hotspots: 40"), source="r.yaml")


def test_unknown_modality_and_backend_are_named(thermal_registered):
    with pytest.raises(FactoryError, match=r"modalities.smell: no installed generator makes 'smell'"):
        parse_recipe(RECIPE.replace("thermal:", "smell:"))
    with pytest.raises(FactoryError, match=r"modalities.thermal.backend: no generator 'ir' is installed; available: toy"):
        parse_recipe(RECIPE.replace("hotspots: 4", "backend: ir"))


def test_plugin_generates_a_dataset_end_to_end(thermal_registered, tmp_path):
    from factory.cli import main

    (tmp_path / "thermal.yaml").write_text(RECIPE)
    out = tmp_path / "out"
    assert main(["generate", str(tmp_path / "thermal.yaml"), "--out", str(out), "--no-progress"]) == 0
    with tarfile.open(next(out.glob("train-*.tar"))) as tar:
        names = tar.getnames()
        labels = json.loads(tar.extractfile(next(n for n in names if n.endswith(".json"))).read())
    assert sum(n.endswith(".thermal.npy") for n in names) == 6
    assert labels["thermal"]["hotspots"] == 4 and labels["thermal"]["met"]["mean_k"] is True
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["recipe"]["modalities"] == {"thermal": {"backend": "toy", "hotspots": 4, "resolution": 6}}


def test_cards_describe_the_plugin_from_its_declaration(thermal_registered, tmp_path):
    """Files, licence and summary in the datasheet, card and Croissant come from the class."""
    from factory.cli import main

    (tmp_path / "thermal.yaml").write_text(RECIPE)
    out = tmp_path / "out"
    assert main(["generate", str(tmp_path / "thermal.yaml"), "--out", str(out), "--no-progress"]) == 0
    declared = json.loads((out / "manifest.json").read_text())["generators"]["thermal"]
    assert declared["files"] == [{"extension": "thermal.npy", "media_type": "application/x-npy",
                                  "description": "a toy thermal image, float32 kelvin"}]
    sheet = (out / "datasheet.md").read_text()
    assert "`KEY.thermal.npy` (a toy thermal image, float32 kelvin)" in sheet
    assert "| thermal | toy | numpy " in sheet and "| test fixture (Apache-2.0) |" in sheet
    assert ".thermal.npy" in (out / "README.md").read_text()
    assert '<svg class="signals"' in (out / "report.html").read_text()
