"""The brain signal of one episode and the band powers it is expected to have.

Every component is a Gaussian time course with a chosen power spectrum, seen on the scalp
through a smooth projection (a Gaussian of the great-circle angle between its generator's
site and each electrode, the volume conduction of a spherical head, *chosen* widths):

- an aperiodic 1/f^chi background from generators spread evenly over the head (so that
  neighbouring electrodes correlate, as in real recordings);
- rhythms at sites of the 10-05 system: posterior alpha at the person's IAF, frontal alpha
  (one coherent generator pair at F3/F4 whose left/right balance is the frontal alpha
  asymmetry), frontal-midline theta (Ishii et al. 1999), central mu (Pfurtscheller & Lopes da
  Silva 1999), fronto-central beta and low-amplitude gamma;
- white amplifier noise on every electrode.

After the stimulus onset each rhythm's power moves by the emotion's response
(`factory.affect.EEG_RESPONSE`) along `response_curve`. Because every spectrum and projection
is known, the expected band power of every channel in any window follows in closed form
(`expected_band_powers`): these are the targets the measured output is compared with.
Potentials are in microvolts against an ideal reference; the generator re-references them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from factory.affect import EEG_RESPONSE, MOTIVATION, EEGBaseline, resting_eeg
from factory.eeg.montages import angles, unit_vectors
from factory.spec import Episode, SampleSpec

BANDS: dict[str, tuple[float, float]] = {"delta": (1.0, 4.0), "theta": (4.0, 8.0), "alpha": (8.0, 13.0),
                                         "beta": (13.0, 30.0), "gamma": (30.0, 45.0)}
ERD_LATENCY_S = 0.25        # alpha desynchronisation develops within ~0.5 s of onset (Pfurtscheller 1999)
# Amplitudes are *chosen* so that a channel carries ~10-20 uV RMS in all, as in DEAP's files.
BACKGROUND_UV = 8.0         # RMS of the 1/f background at an electrode
NOISE_UV = 0.7              # white amplifier noise
BACKGROUND_WIDTH = 0.5      # angular spread of background generators (radians): r ~ 0.6-0.7 at 10-20 spacing
HIGHPASS_HZ = 0.5           # the amplifier's high-pass (second order)
PERSON_SD, TRIAL_SD = 0.3, 0.15   # log-amplitude variation of each rhythm between persons and trials
TRIAL_ASYMMETRY_SD = 0.05   # state variation of frontal asymmetry around the person's trait (*chosen*)


@dataclass(frozen=True)
class Rhythm:
    """One oscillation: where its generators sit and what its spectral peak looks like."""

    sites: tuple[str, ...]   # 10-05 positions of its generators
    width: float             # angular spread of each projection, radians
    peak: float              # Hz; for alpha and mu, added to the person's IAF
    bandwidth: float         # Hz, SD of the Gaussian spectral peak
    amplitude: float         # uV RMS at a generator site
    coherent: bool = False   # True: one time course for all its sites
    relative_to_iaf: bool = False


RHYTHMS: dict[str, Rhythm] = {
    "alpha_posterior": Rhythm(("O1", "Oz", "O2", "P3", "P4"), 0.45, 0.0, 1.0, 8.0, relative_to_iaf=True),
    "alpha_frontal": Rhythm(("F3", "F4"), 0.4, 0.0, 1.0, 6.0, coherent=True, relative_to_iaf=True),
    "theta": Rhythm(("FCz",), 0.45, 6.0, 1.0, 3.0),
    "mu": Rhythm(("C3", "C4"), 0.3, 1.0, 1.0, 3.0, relative_to_iaf=True),
    "beta": Rhythm(("FC3", "FC4", "CP3", "CP4"), 0.45, 20.0, 5.0, 3.5),
    "gamma": Rhythm(("FT7", "FT8", "Cz", "Pz"), 0.5, 38.0, 6.0, 1.5),
}


@dataclass(frozen=True)
class Trial:
    """What one episode's EEG is made of: the person's traits and this trial's draws."""

    person: EEGBaseline
    amplitudes: dict[str, float]        # uV per rhythm (person x trial variation)
    background: float                   # uV
    asymmetry_pre: float                # ln F4 - ln F3 at the frontal generators before onset
    response: dict[str, float]          # ln power change per rhythm after onset
    asymmetry_shift: float              # added to the asymmetry after onset


