"""Physiology of one emotional episode with neurokit2: ECG, PPG, EDA, RSP and EMG.

Data flows one way through `factory.physiology`: `response` draws what the episode should do
(baseline, person profile, trial variability, habituation), `artifacts.plan` what goes wrong,
`simulate` makes coupled clean signals (breathing -> heartbeats -> ECG and PPG; EDA; EMG),
`artifacts.add_artifacts` spoils them, and `measure` measures the recorded signals with
neurokit2's processing. Targets, measurements, artifacts and the response draw go to the labels.
"""
from __future__ import annotations

import io
from typing import Any, Literal, Mapping, Sequence

import neurokit2 as nk
import numpy as np
from pydantic import Field, field_validator, model_validator

from factory.errors import FactoryError
from factory.generators import GeneratorSettings, OutputFile, SampleParts
from factory.physiology import artifacts, simulate
from factory.physiology.measure import MINIMUM_AFTER_ONSET, measure
from factory.physiology.response import episode_targets
from factory.spec import SampleSpec

SIGNAL_NAMES = {"ecg": "electrocardiogram (ECG)", "ppg": "photoplethysmogram (PPG)",
                "eda": "electrodermal activity (EDA)", "rsp": "respiration (RSP)", "emg": "electromyogram (EMG)"}
SIGNALS = tuple(SIGNAL_NAMES)
TOLERANCE = {"heart_rate": 5.0, "heart_rate_change": 4.0, "resp_rate": 3.0, "scr_count": 1, "scl": 1.0,
             "scl_change": 0.5, "emg_bursts": 1}


class PhysiologySettings(GeneratorSettings):
    """Physiological signals of the whole episode (neurokit2 simulators).

    `variability`: how much responses differ between persons, trials and repetitions
    (`factory.affect.VARIABILITY`; `realistic` makes emotions about as separable across persons
    as in published studies, `low` easier, `high` harder). `artifacts`: recording artifacts and
    noise (`factory.affect.ARTIFACTS`; `none` gives clean signals).
    """

    backend: str = "neurokit2"
    signals: list[Literal[SIGNALS]] = Field(default_factory=lambda: list(SIGNALS))
    sampling_rate: int = Field(256, ge=64, le=4000)
    variability: Literal["low", "realistic", "high"] = "realistic"
    artifacts: Literal["none", "light", "realistic"] = "realistic"

    @model_validator(mode="after")
    def _emg_rate(self):
        if "emg" in self.signals and self.sampling_rate < 250:
            raise ValueError(f"EMG needs sampling_rate >= 250 Hz (neurokit2's EMG cleaning high-passes at "
                             f"100 Hz), got {self.sampling_rate}; raise the rate or drop emg from signals")
        return self

    @field_validator("signals")
    @classmethod
    def _unique_signals(cls, v):
        if not v:
            raise ValueError(f"list at least one signal of {list(SIGNALS)}")
        if len(set(v)) != len(v):
            raise ValueError("a signal is listed twice")
        return v


class PhysiologyGenerator:
    """ECG, PPG, EDA, RSP and EMG of the whole episode, measured with neurokit2."""

    modality = "physiology"
    backend = "neurokit2"
    Settings = PhysiologySettings
    files = (OutputFile("physio.npy", "application/x-npy",
                        "physiological signals of the whole episode, channels x samples, float32 "
                        "(channel names, units and sampling rate in the JSON)"),)
    licence = "neurokit2 (MIT) simulators and processing; signals are synthetic"

    def __init__(self, settings) -> None:
        self.signals = list(settings.signals)
        self.rate = int(settings.sampling_rate)
        self.variability = settings.variability
        self.artifacts = settings.artifacts

    def preflight(self, levels: Mapping[str, Sequence[Any]]) -> None:
        """Refuse episodes too short for every measure of the requested signals (a measure that
        is merely unreliable at this length gives NaN with a note instead; docs/affect.md)."""
        wanted = [k for k in MINIMUM_AFTER_ONSET if _uses(k, self.signals)]
        for ep in levels.get("episode", []):
            after = ep.duration - ep.onset
            if wanted and all(after < MINIMUM_AFTER_ONSET[k] for k in wanted):
                need = min(MINIMUM_AFTER_ONSET[k] for k in wanted)
                raise FactoryError(f"episode: only {after:g} s from onset ({ep.onset:g}) to the end ({ep.duration:g}); "
                                   f"no physiology measure of {self.signals} works under {need:g} s; lengthen "
                                   f"episode.duration or move episode.onset earlier")

    def versions(self) -> dict[str, str]:
        """neurokit2's version."""
        return {"neurokit2": nk.__version__}

    def summary(self) -> str:
        """The signals by name, and how they vary and misbehave (for the datasheet)."""
        return (", ".join(SIGNAL_NAMES[s] for s in self.signals)
                + f"; response variability {self.variability}, recording artifacts {self.artifacts}")

    def generate(self, specs: Sequence[SampleSpec]) -> list[SampleParts]:
        """One multichannel recording per spec."""
        return [self.generate_one(spec) for spec in specs]

    def generate_one(self, spec: SampleSpec) -> SampleParts:
        """Simulate, spoil, measure and encode one episode."""
        targets = episode_targets(spec, self.variability)
        channels, got = record(targets, self.signals, self.rate, spec, self.artifacts)
        measured, notes = measure(channels, targets, self.rate)
        data = np.stack([channels[n] for n in self.signals]).astype(np.float32)
        buf = io.BytesIO()
        np.save(buf, data, allow_pickle=False)
        shown = {k: v for k, v in targets.items() if k in _LABEL_KEYS[0] and _uses(k, self.signals)}
        tolerance = {k: tolerance_of(k, targets) for k in shown if k in TOLERANCE}
        # NaN (not measurable) never meets its target; every sample has the same keys and types.
        met = {k: bool(abs(measured.get(k, float("nan")) - shown[k]) <= tol) for k, tol in tolerance.items()}
        labels = {
            "channels": self.signals, "sampling_rate": self.rate, "unit": _units(self.signals),
            "target": shown, "measured": {k: measured.get(k, float("nan")) for k in shown},
            "baseline": {k: targets[k] for k in _LABEL_KEYS[1]}, "response": {k: targets[k] for k in _LABEL_KEYS[2]},
            "artifacts": got, "tolerance": tolerance, "met": met, "notes": "; ".join(notes),
        }
        return SampleParts(files={"physio.npy": buf.getvalue()}, labels=labels)


