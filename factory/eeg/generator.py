"""Simulated scalp EEG of one emotional episode, measured on its own output.

Set in a recipe as::

    modalities:
      eeg:
        montage: deap-32          # deap-32, seed-62, emotiv-14, 10-20-19
        # channels: [Fp1, Fp2, F3, F4, ...]   # or any 10-20/10-10/10-05 names instead
        sampling_rate: 128
        artifacts: realistic      # none | realistic

Each sample gets ``KEY.eeg.npy`` (float32, channels x samples, microvolts, average
reference, the whole episode) and an ``eeg`` block in ``KEY.json``: channel names, rate,
unit, reference, montage, `target` (what the simulation is expected to show), `measured`
(what the output shows), `met`, the person's EEG traits and the artifacts put in.
"""
from __future__ import annotations

import io
from functools import cached_property
from typing import Any, Literal, Mapping, Optional, Sequence

import numpy as np
import scipy
from pydantic import Field, field_validator, model_validator

from factory.eeg import montages
from factory.eeg.artifacts import eeg_artifacts, no_artifacts
from factory.eeg.measure import TOP_HZ, eeg_measure, summarise, windows
from factory.eeg.simulate import WelchKernel, eeg_simulate, eeg_trial, expected_band_powers, projection
from factory.errors import FactoryError
from factory.physiology.artifacts import mains_frequency
from factory.generators import GeneratorSettings, OutputFile, SampleParts, episodes_of
from factory.spec import Episode, SampleSpec

MIN_RATE = int(2 * TOP_HZ)
MIN_WINDOW_S = 1.0
# Within tolerance = the measurement agrees with the expectation up to what a 10-s episode's
# estimation noise allows (about 2.5 SD over clean default samples, see docs/eeg.md). `met`
# mirrors the target's keys: iaf, faa_change, change.<band>.<region> for the emotion effects,
# and power (every regional band power within a factor e^0.6).
TOLERANCE = {"iaf": 0.5, "faa_change": 0.75, "alpha": 0.75, "beta": 0.3, "gamma": 0.3, "power": 0.6}
MET_CHANGES = (("alpha", "posterior"), ("beta", "central"), ("gamma", "central"))


class EEGSettings(GeneratorSettings):
    """Scalp EEG of the whole episode (simulated: 1/f background, rhythms, emotion effects)."""

    backend: str = "simulated"
    montage: Optional[str] = None            # a preset; default deap-32 when `channels` is not given
    channels: Optional[list[str]] = None     # 10-20/10-10/10-05 names, instead of a preset
    sampling_rate: int = Field(128, le=4096)
    artifacts: Literal["none", "realistic"] = "realistic"
    line_frequency: Optional[Literal[50, 60]] = None   # mains; None: from the sample's locale, like the ECG's

    @field_validator("montage")
    @classmethod
    def _known_montage(cls, v):
        if v is not None and v not in montages.PRESETS:
            raise ValueError(f"unknown montage {v!r}{montages.suggest(v, montages.PRESETS)}; presets: "
                             f"{', '.join(montages.PRESETS)} (or list electrodes under `channels:` instead)")
        return v

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, v):
        if v is None:
            return v
        names, unknown = montages.resolve([str(c) for c in v])
        if unknown:
            which = ", ".join(f"{c!r}{montages.suggest(c)}" for c in unknown)
            raise ValueError(f"unknown channel name(s) {which}; use 10-20/10-10/10-05 names as in MNE's "
                             f"standard_1005 montage (Fp1, AF3, FCz, T7, PO8, ...) or a preset `montage:` "
                             f"{', '.join(montages.PRESETS)}")
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"channel(s) listed twice: {', '.join(twice)}")
        if len(names) < 2:
            raise ValueError("list at least 2 channels (the recording is average-referenced)")
        return names

    @field_validator("sampling_rate")
    @classmethod
    def _nyquist(cls, v):
        if v < MIN_RATE:
            raise ValueError(f"sampling_rate {v} Hz is below 2 x {TOP_HZ:g} Hz, the top of the gamma band the "
                             f"labels measure; use at least {MIN_RATE} Hz (DEAP and DREAMER: 128)")
        return v

    @model_validator(mode="after")
    def _one_layout(self):
        if self.montage is not None and self.channels is not None:
            raise ValueError(f"montage ({self.montage!r}) and channels are both given; keep one: a preset "
                             f"`montage:` or your own `channels:` list")
        return self

    def electrodes(self) -> tuple[list[str], str]:
        """Channel names and the montage label ('custom' for an explicit list)."""
        if self.channels is not None:
            return list(self.channels), "custom"
        name = self.montage or "deap-32"
        return list(montages.PRESETS[name]), name


