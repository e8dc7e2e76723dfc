"""Measure each signal with neurokit2's processing, on the recorded (noisy) signals.

Minimum episode lengths (after the stimulus onset, unless said otherwise) for a measure to be
possible at all; shorter ones give NaN and a note, and `MINIMUM_AFTER_ONSET` lets
`PhysiologyGenerator.preflight` refuse episodes where nothing could be measured:

| measure | needs |
| --- | --- |
| heart_rate, heart_rate_change | HR_RAMP_S + latency (~3.5 s) after onset and >= 2 beats before `offset` |
| sdnn | 3 R-R intervals (~3 s) |
| resp_rate | one breath cycle centred after onset: 1.5 breaths after onset guarantee one (6 s at 15/min, 9 s at 10/min); 7 s gives >= 95 % |
| scl, scl_change, scr_count | >= 1 s before onset and ~4 s after it for the evoked SCR to peak |
| emg_bursts | >= 1 s before onset (its quiet baseline) |
"""
from __future__ import annotations

import warnings
from typing import Any

import neurokit2 as nk
import numpy as np

from factory.physiology.response import HR_RAMP_S

# Seconds after onset below which a measure can never succeed (e.g. no breath cycle centred after
# the onset even at 30 breaths/min), used to refuse recipes; the table above gives what is reliable.
MINIMUM_AFTER_ONSET = {"heart_rate": 1.0, "resp_rate": 1.0, "scr_count": 1.5, "emg_bursts": 0.5}

def measure(channels: dict[str, np.ndarray], tg: dict, fs: int) -> tuple[dict[str, Any], list[str]]:
    """Measure each signal with neurokit2's processing; returns values and notes on failures."""
    out: dict[str, Any] = {}
    notes: list[str] = []
    window = (int(min(tg["onset"] + HR_RAMP_S, tg["offset"] - 1.0) * fs), int(tg["offset"] * fs))
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
    """Breathing rate from the full breath cycles of the response.

    `rsp_process` gives NaN or raises on 10 s signals, and `rsp_peaks` drops the edge breaths
    of so short a signal, so cycles are timed between successive same-direction zero crossings
    (neurokit2's `signal_zerocrossings`) of the cleaned signal (`rsp_clean`), both directions,
    keeping the cycles centred at or after the onset. One such cycle is enough; with none the
    rate is not measurable and the labels say so.
    """
    cleaned = nk.rsp_clean(x, sampling_rate=fs)
    cleaned = cleaned - np.median(cleaned)
    cycles = []
    for direction in ("positive", "negative"):
        crossings = np.asarray(nk.signal_zerocrossings(cleaned, direction=direction))
        centres = (crossings[1:] + crossings[:-1]) / 2
        cycles += list(np.diff(crossings)[centres >= tg["onset"] * fs])
    if not cycles:
        return {"resp_rate": float("nan")}
    return {"resp_rate": 60.0 * fs / float(np.mean(cycles))}


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
