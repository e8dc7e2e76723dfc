"""Physiology unit tests: the rate curve and time warp, episode targets and their variability,
coupling (pulse arrival, RSA, shared latency), artifacts, the fast ecgsyn integration, the
measurements (checked against HeartPy on real recordings), and the generator's output."""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import neurokit2 as nk
import numpy as np
import pytest

from factory.errors import FactoryError
from factory.physiology import artifacts, simulate
from factory.physiology.generator import (SIGNAL_NAMES, SIGNALS, TOLERANCE, PhysiologyGenerator, PhysiologySettings,
                                          record)
from factory.physiology.measure import measure, ppg_measure, rsp_measure
from factory.physiology.response import HR_LATENCY_S, HR_RAMP_S, SCR_LATENCY_S, episode_targets
from factory.plan import episode_of, make_plan, specs_from_rows
from factory.recipe import parse_recipe
from factory.spec import Episode, SampleSpec

ROOT = Path(__file__).resolve().parents[1]
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
    curve = simulate.rate_curve(t, 60.0, 90.0, 5.0, 20.0)
    assert np.allclose(curve[t < 3.0], 60.0, atol=0.05)                 # untouched before onset
    assert curve[np.searchsorted(t, 5.0 + HR_RAMP_S / 2)] == pytest.approx(75.0, abs=0.1)   # half-way at mid-ramp
    assert curve[(t > 10) & (t < 17)].min() == pytest.approx(90.0, abs=0.05)
    assert curve[-1] == pytest.approx(75.0, abs=0.05)                     # half-way back at the end
    assert np.all(np.diff(curve[t < 12]) >= 0) and curve.max() <= 90.0      # a rise, no overshoot


def test_time_warp_makes_a_signal_follow_the_rate():
    fs, base = 200, 60.0
    t = np.arange(0, 20, 1 / fs)
    sine = lambda n: np.sin(2 * np.pi * np.arange(int(n * fs)) / fs)     # one cycle per second = 60/min
    warped = simulate.time_warp(sine, np.full(len(t), 90.0), base, fs)
    cycles = np.sum((warped[:-1] < 0) & (warped[1:] >= 0))                # upward zero crossings
    assert cycles == pytest.approx(20 * 90 / 60, abs=1)


# ---------------------------------------------------------------- targets

def test_targets_are_fixed_per_spec_and_person():
    a, b = episode_targets(make_spec("fear")), episode_targets(make_spec("fear"))
    assert a == b
    other = episode_targets(make_spec("fear", index=1), "low")      # same person, another sample
    first = episode_targets(make_spec("fear"), "low")
    assert other["heart_rate_baseline"] == first["heart_rate_baseline"] and other["scr_times"] != first["scr_times"]
    assert episode_targets(make_spec("fear", identity=2), "low")["heart_rate_baseline"] != first["heart_rate_baseline"]
    # at `realistic` the resting state also shifts from episode to episode
    assert episode_targets(make_spec("fear", index=1))["heart_rate_baseline"] != a["heart_rate_baseline"]


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
    import heartpy as hp
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
                "rsp": nk.rsp_simulate(duration=30, sampling_rate=fs, respiratory_rate=15, method="sinusoidal",
                                       random_state=1)}
    values, notes = measure(channels, tg, fs)
    assert values["heart_rate"] == pytest.approx(75, abs=TOLERANCE["heart_rate"]) and not notes
    assert values["resp_rate"] == pytest.approx(15, abs=TOLERANCE["resp_rate"])


def test_too_short_to_measure_is_nan_with_a_note():
    fs = 128            # one breath in 4 s: no breath cycle centred after an onset at 8 s of 10 s
    tg = {"onset": 8.0, "offset": 9.5, "duration": 10.0}
    rsp = nk.rsp_simulate(duration=10, sampling_rate=fs, respiratory_rate=15, method="sinusoidal", random_state=1)
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
    assert gen.summary() == ("electrodermal activity (EDA), electrocardiogram (ECG); "
                             "response variability realistic, recording artifacts realistic")


