"""Recording artifacts at a recipe-chosen level (`none | light | realistic`).

Which artifacts an episode gets, and how strong, is drawn per signal from its own stream
(`factory.affect.ARTIFACTS` holds chances, sizes and sources). Sighs and irregular breaths
change the breathing itself (and, through RSA, the heart), so `plan` is drawn before the
simulation; the rest is added to the clean signals by `add_artifacts`, mostly with neurokit2's
`signal_distort`. Measurement then runs on the noisy signals.
"""
from __future__ import annotations

import numpy as np
from neurokit2 import signal_distort, signal_filter, signal_noise
from scipy.signal import lfilter

from factory.affect import ARTIFACT_LEVELS, ARTIFACTS

# Countries on 60 Hz mains (the rest of the world uses 50 Hz).
MAINS_60HZ = {"US", "CA", "MX", "BR", "CO", "VE", "PE", "EC", "KR", "TW", "PH", "SA", "CU", "DO", "GT", "HN",
              "NI", "CR", "PA", "SV", "PR"}


# The recording chain's analog low-pass (Hz), applied after the artifacts at `light` and
# `realistic`. 100 Hz: the band of five of the six real ECGs in benchmarks/realism.py (MIT-BIH
# digitised through 0.1-100 Hz; the biosignalsplux recordings carry power to ~100 Hz); BITalino's
# 0.5-40 Hz (pyhrv's recording) was used before and left too little power above 40 Hz (median
# log10 share of a 5 s window's power per 0.5 Hz bin at 52-58 Hz: synthetic -5.4, real -3.4 to -5.1).
BANDWIDTH_HZ = {"ecg": 100.0}
# Spectral slope (1/f^beta) of each sensor's own noise: amplifier and electrode noise has a
# flicker (1/f) part at these frequencies, optical PPG front ends more (*chosen*; white noise
# gave too many local extrema for its spectral flatness against real recordings,
# benchmarks/realism.py).
NOISE_COLOUR = {"ecg": 1.0, "ppg": 1.5}
# One pole (Hz) on a sensor's own noise: outside the QRS the six real ECGs' noise falls as
# f^-1.6..-3.5 over 40-120 Hz (median -2.6; factory.affect.ECG_NOISE_FLOOR); 1/f noise through a
# pole at 40 Hz falls as f^-1.9 there, plain 1/f as f^-1 (too many local extrema: 109 /s against
# the real 65-98 at the measured floor).
NOISE_ROLLOFF_HZ = {"ecg": 40.0}


def mains_frequency(locale: str | None) -> int:
    """50 or 60 Hz from a locale such as 'en-US' (50 when unknown)."""
    country = (locale or "").replace("_", "-").split("-")[-1].upper()
    return 60 if country in MAINS_60HZ else 50


def names_for(signal: str) -> list[str]:
    """The artifact kinds that can affect `signal`, in table order."""
    return [n for n, a in ARTIFACTS.items() if a.signal == signal]


def plan(signal: str, level: str, rng: np.random.Generator) -> dict[str, float]:
    """Artifact name -> size for the artifacts this episode's `signal` gets (empty at `none`)."""
    if level not in ARTIFACT_LEVELS:
        raise ValueError(f"artifacts level {level!r} is not one of {ARTIFACT_LEVELS}")
    draws = {n: (rng.random(), rng.random()) for n in names_for(signal)}   # same draws at every level
    if level == "none":
        return {}
    i = ARTIFACT_LEVELS.index(level) - 1
    return {n: ARTIFACTS[n].size[i] * _scale(ARTIFACTS[n].spread, v) for n, (u, v) in draws.items()
            if u < ARTIFACTS[n].chance[i]}


def _scale(spread: float | None, v: float) -> float:
    """An episode's size factor from a uniform draw `v`: log-uniform within 1/spread..spread, else 0.75-1.25."""
    return spread ** (2 * v - 1) if spread else 0.75 + 0.5 * v


