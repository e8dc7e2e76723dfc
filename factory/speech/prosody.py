"""Prosody of an utterance: targets from the emotion model, measurement, tolerances, transform.

Every utterance is measured (`measure`) with the same five features, and every target uses
the same keys, so labels compare like with like:

==============  ========================================================================
key             what
==============  ========================================================================
f0_mean_hz      mean F0 of voiced frames (librosa ``pyin``, 50-700 Hz), Hz
f0_range_hz     F0 range, 95th minus 5th percentile of voiced frames, Hz
intensity_db    RMS level of the active (non-silent) frames, dB re full scale (dBFS)
rate_syl_s      speech rate, syllables per second over the utterance. Syllables are counted
                acoustically, as intensity peaks in voiced frames (after de Jong & Wempe
                2009), on the neutral reference rendering of the same text, so the measure
                works in every language and script; the emotional rendering's rate is that
                count over its own duration (counting nuclei again on it would add noise
                from the changed pitch and loudness, not information)
duration_s      utterance duration, first to last active frame, seconds
==============  ========================================================================

Targets are the *reference* utterance (the same text and voice, neutral prosody) scaled by
the emotion's `VOCAL` profile at the sample's intensity: ratios are applied geometrically
(``ratio ** intensity``), decibels linearly. `TOLERANCE` says when a measurement meets its
target; the fairness audit reads the resulting ``met`` flags.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from factory.affect import VOCAL

FEATURES = ("f0_mean_hz", "f0_range_hz", "intensity_db", "rate_syl_s", "duration_s")

# When a measurement "meets" its target. Relative tolerances are fractions of the target;
# intensity is absolute (dB). Chosen to be a little wider than pyin/nuclei measurement noise
# on repeated neutral renderings, and narrower than the smallest emotion contrast they gate.
TOLERANCE: dict[str, tuple[str, float]] = {
    "f0_mean_hz": ("relative", 0.10),
    "f0_range_hz": ("relative", 0.35),
    "intensity_db": ("absolute", 2.0),
    "rate_syl_s": ("relative", 0.20),
    "duration_s": ("relative", 0.15),
}

_MEASURE_SR = 16000
_FRAME = 1024
_HOP = 256
_SILENCE_DB = 35.0      # frames this far below the loudest are silence


@dataclass(frozen=True)
class Ratios:
    """Prosody relative to neutral for one sample: F0 level, F0 range, rate (ratios), gain (dB)."""

    f0_mean: float
    f0_range: float
    rate: float
    intensity_db: float


def ratios(emotion: str, intensity: float) -> Ratios:
    """The `VOCAL` profile of `emotion`, scaled to `intensity` (0 = neutral, 1 = full)."""
    p = VOCAL[emotion]
    k = float(np.clip(intensity, 0.0, 1.0))
    return Ratios(p.f0_mean ** k, p.f0_range ** k, p.rate ** k, p.intensity_db * k)


def targets(reference: dict[str, float], r: Ratios) -> dict[str, float]:
    """Targets for the emotional utterance, from the measured neutral reference."""
    return {
        "f0_mean_hz": reference["f0_mean_hz"] * r.f0_mean,
        "f0_range_hz": reference["f0_range_hz"] * r.f0_range,
        "intensity_db": reference["intensity_db"] + r.intensity_db,
        "rate_syl_s": reference["rate_syl_s"] * r.rate,
        "duration_s": reference["duration_s"] / r.rate,
    }


def met(target: dict[str, float], measured: dict[str, float]) -> dict[str, bool]:
    """Whether each measured feature is within `TOLERANCE` of its target."""
    out = {}
    for key in FEATURES:
        kind, tol = TOLERANCE[key]
        t, m = target.get(key), measured.get(key)
        if t is None or m is None or not np.isfinite(t) or not np.isfinite(m):
            out[key] = False
        elif kind == "relative":
            out[key] = bool(abs(m - t) <= tol * abs(t))
        else:
            out[key] = bool(abs(m - t) <= tol)
    return out


# ---------------------------------------------------------------- measurement

def active_span(audio: np.ndarray, sr: int) -> tuple[int, int]:
    """First and last sample (exclusive end) of the non-silent part of `audio`."""
    if audio.size == 0:
        return 0, 0
    hop = max(1, sr // 100)
    n = int(np.ceil(audio.size / hop))
    padded = np.zeros(n * hop, dtype=np.float32)
    padded[:audio.size] = audio
    rms = np.sqrt(np.mean(padded.reshape(n, hop) ** 2, axis=1)) + 1e-10
    db = 20 * np.log10(rms)
    active = np.flatnonzero(db > db.max() - _SILENCE_DB)
    if active.size == 0:
        return 0, 0
    return int(active[0] * hop), int(min(audio.size, (active[-1] + 1) * hop))


def measure(audio: np.ndarray, sr: int, syllables: int | None = None) -> dict[str, float]:
    """The five `FEATURES` of one utterance (mono float audio in [-1, 1]), plus ``syllables``
    (counted on this audio unless given, e.g. from the reference rendering of the same text)."""
    import librosa
    lo, hi = active_span(audio, sr)
    y = np.asarray(audio[lo:hi], dtype=np.float32)
    duration = (hi - lo) / sr
    if y.size < sr // 10:
        return {"f0_mean_hz": float("nan"), "f0_range_hz": float("nan"), "intensity_db": float("nan"),
                "rate_syl_s": float("nan"), "duration_s": round(duration, 4), "syllables": syllables or 0}
    if sr != _MEASURE_SR:
        y = librosa.resample(y, orig_sr=sr, target_sr=_MEASURE_SR)
    f0, voiced, _ = librosa.pyin(y, fmin=50.0, fmax=700.0, sr=_MEASURE_SR, frame_length=_FRAME,
                                 hop_length=_HOP, center=True, resolution=0.25)
    f0v = f0[voiced & np.isfinite(f0)]
    frame_db = _frame_db(y)
    active = frame_db > frame_db.max() - _SILENCE_DB
    level = 10 * np.log10(np.mean(10 ** (frame_db[active] / 10))) if active.any() else float("nan")
    if syllables is None:
        syllables = _syllable_nuclei(frame_db, voiced)
    return {
        "f0_mean_hz": round(float(np.mean(f0v)), 3) if f0v.size else float("nan"),
        "f0_range_hz": round(float(np.percentile(f0v, 95) - np.percentile(f0v, 5)), 3) if f0v.size else float("nan"),
        "intensity_db": round(float(level), 3),
        "rate_syl_s": round(syllables / duration, 4) if duration > 0 else float("nan"),
        "duration_s": round(duration, 4),
        "syllables": int(syllables),
    }


def _frame_db(y: np.ndarray) -> np.ndarray:
    """Per-frame RMS level in dBFS, framed like pyin (centered, `_FRAME`/`_HOP`)."""
    import librosa
    rms = librosa.feature.rms(y=y, frame_length=_FRAME, hop_length=_HOP, center=True)[0]
    return 20 * np.log10(rms + 1e-10)


def _syllable_nuclei(frame_db: np.ndarray, voiced: np.ndarray) -> int:
    """Count syllable nuclei: intensity peaks, 2 dB above their surrounding dips, voiced,
    above the median level, at least 80 ms apart (de Jong & Wempe 2009, simplified)."""
    from scipy.signal import find_peaks
    n = min(frame_db.size, voiced.size)
    env = np.convolve(frame_db[:n], np.ones(3) / 3, mode="same")
    floor = np.median(env[env > env.max() - _SILENCE_DB])
    min_gap = max(1, int(round(0.08 * _MEASURE_SR / _HOP)))
    peaks, _ = find_peaks(env, prominence=2.0, distance=min_gap)
    return int(sum(1 for p in peaks if env[p] > floor and voiced[p]))


# ---------------------------------------------------------------- transform

def transform(audio: np.ndarray, sr: int, r: Ratios) -> np.ndarray:
    """Move a neutral utterance toward an emotion: pitch shift by the F0 ratio, time stretch by
    the rate ratio, gain by the intensity change (librosa phase vocoder + resampling).

    The F0 range follows the pitch level (its ratio equals the F0 ratio), so the measured
    range may miss a range target; the labels say so. Peaks are limited to full scale.
    """
    import librosa
    y = np.asarray(audio, dtype=np.float32)
    level = _active_rms(y, sr)
    if abs(r.f0_mean - 1.0) > 1e-3:
        y = librosa.effects.pitch_shift(y, sr=sr, n_steps=12 * np.log2(r.f0_mean))
    if abs(r.rate - 1.0) > 1e-3:
        y = librosa.effects.time_stretch(y, rate=r.rate)
    # the phase vocoder loses a few dB; restore the input's level before applying the gain
    after = _active_rms(y, sr)
    y = y * ((level / after if after > 0 else 1.0) * 10 ** (r.intensity_db / 20))
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    return (y / peak * 0.99 if peak > 0.99 else y).astype(np.float32)


def _active_rms(y: np.ndarray, sr: int) -> float:
    """RMS of the non-silent part of `y`."""
    lo, hi = active_span(y, sr)
    return float(np.sqrt(np.mean(y[lo:hi] ** 2))) if hi > lo else 0.0