def test_settings_refuse_unknown_signals_and_emg_at_low_rates():
    assert tuple(PhysiologySettings().signals) == SIGNALS == tuple(SIGNAL_NAMES)
    with pytest.raises(ValueError, match="eeg"):
        PhysiologySettings(signals=["ecg", "eeg"])
    with pytest.raises(ValueError, match="EMG needs sampling_rate >= 250"):
        PhysiologySettings(signals=["emg"], sampling_rate=128)


# ---------------------------------------------------------------- variability, coupling, artifacts (issue 13)

RECIPE = """
name: physio-test
seed: 3
size: {size}
emotions: [neutral, happiness, sadness, anger, fear, disgust, surprise]
population: {{sex: {{female: 1, male: 1}}, locale: {{en-US: 1, de-DE: 1}}}}
identities: {identities}
episode: {{duration: {duration}, onset: 3}}
modalities:
  physiology: {{signals: [ecg, ppg, eda, rsp, emg], sampling_rate: 256, variability: {variability}, artifacts: {artifacts}}}
"""


def specs(size=14, identities=7, duration=10, variability="realistic", artifacts="realistic", text=None):
    recipe = parse_recipe(text or RECIPE.format(size=size, identities=identities, duration=duration,
                                                variability=variability, artifacts=artifacts))
    return recipe, list(specs_from_rows(make_plan(recipe).samples, list(recipe.population), episode_of(recipe)))


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def r_peaks(ecg, fs=256):
    return np.asarray(_quiet(nk.ecg_peaks, nk.ecg_clean(ecg, sampling_rate=fs), sampling_rate=fs)[1]["ECG_R_Peaks"])


# ---------------------------------------------------------------- ecgsyn integration

def test_fast_ecgsyn_matches_neurokit2_solve_ivp():
    """Same RR series through neurokit2's ecgsyn (solve_ivp) and ours: same waveform."""
    from neurokit2.ecg.ecg_simulate import _ecg_simulate_ecgsyn, _ecg_simulate_rrprocess
    from neurokit2.signal import signal_resample

    fs, hr, beats = 256, 70, 12
    _, results = _ecg_simulate_ecgsyn(sfecg=fs, N=beats, hrmean=hr, hrstd=2, sfint=fs, rng=np.random.default_rng(3))
    reference = results[0].y[2]
    # neurokit2's RR series for that seed, expanded per sample exactly as _ecg_simulate_ecgsyn does
    n = 2 ** int(np.ceil(np.log2(beats * 60 / hr)))
    rr = signal_resample(_ecg_simulate_rrprocess(0.1, 0.25, 0.01, 0.01, 0.5, hr, 2, 1, n, np.random.default_rng(3)),
                         sampling_rate=1, desired_sampling_rate=fs)
    per_sample, elapsed, i = np.zeros(len(rr)), 0.0, 0
    while i < len(rr):
        elapsed += rr[i]
        end = int(np.round(elapsed * fs))
        per_sample[i:end] = rr[i]
        i = end
    q = simulate.ECGSYN_OVERSAMPLE
    fine = np.arange(len(reference) * q) / (fs * q)
    omega = 2 * np.pi / per_sample[np.minimum((fine * fs).astype(int), len(per_sample) - 1)]
    theta = np.concatenate([[0.0], np.cumsum(omega[:-1]) / (fs * q)])
    ours = simulate.ecgsyn_integrate(theta, np.full(len(theta), hr), fs * q)[::q]
    assert np.corrcoef(ours, reference)[0, 1] > 0.95
    assert np.ptp(ours) == pytest.approx(np.ptp(reference), rel=0.05)
    assert len(r_peaks(ours)) == len(r_peaks(reference))


def test_ecg_t_waves_are_normal_sized_relative_to_r():
    """neurokit2's delineation of clean ECGs: T/R mostly >= 1/10 (below it a T wave counts as
    flattened in leads I, II, V4-V6) and the median inside lead II's usual 0.1-0.5."""
    _, some = specs(size=14, identities=14, artifacts="none")
    ratios = []
    for spec in some:
        ecg = record(episode_targets(spec), ["ecg"], 256, spec, "none")[0]["ecg"]
        r = r_peaks(ecg)
        t = np.asarray(_quiet(nk.ecg_delineate, ecg, r, sampling_rate=256)[1]["ECG_T_Peaks"], dtype=float)
        pairs = [(a, int(b)) for a, b in zip(r, t) if np.isfinite(b) and a > 26]
        base = [np.median(ecg[a - 26:a - 15]) for a, _ in pairs]     # PR segment, 100-60 ms before R
        ratios.append(np.median([(ecg[b] - z) / (ecg[a] - z) for (a, b), z in zip(pairs, base)]))
    ratios = np.array(ratios)
    assert np.mean(ratios >= 0.1) >= 0.8
    assert 0.1 <= np.median(ratios) <= 0.5


