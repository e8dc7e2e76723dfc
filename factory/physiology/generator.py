"""Physiology of one emotional episode with neurokit2: ECG, PPG, EDA, RSP and EMG.

Each person has a resting baseline (age/sex norms plus per-identity variation, see
`factory.affect.resting_baseline`). After the stimulus onset the emotion's autonomic
response (`factory.affect.AUTONOMIC`), scaled by intensity, ramps in at realistic latencies:
heart and respiration rates change over ~3 s, the evoked skin-conductance response peaks
1-3 s after onset (Boucsein 2012), non-specific SCRs become more frequent, facial EMG bursts.
Rate changes are applied by time-warping a neurokit2 simulation made at the baseline rate,
so every waveform keeps neurokit2's morphology. Every signal is then measured with
neurokit2's own processing, and both target and measured values go into the labels.
"""
from __future__ import annotations

import io
import warnings
from typing import Any, Literal, Mapping, Sequence

import neurokit2 as nk
import numpy as np
from pydantic import Field, field_validator, model_validator
from neurokit2.eda.eda_simulate import _eda_simulate_scr  # neurokit2's canonical SCR shape (Bach 2010)

from factory.affect import AUTONOMIC, resting_baseline
from factory.generators import GeneratorSettings, OutputFile, SampleParts
from factory.plain import to_python
from factory.spec import SampleSpec

HR_RAMP_S = 3.0             # heart/respiration rates settle ~3 s after onset (Kreibig 2010, *chosen*)
SCR_LATENCY_S = (1.0, 3.0)  # evoked SCR latency (Boucsein 2012)
NON_RESPONDER_SHARE = 0.10  # ~10 % electrodermal non-responders (Boucsein 2012)
SIGNAL_NAMES = {"ecg": "electrocardiogram (ECG)", "ppg": "photoplethysmogram (PPG)",
                "eda": "electrodermal activity (EDA)", "rsp": "respiration (RSP)", "emg": "electromyogram (EMG)"}
SIGNALS = tuple(SIGNAL_NAMES)
TOLERANCE = {"heart_rate": 5.0, "heart_rate_change": 4.0, "resp_rate": 3.0, "scr_count": 1, "scl": 1.0,
             "scl_change": 0.5, "emg_bursts": 1}


class PhysiologySettings(GeneratorSettings):
    """Physiological signals of the whole episode (neurokit2 simulators)."""

    backend: str = "neurokit2"
    signals: list[Literal[SIGNALS]] = Field(default_factory=lambda: list(SIGNALS))
    sampling_rate: int = Field(256, ge=64, le=4000)

    @model_validator(mode="after")
    def _emg_rate(self):
        if "emg" in self.signals and self.sampling_rate < 250:
            raise ValueError(f"EMG needs sampling_rate >= 250 Hz (neurokit2's EMG cleaning high-passes at "
                             f"100 Hz), got {self.sampling_rate}; raise the rate or drop emg from signals")
        return self

    @field_validator("signals")
    @classmethod
    def _unique_signals(cls, v):
        if not v:
            raise ValueError(f"list at least one signal of {list(SIGNALS)}")
        if len(set(v)) != len(v):
            raise ValueError("a signal is listed twice")
        return v


