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
# Where EMFACS lists several variants of an emotion, one is chosen and named in its comment.
FACS_PROTOTYPES: dict[str, dict[int, float]] = {
    "neutral": {},
    "happiness": {6: 1.0, 12: 1.0},
    "sadness": {1: 1.0, 4: 1.0, 15: 1.0, 17: 0.6, 64: 1.0},  # EMFACS 1+4+15 (+17 variant), with 54+64: head and eyes down
    "surprise": {1: 1.0, 2: 1.0, 5: 1.0, 27: 1.0},                         # EMFACS 1+2+5+27 (mouth stretched open)
    "fear": {1: 1.0, 2: 1.0, 4: 1.0, 5: 1.0, 20: 1.0, 26: 1.0},            # EMFACS 1+2+4+5+20+26 (no AU7)
    "anger": {4: 1.0, 5: 1.0, 7: 1.0, 10: 1.0, 23: 1.0, 25: 1.0},          # EMFACS 4+5+7+10+23+25 (teeth bared)
    "disgust": {9: 1.0, 10: 1.0, 15: 1.0, 17: 1.0},  # EMFACS 9+17, 10+17 and the 15 of 9+16+15
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


# ---------------------------------------------------------------- how responses vary (issue 13)

@dataclass(frozen=True)
class ResponseVariability:
    """How far one episode's autonomic response strays from the `AUTONOMIC` mean pattern.

    A response is `intensity x (table x person gain + person-emotion deviation) x trial gain
    x habituation`, per channel (heart, skin, breath, face). Sources, per field:

    - `person_gain_sd`: individual response specificity (Lacey & Lacey 1958; Marwitz &
      Stemmler 1998, Psychophysiology 35:1): each person has a stable channel profile, some
      responding mainly in heart rate, others in skin conductance. SD of the log gain per
      channel, *chosen* so that person and emotion explain variance of the same order, as
      Stemmler & Wacker (2010, Biol. Psychol. 84:541) report.
    - `person_emotion_sd`: the person's own version of each emotion (Stemmler 1989's
      person x situation term), in units of the channel's typical full response (`CHANNEL_SCALE`).
    - `trial_gain_sd`: trial-to-trial log-SD of the magnitude (SCR amplitudes vary widely
      between identical trials, Boucsein 2012), *chosen* equal for all channels.
    - `latency_sd`: trial-to-trial SD of the response latency, seconds; evoked SCRs start
      1-3 s after onset (Boucsein 2012), i.e. SD ~0.5 s.
    - `baseline_shift_sd`: episode-to-episode shift of the resting state, in units of the
      person-to-person SD (within-person resting heart rate varies ~3 bpm day to day against
      7.7 bpm between persons, Quer et al. 2020).
    - `induction_failure`: share of episodes in which the emotion is barely elicited
      (response x 0.2); mood inductions succeed in roughly 70-90 % of participants
      (Westermann et al. 1996, Eur. J. Soc. Psychol. 26:557), *chosen* inside that range.
    - `low_reactors`: share of persons whose heart rate barely follows emotion (gain x 0.3),
      the cardiac counterpart of electrodermal non-responders; *chosen*.
    """

    person_gain_sd: float
    person_emotion_sd: float
    trial_gain_sd: float
    latency_sd: float
    baseline_shift_sd: float
    induction_failure: float
    low_reactors: float


VARIABILITY: dict[str, ResponseVariability] = {
    # Sizes *calibrated* with benchmarks/realism.py (the literature gives the kinds of
    # variability, not their sizes for 10 s episodes; measurement noise on 10 s episodes with
    # realistic artifacts already supplies much of the overlap): `realistic` puts a
    # cross-person recognizer on the measured features inside the published 44.6-58.0 %
    # (Stephens et al. 2010; Kragel & LaBar 2013); `low` is easier, `high` harder.
    "low": ResponseVariability(0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0),
    "realistic": ResponseVariability(0.15, 0.15, 0.15, 0.3, 0.15, 0.05, 0.05),
    "high": ResponseVariability(0.45, 0.5, 0.4, 0.5, 0.4, 0.15, 0.15),
}

# Typical full-intensity response per channel (the median |change| over AUTONOMIC), the unit of
# `person_emotion_sd`: heart rate bpm, SCL uS, NS-SCR /min, respiration /min, EMG relative.
CHANNEL_SCALE = {"heart_rate": 3.0, "scl": 0.6, "scr_rate": 2.0, "resp_rate": 1.0, "emg": 0.5}

# Habituation over a person's repeated episodes: response x (floor + (1 - floor) x exp(-n / tau)),
# n = episodes this person has already had. SCRs habituate within a few presentations,
# cardiac responses more slowly (Bradley, Lang & Cuthbert 1993, Behav. Neurosci. 107:970;
# Boucsein 2012); floors and time constants *chosen*.
HABITUATION = {"skin": (0.4, 4.0), "heart": (0.7, 10.0), "breath": (0.8, 10.0), "face": (0.7, 8.0)}

EDA_NON_RESPONDERS = 0.10     # ~10 % electrodermal non-responders (Boucsein 2012)

# Respiratory sinus arrhythmia: heart rate rises with inspiration. Half the peak-to-trough
# heart-rate swing, bpm, at 20 years; it falls ~2 %/year of age (O'Brien, O'Hare & Corrall
# 1986, Br. Heart J. 55:348; spontaneous breathing gives 4-10 bpm peak-to-trough in the young,
# Hirsch & Bishop 1981, Am. J. Physiol. 241:H620).
RSA_HALF_SWING_BPM = 3.0
RSA_AGE_DECLINE = 0.02

# Pulse arrival time, ECG R-peak to the finger PPG foot: 0.2-0.3 s at rest, shorter at higher
# heart rate and sympathetic activation (Payne et al. 2006, J. Appl. Physiol. 100:136).
PULSE_ARRIVAL_S = 0.25        # at 70 bpm
PULSE_ARRIVAL_SD = 0.02       # between persons
PULSE_ARRIVAL_SLOPE = -0.0012  # s per bpm, *chosen*
# Respiration modulates the ECG's QRS amplitude (electrical axis, ECG-derived respiration;
# Moody et al. 1985, Computers in Cardiology 12:113): relative amplitude swing, *chosen*.
ECG_RESP_AMPLITUDE = 0.08

# A person's ECG morphology relative to ecgsyn's default: P-wave size, T-wave size, the width
# of the Q, R and S Gaussians (their sharpness; the Q-S spacing, hence the QRS duration, stays
# ecgsyn's) and the T wave's width. Lead placement and anatomy: neurokit2's 12-lead ecgsyn table
# scales waves 0.05-3x between leads.
# - T size: T/R about 0.2 in lead II (limb-lead T waves are half the precordial ones, Gamble et
#   al. 1995 J. Electrocardiol. 28:191; V5 T 0.32-0.44 mV, Haarmark et al. 2010 J. Electrocardiol.
#   43:31) and at least 1/10 of R in leads I, II, V4-V6 (clinical flattening threshold). T gain
#   0.52 gives T/R ~0.2 (0.24, used before, gave 0.09: flat T waves).
# - T width: Tpeak-Tend 92-94 ms, independent of heart rate (Haarmark et al. 2010); for ecgsyn's
#   Gaussian T the tangent method gives Tpeak-Tend = 2 SD, so SD ~46 ms = 0.73 of ecgsyn's 64 ms
#   at 60 bpm.
# - Between persons: T amplitude differs ~25 % by sex and 10-15 % per age band (Gamble et al. 1995),
#   lead placement and R amplitude add more: T log-SD 0.3 *chosen*.
# P size, QRS sharpness and the other log-SDs *chosen*. benchmarks/realism.py compares the result
# with one real recording; it is not fitted to it (docs/benchmarks.md, ECG IQR / SD).
ECG_WAVES = (0.7, 0.52, 0.45, 0.73)
ECG_WAVES_SD = (0.2, 0.3, 0.1, 0.1)
# PPG diastolic peak height relative to the systolic one: varies between persons and falls with
# arterial stiffness and age (reflection index, Millasseau et al. 2002, Clin. Sci. 103:371);
# median *chosen* (neurokit2's ppg_simulate uses 0.51), log-SD 0.25.
PPG_DIASTOLIC = 0.3
# PPG crest time, foot to systolic peak as a fraction of the period: ~0.1-0.15 s at rest
# (Allen 2007); neurokit2's ppg_simulate uses 0.175; *chosen*, checked by benchmarks/realism.py.
PPG_CREST = 0.13

# Breathing irregularity: breath-to-breath CV of the cycle time ~0.2 in healthy adults at rest
# (Tobin et al. 1983, Chest 84:202); sighs (tidal volume x2-3) come ~12 times per hour at rest
# (Li et al. 2016, Nature 530:293), see ARTIFACTS["rsp_sigh"].
BREATH_CV = 0.2


@dataclass(frozen=True)
class Artifact:
    """One kind of recording artifact: its chance per episode and its size at each level
    (`light`, `realistic`), relative to the clean signal's SD unless said otherwise."""

    signal: str
    chance: tuple[float, float]
    size: tuple[float, float]
    source: str
    spread: float | None = None   # episode sizes log-uniform over size / spread .. size * spread (else x 0.75-1.25)


# ECG sensor noise, *measured* on the six real ECGs of benchmarks/realism.py (ECG_RECORDINGS: pyhrv
# 0.5.0 SampleECG; MIT-BIH 208 MLII from scipy 1.11.4; four biosignalsplux recordings in
# biosignalsnotebooks 0.6.14), each resampled to 256 Hz: the noise floor is the median power
# density, per unit signal variance (0.5 Hz high-passed), of the segments R+0.10..R+0.40 s (outside
# the QRS, where the ECG has next to no power above 40 Hz; a clean synthetic ECG gives 0 there) in
# 40-46 Hz and 64-120 Hz (mains left out). Real densities 40-46 / 64-120 Hz (x 1e-6): 4.4 / 1.3,
# 19.6 / 1.7, 6.5 / 2.0, 11.9 / 3.5, 3.1 / 0.48, 4.5 / 1.5 (table order); the same measure on this
# generator's noise (1/f through one pole at 40 Hz, artifacts.NOISE_ROLLOFF_HZ) of size 0.1 x the
# clean SD gives 12.9 / 2.8. Each recording's equivalent size (densities scale with size^2,
# geometric mean of the two bands) is below; the episode's size is drawn log-uniformly over their
# range (device and electrode contact differ from recording to recording). Their spectra fall as
# f^-1.6..-3.5 over 40-120 Hz (median -2.6; this noise: -1.9).
ECG_NOISE_FLOOR = {"pyhrv SampleECG (BITalino)": 0.063, "MIT-BIH 208 MLII": 0.097, "PLUX lead II 20 s": 0.077,
                   "PLUX 5 min": 0.103, "PLUX 7 min": 0.045, "PLUX supine 1 min": 0.066}
_NOISE_LOW, _NOISE_HIGH = min(ECG_NOISE_FLOOR.values()), max(ECG_NOISE_FLOOR.values())

# Noise types of the MIT-BIH Noise Stress Test Database (Moody, Muldrow & Mark 1984:
# baseline wander, muscle artifact, electrode motion) plus mains and sensor noise; EDA
# artifacts per Boucsein (2012) and Kleckner et al. (2018, IEEE TBME 65:1460); PPG motion per
# Allen (2007, Physiol. Meas. 28:R1). Chances and sizes *chosen*, checked against real
# recordings by benchmarks/realism.py.
ARTIFACTS: dict[str, Artifact] = {
    "ecg_sensor_noise": Artifact("ecg", (1.0, 1.0), (_NOISE_LOW, (_NOISE_LOW * _NOISE_HIGH) ** 0.5),
                                 "electrode, amplifier and converter noise, 1/f through a 40 Hz pole, always present; "
                                 "realistic spans ECG_NOISE_FLOOR (measured), light is centred on its quietest recording",
                                 spread=(_NOISE_HIGH / _NOISE_LOW) ** 0.5),
    "ecg_baseline_wander": Artifact("ecg", (0.5, 0.9), (0.1, 0.2), "respiration/electrode impedance, < 0.5 Hz"),
    "ecg_mains": Artifact("ecg", (0.05, 0.1), (0.01, 0.04), "50 or 60 Hz by locale"),
    "ecg_emg": Artifact("ecg", (0.3, 0.7), (0.03, 0.05), "muscle activity, broadband"),
    "ecg_motion": Artifact("ecg", (0.05, 0.2), (0.5, 1.5), "electrode motion spikes"),
    "ppg_sensor_noise": Artifact("ppg", (1.0, 1.0), (0.05, 0.1), "photodiode and front-end noise, 1/f^1.5, always present"),
    "ppg_motion": Artifact("ppg", (0.2, 0.5), (0.5, 1.5), "finger/hand movement, 0.1-3 Hz"),
    "ppg_baseline_wander": Artifact("ppg", (0.5, 0.9), (0.1, 0.3), "vasomotion and respiration, < 0.3 Hz"),
    "eda_drift": Artifact("eda", (0.5, 0.9), (0.05, 0.2), "uS over the episode: electrode polarization/hydration"),
    "eda_contact_loss": Artifact("eda", (0.02, 0.05), (0.5, 2.0), "seconds of lost electrode contact"),
    "rsp_sigh": Artifact("rsp", (0.05, 0.1), (1.0, 1.5), "extra tidal volume (x breath swing); above 12/h: emotion raises sighing (Vlemincx et al. 2011)"),
    "rsp_irregular": Artifact("rsp", (0.5, 1.0), (0.5, 1.0), "fraction of BREATH_CV applied"),
    "emg_mains": Artifact("emg", (0.2, 0.5), (0.05, 0.2), "50 or 60 Hz by locale"),
}
ARTIFACT_LEVELS = ("none", "light", "realistic")


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
