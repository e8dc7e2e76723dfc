"""Voice-quality measures as eGeMAPS defines them (Eyben et al. 2016, IEEE Trans. Affective
Computing 7(2), Table 1), computed here with numpy/scipy on voiced frames of 16 kHz audio.

==================  =======================================================================
alpha ratio         energy 1-5 kHz over energy 50 Hz-1 kHz, dB (higher: more high-frequency
                    energy, brighter / tenser voice, more vocal effort)
Hammarberg index    strongest spectral peak 0-2 kHz over strongest peak 2-5 kHz, dB (higher:
                    steeper spectral tilt, darker voice)
HNR                 harmonics-to-noise ratio from the autocorrelation at the pitch period,
                    ``10 log10(r / (1 - r))`` (lower: breathier, noisier voice)
jitter (local)      mean absolute difference of consecutive pitch periods over the mean
                    period, percent
shimmer (local)     mean absolute dB difference of the peak amplitudes of consecutive
                    periods, dB
==================  =======================================================================

eGeMAPS takes the arithmetic mean of the frame values over voiced frames; so do we. Periods
for jitter and shimmer are marked by waveform matching (each next period is the lag, within
+-25 % of the expected period, that best correlates with the current one; sub-sample by a
parabolic fit), as Praat's cross-correlation method does.
"""
from __future__ import annotations

import numpy as np

_MAX_PERIOD_FACTOR = 1.3    # consecutive periods differing more than this are not paired (Praat's default)


def spectral_balance(frames: np.ndarray, sr: int) -> tuple[float, float]:
    """Mean alpha ratio and Hammarberg index (dB) of windowed `frames` (frames x samples)."""
    if frames.shape[0] == 0:
        return float("nan"), float("nan")
    n = frames.shape[1]
    power = np.abs(np.fft.rfft(frames * np.hanning(n), axis=1)) ** 2 + 1e-20
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    low = power[:, (freqs >= 50) & (freqs < 1000)].sum(axis=1)
    high = power[:, (freqs >= 1000) & (freqs < 5000)].sum(axis=1)
    peak_low = power[:, freqs < 2000].max(axis=1)
    peak_high = power[:, (freqs >= 2000) & (freqs < 5000)].max(axis=1)
    return float(np.mean(10 * np.log10(high / low))), float(np.mean(10 * np.log10(peak_low / peak_high)))


def hnr_db(r: np.ndarray) -> float:
    """Mean HNR (dB) of voiced frames from their normalized autocorrelation `r` at the period."""
    r = np.clip(r, 1e-4, 1 - 1e-4)
    return float(np.mean(10 * np.log10(r / (1 - r)))) if r.size else float("nan")


def jitter_shimmer(y: np.ndarray, sr: int, runs: list[tuple[int, int, float]]) -> tuple[float, float]:
    """Local jitter (%) and local shimmer (dB) over voiced runs ``(start, end, f0_hz)`` (samples)."""
    dt, periods, da = [], [], []
    for start, end, f0 in runs:
        t, a = _periods(y[start:end], sr / f0)
        if t.size < 2:
            continue
        pair = (np.maximum(t[1:], t[:-1]) / np.minimum(t[1:], t[:-1])) <= _MAX_PERIOD_FACTOR
        dt.extend(np.abs(np.diff(t))[pair])
        periods.extend(t)
        ok = pair & (a[1:] > 0) & (a[:-1] > 0)
        da.extend(np.abs(20 * np.log10(a[1:][ok] / a[:-1][ok])))
    jitter = 100 * float(np.mean(dt)) / float(np.mean(periods)) if dt else float("nan")
    shimmer = float(np.mean(da)) if da else float("nan")
    return jitter, shimmer


def _periods(seg: np.ndarray, expected: float) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive period lengths (samples, fractional) and peak amplitudes of a voiced segment
    whose period is about `expected` samples. Marks start at the first period's peak and follow
    it period by period, so each amplitude is the largest |x| within a quarter period of a mark."""
    half, quarter = int(round(expected / 2)), max(1, int(round(expected / 4)))
    lo_lag, hi_lag = int(expected * 0.75), int(np.ceil(expected * 1.25))
    if seg.size < 2 * hi_lag + 2 * half + 2 or half < 2:
        return np.empty(0), np.empty(0)
    position = float(half + int(np.argmax(seg[half:half + int(expected)])))
    lengths, amps = [], []
    lags = np.arange(lo_lag, hi_lag + 1)
    window = lags[:, None] + np.arange(2 * half)[None, :]
    while int(round(position)) + hi_lag + half < seg.size:
        mark = int(round(position))
        ref = seg[mark - half:mark + half]
        cand = seg[mark - half + window]
        cc = (cand @ ref) / (np.sqrt(np.einsum("ij,ij->i", cand, cand) * np.dot(ref, ref)) + 1e-12)
        k = int(np.argmax(cc))
        if cc[k] < 0.5:       # the voice stopped being periodic: end the run here
            break
        frac = 0.0
        if 0 < k < lags.size - 1:
            denom = cc[k - 1] - 2 * cc[k] + cc[k + 1]
            frac = 0.5 * (cc[k - 1] - cc[k + 1]) / denom if denom < 0 else 0.0
        following = mark + lags[k] + frac
        lengths.append(following - position)
        amps.append(float(np.max(np.abs(seg[mark - quarter:mark + quarter + 1]))))
        position = following
    return np.asarray(lengths), np.asarray(amps)