class PhysiologyGenerator:
    """ECG, PPG, EDA, RSP and EMG of the whole episode, measured with neurokit2."""

    modality = "physiology"
    backend = "neurokit2"
    Settings = PhysiologySettings
    files = (OutputFile("physio.npy", "application/x-npy",
                        "physiological signals of the whole episode, channels x samples, float32 "
                        "(channel names, units and sampling rate in the JSON)"),)
    licence = "neurokit2 (MIT) simulators and processing; signals are synthetic"

    def __init__(self, settings) -> None:
        self.signals = list(settings.signals)
        self.rate = int(settings.sampling_rate)

    def preflight(self, levels: Mapping[str, Sequence[Any]]) -> None:
        """Nothing to check: neurokit2 needs no model and every level has a baseline."""

    def versions(self) -> dict[str, str]:
        """neurokit2's version."""
        return {"neurokit2": nk.__version__}

    def summary(self) -> str:
        """The signals, by name (for the datasheet)."""
        return ", ".join(SIGNAL_NAMES[s] for s in self.signals)

    def generate(self, specs: Sequence[SampleSpec]) -> list[SampleParts]:
        """One multichannel recording per spec."""
        return [self.generate_one(spec) for spec in specs]

    def generate_one(self, spec: SampleSpec) -> SampleParts:
        """Simulate, measure and encode one episode."""
        targets = episode_targets(spec)
        # One stream per signal: adding, dropping or reordering a signal never changes another.
        channels = {name: SIMULATORS[name](targets, self.rate, spec.rng(f"physiology.{name}")) for name in self.signals}
        measured, notes = measure(channels, targets, self.rate)
        data = np.stack([channels[n] for n in self.signals]).astype(np.float32)
        buf = io.BytesIO()
        np.save(buf, data, allow_pickle=False)
        shown = {k: v for k, v in targets.items() if k in _LABEL_KEYS[0] and _uses(k, self.signals)}
        # NaN (not measurable) never meets its target; every sample has the same keys and types.
        met = {k: bool(abs(measured.get(k, float("nan")) - shown[k]) <= TOLERANCE[k]) for k in shown if k in TOLERANCE}
        labels = {
            "channels": self.signals, "sampling_rate": self.rate, "unit": _units(self.signals),
            "target": shown, "measured": {k: measured.get(k, float("nan")) for k in shown},
            "baseline": {k: targets[k] for k in _LABEL_KEYS[1]}, "met": met, "notes": "; ".join(notes),
        }
        return SampleParts(files={"physio.npy": buf.getvalue()}, labels=labels)


_LABEL_KEYS = (("heart_rate", "heart_rate_change", "sdnn", "scl", "scl_change", "scr_count", "resp_rate", "emg_bursts"),
               ("heart_rate_baseline", "resp_rate_baseline", "scl_baseline", "responder"))
_NEEDS = {"heart_rate": ("ecg", "ppg"), "heart_rate_change": ("ecg",), "sdnn": ("ecg",), "scl": ("eda",),
          "scl_change": ("eda",), "scr_count": ("eda",),
          "resp_rate": ("rsp",), "emg_bursts": ("emg",)}


def _uses(key: str, signals: list[str]) -> bool:
    return any(s in signals for s in _NEEDS[key])


def _units(signals: list[str]) -> dict[str, str]:
    units = {"ecg": "mV", "ppg": "a.u.", "eda": "uS", "rsp": "a.u.", "emg": "mV"}
    return {s: units[s] for s in signals}


# ---------------------------------------------------------------- targets

