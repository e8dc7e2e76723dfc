"""The emotion model: categories, their valence/arousal/dominance coordinates, and the
literature-based response tables the generators draw on (autonomic, vocal, facial, EEG).

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
    """Prosody relative to neutral speech at full intensity.

    Murray & Arnott (1993), Juslin & Laukka (2003) Table 11; ratios from the Emofilt presets
    (Burkhardt 2005), e.g. hot anger F0 mean 150 %, range 200 %, duration 70 %.
    """

    f0_mean: float      # ratio
    f0_range: float     # ratio
    rate: float         # speaking-rate ratio (>1 faster)
    intensity_db: float  # loudness change, dB
    source: str


VOCAL: dict[str, VocalProfile] = {
    "neutral": VocalProfile(1.00, 1.00, 1.00, 0.0, "baseline"),
    "happiness": VocalProfile(1.40, 1.80, 1.15, 3.0, "Emofilt joy 150/200/70 (softened), M&A 'much higher'"),
    "sadness": VocalProfile(0.90, 0.75, 0.75, -4.0, "Emofilt sad range 80, duration 140; M&A slightly lower"),
    "anger": VocalProfile(1.45, 1.90, 1.30, 6.0, "Emofilt hotAnger 150/200/70; M&A very much higher"),
    "fear": VocalProfile(1.60, 1.50, 1.40, 1.0, "Emofilt scared f0 200 range 160 dur 70 (softened)"),
    "disgust": VocalProfile(0.85, 1.15, 0.70, -2.0, "M&A very much lower, very much slower"),
    "surprise": VocalProfile(1.40, 1.70, 1.25, 3.0, "M&A much higher, much faster"),
    "contempt": VocalProfile(0.92, 1.10, 0.85, -1.0, "*chosen* between disgust and neutral"),
    "calm": VocalProfile(0.95, 0.85, 0.90, -2.0, "*chosen* low arousal"),
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


# ---------------------------------------------------------------- EEG

# Approach (+1) or withdrawal (-1) motivation of each emotion, for frontal alpha asymmetry:
# happiness and anger are approach emotions (Harmon-Jones, Gable & Peterson 2010), fear,
# sadness and disgust withdrawal ones (Davidson 1992; Coan & Allen 2004). Surprise, contempt,
# calm and neutral have no consistent direction in these reviews: 0 (*chosen*).
MOTIVATION: dict[str, int] = {"neutral": 0, "happiness": 1, "anger": 1, "surprise": 0, "contempt": 0, "calm": 0,
                              "fear": -1, "sadness": -1, "disgust": -1}


@dataclass(frozen=True)
class EEGResponse:
    """Change of the EEG after stimulus onset, as a natural-log power ratio (post / pre).

    Arousal terms are per unit of the sample's arousal (its VAD arousal times intensity, so
    calm and sadness, with negative arousal, synchronise alpha instead). Alpha power falls
    with arousal: alpha desynchronisation over posterior cortex to emotionally arousing
    stimuli (Aftanas et al. 2004; alpha as an inverse index of arousal, Barry et al. 2007).
    Beta and gamma rise: beta with emotional processing (Ray & Cole 1985), gamma with
    emotional arousal (Keil et al. 2001); both carry the most emotion information in SEED
    (Zheng & Lu 2015). `asymmetry` is the shift of frontal alpha asymmetry (ln alpha F4 -
    ln alpha F3, Allen, Coan & Nazarian 2004) at the frontal generators per unit of
    motivation x intensity: positive (less left alpha, i.e. more left activity) for approach.
    Magnitudes are *chosen* small: a few tenths of a log unit, i.e. 10-40 % power changes,
    the size of single-trial effects in these studies, not the larger grand-average contrasts.
    """

    alpha_posterior: float = -0.50
    alpha_frontal: float = -0.25
    beta: float = 0.40
    gamma: float = 0.50
    asymmetry: float = 0.20
    source: str = ("Aftanas 2004, Barry 2007 (alpha); Ray & Cole 1985 (beta); Keil 2001 (gamma); "
                   "Davidson 1992, Coan & Allen 2004, Harmon-Jones 2010 (asymmetry)")


EEG_RESPONSE = EEGResponse()


@dataclass(frozen=True)
class EEGBaseline:
    """Resting EEG traits of one synthetic person."""

    alpha_frequency: float      # individual alpha frequency (IAF), Hz
    aperiodic_exponent: float   # chi of the 1/f^chi background
    asymmetry: float            # trait frontal alpha asymmetry, ln F4 - ln F3 at the generators


def resting_eeg(age: float, z: tuple[float, float, float]) -> EEGBaseline:
    """Age norms plus per-person variation `z` (three standard-normal draws).

    IAF about 10 +- 1 Hz in young adults, slowing with age (Klimesch 1999): 10.2 Hz minus
    0.02 Hz per year after 30 (*chosen* slope, ~1 Hz by 80), person SD 0.8 Hz. Aperiodic
    exponent 1-2 (Donoghue et al. 2020), flatter with age (Voytek et al. 2015): 1.6 minus
    0.006 per year after 30 (*chosen*), SD 0.15. Trait frontal asymmetry varies between
    persons and is stable (Davidson 1992): SD 0.1 log units (*chosen*).
    """
    older = max(age - 30.0, 0.0)
    iaf = min(max(10.2 - 0.02 * older + 0.8 * z[0], 8.0), 12.5)
    chi = min(max(1.6 - 0.006 * older + 0.15 * z[1], 1.0), 2.0)
    return EEGBaseline(round(iaf, 3), round(chi, 3), round(0.1 * z[2], 4))
