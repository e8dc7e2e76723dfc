"""Coupled simulation of one episode's physiology, signal by signal.

Breathing comes first (neurokit2's breathmetrics model, time-warped to the response rate, with
irregular breaths and sighs). The heart follows it: beat times come from the response's rate
curve, slow heart-rate variability (neurokit2's ecgsyn RR process) and respiratory sinus
arrhythmia driven by that breathing. The ECG is McSharry's ecgsyn model integrated along those
beats; the PPG's pulses follow each R-peak after the pulse-arrival time; respiration also
modulates ECG and PPG amplitude. EDA and EMG use neurokit2's shapes. Everything is simulated on
a time grid padded by `PAD_S` on both sides so no pulse or breath starts at the edge.
"""
from __future__ import annotations

from dataclasses import dataclass

import neurokit2 as nk
import numpy as np
from neurokit2.ecg.ecg_simulate import _ecg_simulate_rrprocess   # ecgsyn's RR process (McSharry 2003)
from neurokit2.eda.eda_simulate import _eda_simulate_scr         # neurokit2's canonical SCR shape (Bach 2010)
from scipy.signal import lfilter

from factory.affect import BREATH_CV, ECG_RESP_AMPLITUDE, PPG_CREST, PULSE_ARRIVAL_SLOPE
from factory.physiology.response import HR_RAMP_S

PAD_S = 2.0
ECGSYN_OVERSAMPLE = 4     # internal rate of the ecgsyn integration = 4 x the output rate
# ecgsyn's P, Q, R, S, T waves: angles (degrees), z-amplitudes, widths (McSharry et al. 2003, Table 1).
ECGSYN_TI = np.radians([-70.0, -15.0, 0.0, 15.0, 100.0])
ECGSYN_AI = np.array([1.2, -5.0, 30.0, -7.5, 0.75])
ECGSYN_BI = np.array([0.25, 0.1, 0.1, 0.1, 0.4])


@dataclass
class Heart:
    """The episode's heartbeats on the padded grid: beat phase (cycles; an integer at every
    R-peak), beat times (s, from the episode start) and instantaneous heart rate (bpm)."""

    phase: np.ndarray
    beats: np.ndarray
    rate: np.ndarray


def padded_time(tg: dict, fs: int) -> np.ndarray:
    """Seconds from the episode start, PAD_S before it to PAD_S after it."""
    return np.arange(-int(PAD_S * fs), int(round((tg["duration"] + PAD_S) * fs))) / fs


def crop(x: np.ndarray, tg: dict, fs: int) -> np.ndarray:
    """The episode's part of a padded-grid signal."""
    start = int(PAD_S * fs)
    return x[start:start + int(round(tg["duration"] * fs))]


def rate_curve(t: np.ndarray, before: float, after: float, start: float, offset: float) -> np.ndarray:
    """Smooth change from `before` to `after` starting at `start`, half-way back after offset."""
    rise = 1 / (1 + np.exp(-(t - start - HR_RAMP_S / 2) / (HR_RAMP_S / 6)))
    fall = 1 - 0.5 / (1 + np.exp(-(t - offset - 1.0) / 0.5))
    return before + (after - before) * rise * fall


def time_warp(simulate, rate: np.ndarray, base_rate: float, fs: int) -> np.ndarray:
    """A signal `simulate(seconds)` made at `base_rate`, resampled so that its instantaneous
    rate follows `rate` (one value per output sample)."""
    phase = np.concatenate([[0.0], np.cumsum(rate[1:] / base_rate) / fs])
    source = simulate(int(np.ceil(phase[-1])) + 2)
    return np.interp(phase, np.arange(len(source)) / fs, source)


def _slow_noise(t: np.ndarray, every_s: float, rng: np.random.Generator) -> np.ndarray:
    """Standard-normal values at knots `every_s` apart, linearly interpolated over `t`."""
    knots = np.arange(t[0], t[-1] + every_s, every_s)
    return np.interp(t, knots, rng.standard_normal(len(knots)))