def episode_targets(spec: SampleSpec) -> dict[str, Any]:
    """Baseline and response targets of one episode (all in physiological units)."""
    person = spec.identity_rng("physiology")
    base = resting_baseline(spec.age, spec.get("sex"), tuple(person.standard_normal(4)))
    responder = bool(person.random() >= NON_RESPONDER_SHARE)
    resp = AUTONOMIC[spec.emotion]
    k = spec.intensity
    rng = spec.rng("physiology-events")
    ep = spec.episode
    evoked_amp = k * (0.1 + 0.5 * resp.scl) if resp.scl > 0 and responder else 0.0
    latency = float(rng.uniform(*SCR_LATENCY_S))
    scr_times = [ep.onset + latency] if evoked_amp >= 0.05 else []
    ns_pre = rng.poisson(base.scr_rate * ep.onset / 60) if responder else 0
    ns_post = rng.poisson((base.scr_rate + k * resp.scr_rate) * (ep.duration - ep.onset) / 60) if responder else 0
    late = max(ep.onset + 0.5, ep.duration - 2.5)     # short episodes: no room after onset
    ns_post = ns_post if late > ep.onset + 0.5 else 0
    ns_times = list(rng.uniform(0.5, ep.onset, ns_pre)) + list(rng.uniform(ep.onset + 0.5, late, ns_post))
    ns_times = [t for t in ns_times if all(abs(t - s) > 2.0 for s in scr_times)]
    post_scrs = [t for t in scr_times + ns_times if t >= ep.onset]
    return to_python({
        "duration": ep.duration, "onset": ep.onset, "offset": ep.offset,
        "heart_rate_baseline": base.heart_rate, "resp_rate_baseline": base.resp_rate,
        "scl_baseline": base.scl, "responder": responder,
        "heart_rate": round(base.heart_rate + k * resp.heart_rate, 2),
        "heart_rate_change": round(k * resp.heart_rate, 2),
        "scl_change": round(k * resp.scl, 3),
        "sdnn": round(base.sdnn * (1 + k * (resp.hrv - 1)), 2),
        "resp_rate": round(base.resp_rate + k * resp.resp_rate, 2),
        "scl": round(base.scl + k * resp.scl, 3),
        "scr_count": len(post_scrs),
        "scr_times": sorted(scr_times + ns_times),
        "scr_amplitudes": [evoked_amp] * len(scr_times) + list(rng.uniform(0.05, 0.25, len(ns_times))),
        "emg_bursts": int(round(3 * k * resp.emg)),
        "emg_level": k * resp.emg,
    })


def _rate_curve(t: np.ndarray, before: float, after: float, onset: float, offset: float) -> np.ndarray:
    """Smooth change from `before` to `after` starting at onset, half-way back after offset."""
    rise = 1 / (1 + np.exp(-(t - onset - HR_RAMP_S / 2) / (HR_RAMP_S / 6)))
    fall = 1 - 0.5 / (1 + np.exp(-(t - offset - 1.0) / 0.5))
    return before + (after - before) * rise * fall


def _time_warp(simulate, t: np.ndarray, rate: np.ndarray, base_rate: float, fs: int) -> np.ndarray:
    """Resample a signal simulated at `base_rate` so its instantaneous rate follows `rate`."""
    phase = np.concatenate([[0.0], np.cumsum(rate[1:] / base_rate) / fs])
    source = simulate(int(np.ceil(phase[-1])) + 2)
    return np.interp(phase, np.arange(len(source)) / fs, source)


# ---------------------------------------------------------------- simulators, one per signal

def _time(tg, fs):
    return np.arange(int(round(tg["duration"] * fs))) / fs


def _rate_following(tg, fs, rng, base_key: str, target_key: str, simulate) -> np.ndarray:
    """`simulate(duration, rate, seed)` at the baseline rate, time-warped to follow the response."""
    t = _time(tg, fs)
    base = tg[base_key]
    seed = int(rng.integers(2**31))
    curve = _rate_curve(t, base, tg[target_key], tg["onset"], tg["offset"])
    return _time_warp(lambda d: simulate(d, base, seed), t, curve, base, fs)


def ecg_simulate(tg, fs, rng):
    """ECG (ecgsyn) at the baseline rate and HRV, time-warped to the response rate."""
    hr_std = tg["sdnn"] * tg["heart_rate_baseline"] ** 2 / 60000.0   # SDNN (ms) -> heart-rate std (bpm)
    return _rate_following(tg, fs, rng, "heart_rate_baseline", "heart_rate", lambda d, hr, seed: nk.ecg_simulate(
        duration=d, sampling_rate=fs, heart_rate=hr, heart_rate_std=hr_std, method="ecgsyn", random_state=seed))


def ppg_simulate(tg, fs, rng):
    """PPG at the baseline rate, time-warped like the ECG."""
    return _rate_following(tg, fs, rng, "heart_rate_baseline", "heart_rate", lambda d, hr, seed: nk.ppg_simulate(
        duration=d, sampling_rate=fs, heart_rate=hr, motion_amplitude=0.05, powerline_amplitude=0.0, random_state=seed))


