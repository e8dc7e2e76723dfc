"""The emotion model: categories, their valence/arousal/dominance coordinates, and the
literature-based response tables the generators draw on (autonomic, vocal, facial).

Every number carries its source. Where sources are coarse ("up", "much higher") we chose
magnitudes inside normal physiological ranges; each such choice is marked *chosen*.
Full references are in docs/affect.md.
"""
from __future__ import annotations

from dataclasses import dataclass

# Valence, arousal, dominance in [-1, 1]: Russell & Mehrabian (1977) PAD ratings of emotion
# terms, rescaled from their +-1 semantic-differential scale (rounded).
VAD: dict[str, tuple[float, float, float]] = {
    "neutral": (0.00, 0.00, 0.00),
    "happiness": (0.81, 0.51, 0.46),
    "sadness": (-0.63, -0.27, -0.33),
    "anger": (-0.51, 0.59, 0.25),
    "fear": (-0.64, 0.60, -0.43),
    "disgust": (-0.60, 0.35, 0.11),
    "surprise": (0.40, 0.67, -0.13),
    "contempt": (-0.55, 0.10, 0.60),
    "calm": (0.50, -0.60, 0.20),
}
EMOTIONS: tuple[str, ...] = tuple(VAD)


@dataclass(frozen=True)
class AutonomicResponse:
    """Change from baseline at full intensity, reached a few seconds after stimulus onset.

    Directions: Kreibig (2010) review, Table 2 (via the PSU PSYCH 425 paraphrase in
    AFFECT_REFERENCES.md); sadness non-crying per Gross et al. (1994) / Rottenberg (2003).
    Magnitudes are *chosen* within the ranges Kreibig reports (HR changes of a few to ~10 bpm).
    """

    heart_rate: float        # bpm
    hrv: float               # multiplicative change of SDNN (1 = unchanged)
    scl: float               # tonic skin-conductance level change, microsiemens
    scr_rate: float          # non-specific SCRs per minute added after onset
    resp_rate: float         # breaths per minute
    emg: float               # facial EMG burst amplitude, relative (0 none, 1 strong)
    source: str


AUTONOMIC: dict[str, AutonomicResponse] = {
    "neutral": AutonomicResponse(0.0, 1.00, 0.0, 0.0, 0.0, 0.0, "baseline"),
    "anger": AutonomicResponse(9.0, 0.80, 1.2, 4.0, 3.0, 0.9, "Kreibig 2010: HR up, SC up, resp up, HRV down/unchanged"),
    "fear": AutonomicResponse(8.0, 0.75, 1.4, 5.0, 3.5, 0.7, "Kreibig 2010: HR up, SC up, resp up, HRV down"),
    "sadness": AutonomicResponse(-3.0, 1.00, -0.3, 0.0, 1.5, 0.3, "Kreibig 2010 (non-crying): HR down, SC down, resp up"),
    "happiness": AutonomicResponse(4.0, 0.85, 0.6, 2.0, 1.0, 0.6, "Kreibig 2010: SNS activation, SC up, PNS withdrawal"),
    "disgust": AutonomicResponse(1.0, 0.95, 0.5, 2.0, 0.5, 0.6, "Kreibig 2010: subtype-dependent SNS+PNS; *chosen* small"),
    "surprise": AutonomicResponse(3.0, 0.90, 1.0, 4.0, 1.0, 0.5, "orienting response, *chosen*: brief SC up, HR up"),
    "contempt": AutonomicResponse(1.0, 0.95, 0.3, 1.0, 0.5, 0.4, "*chosen* small, no consistent pattern reported"),
    "calm": AutonomicResponse(-2.0, 1.15, -0.4, 0.0, -1.0, 0.0, "Kreibig 2010 contentment/relief: SNS withdrawal, PNS activation"),
}


