"""Speech with Coqui TTS (the maintained ``coqui-tts`` package, ``from TTS.api import TTS``).

``model`` is either a Coqui model name (``tts_models/en/ljspeech/vits``, from Coqui's model
list, which must already be in its local model folder) or a local path: a folder holding
``config.json`` and a checkpoint (``model.pth``, ``best_model.pth``, ``checkpoint_*.pth``), or
the checkpoint file itself with ``config.json`` beside it; it is loaded with
``TTS(model_path=..., config_path=...)``. Multi-speaker models get the recipe's ``speaker`` or
one speaker per identity; multilingual models get the locale's language. Coqui's own
``emotion`` argument only worked with the discontinued Coqui Studio, so emotion comes from the
shared prosody transform (`factory.speech.neural`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from factory.errors import FactoryError
from factory.speech.neural import NeuralSpeechGenerator
from factory.models import looks_like_path
from factory.speech.text import language

CHECKPOINT_NAMES = ("model.pth", "best_model.pth", "model_file.pth", "checkpoint.pth")


class CoquiSpeechGenerator(NeuralSpeechGenerator):
    """Speech from a Coqui TTS model; see the module docstring."""

    backend = "coqui"
    licence = "Coqui TTS (MPL-2.0); the model's own licence applies to its voices (often non-commercial); emotion stage: WORLD via pyworld (MIT)"

    def versions(self) -> dict[str, str]:
        """coqui-tts and torch versions, plus the models used."""
        from importlib.metadata import version
        import torch
        models = {f"model:{k}": v for k, v in {"*": self.settings.model, **(self.settings.models or {})}.items() if v}
        return {**super().versions(), "coqui-tts": version("coqui-tts"), "torch": torch.__version__, **models}

    def resolve(self, ref: str, field: str) -> str:
        """A checkpoint path (local) or a model name found in Coqui's local model folder."""
        if looks_like_path(ref):
            checkpoint_and_config(ref, field)
            return ref
        return _cached_model_name(ref, field)

    def load(self, path: str) -> Any:
        """A `TTS` object for a checkpoint path or a (cached) model name."""
        from TTS.api import TTS
        gpu = self.device().startswith("cuda")
        if looks_like_path(path):
            checkpoint, config = checkpoint_and_config(path, "modalities.speech.model")
            tts = TTS(model_path=checkpoint, config_path=config, progress_bar=False)
        else:
            tts = TTS(model_name=path, progress_bar=False)
        return tts.to("cuda") if gpu else tts

    def speakers(self, model: Any) -> list[str]:
        """The model's speaker names (multi-speaker models)."""
        return list(model.speakers or []) if model.is_multi_speaker else []

    def speak(self, model: Any, text: str, speaker: str | None, locale: str) -> tuple[np.ndarray, int]:
        """Synthesize with the model (seeded by the caller)."""
        kwargs: dict[str, Any] = {"split_sentences": False}
        if speaker is not None:
            kwargs["speaker"] = speaker
        if model.is_multi_lingual:
            kwargs["language"] = _language_of(model, locale)
        wav = model.tts(text, **kwargs)
        return np.asarray(wav, dtype=np.float32).reshape(-1), int(model.synthesizer.output_sample_rate)


def checkpoint_and_config(ref: str, field: str) -> tuple[str, str]:
    """The checkpoint file and config.json of a local Coqui model (FactoryError if missing)."""
    path = Path(ref).expanduser()
    if not path.exists():
        raise FactoryError(f"{field}: Coqui model path {ref!r} does not exist")
    folder = path if path.is_dir() else path.parent
    config = folder / "config.json"
    if not config.exists():
        raise FactoryError(f"{field}: no config.json next to the Coqui model {ref!r}")
    if path.is_file():
        return str(path), str(config)
    found = [folder / n for n in CHECKPOINT_NAMES if (folder / n).exists()] or sorted(folder.glob("checkpoint_*.pth"))
    if not found:
        raise FactoryError(f"{field}: no checkpoint in {ref!r} (looked for {', '.join(CHECKPOINT_NAMES)}, "
                           f"checkpoint_*.pth)")
    return str(found[0]), str(config)


def _cached_model_name(name: str, field: str) -> str:
    """`name` if Coqui knows it and it is already downloaded; else a FactoryError saying how."""
    from TTS.utils.manage import ModelManager
    manager = ModelManager(progress_bar=False)
    try:
        _item, full_name, _model = manager._set_model_item(name)
    except (ValueError, KeyError, IndexError):
        raise FactoryError(f"{field}: {name!r} is neither an existing path nor a Coqui TTS model name "
                           f"(list them with `tts --list_models`)") from None
    folder = Path(manager.output_prefix) / full_name
    if not (folder.exists() and any(folder.iterdir())):
        raise FactoryError(
            f"{field}: Coqui model {name!r} is not downloaded (looked in {folder}); the factory does not "
            f"download during a run: pre-download it with `python -c \"from TTS.api import TTS; TTS('{name}')\"` "
            f"(set TTS_HOME to choose the folder), or give a local checkpoint path")
    return name


def _language_of(model: Any, locale: str) -> str:
    langs = list(model.languages or [])
    for candidate in (locale, locale.lower(), language(locale)):
        if candidate in langs:
            return candidate
    raise FactoryError(f"population.locale: the Coqui model has no language for {locale}; it has: {', '.join(langs)}")

