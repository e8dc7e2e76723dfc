"""What the neural speech backends (transformers, Coqui TTS) share.

A neural model speaks one voice per speaker and has no prosody controls of its own we can rely
on, so its (seeded) output is neutral speech, and the emotion stage every backend shares
(`factory.speech.emotion_stage`, on unless the recipe says ``emotion_stage: false``) makes all
of the emotion: F0, tempo, level and voice quality.

Models: ``model`` serves every locale; ``models`` (locale -> id or path) overrides it per
locale, e.g. one MMS VITS model per language. Each is resolved to a local path in preflight
(`factory.models`), and loaded once per process.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from pydantic import Field

from factory.speech import prosody
from factory.errors import FactoryError
from factory.speech.base import Plan, Rendered, SpeechGenerator, SpeechSettings
from factory.spec import SampleSpec
from factory.speech.text import banks

REFERENCE_LEVEL_DB = -26.0   # model output is normalized to this active level, dBFS


class NeuralSpeechSettings(SpeechSettings):
    """Speech from a neural text-to-speech model."""

    model: Optional[str] = None              # model id or local path, every locale
    models: dict[str, str] = Field(default_factory=dict)  # locale -> model id/path (overrides `model`)
    speaker: Optional[str] = None            # multi-speaker models: a fixed speaker (default: one per identity)
    device: str = "auto"


class NeuralSpeechGenerator(SpeechGenerator):
    """Base of the neural backends: model per locale, seeding, speaker per identity."""

    Settings = NeuralSpeechSettings
    model_keys = ("model", "text_model", "models")

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self._models: dict[str, Any] = {}

    # ------------------------------------------------------------ subclass hooks
    def load(self, path: str) -> Any:
        """Load the model at a resolved local path; override."""
        raise NotImplementedError

    def resolve(self, ref: str, field: str) -> str:
        """A local path for a model reference (FactoryError if unavailable); override if needed."""
        from factory.models import resolve
        return str(resolve(ref, field, "config.json"))

    def speakers(self, model: Any) -> list[str]:
        """Speaker names of a multi-speaker model ([] if single-speaker); override."""
        return []

    def speak(self, model: Any, text: str, speaker: str | None, locale: str) -> tuple[np.ndarray, int]:
        """Synthesize `text` (random state already seeded) -> mono float audio, rate; override."""
        raise NotImplementedError

    # ------------------------------------------------------------ shared
    def model_ref(self, locale: str) -> tuple[str, str]:
        """The model reference for `locale` and the recipe field it came from."""
        models = self.settings.models or {}
        if locale in models:
            return models[locale], f"modalities.speech.models.{locale}"
        if self.settings.model:
            return self.settings.model, "modalities.speech.model"
        raise FactoryError(
            f"modalities.speech: the {self.backend} backend needs a model for locale {locale}: set `model` "
            f"(a model id or local path, used for every locale) or `models: {{{locale}: ...}}`")

    def supported_locales(self) -> list[str]:
        """With `model` set: every locale with transcripts; otherwise the keys of `models`."""
        if self.settings.model:
            return sorted({loc for loc in self.settings.models} | set(banks()["neutral"]))
        return sorted(self.settings.models)

    def check_locales(self, locales: Sequence[str]) -> None:
        """Every locale has a model (transcripts are checked separately)."""
        for locale in locales:
            self.model_ref(locale)

    def check_backend(self) -> None:
        """Each model reference resolves to a local model now, not mid-run."""
        refs = {(ref, field) for ref, field in
                [(self.settings.model, "modalities.speech.model")] +
                [(v, f"modalities.speech.models.{k}") for k, v in (self.settings.models or {}).items()] if ref}
        for ref, field in sorted(refs):
            self.resolve(ref, field)
        self.device()

    def model_for(self, locale: str) -> tuple[Any, str]:
        """The loaded model for `locale` (cached) and its reference."""
        ref, field = self.model_ref(locale)
        if ref not in self._models:
            self._models[ref] = self.load(self.resolve(ref, field))
        return self._models[ref], ref

    def speaker_for(self, spec: SampleSpec, model: Any) -> str | None:
        """The recipe's `speaker`, or one drawn per identity from the model's speakers."""
        names = self.speakers(model)
        if self.settings.speaker:
            if names and self.settings.speaker not in names:
                raise FactoryError(f"modalities.speech.speaker: {self.settings.speaker!r} is not a speaker of "
                                   f"the model; it has: {', '.join(names[:20])}{' ...' if len(names) > 20 else ''}")
            return self.settings.speaker
        if not names:
            return None
        return names[int(spec.identity_rng("voice").integers(len(names)))]

    def render(self, plans: Sequence[Plan]) -> list[Rendered]:
        """Seeded model output, its silences trimmed and its level normalized."""
        import torch
        out = []
        for plan in plans:
            model, ref = self.model_for(plan.locale)
            speaker = self.speaker_for(plan.spec, model)
            torch.manual_seed(int(plan.spec.rng("speech").integers(2**31 - 1)))
            audio, sr = self.speak(model, plan.text, speaker, plan.locale)
            audio = np.asarray(audio, dtype=np.float32).reshape(-1)
            lo, hi = prosody.active_span(audio, sr)
            voice = f"{ref}:{speaker}" if speaker else ref
            out.append(Rendered(_normalize(audio[lo:hi], sr), sr, voice))
        return out

    def device(self) -> str:
        """The torch device to run on (``auto``: CUDA when present)."""
        from factory.models import pick_device
        return pick_device(self.settings.device, "modalities.speech.device")

def _normalize(audio: np.ndarray, sr: int) -> np.ndarray:
    """`audio` at `REFERENCE_LEVEL_DB` (active RMS), the level eSpeak NG speaks at, leaving room
    for +6 dB below full scale."""
    lo, hi = prosody.active_span(audio, sr)
    rms = float(np.sqrt(np.mean(audio[lo:hi] ** 2))) if hi > lo else 0.0
    return audio * (10 ** (REFERENCE_LEVEL_DB / 20) / rms) if rms > 0 else audio