class EEGGenerator:
    """Simulated EEG (1/f background, topographic rhythms, emotion effects, artifacts)."""

    modality = "eeg"
    backend = "simulated"
    Settings = EEGSettings
    files = (OutputFile("eeg.npy", "application/x-npy",
                        "scalp EEG of the whole episode, channels x samples, float32, microvolts, average "
                        "reference (channel names, montage and sampling rate in the JSON)"),)
    licence = "Apache-2.0 (affect-factory); electrode positions from MNE-Python (BSD-3-Clause)"

    def __init__(self, settings: EEGSettings) -> None:
        self.channels, self.montage = settings.electrodes()
        self.rate = int(settings.sampling_rate)
        self.artifacts = settings.artifacts
        self.line_frequency = settings.line_frequency

    @cached_property
    def projection(self):
        """How every generator is seen on this montage (computed once)."""
        return projection(self.channels)

    @cached_property
    def kernel(self) -> WelchKernel:
        """The Welch estimator's spectral window (for the expected band powers)."""
        return WelchKernel(self.rate, self.rate)

    def preflight(self, levels: Mapping[str, Sequence[Any]]) -> None:
        """Refuse timelines too short to measure before and after the onset."""
        for episode in episodes_of(levels):
            win = windows(episode, self.rate)
            for name, (a, b) in win.items():
                if (b - a) / self.rate < MIN_WINDOW_S:
                    raise FactoryError(
                        f"modalities.eeg: the episode leaves {(b - a) / self.rate:.2f} s {name}-onset "
                        f"(EEG measures 0..onset and onset+0.5 s..offset, each needs >= {MIN_WINDOW_S:g} s); "
                        f"lengthen episode.onset or episode.offset")

    def summary(self) -> str:
        """Montage, channels, rate and artifacts (for the datasheet)."""
        artifacts = "with blinks, saccades, muscle and line noise" if self.artifacts == "realistic" else "no artifacts"
        return (f"simulated scalp EEG, {self.montage} montage, {len(self.channels)} channels at {self.rate} Hz, "
                f"average reference, {artifacts}")

    def versions(self) -> dict[str, str]:
        """numpy and scipy versions (simulation and Welch measurement)."""
        return {"numpy": np.__version__, "scipy": scipy.__version__}

    def generate(self, specs: Sequence[SampleSpec]) -> list[SampleParts]:
        """One recording per spec."""
        return [self.generate_one(spec) for spec in specs]

    def generate_one(self, spec: SampleSpec) -> SampleParts:
        """Simulate, contaminate, re-reference, measure and encode one episode."""
        trial = eeg_trial(spec)
        x = eeg_simulate(self.projection, trial, spec.episode, self.rate, spec.rng("eeg.signal"))
        events = no_artifacts()
        if self.artifacts == "realistic":
            mains = self.line_frequency or mains_frequency(spec.get("locale"))
            noise, events = eeg_artifacts(self.channels, x.shape[1], self.rate, spec.rng("eeg.artifacts"),
                                          float(mains))
            x += noise
        data = (x - x.mean(axis=0, keepdims=True)).astype(np.float32)
        measured = eeg_measure(data.astype(np.float64), self.rate, self.channels, spec.episode)
        target = self.expected(trial, spec.episode)
        buf = io.BytesIO()
        np.save(buf, data, allow_pickle=False)
        labels = {
            "channels": self.channels, "sampling_rate": self.rate, "unit": "uV", "reference": "average",
            "montage": self.montage, "target": target, "measured": measured, "met": met(target, measured),
            "person": {"iaf": trial.person.alpha_frequency, "aperiodic_exponent": trial.person.aperiodic_exponent,
                       "asymmetry": trial.person.asymmetry},
            "artifacts": events,
        }
        return SampleParts(files={"eeg.npy": buf.getvalue()}, labels=labels)

    def expected(self, trial, episode: Episode) -> dict[str, Any]:
        """The targets: what a Welch measurement of this simulation is expected to give."""
        win = windows(episode, self.rate)
        powers = expected_band_powers(self.projection, trial, episode, self.rate, win, self.kernel)
        target = summarise(powers["pre"], powers["post"], self.channels)
        return {"iaf": trial.person.alpha_frequency, **target}


def met(target: dict, measured: dict) -> dict[str, Any]:
    """Whether each checked measurement is within tolerance of its target (NaN never meets)."""
    out: dict[str, Any] = {key: _close(measured[key], target[key], TOLERANCE[key]) for key in ("iaf", "faa_change")}
    out["change"] = {band: {region: _close(measured["change"][band][region], target["change"][band][region],
                                           TOLERANCE[band])} for band, region in MET_CHANGES}
    ratios = [np.log(measured["power"][b][r] / target["power"][b][r])
              for b in target["power"] for r in target["power"][b] if np.isfinite(target["power"][b][r])]
    out["power"] = bool(ratios) and all(abs(x) <= TOLERANCE["power"] for x in ratios)
    return out


def _close(a: float, b: float, tol: float) -> bool:
    return bool(np.isfinite(a) and np.isfinite(b) and abs(a - b) <= tol)
