"""From an emotion to targets and stage settings, and from measurements to ``met`` flags.

Each target is the person's neutral reference (`factory.speech.measure` on their neutral
voice, once per person) moved by the emotion's `factory.affect.VOCAL` profile at the sample's
intensity *k*: semitone and dB changes scale linearly (``change * k``), ratios geometrically
(``ratio ** k``).

=================  ======================================  ====================================
key                target                                  met when
=================  ======================================  ====================================
f0_mean_st         F0 mean, semitones re the person's      within 1.5 st
                   neutral mean (neutral: 0)
f0_sd_st           F0 standard deviation, semitones        within 25 %
f0_range_st        F0 5-95 % range, semitones              within 30 %
level_db           active level, dBFS                      within 2 dB
rate_syl_s         articulation rate, syllables/s          within 20 %
alpha_ratio_db     eGeMAPS alpha ratio, dB                 within 2.5 dB
hammarberg_db      eGeMAPS Hammarberg index, dB            within 3 dB
hnr_db             harmonics-to-noise ratio, dB            within 1.5 dB
jitter_pct         local jitter, %                         within 0.4 points
shimmer_db         local shimmer, dB                       within 0.4 dB
=================  ======================================  ====================================

Tolerances are a little wider than each measure's spread over neutral renderings of different
sentences by one voice (see docs/speech.md), and narrower than the full-intensity contrasts.

The stage settings (`Voice`) come from the same targets through gains measured on the stage's
own output (`ALPHA_DB_PER_TILT` and the others below): the stage is steered, the measurement
judges.
"""
from __future__ import annotations

import math

import numpy as np

from factory.affect import VOCAL
from factory.speech.emotion_stage import Voice

TARGETS = ("f0_mean_st", "f0_sd_st", "f0_range_st", "level_db", "rate_syl_s",
           "alpha_ratio_db", "hammarberg_db", "hnr_db", "jitter_pct", "shimmer_db")
TOLERANCE: dict[str, tuple[str, float]] = {
    "f0_mean_st": ("absolute", 1.5), "f0_sd_st": ("relative", 0.25), "f0_range_st": ("relative", 0.30),
    "level_db": ("absolute", 2.0), "rate_syl_s": ("relative", 0.20), "alpha_ratio_db": ("absolute", 2.5),
    "hammarberg_db": ("absolute", 3.0), "hnr_db": ("absolute", 1.5), "jitter_pct": ("absolute", 0.4),
    "shimmer_db": ("absolute", 0.4),
}
# Steering gains, measured on the stage's own output (12 neutral eSpeak NG renderings: 4 voices
# x 3 sentences, 16 kHz; `python benchmarks/speech.py` re-measures the result, not these):
HAMMARBERG_PER_ALPHA = -1.15      # the Hammarberg index falls 1.15x as much as a tilt raises the alpha ratio
ALPHA_DB_PER_TILT = 2.0           # alpha ratio rises ~2 dB per dB/octave of tilt
HNR_DB_PER_TILT = -0.75           # per dB/octave of tilt
HNR_DB_PER_JITTER = -70.0         # per unit s.d. of the per-frame F0 noise
BREATHINESS_HNR = (3.0, 4.0)      # HNR falls 3 b + 4 b^2 dB with breathiness b
JITTER_PCT_PER_SD = 18.0          # jitter points per unit s.d. of the per-frame F0 noise
SHIMMER_DB = (0.05, 0.0475)       # shimmer rises 0.05 s + 0.0475 s^2 dB with level noise s.d. s (dB)
# Prosody moves HNR and jitter by itself (periods change faster when F0 moves more, or speech is
# faster); targets include these expected changes, and the table's columns are voice quality
# on top of them:
HNR_DB_PER_F0_ST = 0.25           # per semitone of F0 level
HNR_DB_PER_SD_OCTAVE = -2.0       # per doubling of the F0 standard deviation
HNR_DB_PER_RATE_LOG = -5.0        # per unit of ln(rate ratio)
HNR_DB_PER_RISE_ST = -0.25        # per semitone of final rise
JITTER_PCT_PER_SD_OCTAVE = 0.3    # per doubling of the F0 standard deviation (none for narrowing)
JITTER_PCT_PER_RATE_LOG = 0.6     # per unit of ln(rate ratio)


