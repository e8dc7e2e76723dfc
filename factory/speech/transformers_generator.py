"""Speech with a transformers text-to-speech model: ``pipeline("text-to-speech", model=...)``.

Any model id or local folder the pipeline accepts (e.g. VITS / MMS-TTS, one per language via
``models``). Multi-speaker VITS models get a speaker per identity (``speaker_id``). Emotion:
these models have no emotion conditioning, so the prosody transform of
`factory.speech.neural` applies (see there).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from factory.errors import FactoryError
from factory.speech.neural import NeuralSpeechGenerator


class TransformersSpeechGenerator(NeuralSpeechGenerator):
    """Speech from a transformers text-to-speech pipeline; see the module docstring."""

    backend = "transformers"
    licence = "transformers (Apache-2.0); the model's own licence applies to its voices (MMS-TTS: CC-BY-NC-4.0); emotion stage: WORLD via pyworld (MIT)"

    def versions(self) -> dict[str, str]:
        """transformers and torch versions, plus the models used."""
        import torch
        import transformers
        models = {f"model:{k}": v for k, v in {"*": self.settings.model, **(self.settings.models or {})}.items() if v}
        return {**super().versions(), "transformers": transformers.__version__, "torch": torch.__version__, **models}

    def load(self, path: str) -> Any:
        """A text-to-speech pipeline for the model folder at `path`."""
        from transformers import pipeline
        try:
            return pipeline("text-to-speech", model=path, device=self.device())
        except (OSError, ValueError, KeyError) as exc:
            raise FactoryError(f"modalities.speech.model: cannot load {path!r} as a transformers "
                               f"text-to-speech model: {exc}") from None

    def speakers(self, model: Any) -> list[str]:
        """Speaker ids of a multi-speaker model, as strings."""
        n = int(getattr(model.model.config, "num_speakers", 1) or 1)
        return [str(i) for i in range(n)] if n > 1 else []

    def speak(self, model: Any, text: str, speaker: str | None, locale: str) -> tuple[np.ndarray, int]:
        """Run the pipeline (seeded by the caller)."""
        forward = {"speaker_id": int(speaker)} if speaker is not None else {}
        out = model(text, forward_params=forward) if forward else model(text)
        return np.asarray(out["audio"], dtype=np.float32).reshape(-1), int(out["sampling_rate"])
