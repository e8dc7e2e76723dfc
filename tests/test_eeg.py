"""The EEG generator: shapes and labels, determinism, topography, emotion effects, measurement,
bad settings, and interop (MNE, webdataset)."""
import io
import json
import math

import numpy as np
import pytest
from pydantic import ValidationError

from factory.affect import coordinates
from factory.assemble import flatten
from factory.eeg import measure, montages
from factory.eeg.generator import EEGGenerator, EEGSettings
from factory.errors import FactoryError
from factory.spec import Episode, SampleSpec

EPISODE = Episode(duration=10.0, onset=3.0, apex=5.8, offset=8.5)


def make_spec(i: int, emotion: str = "neutral", intensity: float = 1.0, person: int = 0,
              episode: Episode = EPISODE, age: float = 30.0) -> SampleSpec:
    valence, arousal, dominance = coordinates(emotion, intensity)
    return SampleSpec(sample_id=f"s{i:07d}", index=i, shard="train-000000.tar", split="train", seed=9000 + i,
                      identity=f"p{person:06d}", identity_seed=500 + person, emotion=emotion, intensity=intensity,
                      valence=valence, arousal=arousal, dominance=dominance, attributes={}, episode=episode, age=age)


def load(part) -> np.ndarray:
    return np.load(io.BytesIO(part.files["eeg.npy"]), allow_pickle=False)


@pytest.fixture(scope="module")
def clean():
    return EEGGenerator(EEGSettings(artifacts="none"))


@pytest.fixture(scope="module")
def by_emotion(clean):
    """24 clean full-intensity episodes per emotion, 12 persons."""
    emotions = ("neutral", "happiness", "anger", "fear", "sadness", "surprise")
    specs = [make_spec(i, emotions[i % len(emotions)], 1.0, person=i % 12) for i in range(24 * len(emotions))]
    out: dict[str, list[dict]] = {e: [] for e in emotions}
    for spec, part in zip(specs, clean.generate(specs)):
        out[spec.emotion].append(part.labels)
    return out


# ---------------------------------------------------------------- output and labels

def test_sample_is_float32_microvolts_of_the_whole_episode(clean):
    part = clean.generate([make_spec(0, "happiness")])[0]
    x = load(part)
    assert x.dtype == np.float32 and x.shape == (32, 1280)
    assert np.isfinite(x).all()
    assert np.allclose(x.mean(axis=0), 0, atol=1e-3)          # average reference
    assert 5 < x.std() < 40                                   # scalp EEG: tens of microvolts
    labels = part.labels
    assert labels["channels"] == list(montages.PRESETS["deap-32"])
    assert (labels["sampling_rate"], labels["unit"], labels["reference"], labels["montage"]) == (128, "uV", "average", "deap-32")
    assert set(labels["target"]) - {"iaf"} <= set(labels["measured"]) and "iaf" in labels["measured"]
    met = flatten(labels["met"])
    assert set(met) == {"iaf", "faa_change", "change.alpha.posterior", "change.beta.central", "change.gamma.central",
                        "power"}
    assert all(isinstance(v, bool) for v in met.values())
    assert set(met) - {"power"} <= set(flatten(labels["target"]))
    for band in measure.BANDS:
        assert len(labels["measured"]["channel_power_post"][band]) == 32
        assert len(labels["measured"]["differential_entropy"][band]) == 32
    assert "null" not in json.dumps(labels)


def test_missing_electrodes_give_nan_not_null():
    gen = EEGGenerator(EEGSettings(channels=["O1", "Oz", "O2", "Pz"], artifacts="none"))
    labels = gen.generate([make_spec(1)])[0].labels
    assert math.isnan(labels["measured"]["faa_change"]) and math.isnan(labels["target"]["faa_change"])
    assert math.isnan(labels["measured"]["power"]["alpha"]["frontal"])
    assert labels["met"]["faa_change"] is False
    text = json.dumps(labels)
    assert "null" not in text and "NaN" in text


def test_same_spec_same_bytes_and_persons_differ(clean):
    a, b = clean.generate([make_spec(3, "fear")]), clean.generate([make_spec(3, "fear")])
    assert a[0].files == b[0].files and a[0].labels == b[0].labels
    other = clean.generate([make_spec(3, "fear", person=5)])[0]
    assert other.labels["person"]["iaf"] != a[0].labels["person"]["iaf"]


