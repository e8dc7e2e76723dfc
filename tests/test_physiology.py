"""Physiology: coupling (pulse arrival, RSA, shared latency), artifacts, variability,
measurability of respiration, the fast ecgsyn integration, determinism."""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import neurokit2 as nk
import numpy as np
import pytest

from factory.errors import FactoryError
from factory.physiology import artifacts, simulate
from factory.physiology.generator import PhysiologyGenerator, record
from factory.physiology.response import HR_LATENCY_S, SCR_LATENCY_S, episode_targets
from factory.plan import episode_of, make_plan, specs_from_rows
from factory.recipe import parse_recipe

ROOT = Path(__file__).resolve().parents[1]
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
        assert (line > 10) == got["ecg_mains"], (spec.sample_id, hz, line)
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
    from factory.physiology.measure import rsp_measure

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
    from factory.spec import Episode
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