def eeg_trial(spec: SampleSpec) -> Trial:
    """The person's EEG traits (same for all their samples) and this episode's variation."""
    person_rng = spec.identity_rng("eeg.person")
    person = resting_eeg(spec.age, tuple(person_rng.standard_normal(3)))
    person_gain = person_rng.standard_normal(len(RHYTHMS) + 1)
    trial_rng = spec.rng("eeg.trial")
    trial_gain = trial_rng.standard_normal(len(RHYTHMS) + 1)
    log_amp = PERSON_SD * person_gain + TRIAL_SD * trial_gain
    amplitudes = {name: float(r.amplitude * np.exp(g)) for (name, r), g in zip(RHYTHMS.items(), log_amp)}
    arousal = spec.arousal
    resp = EEG_RESPONSE
    response = {"alpha_posterior": resp.alpha_posterior * arousal, "alpha_frontal": resp.alpha_frontal * arousal,
                "beta": resp.beta * arousal, "gamma": resp.gamma * arousal}
    return Trial(person=person, amplitudes=amplitudes, background=float(BACKGROUND_UV * np.exp(0.5 * log_amp[-1])),
                 asymmetry_pre=float(person.asymmetry + TRIAL_ASYMMETRY_SD * trial_rng.standard_normal()),
                 response=response, asymmetry_shift=resp.asymmetry * MOTIVATION[spec.emotion] * spec.intensity)


def response_curve(t: np.ndarray, episode: Episode) -> np.ndarray:
    """0 before onset, 1 from ~0.5 s after it to the offset, half-way back 1 s after offset."""
    rise = 1 / (1 + np.exp(-(t - episode.onset - ERD_LATENCY_S) / 0.08))
    fall = 1 - 0.5 / (1 + np.exp(-(t - episode.offset - 1.0) / 0.5))
    return rise * fall


# ---------------------------------------------------------------- spectra

def spectrum(kind: str, f: np.ndarray, trial: Trial, rhythm: Rhythm | None = None) -> np.ndarray:
    """Power spectral shape |H(f)|^2 of one component (any scale)."""
    if kind == "background":
        highpass = (f / HIGHPASS_HZ) ** 4 / (1 + (f / HIGHPASS_HZ) ** 4)
        return highpass * (f ** 2 + 1.0) ** (-trial.person.aperiodic_exponent / 2)
    if kind == "noise":
        return np.ones_like(f)
    peak = rhythm.peak + (trial.person.alpha_frequency if rhythm.relative_to_iaf else 0.0)
    return np.exp(-0.5 * ((f - peak) / rhythm.bandwidth) ** 2)


def coloured(white: np.ndarray, power: np.ndarray) -> np.ndarray:
    """White noise rows filtered to spectral shape `power` and scaled to unit variance."""
    n = white.shape[-1]
    out = np.fft.irfft(np.fft.rfft(white) * np.sqrt(power), n=n)
    both_sides = 2 * power.sum(axis=-1) - power[..., 0] - (power[..., -1] if n % 2 == 0 else 0.0)
    return out / np.sqrt(both_sides / n)[..., None]


# ---------------------------------------------------------------- projections

@dataclass
class Projection:
    """How every generator is seen on one montage's electrodes.

    `sites` has one column per rhythm generator site (RHYTHMS order); `course` names the
    independent time course driving each site (coherent rhythms share one).
    """

    names: list[str]
    background: np.ndarray     # electrodes x background generators, unit rows
    sites: np.ndarray          # electrodes x sites
    site_rhythm: list[str]
    course: np.ndarray         # site -> course index
    course_rhythm: list[str]


def background_sites(count: int = 128) -> np.ndarray:
    """Evenly spread directions over the upper head (Fibonacci sphere, z > -0.35)."""
    i = np.arange(count) + 0.5
    z = 1 - 2 * i / count
    r = np.sqrt(1 - z ** 2)
    phi = np.pi * (1 + 5 ** 0.5) * i
    pts = np.column_stack([r * np.cos(phi), r * np.sin(phi), z])
    return pts[pts[:, 2] > -0.35]


def projection(names: list[str]) -> Projection:
    """Projections of the background and of every rhythm site onto the electrodes `names`."""
    u = unit_vectors(names)
    bg = np.exp(-0.5 * (angles(u, background_sites()) / BACKGROUND_WIDTH) ** 2)
    bg /= np.linalg.norm(bg, axis=1, keepdims=True)
    columns, site_rhythm, course, course_rhythm = [], [], [], []
    for name, rhythm in RHYTHMS.items():
        columns.append(np.exp(-0.5 * (angles(u, unit_vectors(list(rhythm.sites))) / rhythm.width) ** 2))
        for k in range(len(rhythm.sites)):
            if k == 0 or not rhythm.coherent:
                course_rhythm.append(name)
            site_rhythm.append(name)
            course.append(len(course_rhythm) - 1)
    return Projection(names, bg, np.hstack(columns), site_rhythm, np.array(course), course_rhythm)


def site_gains(trial: Trial, site_rhythm: list[str], curve: np.ndarray) -> np.ndarray:
    """Amplitude (uV) of every rhythm site over time (sites x samples).

    Log power = the trial's level + the emotion's response x `curve`; the frontal pair
    (F3, F4) splits its asymmetry: ln right - ln left = asymmetry.
    """
    level = np.array([np.log(trial.amplitudes[r] ** 2) for r in site_rhythm])
    change = np.array([trial.response.get(r, 0.0) for r in site_rhythm])
    side = np.zeros(len(site_rhythm))
    frontal = [i for i, r in enumerate(site_rhythm) if r == "alpha_frontal"]
    side[frontal] = (-0.5, 0.5)
    level = level + side * trial.asymmetry_pre
    change = change + side * trial.asymmetry_shift
    return np.exp(0.5 * (level[:, None] + change[:, None] * curve[None, :]))