def test_person_traits_are_shared_across_their_episodes(clean):
    parts = clean.generate([make_spec(i, "neutral", person=2) for i in range(3)])
    assert len({json.dumps(p.labels["person"]) for p in parts}) == 1
    assert len({p.files["eeg.npy"] for p in parts}) == 3


# ---------------------------------------------------------------- what the signal shows

def test_alpha_is_posterior_dominant(by_emotion):
    neutral = by_emotion["neutral"]
    ratio = [s["measured"]["power"]["alpha"]["posterior"] / s["measured"]["power"]["alpha"]["frontal"] for s in neutral]
    assert np.median(ratio) > 1.5 and np.mean(np.array(ratio) > 1) > 0.9


def test_neighbouring_electrodes_correlate_more_than_distant_ones(clean):
    x = load(clean.generate([make_spec(8, "neutral")])[0])
    names = clean.channels
    r = np.corrcoef(x)
    pair = lambda a, b: r[names.index(a), names.index(b)]
    assert pair("F3", "FC1") > 0.4 and pair("P3", "CP1") > 0.4
    assert pair("F3", "FC1") > pair("F3", "O2") + 0.3


def test_measured_alpha_peak_tracks_the_persons_iaf(by_emotion):
    samples = [s for group in by_emotion.values() for s in group]
    error = [s["measured"]["iaf"] - s["person"]["iaf"] for s in samples]
    assert np.nanmedian(np.abs(error)) < 0.25
    assert len({s["person"]["iaf"] for s in samples}) == 12
    assert all(8.0 <= s["person"]["iaf"] <= 12.5 for s in samples)


def test_frontal_asymmetry_rises_for_approach_and_falls_for_withdrawal(by_emotion):
    def mean_faa(emotions):
        return np.mean([s["measured"]["faa_change"] for e in emotions for s in by_emotion[e]])

    approach, withdrawal, neutral = mean_faa(["happiness", "anger"]), mean_faa(["fear", "sadness"]), mean_faa(["neutral"])
    assert approach > neutral + 0.05 > withdrawal + 0.1


def test_arousal_desynchronises_posterior_alpha_and_raises_beta(by_emotion):
    def mean(emotion, band, region):
        return np.mean([s["measured"]["change"][band][region] for s in by_emotion[emotion]])

    assert mean("surprise", "alpha", "posterior") < mean("neutral", "alpha", "posterior") - 0.15
    assert mean("fear", "alpha", "posterior") < mean("sadness", "alpha", "posterior") - 0.15
    assert mean("surprise", "beta", "central") > mean("neutral", "beta", "central") + 0.03


def test_targets_are_the_expectation_of_the_measurement(by_emotion):
    samples = [s for group in by_emotion.values() for s in group]
    for band in measure.BANDS:
        for region in ("frontal", "central", "posterior"):
            log_ratio = [math.log(s["measured"]["power"][band][region] / s["target"]["power"][band][region])
                         for s in samples]
            assert abs(np.mean(log_ratio)) < 0.08, (band, region)
    assert np.mean([s["met"]["power"] for s in samples]) > 0.9
    assert np.mean([s["met"]["change"]["alpha"]["posterior"] for s in samples]) > 0.9


def test_measurement_of_a_known_signal():
    fs, n = 128, 1280
    t = np.arange(n) / fs
    channels = ["F3", "F4", "O1", "O2"]
    amps = np.array([2.0, 4.0, 10.0, 10.0])[:, None]
    x = amps * np.sin(2 * np.pi * 10.5 * t) + 0.5 * np.sin(2 * np.pi * 20 * t)
    x = x + 0.3 * np.random.default_rng(0).standard_normal(x.shape)   # aperiodic floor for the trend fit
    out = measure.eeg_measure(x, fs, channels, EPISODE)
    alpha = np.array(out["channel_power_post"]["alpha"])
    assert np.allclose(alpha, amps[:, 0] ** 2 / 2, rtol=0.1)            # a sine of amplitude A has power A^2/2
    assert out["faa_post"] == pytest.approx(math.log(16 / 4), abs=0.1)
    assert out["iaf"] == pytest.approx(10.5, abs=0.2)
    assert out["differential_entropy"]["alpha"][2] == pytest.approx(0.5 * math.log(2 * math.pi * math.e * 50), abs=0.1)