def targets(emotion: str, intensity: float, reference: dict[str, float]) -> dict[str, float]:
    """Every `TARGETS` value for `emotion` at `intensity`, relative to the person's neutral
    `reference` (a `factory.speech.measure.speech_measure` result)."""
    p, k = VOCAL[emotion], float(np.clip(intensity, 0.0, 1.0))
    hnr, jitter = prosody_side_effects(emotion, intensity)
    return {
        "f0_mean_st": p.f0_st * k,
        "f0_sd_st": reference["f0_sd_st"] * p.f0_variability ** k,
        "f0_range_st": reference["f0_range_st"] * p.f0_variability ** k,
        "level_db": reference["level_db"] + p.intensity_db * k,
        "rate_syl_s": reference["rate_syl_s"] * p.rate ** k,
        "alpha_ratio_db": reference["alpha_ratio_db"] + p.alpha_ratio_db * k,
        "hammarberg_db": reference["hammarberg_db"] + HAMMARBERG_PER_ALPHA * p.alpha_ratio_db * k,
        "hnr_db": reference["hnr_db"] + hnr + p.hnr_db * k,
        "jitter_pct": reference["jitter_pct"] + jitter + p.jitter_pct * k,
        "shimmer_db": reference["shimmer_db"] + p.shimmer_db * k,
    }


def prosody_side_effects(emotion: str, intensity: float) -> tuple[float, float]:
    """The HNR (dB) and jitter (points) change that the emotion's F0 and rate changes bring by
    themselves."""
    p, k = VOCAL[emotion], float(np.clip(intensity, 0.0, 1.0))
    sd_octaves, rate_log = k * math.log2(p.f0_variability), k * math.log(p.rate)
    hnr = (HNR_DB_PER_F0_ST * p.f0_st * k + HNR_DB_PER_SD_OCTAVE * sd_octaves + HNR_DB_PER_RATE_LOG * rate_log
           + HNR_DB_PER_RISE_ST * p.final_rise_st * k)
    jitter = JITTER_PCT_PER_SD_OCTAVE * max(sd_octaves, 0.0) + JITTER_PCT_PER_RATE_LOG * rate_log
    return hnr, jitter


def relative(measured: dict[str, float], reference: dict[str, float]) -> dict[str, float]:
    """`measured` in the units of `TARGETS` (F0 mean becomes semitones re the reference)."""
    out = {k: measured[k] for k in TARGETS if k != "f0_mean_st"}
    return {"f0_mean_st": measured["f0_mean_st"] - reference["f0_mean_st"], **out}


def voice(emotion: str, intensity: float, reference: dict[str, float], tempo: float) -> Voice:
    """Stage settings that move a rendering of this person toward the targets; `tempo` is the
    speed change the stage must still make (the backend may have made some itself)."""
    p, k = VOCAL[emotion], float(np.clip(intensity, 0.0, 1.0))
    t = targets(emotion, intensity, reference)
    jitter = max(p.jitter_pct * k, 0.0) / JITTER_PCT_PER_SD
    # breathiness lowers HNR by what the tilt and the jitter noise do not already take off
    lower_by = HNR_DB_PER_TILT * p.alpha_ratio_db * k / ALPHA_DB_PER_TILT + HNR_DB_PER_JITTER * jitter - p.hnr_db * k
    return Voice(
        f0_mean_hz=_finite_or_none(reference["f0_mean_hz"] * 2 ** (t["f0_mean_st"] / 12)),
        f0_sd_st=_finite_or_none(t["f0_sd_st"]),
        declination_st_s=p.declination_st_s * k, final_rise_st=p.final_rise_st * k,
        jitter=jitter, shimmer_db=_inverse_quadratic(SHIMMER_DB, p.shimmer_db * k),
        alpha_ratio_change_db=p.alpha_ratio_db * k,
        breathiness=min(_inverse_quadratic(BREATHINESS_HNR, lower_by), 0.9),
        tempo=tempo, level_db=_finite_or_none(t["level_db"]))


def _inverse_quadratic(coefficients: tuple[float, float], y: float) -> float:
    """The x >= 0 with ``a x + c x^2 = y`` (0 when y <= 0)."""
    a, c = coefficients
    return 0.0 if y <= 0 else (-a + math.sqrt(a * a + 4 * c * y)) / (2 * c)


def met(target: dict[str, float], measured: dict[str, float]) -> dict[str, bool]:
    """Whether each measured value is within `TOLERANCE` of its target (NaN never is)."""
    out = {}
    for key in TARGETS:
        kind, tol = TOLERANCE[key]
        t, m = target.get(key, math.nan), measured.get(key, math.nan)
        if not (math.isfinite(t) and math.isfinite(m)):
            out[key] = False
        else:
            out[key] = bool(abs(m - t) <= (tol * abs(t) if kind == "relative" else tol))
    return out


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None
