"""The emotion stage: one source-filter vocoder pass (WORLD, via `pyworld`) that every speech
backend's output goes through, like Emofilt (Burkhardt 2005) but on the waveform.

WORLD (Morise et al. 2016) splits an utterance into an F0 contour, a spectral envelope and an
aperiodicity envelope, each per 10 ms frame; the stage edits each and resynthesizes:

* F0 (`Voice.f0_mean_hz`, `Voice.f0_sd_st`): the utterance's own contour in semitones, its
  shape kept, moved to the target mean and scaled around it to the target standard deviation;
  before scaling, a declination slope (semitones/s over the voiced span) and a final rise
  (semitones over the last 300 ms, e.g. surprise) are added to the shape;
* jitter: independent Gaussian perturbation of F0 per voiced frame (about one pitch period);
* shimmer: independent Gaussian level perturbation per voiced frame (dB);
* spectral tilt (vocal effort): a gain rising or falling by a constant number of dB per octave
  above 500 Hz on the spectral envelope, solved on the utterance's own envelope so that its
  alpha ratio (energy 1-5 kHz over 50 Hz-1 kHz) changes by ``alpha_ratio_change_db``;
* breathiness: aperiodicity raised toward 1 (noise), more at high frequencies;
* tempo: frames played back at ``tempo`` times their analysis rate (pitch unchanged);
* level: the result scaled to the target active level (dBFS), peaks limited to 0.99.

Every sample goes through the stage, neutral ones too (with no change asked), so vocoder
artifacts carry no information about the emotion. Why WORLD and not Praat (parselmouth): see
docs/speech.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from factory.speech.measure import tracking_errors

FRAME_MS = 10.0
F0_FLOOR, F0_CEIL = 50.0, 700.0
MAX_SPREAD = 2.0          # the contour is scaled at most this much (beyond it WORLD's voice breaks up)
STEADY_AP = 0.3          # voiced frames with less aperiodicity than this below 1 kHz are steady
AP_STRIDE = 3             # aperiodicity analysed every 30 ms
SYNTHESIS_FFT = 512       # at 16 kHz a 32 ms impulse response: ample for the vocal tract's decay
FINAL_RISE_S = 0.3
TILT_PIVOT_HZ = 500.0


@dataclass(frozen=True)
class Voice:
    """What the stage makes of one utterance. ``None`` keeps the input's value."""

    f0_mean_hz: float | None = None
    f0_sd_st: float | None = None
    declination_st_s: float = 0.0
    final_rise_st: float = 0.0
    jitter: float = 0.0          # s.d. of the per-frame F0 perturbation, fraction of F0
    shimmer_db: float = 0.0      # s.d. of the per-frame level perturbation, dB
    alpha_ratio_change_db: float = 0.0   # spectral tilt, as the change of the envelope's alpha ratio
    breathiness: float = 0.0     # -1 (no noise) .. 0 (as analysed) .. 1 (all noise)
    tempo: float = 1.0           # > 1 faster
    level_db: float | None = None


def emotion_stage(audio: np.ndarray, sr: int, voice: Voice, rng: np.random.Generator) -> np.ndarray:
    """`audio` (mono float) analysed with WORLD, changed as `voice` says, resynthesized at `sr`."""
    import pyworld
    x = np.ascontiguousarray(audio, dtype=np.float64)
    if x.size < sr // 20:
        return np.asarray(audio, dtype=np.float32)
    f0, t = world_f0(x, sr)
    sp = _bins(pyworld.cheaptrick(x, f0, t, sr, f0_floor=F0_FLOOR), sr)
    ap = _bins(_sparse_d4c(pyworld.d4c, x, f0, t, sr), sr)
    freqs = np.linspace(0, sr / 2, sp.shape[1])
    voiced = f0 > 0
    steady = voiced & (ap[:, (freqs >= 100) & (freqs < 1000)].mean(axis=1) < STEADY_AP)
    f0 = _contour(f0, voiced, steady, voice, rng)
    if voice.alpha_ratio_change_db:
        tilt = tilt_for_alpha_change(sp[voiced] if voiced.any() else sp, freqs, voice.alpha_ratio_change_db)
        sp = sp * _tilt_gain(freqs, tilt)[None, :]
    if voice.shimmer_db > 0:
        sp[voiced] *= 10 ** (rng.normal(0.0, voice.shimmer_db, voiced.sum()) / 10)[:, None]
    ap = _breathy(ap, freqs, voice.breathiness)
    y = pyworld.synthesize(f0, np.ascontiguousarray(sp), np.ascontiguousarray(ap), sr, FRAME_MS / voice.tempo)
    return _level(y, sr, voice.level_db).astype(np.float32)