def test_realistic_artifacts_load_frontal_delta_and_temporal_gamma():
    spec = make_spec(7, "anger", 1.0)
    clean = EEGGenerator(EEGSettings(artifacts="none")).generate([spec])[0]
    dirty = EEGGenerator(EEGSettings(artifacts="realistic")).generate([spec])[0]
    assert dirty.labels["target"] == clean.labels["target"]
    events = dirty.labels["artifacts"]
    assert events["blinks"] == len(events["blink_times"]) > 0 and events["line_noise_hz"] == 50.0
    ch = clean.labels["channels"]
    fp1 = ch.index("Fp1")
    pre = lambda part, band: part.labels["measured"]["channel_power_pre"][band]
    post = lambda part, band: part.labels["measured"]["channel_power_post"][band]
    assert pre(dirty, "delta")[fp1] + post(dirty, "delta")[fp1] > 2 * (pre(clean, "delta")[fp1] + post(clean, "delta")[fp1])
    x, y = load(clean), load(dirty)
    assert np.abs(y - x)[fp1].max() > 50                               # a blink at Fp1
    assert np.abs(y - x)[ch.index("O1")].max() < np.abs(y - x)[fp1].max() / 3


# ---------------------------------------------------------------- settings and errors

def test_presets_and_explicit_channels():
    for name, names in montages.PRESETS.items():
        assert EEGSettings(montage=name).electrodes() == (list(names), name)
    assert EEGSettings().electrodes()[1] == "deap-32"
    assert EEGSettings(channels=["fp1", "CZ", "cb1"]).electrodes() == (["Fp1", "Cz", "Cb1"], "custom")
    gen = EEGGenerator(EEGSettings(montage="seed-62", sampling_rate=200, artifacts="realistic"))
    assert load(gen.generate([make_spec(2)])[0]).shape == (62, 2000)


@pytest.mark.parametrize("settings, words", [
    ({"channels": ["Fp1", "Fz", "Xx9", "F33"]}, ["'Xx9'", "'F33'", "deap-32", "seed-62", "emotiv-14", "10-20-19"]),
    ({"montage": "deap-32", "channels": ["Fp1", "Fp2"]}, ["montage", "channels", "both"]),
    ({"sampling_rate": 64}, ["sampling_rate 64", "45", "90"]),
    ({"montage": "deap32"}, ["unknown montage", "did you mean 'deap-32'"]),
    ({"channels": ["Fz", "FZ"]}, ["twice", "Fz"]),
])
def test_bad_settings_say_what_to_fix(settings, words):
    with pytest.raises(ValidationError) as err:
        EEGSettings(**settings)
    for word in words:
        assert word in str(err.value)


def test_preflight_refuses_a_too_short_response_window():
    gen = EEGGenerator(EEGSettings())
    gen.preflight({"episode": EPISODE})
    with pytest.raises(FactoryError, match="modalities.eeg"):
        gen.preflight({"episode": Episode(duration=5.0, onset=3.0, apex=3.2, offset=4.0)})


# ---------------------------------------------------------------- interop

def test_positions_are_mnes():
    import mne
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        kind = "colin27_1005" if "colin27_1005" in mne.channels.get_builtin_montages() else "standard_1005"
        theirs = mne.channels.make_standard_montage(kind).get_positions()["ch_pos"]
    ours = montages.positions()
    assert set(theirs) <= set(ours) and {"Cb1", "Cb2"} <= set(ours)
    assert max(np.abs(ours[n] - theirs[n]).max() for n in theirs) < 1e-6


def test_band_powers_agree_with_mnes_welch(clean):
    import mne  # noqa: F401 - in the test extra: a broken install must fail, not skip
    from mne.time_frequency import psd_array_welch

    part = clean.generate([make_spec(5, "anger")])[0]
    a, b = measure.windows(EPISODE, 128)["post"]
    psd, freqs = psd_array_welch(load(part)[:, a:b].astype(np.float64), 128, n_fft=128, n_per_seg=128, n_overlap=64,
                                 window="hann", remove_dc=False, verbose=False)
    for band, (lo, hi) in measure.BANDS.items():
        theirs = psd[:, (freqs >= lo) & (freqs < hi)].sum(axis=1)      # 1-Hz bins
        assert np.allclose(part.labels["measured"]["channel_power_post"][band], theirs, rtol=1e-3), band


# ---------------------------------------------------------------- end to end

EEG_RECIPE = """
name: eeg-test
seed: 4
size: 12
shard_size: 6
emotions: [neutral, happiness, fear]
population:
  sex: {female: 1, male: 1}
identities: 4
splits: {train: 0.5, test: 0.5}
episode: {duration: 6, onset: 2}
modalities:
  eeg: {montage: emotiv-14, artifacts: realistic}
"""