# ---------------------------------------------------------------- breathing

def rsp_simulate(tg: dict, fs: int, rng: np.random.Generator, events: dict[str, float]) -> np.ndarray:
    """Breathing on the padded grid: neurokit2's sinusoidal breathing at the baseline rate,
    time-warped to the response rate with breath-to-breath irregularity of timing and depth,
    plus a sigh when `events` has one.

    (neurokit2's breathmetrics model misses the requested rate by up to a third on 10-60 s
    signals and adds its own irregularity, which would leave `resp_rate` neither controlled
    nor measurable; its variability is replaced here by BREATH_CV, applied explicitly.)"""
    t = padded_time(tg, fs)
    base = tg["resp_rate_baseline"]
    rate = rate_curve(t, base, tg["resp_rate"], tg["hr_start"], tg["offset"])
    irregular = events.get("rsp_irregular", 0.0) * BREATH_CV
    rate = rate * np.exp(irregular * _slow_noise(t, 60.0 / base, rng))
    seed = int(rng.integers(2**31))
    x = time_warp(lambda seconds: nk.rsp_simulate(duration=seconds, sampling_rate=fs, respiratory_rate=base,
                                                  method="sinusoidal", random_state=seed), rate, base, fs)
    x = x * np.exp(irregular * _slow_noise(t, 60.0 / base, rng))
    if "rsp_sigh" in events:
        x += _sigh(t, tg, events["rsp_sigh"] * float(np.ptp(x)), 60.0 / base, rng)
    return x


def _sigh(t: np.ndarray, tg: dict, height: float, period: float, rng: np.random.Generator) -> np.ndarray:
    """A deep breath: a raised-cosine volume bump 1.5 breaths long at a random time."""
    centre = rng.uniform(0.5, tg["duration"] - 0.5)
    half = 0.75 * period
    inside = np.abs(t - centre) < half
    bump = np.zeros_like(t)
    bump[inside] = height * 0.5 * (1 + np.cos(np.pi * (t[inside] - centre) / half))
    return bump


def breath_drive(breathing: np.ndarray) -> np.ndarray:
    """Breathing scaled to a half-swing of about 1 (inspiration positive), clipped at 3."""
    centred = breathing - np.median(breathing)
    return np.clip(centred / (np.sqrt(2) * (np.std(centred) or 1.0)), -3.0, 3.0)


# ---------------------------------------------------------------- heart

def heartbeats(tg: dict, fs: int, rng: np.random.Generator, breathing: np.ndarray) -> Heart:
    """Beat times from the response rate curve, slow HRV and RSA following `breathing`."""
    t = padded_time(tg, fs)
    base = tg["heart_rate_baseline"]
    rate = rate_curve(t, base, tg["heart_rate"], tg["hr_start"], tg["offset"])
    hr_std = tg["sdnn"] * base ** 2 / 60000.0          # SDNN (ms) -> heart-rate SD (bpm)
    n = int(2 ** np.ceil(np.log2(t[-1] - t[0] + 2)))
    rr = _ecg_simulate_rrprocess(flo=0.1, fhi=0.25, flostd=0.01, fhistd=0.01, lfhfratio=4.0, hrmean=base,
                                 hrstd=hr_std, sfrr=1, n=n, rng=rng)
    slow = np.interp(t - t[0], np.arange(n), 60.0 / rr - 60.0 / np.mean(rr))
    rate = np.clip(rate + slow + tg["rsa"] * breath_drive(breathing), 35.0, 200.0)
    phase = rng.random() + np.concatenate([[0.0], np.cumsum(rate[1:] / 60.0) / fs])
    whole = np.arange(np.ceil(phase[0]), np.floor(phase[-1]) + 1)
    return Heart(phase=phase, beats=np.interp(whole, phase, t), rate=rate)