def rsp_simulate(tg, fs, rng):
    """Respiration (breathmetrics) at the baseline rate, time-warped to the response rate."""
    return _rate_following(tg, fs, rng, "resp_rate_baseline", "resp_rate", lambda d, rate, seed: nk.rsp_simulate(
        duration=d, sampling_rate=fs, respiratory_rate=rate, method="breathmetrics", random_state=seed))


def eda_simulate(tg, fs, rng):
    """Tonic level (neurokit2 drift and noise) plus SCRs of neurokit2's canonical shape."""
    t = _time(tg, fs)
    tonic = nk.eda_simulate(length=len(t), sampling_rate=fs, scr_number=0, noise=0.005,
                            drift=-0.01, random_state=int(rng.integers(2**31)))
    tonic = tonic - tonic[0] + tg["scl_baseline"]
    tonic += (tg["scl"] - tg["scl_baseline"]) * _rate_curve(t, 0.0, 1.0, tg["onset"] + 1.0, tg["offset"])
    shape = _eda_simulate_scr(sampling_rate=fs)      # 9 s, peak ~3.07 s after its start
    shape = shape / shape.max()
    peak_at = int(np.argmax(shape))
    for when, amp in zip(tg["scr_times"], tg["scr_amplitudes"]):
        start = int(round((when + 1.5) * fs)) - peak_at   # `when` is the response onset; peaks ~1.5 s later
        lo, hi = max(start, 0), min(start + len(shape), len(t))
        if hi > lo:
            tonic[lo:hi] += amp * shape[lo - start:hi - start]
    return tonic


def emg_simulate(tg, fs, rng):
    """Facial EMG: quiet before onset, bursts after it in proportion to the response."""
    seed = int(rng.integers(2**31))
    n = int(round(tg["duration"] * fs))
    pre = tg["onset"] + 0.5
    quiet = nk.emg_simulate(duration=int(np.ceil(tg["duration"])), sampling_rate=fs, burst_number=0, noise=0.005,
                            random_state=seed)[:n] - 0.08
    bursts = tg["emg_bursts"]
    if bursts:
        active = nk.emg_simulate(duration=tg["duration"] - pre, sampling_rate=fs, burst_number=bursts,
                                 burst_duration=0.6, noise=0.005, random_state=seed + 1)
        active = (active - 0.08) * (0.4 + 0.6 * tg["emg_level"])
        start = n - len(active)
        quiet[start:] = active[: n - start]
    return quiet


SIMULATORS = {"ecg": ecg_simulate, "ppg": ppg_simulate, "eda": eda_simulate, "rsp": rsp_simulate, "emg": emg_simulate}


# ---------------------------------------------------------------- measurement (neurokit2 processing)