def add_artifacts(signal: str, x: np.ndarray, fs: int, sizes: dict[str, float], rng: np.random.Generator,
                  mains_hz: int = 50) -> np.ndarray:
    """`x` with the planned artifacts of `signal` added (sizes relative to the clean SD unless
    the table says otherwise)."""
    seed = lambda: int(rng.integers(2**31))   # noqa: E731 - one child seed per neurokit2 call
    sd = float(np.std(x)) or 1.0
    out = x.astype(float).copy()
    for name, size in sizes.items():   # sighs and irregular breaths are made by simulate.rsp_simulate
        kind = name.split("_", 1)[1]
        if kind == "baseline_wander":
            out = signal_distort(out, sampling_rate=fs, noise_amplitude=size * sd / np.std(out), noise_frequency=0.5,
                                 noise_shape="gaussian", random_state=seed(), silent=True)
        elif kind == "emg":
            out = signal_distort(out, sampling_rate=fs, noise_amplitude=size * sd / np.std(out), noise_frequency=fs * 0.1,
                                 noise_shape="laplace", random_state=seed(), silent=True)
        elif kind == "motion" and signal == "ecg":
            out = signal_distort(out, sampling_rate=fs, artifacts_amplitude=size * sd / np.std(out),
                                 artifacts_frequency=fs * 0.1, artifacts_number=int(rng.integers(1, 4)),
                                 random_state=seed(), silent=True)
        elif kind == "motion":
            out += _motion_burst(len(x), fs, size * sd, rng)
        elif kind == "drift":
            out += rng.choice([-1.0, 1.0]) * size * np.linspace(0.0, 1.0, len(x))   # uS over the episode
        elif kind == "contact_loss":
            out = _contact_loss(out, fs, size, rng)
    if sizes and signal in BANDWIDTH_HZ and BANDWIDTH_HZ[signal] < 0.45 * fs:
        out = signal_filter(out, sampling_rate=fs, highcut=BANDWIDTH_HZ[signal], method="butterworth", order=2)
    # Picked up by the leads and the converter after the front end's filter:
    if f"{signal}_mains" in sizes and mains_hz < fs / 2:
        phase = rng.uniform(0, 2 * np.pi)
        out += sizes[f"{signal}_mains"] * sd * np.sin(2 * np.pi * mains_hz * np.arange(len(x)) / fs + phase)
    if f"{signal}_sensor_noise" in sizes:
        out += sizes[f"{signal}_sensor_noise"] * sd * _coloured_noise(len(x), fs, NOISE_COLOUR.get(signal, 0.0), seed(),
                                                                      NOISE_ROLLOFF_HZ.get(signal))
    return out


def _coloured_noise(n: int, fs: int, beta: float, seed: int, rolloff_hz: float | None = None) -> np.ndarray:
    """Unit-SD noise with a 1/f^beta spectrum (neurokit2's `signal_noise`; beta 0 is white), through one
    analog-like pole at `rolloff_hz` when given (impulse-invariant, so no bilinear zero at Nyquist)."""
    noise = signal_noise(duration=n / fs, sampling_rate=fs, beta=beta, random_state=seed)[:n]
    if rolloff_hz:
        pole = np.exp(-2 * np.pi * rolloff_hz / fs)
        noise = lfilter([1 - pole], [1, -pole], noise)
    return (noise - noise.mean()) / (noise.std() or 1.0)


def _motion_burst(n: int, fs: int, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """A 1-3 s movement: slow (0.5-3 Hz) excursions under a smooth window."""
    length = min(int(rng.uniform(1.0, 3.0) * fs), n)
    start = int(rng.integers(0, n - length + 1))
    t = np.arange(length) / fs
    wave = sum(rng.normal() * np.sin(2 * np.pi * rng.uniform(0.5, 3.0) * t + rng.uniform(0, 6.3)) for _ in range(3))
    burst = np.zeros(n)
    burst[start:start + length] = amplitude * wave * np.hanning(length)
    return burst


def _contact_loss(x: np.ndarray, fs: int, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """The electrode lifts: conductance falls to near zero for `seconds`, then recovers."""
    length = min(int(seconds * fs), len(x) - 1)
    start = int(rng.integers(0, len(x) - length))
    out = x.copy()
    out[start:start + length] = 0.02 * x[start:start + length] + rng.normal(0, 0.005, length)
    return out