def ecgsyn_integrate(theta: np.ndarray, heart_rate: np.ndarray, fs: float, z0: float = 0.04,
                     ai: np.ndarray = ECGSYN_AI, bi: np.ndarray = ECGSYN_BI) -> np.ndarray:
    """McSharry's ecgsyn z-equation along a given cardiac angle `theta` (radians), sampled at `fs`.

    On ecgsyn's limit cycle the angle advances at 2*pi/RR, so only z needs integrating:
    dz/dt = -sum_i a_i dtheta_i exp(-dtheta_i^2 / 2 b_i^2) - z, a linear equation whose
    exact step is a first-order recursion (trapezoidal forcing). Same wave angles, widths and
    heart-rate scaling (sqrt(HR/60)) as neurokit2's `_ecg_simulate_ecgsyn`, ~30x faster than
    its `solve_ivp` (tests/test_physiology.py compares the two).
    """
    f = np.sqrt(np.asarray(heart_rate, dtype=float) / 60.0)[:, None]
    scale_t = np.hstack([np.sqrt(f), f, np.ones_like(f), f, np.sqrt(f)])   # QT shortens with rate, as in ecgsyn
    d = theta[:, None] - ECGSYN_TI * scale_t
    d -= np.round(d / (2 * np.pi)) * 2 * np.pi
    forcing = -np.sum(ai * d * np.exp(-0.5 * (d / (bi * f)) ** 2), axis=1)
    decay = np.exp(-1.0 / fs)
    b = (1 - decay) / 2
    z, _ = lfilter([b, b], [1.0, -decay], forcing, zi=[decay * z0 + b * forcing[0]])
    return z


def ecg_simulate(tg: dict, fs: int, rng: np.random.Generator, heart: Heart, breathing: np.ndarray) -> np.ndarray:
    """ECG (mV) along the heart's beats: ecgsyn with the person's P and T wave sizes, QRS
    sharpness and T width (`tg["ecg_waves"]`), scaled like neurokit2's output (-0.4 to 1.2 mV), times the
    person's amplitude and respiration's QRS modulation."""
    t = padded_time(tg, fs)
    fine = np.arange(len(t) * ECGSYN_OVERSAMPLE) / (fs * ECGSYN_OVERSAMPLE) + t[0]
    theta = 2 * np.pi * np.interp(fine, t, heart.phase)
    p_gain, t_gain, width, t_width = tg["ecg_waves"]
    qrs = 1.0 / width ** 2          # a wave's height goes with a * b^2: keep the heights as waves narrow
    ai = ECGSYN_AI * np.array([p_gain, qrs, qrs, qrs, t_gain / t_width ** 2])
    bi = ECGSYN_BI * np.array([1.0, width, width, width, t_width])
    z = ecgsyn_integrate(theta, np.interp(fine, t, heart.rate), fs * ECGSYN_OVERSAMPLE, ai=ai, bi=bi)[::ECGSYN_OVERSAMPLE]
    z = (z - z.min()) * 1.6 / np.ptp(z) - 0.4
    gain = tg["ecg_gain"] * (1 + ECG_RESP_AMPLITUDE * breath_drive(breathing)) * rng.uniform(0.95, 1.05)
    return z * gain


def pulse_arrival(tg: dict, heart_rate: np.ndarray) -> np.ndarray:
    """R-peak to PPG foot, seconds: the person's value at 70 bpm, shorter at higher rates."""
    return np.clip(tg["pulse_arrival"] + PULSE_ARRIVAL_SLOPE * (heart_rate - 70.0), 0.15, 0.35)