@dataclass(frozen=True)
class VocalProfile:
    """How an emotion changes a person's neutral voice at full intensity, in the units the
    literature reports (semitones, dB, ratios) and eGeMAPS measures (Eyben et al. 2016).

    Directions: Murray & Arnott (1993) Table 1 (M&A); Juslin & Laukka (2003) Table 11 (J&L: F0
    level, F0 variability, contour, intensity, high-frequency energy, rate, microstructural
    irregularity); Banse & Scherer (1996) (B&S: F0, energy and spectral balance of 14 acted
    emotions; hot anger, panic fear and elation high, sadness low). Magnitudes follow
    the Emofilt presets where they exist (Burkhardt 2005; e.g. hot anger pitch 150 %, range
    200 %, duration 70 %; sad pitch 90 %, range 80 %, duration 140 %; scared pitch 200 %, range
    160 %) converted to semitones / ratios and softened; everything else is *chosen* inside the
    ranges those studies report and marked so in `source`.
    """

    f0_st: float             # F0 mean shift, semitones re the person's neutral voice
    f0_variability: float    # ratio of the F0 standard deviation in semitones (range)
    rate: float              # articulation-rate ratio (>1 faster)
    intensity_db: float      # level change, dB
    declination_st_s: float  # F0 slope added over the utterance, semitones/s (<0 falling)
    final_rise_st: float     # F0 rise over the last 300 ms, semitones
    alpha_ratio_db: float    # change of eGeMAPS alpha ratio, dB (high-frequency energy, effort)
    hnr_db: float            # change of harmonics-to-noise ratio, dB (<0 breathier/noisier)
    jitter_pct: float        # change of local jitter, percentage points
    shimmer_db: float        # change of local shimmer, dB
    source: str


VOCAL: dict[str, VocalProfile] = {
    "neutral": VocalProfile(0.0, 1.00, 1.00, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "baseline"),
    "happiness": VocalProfile(
        4.0, 1.50, 1.10, 3.0, 0.0, 2.0, 3.0, -2.0, 0.0, 0.0,
        "M&A 'much higher', 'much wider', 'smooth upward inflections', 'breathy, blaring'; J&L "
        "high F0, variability, HF energy; Emofilt joy pitch 150 %, range 200 % (softened to +4 st, "
        "x1.5); voice-quality magnitudes *chosen*"),
    "sadness": VocalProfile(
        -3.0, 0.60, 0.80, -4.0, -1.5, 0.0, -4.0, 1.0, 0.0, 0.0,
        "M&A 'slightly lower', 'slightly narrower', 'downward inflections', 'resonant'; J&L low F0, "
        "low variability, falling contour, little HF energy; Emofilt sad pitch 90 %, range 80 %, "
        "duration 140 %; -3 st and x0.6 *chosen* so the drop is clear (issue 14); voice-quality "
        "magnitudes *chosen*"),
    "anger": VocalProfile(
        5.0, 1.70, 1.20, 6.0, 0.0, 0.0, 6.0, -3.0, 0.0, 0.0,
        "M&A 'very much higher', 'much wider', 'breathy, chest tone'; J&L high F0, variability, "
        "intensity, HF energy; B&S hot anger high F0 and energy, flat spectral slope; Emofilt "
        "hotAnger pitch 150 %, range 200 %, duration 70 % (softened)"),
    "fear": VocalProfile(
        7.0, 1.40, 1.30, 1.0, 0.0, 0.0, 2.0, -3.0, 0.8, 0.3,
        "M&A 'very much higher', 'much wider', 'irregular voicing'; B&S panic fear high F0; J&L "
        "high F0, fast, irregular microstructure (J&L report low F0 variability: studies disagree, "
        "we follow M&A and Emofilt scared pitch 200 %, range 160 %, softened)"),
    "disgust": VocalProfile(
        -2.0, 1.10, 0.80, -2.0, -1.0, 0.0, -1.0, 0.0, 0.0, 0.0,
        "M&A 'very much lower', 'very much slower', 'grumbled chest tone'; J&L low F0, slow; "
        "magnitudes *chosen*"),
    "surprise": VocalProfile(
        5.0, 1.50, 1.15, 3.0, 0.0, 6.0, 2.0, 0.0, 0.0, 0.0,
        "not in M&A or J&L; *chosen*: high, wide, fast, ending in a rise (+6 st over the last "
        "300 ms)"),
    "contempt": VocalProfile(
        -1.0, 1.10, 0.90, -1.0, -0.5, 0.0, 0.0, 0.0, 0.0, 0.0,
        "*chosen* between disgust and neutral (B&S contempt: low F0, slow)"),
    "calm": VocalProfile(
        -1.0, 0.80, 0.90, -2.0, -0.5, 0.0, -2.0, -1.0, 0.0, 0.0,
        "*chosen* low arousal: lower, narrower, softer, a little breathier"),
}