@pytest.fixture(scope="module")
def eeg_dataset(tmp_path_factory):
    """A 12-sample Emotiv dataset made by `affect-factory generate` (documents included)."""
    from factory.cli import main

    root = tmp_path_factory.mktemp("eeg")
    (root / "eeg.yaml").write_text(EEG_RECIPE)
    assert main(["generate", str(root / "eeg.yaml"), "--out", str(root / "ds"), "--no-progress"]) == 0
    return root / "ds"


@pytest.mark.slow
def test_eeg_npy_round_trips_through_webdataset(eeg_dataset):
    import webdataset as wds

    urls = [str(p) for p in sorted(eeg_dataset.glob("*.tar"))]
    samples = list(wds.WebDataset(urls, shardshuffle=False).decode())
    assert len(samples) == 12
    for s in samples:
        eeg = s["json"]["eeg"]
        x = s["eeg.npy"]
        assert x.dtype == np.float32 and x.shape == (14, 6 * 128) == (len(eeg["channels"]), eeg["sampling_rate"] * 6)
        assert eeg["montage"] == "emotiv-14" and s["json"]["episode"]["onset"] == 2.0


@pytest.mark.slow
def test_same_recipe_same_eeg_shards(eeg_dataset, tmp_path):
    from factory.cli import main

    (tmp_path / "eeg.yaml").write_text(EEG_RECIPE)
    assert main(["generate", str(tmp_path / "eeg.yaml"), "--out", str(tmp_path / "again"), "--no-progress"]) == 0
    for shard in sorted(eeg_dataset.glob("*.tar")):
        assert (tmp_path / "again" / shard.name).read_bytes() == shard.read_bytes()


@pytest.mark.slow
def test_index_and_audit_carry_eeg_targets_measurements_and_met(eeg_dataset):
    import pandas as pd

    index = pd.read_parquet(eeg_dataset / "index.parquet")
    for col in ("eeg.target.faa_change", "eeg.measured.faa_change", "eeg.measured.iaf",
                "eeg.measured.power.alpha.posterior", "eeg.measured.change.beta.central", "eeg.met.change.alpha.posterior", "eeg.met.power"):
        assert col in index.columns
    assert index["eeg.measured.iaf"].between(7, 14).all()
    assert (index["eeg.montage"] == "emotiv-14").all() and index["eeg.met.iaf"].dtype == bool
    audit = json.loads((eeg_dataset / "audit.json").read_text())
    assert "eeg" in audit["fidelity"]["modalities"]
    assert (eeg_dataset / "datasheet.md").read_text().count("eeg.npy") >= 1


@pytest.mark.slow
def test_the_documented_mne_snippet_runs(eeg_dataset, tmp_path):
    import runpy
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "eeg.md").read_text()
    snippet = text.split("## Using a sample with MNE", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    assert "out/deap-style/train-000000.tar" in snippet
    snippet = snippet.replace("out/deap-style/train-000000.tar", str(sorted(eeg_dataset.glob("train-*.tar"))[0]))
    script = tmp_path / "eeg_md_snippet.py"       # the docs' snippet, run as the user would
    script.write_text(snippet)
    raw = runpy.run_path(str(script))["raw"]
    assert raw.ch_names == list(montages.PRESETS["emotiv-14"]) and raw.info["sfreq"] == 128
    assert raw.get_data().shape == (14, 6 * 128) and np.abs(raw.get_data()).max() < 1e-3     # volts
    positions = raw.get_montage().get_positions()["ch_pos"]
    assert all(np.isfinite(positions[c]).all() for c in raw.ch_names)
    assert raw.annotations.description[0] == "stimulus onset" and raw.annotations.onset[0] == 2.0
    alpha = raw.compute_psd(fmin=8, fmax=13, verbose=False).get_data().mean(axis=1)
    assert alpha[raw.ch_names.index("O1")] > alpha[raw.ch_names.index("F3")]


def test_bad_eeg_recipe_exits_2_naming_the_key(tmp_path, capsys):
    from factory.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text(EEG_RECIPE.replace("{montage: emotiv-14, artifacts: realistic}", "{channels: [Fp1, Fz, Qq7]}"))
    assert main(["generate", str(bad), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "modalities.eeg.channels" in err and "'Qq7'" in err and "deap-32" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "manifest.json").exists()