# ---------------------------------------------------------------- coupling

def test_ppg_pulses_follow_r_peaks_after_the_pulse_arrival_time():
    _, some = specs(artifacts="none")
    delays = []
    for spec in some[:6]:
        tg = episode_targets(spec)
        channels, _ = record(tg, ["ecg", "ppg"], 256, spec, "none")
        r = r_peaks(channels["ecg"])
        ppg = channels["ppg"]
        for a, b in zip(r[:-1], r[1:]):                 # the PPG foot: the minimum before the next systolic peak
            foot = a + int(np.argmin(ppg[a:a + int(0.45 * (b - a)) + 1]))
            delays.append((foot - a) / 256)
    delays = np.array(delays)
    assert 0.18 <= np.median(delays) <= 0.32
    assert np.percentile(np.abs(delays - np.median(delays)), 90) < 0.06   # locked to the beat, not free-running


def test_respiratory_sinus_arrhythmia_follows_the_breathing():
    _, some = specs(variability="low", artifacts="none")
    def coupling(rsa: float) -> float:
        rates, breath = [], []
        for spec in some[:6]:
            tg = {**episode_targets(spec, "low"), "rsa": rsa, "heart_rate": None}
            tg["heart_rate"] = tg["heart_rate_baseline"]                      # no emotional ramp: RSA alone
            breathing = simulate.rsp_simulate(tg, 256, np.random.default_rng(1), {})
            heart = simulate.heartbeats(tg, 256, np.random.default_rng(2), breathing)
            ecg = simulate.crop(simulate.ecg_simulate(tg, 256, np.random.default_rng(3), heart, breathing), tg, 256)
            r = r_peaks(ecg)
            mid = (r[1:] + r[:-1]) // 2
            rate = 60 * 256 / np.diff(r)
            rates += list((rate - rate.mean()) / (rate.std() or 1))
            b = simulate.crop(breathing, tg, 256)[mid]
            breath += list((b - b.mean()) / b.std())
        return float(np.corrcoef(rates, breath)[0, 1])
    with_rsa, without = coupling(4.0), coupling(0.0)
    assert with_rsa > 0.4
    assert with_rsa > without + 0.3


def test_eda_and_heart_rate_share_one_latency_draw_per_episode():
    _, some = specs(size=28, identities=7)
    hr = np.array([episode_targets(s)["hr_start"] - s.episode.onset for s in some])
    scr = np.array([episode_targets(s)["scr_start"] - s.episode.onset for s in some])
    assert np.std(hr) > 0.1                                  # latencies vary from trial to trial ...
    unclipped = hr > 0.2 + 1e-9
    assert np.allclose((scr - hr)[unclipped], SCR_LATENCY_S - HR_LATENCY_S)   # ... together


# ---------------------------------------------------------------- artifacts

def test_artifacts_are_labelled_and_none_means_clean():
    recipe, some = specs(size=28, identities=7)
    gen = PhysiologyGenerator(recipe.modalities["physiology"])
    got = [gen.generate_one(s).labels["artifacts"] for s in some]
    names = [n for s in ("ecg", "ppg", "eda", "rsp", "emg") for n in artifacts.names_for(s)]
    assert all(list(g) == names for g in got)                # same keys in every sample
    assert all(g["ecg_sensor_noise"] for g in got)
    assert any(g["ecg_baseline_wander"] for g in got) and not all(g["ecg_mains"] for g in got)
    clean_recipe, clean = specs(size=28, identities=7, artifacts="none")
    clean_gen = PhysiologyGenerator(clean_recipe.modalities["physiology"])
    assert not any(any(clean_gen.generate_one(s).labels["artifacts"].values()) for s in clean[:4])


