"""What an EEG recording shows, measured on the output alone (scipy's Welch estimator).

- band powers (delta 1-4, theta 4-8, alpha 8-13, beta 13-30, gamma 30-45 Hz) of every
  channel before the stimulus onset and after it (from 0.5 s after onset to the offset);
- frontal alpha asymmetry ln(alpha F4) - ln(alpha F3) (Allen, Coan & Nazarian 2004);
- the individual alpha frequency: the centre of gravity of the posterior spectrum over
  7-14 Hz above its aperiodic trend (Klimesch 1999);
- SEED-style differential entropy of each band, 0.5 ln(2 pi e P) for a Gaussian band-limited
  signal of power P (Duan, Zhu & Lu 2013; Zheng & Lu 2015).
"""
from __future__ import annotations

import numpy as np
from scipy.signal import welch

from factory.eeg.montages import REGIONS, region
from factory.eeg.simulate import BANDS, ERD_LATENCY_S
from factory.spec import Episode

ALPHA_SEARCH_HZ = (7.0, 14.0)
TOP_HZ = max(hi for _, hi in BANDS.values())


def windows(episode: Episode, fs: int) -> dict[str, tuple[int, int]]:
    """Sample ranges before the onset ('pre') and while the response lasts ('post')."""
    return {"pre": (0, int(round(episode.onset * fs))),
            "post": (int(round((episode.onset + 2 * ERD_LATENCY_S) * fs)), int(round(episode.offset * fs)))}


def band_powers(x: np.ndarray, fs: int, start: int, stop: int) -> dict[str, np.ndarray]:
    """Power (uV^2) of each band and channel in samples [start, stop): Welch, 1-s Hann
    segments, half overlapping, summed over the band's 1-Hz bins."""
    freqs, psd = welch(x[:, start:stop], fs=fs, nperseg=fs, noverlap=fs // 2, detrend=False, axis=-1)
    step = freqs[1] - freqs[0]
    return {b: psd[:, (freqs >= lo) & (freqs < hi)].sum(axis=1) * step for b, (lo, hi) in BANDS.items()}


def alpha_asymmetry(alpha: np.ndarray, channels: list[str]) -> float:
    """ln(alpha power at F4) - ln(alpha power at F3); NaN without both electrodes."""
    if "F3" not in channels or "F4" not in channels:
        return float("nan")
    return float(np.log(alpha[channels.index("F4")]) - np.log(alpha[channels.index("F3")]))


def alpha_peak(x: np.ndarray, fs: int, channels: list[str]) -> float:
    """Individual alpha frequency (Hz): centre of gravity over 7-14 Hz of the posterior
    channels' mean spectrum above its aperiodic trend (a line in log-log fitted to 3-6 and
    15-35 Hz); NaN if nothing rises above the trend."""
    rows = [i for i, c in enumerate(channels) if region(c) == "posterior"] or list(range(len(channels)))
    nper = min(2 * fs, x.shape[1])
    freqs, psd = welch(x[rows], fs=fs, nperseg=nper, noverlap=nper // 2, detrend=False, axis=-1)
    freqs, power = freqs[1:], psd.mean(axis=0)[1:]
    flank = ((freqs >= 3) & (freqs <= 6)) | ((freqs >= 15) & (freqs <= 35))
    slope, icept = np.polyfit(np.log(freqs[flank]), np.log(power[flank]), 1)
    inside = (freqs >= ALPHA_SEARCH_HZ[0]) & (freqs <= ALPHA_SEARCH_HZ[1])
    excess = np.clip(power[inside] - np.exp(icept) * freqs[inside] ** slope, 0, None)
    if excess.sum() <= 0:
        return float("nan")
    return float((freqs[inside] * excess).sum() / excess.sum())


def differential_entropy(power: np.ndarray) -> np.ndarray:
    """Differential entropy of a Gaussian signal of variance `power`: 0.5 ln(2 pi e P)."""
    return 0.5 * np.log(2 * np.pi * np.e * power)


def summarise(pre: dict[str, np.ndarray], post: dict[str, np.ndarray], channels: list[str]) -> dict:
    """The flat summary of per-channel band powers: region means after onset, their log
    change from before onset, and frontal alpha asymmetry before, after and its change."""
    members = {r: [i for i, c in enumerate(channels) if region(c) == r] for r in REGIONS}

    def mean(values, r):
        return float(np.mean(values[members[r]])) if members[r] else float("nan")

    power = {b: {r: _round(mean(post[b], r)) for r in REGIONS} for b in BANDS}
    change = {b: {r: _round(np.log(mean(post[b], r) / mean(pre[b], r))) for r in REGIONS} for b in BANDS}
    faa_pre, faa_post = alpha_asymmetry(pre["alpha"], channels), alpha_asymmetry(post["alpha"], channels)
    return {"power": power, "change": change, "faa_pre": _round(faa_pre), "faa_post": _round(faa_post),
            "faa_change": _round(faa_post - faa_pre)}


def eeg_measure(x: np.ndarray, fs: int, channels: list[str], episode: Episode) -> dict:
    """Every measurement of one recording: the flat summary plus per-channel arrays."""
    win = windows(episode, fs)
    pre, post = band_powers(x, fs, *win["pre"]), band_powers(x, fs, *win["post"])
    out = summarise(pre, post, channels)
    out["iaf"] = _round(alpha_peak(x, fs, channels))
    out["channel_power_pre"] = {b: _list(v) for b, v in pre.items()}
    out["channel_power_post"] = {b: _list(v) for b, v in post.items()}
    out["differential_entropy"] = {b: _list(differential_entropy(v)) for b, v in post.items()}
    return out


def _round(value: float) -> float:
    return round(float(value), 4)


def _list(values: np.ndarray) -> list[float]:
    return [_round(v) for v in values]