def ppg_simulate(tg: dict, fs: int, rng: np.random.Generator, heart: Heart, breathing: np.ndarray) -> np.ndarray:
    """PPG whose pulse feet follow each R-peak after the pulse-arrival time.

    neurokit2's `ppg_simulate` landmarks (foot, systolic peak, dicrotic notch, diastolic
    peak at fixed fractions of the period, joined by Akima interpolation), placed on the
    heart's beats instead of its own, with the person's diastolic height (`tg["ppg_diastolic"]`,
    neurokit2 uses 0.51 of the systolic); pulse height follows respiration.
    """
    t = padded_time(tg, fs)
    rate_at = np.interp(heart.beats, t, heart.rate)
    onsets = heart.beats + pulse_arrival(tg, rate_at) + rng.normal(0, 0.004, len(heart.beats))
    periods = np.diff(onsets, append=onsets[-1] + 60.0 / rate_at[-1])
    n = len(onsets)
    y_onset = rng.normal(0, 0.1, n)
    y_sys = y_onset + rng.normal(1.5, 0.15, n) * (1 + 0.1 * np.interp(onsets, t, breath_drive(breathing)))
    x = np.stack([onsets, onsets + rng.normal(PPG_CREST, 0.01, n) * periods,
                  onsets + rng.normal(0.4, 0.001, n) * periods, onsets + rng.normal(0.45, 0.001, n) * periods], axis=1)
    dia = tg["ppg_diastolic"]
    y = np.stack([y_onset, y_sys, y_sys * rng.normal(dia - 0.02, 0.01, n), y_sys * rng.normal(dia, 0.01, n)], axis=1)
    xs, keep = np.unique(np.ceil((x.ravel() - t[0]) * fs).astype(int), return_index=True)
    ppg = nk.signal_interpolate(xs, y.ravel()[keep], x_new=np.arange(len(t)), method="akima")
    return np.where(np.isfinite(ppg), ppg, np.nanmean(ppg))


# ---------------------------------------------------------------- skin and face

def eda_simulate(tg: dict, fs: int, rng: np.random.Generator) -> np.ndarray:
    """Tonic level (neurokit2 drift and noise) plus SCRs of neurokit2's canonical shape."""
    n = int(round(tg["duration"] * fs))
    t = np.arange(n) / fs
    tonic = nk.eda_simulate(length=n, sampling_rate=fs, scr_number=0, noise=0.005, drift=-0.01,
                            random_state=int(rng.integers(2**31)))
    tonic = tonic - tonic[0] + tg["scl_baseline"]
    tonic += (tg["scl"] - tg["scl_baseline"]) * rate_curve(t, 0.0, 1.0, tg["scr_start"], tg["offset"])
    shape = _eda_simulate_scr(sampling_rate=fs)      # 9 s, peak ~3.07 s after its start
    shape = shape / shape.max()
    peak_at = int(np.argmax(shape))
    for when, amp in zip(tg["scr_times"], tg["scr_amplitudes"]):
        start = int(round((when + 1.5) * fs)) - peak_at   # `when` is the response onset; peaks ~1.5 s later
        lo, hi = max(start, 0), min(start + len(shape), n)
        if hi > lo:
            tonic[lo:hi] += amp * shape[lo - start:hi - start]
    return tonic


def emg_simulate(tg: dict, fs: int, rng: np.random.Generator) -> np.ndarray:
    """Facial EMG: quiet before the response, bursts after it in proportion to the response."""
    seed = int(rng.integers(2**31))
    n = int(round(tg["duration"] * fs))
    pre = tg["hr_start"] + 0.3
    quiet = nk.emg_simulate(duration=int(np.ceil(tg["duration"])), sampling_rate=fs, burst_number=0, noise=0.005,
                            random_state=seed)[:n] - 0.08
    bursts = tg["emg_bursts"]
    if bursts and tg["duration"] - pre > 1.0:
        active = nk.emg_simulate(duration=tg["duration"] - pre, sampling_rate=fs, burst_number=bursts,
                                 burst_duration=min(0.6, (tg["duration"] - pre) / (bursts + 1)), noise=0.005,
                                 random_state=seed + 1)
        active = (active - 0.08) * (0.4 + 0.6 * tg["emg_level"])
        start = n - len(active)
        quiet[start:] = active[: n - start]
    return quiet