def test_mains_interference_is_there_exactly_when_labelled():
    _, some = specs(size=28, identities=7)
    seen = set()
    for spec in some:
        tg = episode_targets(spec)
        noisy, got = record(tg, ["ecg"], 256, spec, "realistic")
        hz = artifacts.mains_frequency(spec.get("locale"))
        f, p = _quiet(__import__("scipy.signal", fromlist=["welch"]).welch, noisy["ecg"], fs=256, nperseg=512)
        near = (np.abs(f - hz) > 1.5) & (np.abs(f - hz) < 6)
        line = p[np.argmin(np.abs(f - hz))] / np.median(p[near])
        # 4: unlabelled episodes reach <= 1.3 against the measured sensor-noise floor, the weakest mains ~9
        assert (line > 4) == got["ecg_mains"], (spec.sample_id, hz, line)
        seen.add(got["ecg_mains"])
    assert seen == {True, False}


def test_measurement_runs_on_the_noisy_signal():
    """Contact loss on EDA wrecks the level measured on the recording: `met` must say so."""
    _, some = specs(size=28, identities=7)
    spec = some[0]
    tg = episode_targets(spec)
    clean = simulate.eda_simulate(tg, 256, np.random.default_rng(0))
    lost = artifacts.add_artifacts("eda", clean, 256, {"eda_contact_loss": 6.0}, np.random.default_rng(1))
    assert np.mean(lost) < 0.6 * np.mean(clean)


# ---------------------------------------------------------------- variability

def test_variability_levels_are_ordered():
    spread = {}
    for level in ("low", "realistic", "high"):
        _, some = specs(size=140, identities=20, variability=level)
        changes = [(s.emotion, episode_targets(s, level)["heart_rate_change"]) for s in some]
        spread[level] = np.mean([np.std([c for e, c in changes if e == emo]) for emo in {e for e, _ in changes}])
    assert spread["low"] < spread["realistic"] < spread["high"]


def test_responses_habituate_over_a_persons_repeated_episodes():
    _, some = specs(size=140, identities=5, variability="low")
    first = [abs(episode_targets(s, "low")["scl_change"]) for s in some if s.repetition < 3 and s.emotion == "fear"]
    late = [abs(episode_targets(s, "low")["scl_change"]) for s in some if s.repetition >= 15 and s.emotion == "fear"]
    assert first and late and np.mean(late) < 0.8 * np.mean(first)


# ---------------------------------------------------------------- measurability, refusal, determinism

@pytest.mark.parametrize("name", ["demo", "basic-emotions-balanced", "skewed-standin"])
def test_respiration_rate_is_measurable_in_shipped_recipes(name):
    text = (ROOT / "recipes" / f"{name}.yaml").read_text()
    recipe, some = specs(text=text)
    fs = recipe.modalities["physiology"].sampling_rate
    finite = 0
    for spec in some[:60]:
        tg = episode_targets(spec)
        channels, _ = record(tg, ["rsp"], fs, spec, recipe.modalities["physiology"].artifacts)
        finite += np.isfinite(_quiet(rsp_measure, channels["rsp"], fs, None, tg)["resp_rate"])
    assert finite >= 0.95 * min(len(some), 60)


def test_refuses_episodes_where_nothing_can_be_measured():
    recipe, some = specs()
    gen = PhysiologyGenerator(recipe.modalities["physiology"])
    gen.preflight({"episode": [some[0].episode]})                 # 7 s after onset: fine
    with pytest.raises(FactoryError, match="episode.duration"):
        gen.preflight({"episode": [Episode(duration=4.0, onset=3.9, apex=3.95, offset=4.0)]})


def test_same_spec_same_bytes_and_signals_do_not_disturb_each_other():
    recipe, some = specs()
    gen = PhysiologyGenerator(recipe.modalities["physiology"])
    a, b = gen.generate_one(some[1]), gen.generate_one(some[1])
    assert a.files["physio.npy"] == b.files["physio.npy"] and a.labels == b.labels
    tg = episode_targets(some[1])
    alone, _ = record(tg, ["ecg"], 256, some[1], "realistic")
    together = np.load(io.BytesIO(a.files["physio.npy"]), allow_pickle=False)
    assert np.array_equal(alone["ecg"].astype(np.float32), together[0])