# ---------------------------------------------------------------- signal and expectations

def eeg_simulate(proj: Projection, trial: Trial, episode: Episode, fs: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Scalp potentials (electrodes x samples, uV, ideal reference) of the whole episode."""
    n = int(round(episode.duration * fs))
    f = np.fft.rfftfreq(n, 1 / fs)
    gains = site_gains(trial, proj.site_rhythm, response_curve(np.arange(n) / fs, episode))
    # Background generators share one spectrum, so mixing white noise first and colouring
    # each electrode afterwards is the same process at a fraction of the FFTs.
    white = proj.background @ rng.standard_normal((proj.background.shape[1], n))
    x = trial.background * coloured(white, spectrum("background", f, trial)[None])
    shapes = np.stack([spectrum("rhythm", f, trial, RHYTHMS[r]) for r in proj.course_rhythm])
    waves = coloured(rng.standard_normal((len(proj.course_rhythm), n)), shapes)
    x += proj.sites @ (gains * waves[proj.course])
    x += NOISE_UV * rng.standard_normal((len(proj.names), n))
    return x


def expected_band_powers(proj: Projection, trial: Trial, episode: Episode, fs: int,
                         windows: dict[str, tuple[int, int]], kernel: "WelchKernel",
                         ) -> dict[str, dict[str, np.ndarray]]:
    """Expected Welch band power (uV^2) of every average-referenced channel, per window and band."""
    n = int(round(episode.duration * fs))
    gains = site_gains(trial, proj.site_rhythm, response_curve(np.arange(n) / fs, episode))
    referenced = proj.sites - proj.sites.mean(axis=0, keepdims=True)
    bg_level = trial.background ** 2 * ((proj.background - proj.background.mean(axis=0)) ** 2).sum(axis=1)
    noise_level = NOISE_UV ** 2 * (1 - 1 / len(proj.names))
    static = {b: bg_level * p + noise_level * q for b, p, q in
              zip(BANDS, kernel.band_powers(lambda f: spectrum("background", f, trial)).values(),
                  kernel.band_powers(lambda f: spectrum("noise", f, trial)).values())}
    rhythm_bp = {name: kernel.band_powers(lambda f, r=r: spectrum("rhythm", f, trial, r)) for name, r in RHYTHMS.items()}
    course_bp = [rhythm_bp[name] for name in proj.course_rhythm]
    out = {}
    for w, (a, b) in windows.items():
        out[w] = {band: static[band].copy() for band in BANDS}
        g = gains[:, a:b]
        for c, bp in enumerate(course_bp):
            k = np.flatnonzero(proj.course == c)
            gram = g[k] @ g[k].T / g.shape[1]            # mean of g_k g_l over the window
            level = np.einsum("ck,kl,cl->c", referenced[:, k], gram, referenced[:, k])
            for band in BANDS:
                out[w][band] += level * bp[band]
    return out


class WelchKernel:
    """What a Welch estimate (Hann segments of `nperseg`, no detrending) sees of a spectrum.

    The expected periodogram is the true spectrum convolved with the window's spectral
    kernel; band powers sum it over the band's bins, like `factory.eeg.measure.band_powers`.
    """

    def __init__(self, fs: int, nperseg: int, oversample: int = 16):
        from scipy.signal import get_window

        self.fs = fs
        m = oversample * nperseg
        self.grid = np.fft.fftfreq(m, 1 / fs)                     # -fs/2 .. fs/2, spacing fs/m
        w = get_window("hann", nperseg)
        kern = np.abs(np.fft.fft(w, m)) ** 2
        self.kernel_fft = np.fft.fft(kern / kern.sum())           # sums to 1 over the grid
        self.bins = np.arange(nperseg // 2 + 1) * oversample       # grid index of each Welch bin
        self.freqs = np.fft.rfftfreq(nperseg, 1 / fs)
        step = self.freqs[1] - self.freqs[0]
        self.masks = {b: (self.freqs >= lo) & (self.freqs < hi) for b, (lo, hi) in BANDS.items()}
        self.step = step

    def band_powers(self, shape) -> dict[str, float]:
        """Expected band powers of a unit-variance process with spectral shape `shape(f)`."""
        one_sided = shape(np.abs(self.grid))
        density = one_sided / (one_sided.sum() * (self.fs / len(self.grid)))   # two-sided, variance 1
        smoothed = np.real(np.fft.ifft(np.fft.fft(density) * self.kernel_fft))
        welch = 2 * smoothed[self.bins]                            # one-sided periodogram
        return {b: float(welch[m].sum() * self.step) for b, m in self.masks.items()}
