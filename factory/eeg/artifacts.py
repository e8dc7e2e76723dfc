"""Non-brain signals every scalp recording carries: blinks, saccades, muscle bursts, line noise.

Ocular potentials spread from the eyes and fall off with distance, so they dominate Fp1/Fp2,
are about a third as large at F3/F4 and small behind the vertex (Croft & Barry 2000); a blink
is a ~0.3 s monophasic wave of 100-200 uV at Fp1/Fp2, about 17 per minute at rest
(Bentivoglio et al. 1997); a horizontal saccade is a step of opposite polarity at F7 and F8
held for the fixation. Scalp muscle activity is broadband above ~20 Hz and strongest over
the temporal electrodes (Goncharova et al. 2003). Mains interference is a sinusoid at the
line frequency whose amplitude differs between electrodes (impedance mismatch). Rates and
amplitudes not stated in these sources are *chosen* in normal ranges.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal.windows import tukey
from scipy.special import expit

from factory.eeg.montages import angles, unit_vectors

BLINKS_PER_MIN = (10.0, 25.0)        # per-trial rate range (Bentivoglio 1997: 17/min mean)
BLINK_UV = (100.0, 200.0)            # at the eyes' nearest electrodes
SACCADES_PER_MIN = 6.0               # *chosen*: a fixation task
SACCADE_UV = (10.0, 40.0)
MUSCLE_PER_MIN = 4.0                 # *chosen*: swallowing, jaw tension
MUSCLE_UV = (5.0, 25.0)              # RMS at the temporal site
LINE_UV = 1.0                        # median amplitude after the amplifier's common-mode rejection


def _eye_points() -> np.ndarray:
    """Directions of the left eye, both eyes' midpoint and the right eye (below Fpz)."""
    fpz = unit_vectors(["Fpz"])[0]
    pts = np.stack([fpz + np.array([dx, 0.0, -0.5]) for dx in (-0.35, 0.0, 0.35)])
    return pts / np.linalg.norm(pts, axis=1, keepdims=True)


@lru_cache(maxsize=16)
def patterns(names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Spatial patterns (one weight per electrode) of a blink, a rightward saccade and muscle
    bursts at the left and right temporal sites."""
    u = unit_vectors(list(names))
    near = np.exp(-angles(u, _eye_points()) / 0.5)     # relative to Fp1: ~0.3 at F3, ~0.07 at C3
    fp1 = np.exp(-angles(unit_vectors(["Fp1"]), _eye_points()[1:2]) / 0.5)[0, 0]
    saccade = near[:, 2] - near[:, 0]
    temporal = np.exp(-0.5 * (angles(u, unit_vectors(["T7", "T8"])) / 0.3) ** 2)
    return {"blink": near[:, 1] / fp1, "saccade": saccade / np.abs(saccade).max(),
            "T7": temporal[:, 0], "T8": temporal[:, 1]}


def eeg_artifacts(names: list[str], n: int, fs: int, rng: np.random.Generator,
                  line_frequency: float) -> tuple[np.ndarray, dict]:
    """Artifact potentials (electrodes x samples, uV) and what was put where (for the labels)."""
    t = np.arange(n) / fs
    duration = n / fs
    x = np.zeros((len(names), n))
    pattern = patterns(tuple(names))
    blinks = _times(rng, rng.uniform(*BLINKS_PER_MIN), duration, gap=0.6)
    for when in blinks:
        x += np.outer(pattern["blink"], rng.uniform(*BLINK_UV) * _blink_wave(t - when))
    saccades = _times(rng, SACCADES_PER_MIN, duration, gap=1.0)
    for when in saccades:
        hold = rng.uniform(0.3, 1.5)
        step = expit((t - when) / 0.01) - expit((t - when - hold) / 0.01)
        x += np.outer(pattern["saccade"], rng.choice([-1.0, 1.0]) * rng.uniform(*SACCADE_UV) * step)
    muscle = _times(rng, MUSCLE_PER_MIN, duration, gap=1.0)
    for when in muscle:
        side = str(rng.choice(["T7", "T8"]))
        x += np.outer(pattern[side], _muscle_burst(t, when, rng.uniform(0.3, 1.2), rng.uniform(*MUSCLE_UV), fs, rng))
    line = 0.0
    if line_frequency < fs / 2:
        line = float(line_frequency)
        gains = LINE_UV * np.exp(0.5 * rng.standard_normal(len(names)))
        x += np.outer(gains, np.sin(2 * np.pi * line_frequency * t + rng.uniform(0, 2 * np.pi)))
    events = {"blinks": len(blinks), "saccades": len(saccades), "muscle_bursts": len(muscle), "line_noise_hz": line,
              "blink_times": _rounded(blinks), "saccade_times": _rounded(saccades), "muscle_times": _rounded(muscle)}
    return x, events


def no_artifacts() -> dict:
    """The artifact labels of a clean recording (same keys and types as `eeg_artifacts`)."""
    return {"blinks": 0, "saccades": 0, "muscle_bursts": 0, "line_noise_hz": 0.0,
            "blink_times": [], "saccade_times": [], "muscle_times": []}


def _times(rng: np.random.Generator, per_minute: float, duration: float, gap: float) -> list[float]:
    """Poisson event times in [0, duration), at least `gap` s apart."""
    out: list[float] = []
    for when in np.sort(rng.uniform(0, duration, rng.poisson(per_minute * duration / 60))):
        if not out or when - out[-1] >= gap:
            out.append(float(when))
    return out


def _blink_wave(dt: np.ndarray) -> np.ndarray:
    """Unit-peak blink: gamma-shaped, peak 0.1 s after its start, ~0.3 s wide."""
    s = np.clip(dt, 0, None) / 0.1
    return s ** 3 * np.exp(3 * (1 - s))


def _muscle_burst(t, when, length, rms, fs, rng) -> np.ndarray:
    """Broadband (> 20 Hz) noise of RMS `rms` within a tapered window."""
    start, stop = int(when * fs), min(int((when + length) * fs), len(t))
    out = np.zeros(len(t))
    m = stop - start
    if m < 8:
        return out
    f = np.fft.rfftfreq(m, 1 / fs)
    shape = (f / 20.0) ** 4 / (1 + (f / 20.0) ** 4)
    burst = np.fft.irfft(np.fft.rfft(rng.standard_normal(m)) * np.sqrt(shape), n=m)
    out[start:stop] = rms * burst / max(burst.std(), 1e-12) * tukey(m, 0.3)
    return out


def _rounded(values: list[float]) -> list[float]:
    return [round(v, 3) for v in values]