def world_f0(x: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """F0 per frame (0 where unvoiced) and frame times: DIO refined by StoneMask, or Harvest
    (about 20x slower, more robust) when DIO calls fewer than half of the loud frames voiced;
    an unvoiced frame would be resynthesized as noise."""
    import pyworld
    f0, t = pyworld.dio(x, sr, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_MS, speed=2)
    f0 = pyworld.stonemask(x, f0, t, sr)
    hop = int(sr * FRAME_MS / 1000)
    n = min(f0.size, x.size // hop)
    power = np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12
    loud = 10 * np.log10(power) > 10 * np.log10(power.max()) - 25.0
    if loud.any() and (f0[:n][loud] > 0).mean() < 0.5:
        f0, t = pyworld.harvest(x, sr, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_MS)
    return f0, t


def _repaired(st: np.ndarray) -> np.ndarray:
    """A semitone contour with DIO's tracking errors (`measure.tracking_errors`) replaced by
    the local median, so that they are neither scaled nor counted in the contour's spread."""
    bad, local = tracking_errors(st)
    return np.where(bad, local, st)


def _bins(envelope: np.ndarray, sr: int) -> np.ndarray:
    """An envelope analysed with CheapTrick's long window (needed for low voices) sampled at
    the bins of a `SYNTHESIS_FFT`-point FFT, which synthesizes about twice as fast."""
    step = (envelope.shape[1] - 1) // (SYNTHESIS_FFT // 2) if sr <= 16000 else 1
    return np.ascontiguousarray(envelope[:, ::max(step, 1)])


def _sparse_d4c(d4c, x: np.ndarray, f0: np.ndarray, t: np.ndarray, sr: int) -> np.ndarray:
    """D4C aperiodicity at every `AP_STRIDE`-th frame, linearly interpolated: aperiodicity
    changes slowly and D4C is the slowest analysis step."""
    ap = d4c(x, np.ascontiguousarray(f0[::AP_STRIDE]), np.ascontiguousarray(t[::AP_STRIDE]), sr, threshold=0.0)
    idx = np.arange(f0.size) / AP_STRIDE
    lo = np.minimum(np.floor(idx).astype(int), ap.shape[0] - 1)
    hi = np.minimum(lo + 1, ap.shape[0] - 1)
    w = (idx - lo)[:, None]
    return (1 - w) * ap[lo] + w * ap[hi]


def _contour(f0: np.ndarray, voiced: np.ndarray, steady: np.ndarray, voice: Voice,
             rng: np.random.Generator) -> np.ndarray:
    """The new F0 contour (Hz; 0 where unvoiced). Mean and spread are taken over the `steady`
    (clearly periodic) frames when there are enough: DIO also tracks F0 through voicing onsets
    and offsets, whose excursions a listener (and an F0 measure) hardly counts as pitch."""
    if voiced.sum() < 3:
        return f0
    st = _repaired(12 * np.log2(f0[voiced]))
    core = steady[voiced] if steady.sum() >= 10 else np.ones(st.size, dtype=bool)
    mean = float(np.mean(st[core]))
    dev = st - mean
    t = np.flatnonzero(voiced) * FRAME_MS / 1000
    dev = dev + voice.declination_st_s * (t - t.mean())
    if voice.final_rise_st:
        ramp = np.clip((t - (t[-1] - FINAL_RISE_S)) / FINAL_RISE_S, 0.0, 1.0)
        dev = dev + voice.final_rise_st * (0.5 - 0.5 * np.cos(np.pi * ramp))
    dev = dev - dev[core].mean()
    sd = float(np.std(dev[core]))
    if voice.f0_sd_st is not None and sd > 1e-6:
        dev = dev * min(voice.f0_sd_st / sd, MAX_SPREAD)
    target = 12 * np.log2(voice.f0_mean_hz) if voice.f0_mean_hz else mean
    out = np.zeros_like(f0)
    out[voiced] = 2 ** ((target + dev) / 12)
    if voice.jitter > 0:
        out[voiced] *= 1 + rng.normal(0.0, voice.jitter, voiced.sum())
    return np.clip(out, 0.0, F0_CEIL * 1.5)


def tilt_for_alpha_change(sp: np.ndarray, freqs: np.ndarray, change_db: float) -> float:
    """The tilt (dB/octave above `TILT_PIVOT_HZ`) that changes the alpha ratio of the mean
    envelope `sp` (frames x bins) by `change_db` (bisection; the change grows with the tilt)."""
    mean = sp.mean(axis=0)
    low, high = (freqs >= 50) & (freqs < 1000), (freqs >= 1000) & (freqs < 5000)

    def alpha(tilt: float) -> float:
        shaped = mean * _tilt_gain(freqs, tilt)
        return 10 * np.log10(shaped[high].sum() / shaped[low].sum())

    target, lo, hi = alpha(0.0) + change_db, -12.0, 12.0
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if alpha(mid) < target else (lo, mid)
    return (lo + hi) / 2


def _tilt_gain(freqs: np.ndarray, db_per_octave: float) -> np.ndarray:
    """Power gain rising `db_per_octave` per octave above `TILT_PIVOT_HZ` (flat below)."""
    octaves = np.log2(np.maximum(freqs, TILT_PIVOT_HZ) / TILT_PIVOT_HZ)
    return 10 ** (db_per_octave * octaves / 10)


def _breathy(ap: np.ndarray, freqs: np.ndarray, amount: float) -> np.ndarray:
    """Aperiodicity moved toward 1 (noise) by a positive `amount`, toward 0 (a cleaner voice) by
    a negative one; fully above 1.5 kHz, by 60 % at 0 Hz."""
    if amount == 0:
        return ap
    weight = np.clip(0.6 + freqs / 3750, 0.0, 1.0)[None, :]
    if amount < 0:
        return ap * (1 + amount * weight)
    return np.clip(ap + amount * weight * (1 - ap), 0.0, 1.0)


def _level(y: np.ndarray, sr: int, level_db: float | None) -> np.ndarray:
    """`y` scaled so its active frames have RMS `level_db` dBFS; peaks limited to 0.99."""
    if level_db is not None:
        current = active_level_db(y, sr)
        if np.isfinite(current):
            y = y * 10 ** ((level_db - current) / 20)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    return y * (0.99 / peak) if peak > 0.99 else y


def active_level_db(y: np.ndarray, sr: int) -> float:
    """Power mean of the 10 ms frame levels within 35 dB of the loudest (dBFS), the stage's own
    gain reference (the measurement in `factory.speech.measure` is separate)."""
    hop = max(1, sr // 100)
    n = y.size // hop
    if n == 0:
        return float("nan")
    power = np.mean(np.asarray(y[: n * hop], dtype=np.float64).reshape(n, hop) ** 2, axis=1) + 1e-12
    db = 10 * np.log10(power)
    keep = db > db.max() - 35.0
    return float(10 * np.log10(np.mean(power[keep])))