# EMFACS prototypes (Friesen & Ekman 1983, via OpenDBM docs): action unit -> weight at full intensity.
FACS_PROTOTYPES: dict[str, dict[int, float]] = {
    "neutral": {},
    "happiness": {6: 1.0, 12: 1.0},
    "sadness": {1: 1.0, 4: 1.0, 15: 1.0},
    "surprise": {1: 1.0, 2: 1.0, 5: 1.0, 26: 1.0},
    "fear": {1: 1.0, 2: 1.0, 4: 1.0, 5: 1.0, 7: 1.0, 20: 1.0, 26: 1.0},
    "anger": {4: 1.0, 5: 1.0, 7: 1.0, 23: 1.0},
    "disgust": {9: 1.0, 15: 1.0, 16: 1.0},
    "contempt": {12: 0.5, 14: 0.5},  # unilateral (R12A+R14A)
    "calm": {12: 0.2},               # *chosen*: slight relaxed smile
}

# Monk Skin Tone scale, MST 1-10 (Monk 2019; Google's published swatches).
MONK_SKIN_TONES: dict[int, str] = {
    1: "#f6ede4", 2: "#f3e7db", 3: "#f7ead0", 4: "#eadaba", 5: "#d7bd96",
    6: "#a07e56", 7: "#825c43", 8: "#604134", 9: "#3a312a", 10: "#292420",
}


def coordinates(emotion: str, intensity: float) -> tuple[float, float, float]:
    """Valence, arousal, dominance of an emotion expressed at `intensity` (0..1)."""
    return tuple(round(c * intensity, 4) for c in VAD[emotion])


# ---------------------------------------------------------------- baselines

def age_from_band(band: str | None, u: float) -> float:
    """A concrete age inside an age band ('18-29', '65+'); `u` in [0, 1) picks where."""
    if not band:
        return round(18 + u * 62, 1)
    if band.endswith("+"):
        lo, hi = float(band[:-1]), float(band[:-1]) + 20
    else:
        lo, hi = (float(x) for x in band.split("-"))
        hi += 1
    return round(lo + u * (hi - lo), 1)


@dataclass(frozen=True)
class Baseline:
    """Resting physiology of one synthetic person."""

    heart_rate: float   # bpm
    sdnn: float         # ms
    scl: float          # microsiemens
    resp_rate: float    # breaths/min
    scr_rate: float     # non-specific SCRs per minute at rest


def resting_baseline(age: float, sex: str | None, z: tuple[float, float, float, float]) -> Baseline:
    """Age/sex norms plus per-person variation `z` (four standard-normal draws).

    Heart rate: 65.5 +- 7.7 bpm (Quer et al. 2020, n=92,457), rising ~1 bpm/decade to about
    50 y then falling; women ~3 bpm higher (*chosen*, Quer reports a small sex gap).
    SDNN: ~50 ms short-term (Nunan 2010), falling to 60 % of the second-decade value by the
    tenth (Umetani 1998), i.e. about -0.6 %/year. Respiration 12-18/min at rest. SCL 2-20 uS,
    NS-SCR 1-3/min (Boucsein 2012).
    """
    hr_age = 1.0 * (min(age, 50) - 30) / 10 - 0.8 * max(age - 50, 0) / 10
    hr_sex = 3.0 if sex == "female" else 0.0
    heart_rate = min(max(65.5 + hr_age + hr_sex + 7.7 * z[0], 50.0), 95.0)
    sdnn = min(max(55.0 * (1 - 0.006 * max(age - 20, 0)) * (1 + 0.2 * z[1]), 20.0), 90.0)
    resp_rate = min(max(15.0 + 1.5 * z[2], 11.0), 19.0)
    scl = min(max(6.0 * 2.718 ** (0.45 * z[3]), 2.0), 20.0)
    return Baseline(round(heart_rate, 2), round(sdnn, 2), round(scl, 3), round(resp_rate, 2), 2.0)
