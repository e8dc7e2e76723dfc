"""Physiology unit tests: the rate curve and time warp, episode targets, the measurements
(checked against HeartPy on real recordings), and the generator's output."""
from __future__ import annotations

import io
from pathlib import Path

import neurokit2 as nk
import numpy as np
import pytest

from factory.physiology.generator import (HR_RAMP_S, SIGNAL_NAMES, SIGNALS, TOLERANCE, PhysiologyGenerator,
                                          PhysiologySettings, _rate_curve, _time_warp, episode_targets,
                                          measure, ppg_measure)
from factory.spec import Episode, SampleSpec

EPISODE = Episode(duration=20.0, onset=4.0, apex=9.0, offset=17.0)


def make_spec(emotion="neutral", identity=1, index=0, intensity=1.0, sex="female", age=35.0,
              episode=EPISODE) -> SampleSpec:
    return SampleSpec(sample_id=f"s{index:04d}", index=index, shard="train-000000", split="train",
                      seed=1000 + index, identity=f"p{identity}", identity_seed=500 + identity, emotion=emotion,
                      intensity=intensity, valence=0.0, arousal=0.0, dominance=0.0,
                      attributes={"sex": sex, "age_band": "30-44"}, episode=episode, age=age)


# ---------------------------------------------------------------- rate curve and time warp

def test_rate_curve_rises_after_onset_and_falls_half_way_after_offset():
    t = np.arange(0, 30, 0.01)
    curve = _rate_curve(t, 60.0, 90.0, onset=5.0, offset=20.0)
    assert np.allclose(curve[t < 3.0], 60.0, atol=0.05)                 # untouched before onset
    assert curve[np.searchsorted(t, 5.0 + HR_RAMP_S / 2)] == pytest.approx(75.0, abs=0.1)   # half-way at mid-ramp
    assert curve[(t > 10) & (t < 17)].min() == pytest.approx(90.0, abs=0.05)
    assert curve[-1] == pytest.approx(75.0, abs=0.05)                     # half-way back at the end
    assert np.all(np.diff(curve[t < 12]) >= 0) and curve.max() <= 90.0      # a rise, no overshoot


def test_time_warp_makes_a_signal_follow_the_rate():
    fs, base = 200, 60.0
    t = np.arange(0, 20, 1 / fs)
    sine = lambda n: np.sin(2 * np.pi * np.arange(int(n * fs)) / fs)     # one cycle per second = 60/min
    warped = _time_warp(sine, t, np.full(len(t), 90.0), base, fs)
    cycles = np.sum((warped[:-1] < 0) & (warped[1:] >= 0))                # upward zero crossings
    assert cycles == pytest.approx(20 * 90 / 60, abs=1)


# ---------------------------------------------------------------- targets

def test_targets_are_fixed_per_spec_and_person():
    a, b = episode_targets(make_spec("fear")), episode_targets(make_spec("fear"))
    assert a == b
    other = episode_targets(make_spec("fear", index=1))             # same person, another sample
    assert other["heart_rate_baseline"] == a["heart_rate_baseline"] and other["scr_times"] != a["scr_times"]
    assert episode_targets(make_spec("fear", identity=2))["heart_rate_baseline"] != a["heart_rate_baseline"]


def test_targets_scale_with_emotion_and_intensity():
    neutral = episode_targets(make_spec("neutral"))
    fear = episode_targets(make_spec("fear"))
    half = episode_targets(make_spec("fear", intensity=0.5))
    assert fear["heart_rate"] > neutral["heart_rate"] and fear["scl_change"] > neutral["scl_change"]
    assert half["heart_rate_change"] == pytest.approx(fear["heart_rate_change"] / 2, abs=0.01)
    assert fear["scr_count"] == sum(t >= EPISODE.onset for t in fear["scr_times"])
    assert all(isinstance(v, (int, float, bool, list)) for v in fear.values())   # plain JSON types


# ---------------------------------------------------------------- measurement