def tolerance_of(key: str, targets: dict) -> float:
    """How far a measured value may be from its target and still meet it.

    Heart rate is averaged over windows of a few seconds, shorter than a breath, so its mean
    carries part of the person's respiratory sinus arrhythmia wherever in the breath the window
    falls: the person's RSA half-swing (larger in the young) is added to the fixed tolerance,
    or young persons would miss their targets more often for a reason that is not a miss.
    """
    if key in ("heart_rate", "heart_rate_change"):
        return round(TOLERANCE[key] + float(targets["rsa"]), 3)
    return float(TOLERANCE[key])


def record(tg: dict, signals: list[str], fs: int, spec: SampleSpec, level: str) -> tuple[dict, dict[str, bool]]:
    """The recorded signals of one episode and which artifacts each got.

    One random stream per signal (and one each for the heart and the breathing, which are
    always simulated), so adding, dropping or reordering a signal never changes another.
    """
    rng = lambda name: spec.rng(f"physiology.{name}")   # noqa: E731
    plans = {s: artifacts.plan(s, level, rng(f"artifacts.{s}")) for s in signals}
    breath_events = plans["rsp"] if "rsp" in plans else artifacts.plan("rsp", level, rng("artifacts.rsp"))
    breathing = simulate.rsp_simulate(tg, fs, rng("breathing"), breath_events)
    clean: dict[str, np.ndarray] = {}
    if "ecg" in signals or "ppg" in signals:
        heart = simulate.heartbeats(tg, fs, rng("heart"), breathing)
        for name, sim in (("ecg", simulate.ecg_simulate), ("ppg", simulate.ppg_simulate)):
            if name in signals:
                clean[name] = simulate.crop(sim(tg, fs, rng(name), heart, breathing), tg, fs)
    if "rsp" in signals:
        clean["rsp"] = simulate.crop(breathing, tg, fs)
    for name, sim in (("eda", simulate.eda_simulate), ("emg", simulate.emg_simulate)):
        if name in signals:
            clean[name] = sim(tg, fs, rng(name))
    mains = artifacts.mains_frequency(spec.get("locale"))
    channels = {s: artifacts.add_artifacts(s, clean[s], fs, plans[s], rng(f"artifacts.{s}.noise"), mains)
                for s in signals}
    got = {name: name in plans[s] for s in signals for name in artifacts.names_for(s)}
    return channels, got


_LABEL_KEYS = (("heart_rate", "heart_rate_change", "sdnn", "scl", "scl_change", "scr_count", "resp_rate", "emg_bursts"),
               ("heart_rate_baseline", "resp_rate_baseline", "scl_baseline", "responder"),
               ("latency", "elicited", "low_reactor", "rsa", "pulse_arrival"))
_NEEDS = {"heart_rate": ("ecg", "ppg"), "heart_rate_change": ("ecg",), "sdnn": ("ecg",), "scl": ("eda",),
          "scl_change": ("eda",), "scr_count": ("eda",),
          "resp_rate": ("rsp",), "emg_bursts": ("emg",)}


def _uses(key: str, signals: list[str]) -> bool:
    return any(s in signals for s in _NEEDS[key])


def _units(signals: list[str]) -> dict[str, str]:
    units = {"ecg": "mV", "ppg": "a.u.", "eda": "uS", "rsp": "a.u.", "emg": "mV"}
    return {s: units[s] for s in signals}