def measure(channels: dict[str, np.ndarray], tg: dict, fs: int) -> tuple[dict[str, Any], list[str]]:
    """Measure each signal with neurokit2's processing; returns values and notes on failures."""
    out: dict[str, Any] = {}
    notes: list[str] = []
    window = (int((tg["onset"] + HR_RAMP_S) * fs), int(tg["offset"] * fs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn in MEASURES.items():
            if name in channels:
                try:
                    out.update(fn(channels[name], fs, window, tg))
                except Exception as exc:  # neurokit2 raises many kinds on short or flat signals
                    notes.append(f"{name}: not measurable on this episode ({type(exc).__name__})")
    if "heart_rate" not in out and "ppg_heart_rate" in out:
        out["heart_rate"] = out["ppg_heart_rate"]
    for key, value in list(out.items()):
        if value is None or not np.isfinite(value):
            out[key] = float("nan")
            notes.append(f"{key}: not measurable on this episode (too few cycles)")
    return {k: round(float(v), 3) for k, v in out.items()}, notes


def ecg_measure(x, fs, window, tg):
    """Mean heart rate in the response window and SDNN of all R-R intervals."""
    # ecg_process's cleaning and R-peak steps, without its delineation (10x slower, unused here).
    _, info = nk.ecg_peaks(nk.ecg_clean(x, sampling_rate=fs), sampling_rate=fs)
    peaks = np.asarray(info["ECG_R_Peaks"])
    rate = nk.signal_rate(peaks, sampling_rate=fs, desired_length=len(x))
    rr = np.diff(peaks) / fs * 1000
    onset = int(tg["onset"] * fs)
    return {"heart_rate": float(np.nanmean(rate[window[0]:window[1]])),
            "heart_rate_change": float(np.nanmean(rate[window[0]:window[1]]) - np.nanmean(rate[fs:onset])),
            "sdnn": float(np.std(rr, ddof=1)) if len(rr) > 2 else None}


def ppg_measure(x, fs, window, tg):
    """Mean pulse rate in the response window (ppg_process's cleaning and peak steps; its
    signal-quality step is unused here and takes 90 % of its time)."""
    _, info = nk.ppg_peaks(nk.ppg_clean(x, sampling_rate=fs), sampling_rate=fs)
    rate = nk.signal_rate(info["PPG_Peaks"], sampling_rate=fs, desired_length=len(x))
    return {"ppg_heart_rate": float(np.nanmean(rate[window[0]:window[1]]))}


def eda_measure(x, fs, window, tg):
    """SCR peaks after onset, and tonic level in the response window."""
    signals, info = nk.eda_process(x, sampling_rate=fs)
    onsets = np.asarray(info["SCR_Onsets"], dtype=float)
    onsets = onsets[np.isfinite(onsets)]
    amps = np.asarray(info["SCR_Amplitude"], dtype=float)[: len(onsets)]
    real = onsets[(amps >= 0.03)] if len(amps) == len(onsets) else onsets
    onset = int(tg["onset"] * fs)
    return {"scr_count": int(np.sum(real >= onset)),
            "scl": float(np.mean(x[window[0]:window[1]])),
            "scl_change": float(np.mean(x[window[0]:window[1]]) - np.mean(x[:onset]))}


def rsp_measure(x, fs, window, tg):
    """Breathing rate from neurokit2's breath peaks after onset.

    `rsp_process` gives NaN or raises on 10 s signals (too few breaths for its rate
    interpolation), so the rate is taken from the peak-to-peak intervals instead; with fewer
    than two breaths after onset it is not measurable and the labels say so.
    """
    _, info = nk.rsp_peaks(nk.rsp_clean(x, sampling_rate=fs), sampling_rate=fs)
    peaks = np.asarray(info["RSP_Peaks"])
    peaks = peaks[peaks >= int(tg["onset"] * fs)]
    if len(peaks) < 2:
        return {"resp_rate": float("nan")}
    return {"resp_rate": 60.0 * fs / float(np.mean(np.diff(peaks)))}


def emg_measure(x, fs, window, tg):
    """Muscle activations after the stimulus onset.

    neurokit2's cleaning and amplitude envelope, then its generic `events_find` over a
    threshold set from the quiet baseline (`emg_activation` loops row by row in pandas and
    takes ~10x longer for the same onsets).
    """
    amplitude = nk.signal_smooth(nk.emg_amplitude(nk.emg_clean(x, sampling_rate=fs)), size=fs // 2)
    onset = int(tg["onset"] * fs)
    threshold = 3 * float(np.percentile(amplitude[:onset], 95))
    events = nk.events_find(amplitude, threshold=threshold, threshold_keep="above", duration_min=int(0.2 * fs))
    return {"emg_bursts": int(np.sum(np.asarray(events["onset"]) >= onset))}


MEASURES = {"ecg": ecg_measure, "ppg": ppg_measure, "eda": eda_measure, "rsp": rsp_measure, "emg": emg_measure}