def heartpy_recording(name: str) -> tuple[np.ndarray, float]:
    """A real PPG recording shipped in the HeartPy wheel and its sampling rate."""
    hp = pytest.importorskip("heartpy")
    path = Path(hp.__file__).parent / "data" / name
    if name == "data.csv":
        return np.asarray(hp.get_data(str(path)), float), 100.0
    table = np.genfromtxt(path, delimiter=",", names=True)
    return np.asarray(table["hr"], float), float(hp.get_samplerate_mstimer(table["timer"]))


@pytest.mark.parametrize("name", ["data.csv", "data2.csv"])
def test_pulse_rate_agrees_with_heartpy_on_real_recordings(name):
    """Within the tolerance the labels use (HeartPy rejects outlier beats; neurokit2 does not)."""
    import heartpy as hp

    x, fs = heartpy_recording(name)
    x = x[: int(120 * fs)]                                            # two minutes
    _, reference = hp.process(x, fs)
    ours = ppg_measure(x, int(round(fs)), (0, len(x)), {"onset": 1})["ppg_heart_rate"]
    assert ours == pytest.approx(reference["bpm"], abs=TOLERANCE["heart_rate"])


def test_measure_recovers_simulated_rates():
    fs = 256
    tg = {"onset": 5.0, "offset": 25.0, "duration": 30.0}
    channels = {"ecg": nk.ecg_simulate(duration=30, sampling_rate=fs, heart_rate=75, random_state=1),
                "rsp": nk.rsp_simulate(duration=30, sampling_rate=fs, respiratory_rate=15, random_state=1)}
    values, notes = measure(channels, tg, fs)
    assert values["heart_rate"] == pytest.approx(75, abs=TOLERANCE["heart_rate"]) and not notes
    assert values["resp_rate"] == pytest.approx(15, abs=TOLERANCE["resp_rate"])


def test_too_short_to_measure_is_nan_with_a_note():
    fs = 128            # one breath in 4 s: fewer than two breaths after an onset at 8 s of 10 s
    tg = {"onset": 8.0, "offset": 9.5, "duration": 10.0}
    rsp = nk.rsp_simulate(duration=10, sampling_rate=fs, respiratory_rate=15, random_state=1)
    values, notes = measure({"rsp": rsp}, tg, fs)
    assert np.isnan(values["resp_rate"]) and any(n.startswith("resp_rate: not measurable") for n in notes)


# ---------------------------------------------------------------- the generator

def test_generator_writes_channels_in_order_with_matching_labels():
    gen = PhysiologyGenerator(PhysiologySettings(signals=["eda", "ecg"], sampling_rate=128))
    parts = gen.generate([make_spec("anger")])[0]
    data = np.load(io.BytesIO(parts.files["physio.npy"]), allow_pickle=False)
    assert data.dtype == np.float32 and data.shape == (2, int(EPISODE.duration * 128))
    labels = parts.labels
    assert labels["channels"] == ["eda", "ecg"] and labels["unit"] == {"eda": "uS", "ecg": "mV"}
    assert set(labels["target"]) == set(labels["measured"]) and set(labels["met"]) <= set(labels["target"])
    assert "resp_rate" not in labels["target"] and "emg_bursts" not in labels["target"]   # signals not made
    # the EDA row is the skin conductance: its level after onset is what the label measured
    window = slice(int((EPISODE.onset + 3.0) * 128), int(EPISODE.offset * 128))
    assert float(data[0, window].mean()) == pytest.approx(labels["measured"]["scl"], abs=1e-3)
    assert gen.summary() == "electrodermal activity (EDA), electrocardiogram (ECG)"


def test_settings_refuse_unknown_signals_and_emg_at_low_rates():
    assert tuple(PhysiologySettings().signals) == SIGNALS == tuple(SIGNAL_NAMES)
    with pytest.raises(ValueError, match="eeg"):
        PhysiologySettings(signals=["ecg", "eeg"])
    with pytest.raises(ValueError, match="EMG needs sampling_rate >= 250"):
        PhysiologySettings(signals=["emg"], sampling_rate=128)
