"""Transcripts: what each synthetic person says.

Two modes (recipe ``modalities.speech.text``):

* ``neutral``: lexically neutral carrier sentences, several per language, the practice of acted
  corpora (CREMA-D, RAVDESS, EmoDB) so that emotion is carried by the voice alone;
* ``congruent``: lines whose words fit the emotion, from a template bank per language and
  emotion, or, when ``text_model`` is set, written by a transformers text-generation model
  (any model id or local path) and checked against a length budget.

The banks live in ``factory/data/speech/transcripts.json``. The choice per sample is drawn from
the sample's own random stream, so it is deterministic.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Iterable

from factory.errors import FactoryError
from factory.spec import SampleSpec

LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "ru": "Russian", "tr": "Turkish", "id": "Indonesian",
    "sw": "Swahili", "hi": "Hindi", "ar": "Arabic", "zh": "Chinese",
}
MAX_GENERATED_CHARS = 140


@lru_cache(maxsize=1)
def banks() -> dict:
    """The transcript banks: ``{"neutral": {lang: [...]}, "congruent": {lang: {emotion: [...]}}}``."""
    text = resources.files("factory").joinpath("data/speech/transcripts.json").read_text(encoding="utf-8")
    return json.loads(text)


def language(locale: str) -> str:
    """The ISO 639 language of a BCP-47 locale (``zh-CN`` -> ``zh``)."""
    return str(locale).split("-")[0].lower()


def supported_locales_note(mode: str) -> str:
    """Human-readable list of the languages a mode has lines for."""
    return ", ".join(sorted(banks()[mode]))


class Transcripts:
    """Chooses (or writes) the transcript of each sample."""

    def __init__(self, mode: str, model: str | None = None, device: str = "auto") -> None:
        self.mode = mode
        self.model = model
        self.device = device
        self._pipe = None

    # ------------------------------------------------------------ checks
    def preflight(self, locales: Iterable[str], emotions: Iterable[str]) -> None:
        """Every locale (and, for congruent lines, every emotion) has lines; the model exists."""
        bank = banks()[self.mode]
        missing = sorted({str(loc) for loc in locales if language(loc) not in bank})
        if missing:
            raise FactoryError(
                f"modalities.speech.text: no {self.mode} transcripts for locale(s) {', '.join(missing)}; "
                f"languages with {self.mode} lines: {supported_locales_note(self.mode)}")
        if self.mode == "congruent":
            for loc in locales:
                lacking = [e for e in emotions if e not in bank[language(loc)]]
                if lacking:
                    raise FactoryError(f"modalities.speech.text: no congruent lines for emotion(s) "
                                       f"{', '.join(lacking)} in {loc}")
        if self.model:
            from factory.models import resolve
            resolve(self.model, "modalities.speech.text_model", "config.json")

    def candidates(self, locale: str, emotion: str) -> list[str]:
        """The bank lines a sample of this locale and emotion may get."""
        bank = banks()[self.mode][language(locale)]
        return list(bank[emotion] if self.mode == "congruent" else bank)

    # ------------------------------------------------------------ choice
    def choose(self, spec: SampleSpec, max_chars: int = MAX_GENERATED_CHARS) -> tuple[str, str]:
        """The transcript of `spec` and its source (``bank`` or ``model``); a model-written line
        is cut to `max_chars` (the length the episode has room for)."""
        rng = spec.rng("text")
        locale = str(spec.get("locale", "en-US"))
        lines = self.candidates(locale, spec.emotion)
        fallback = lines[int(rng.integers(len(lines)))]
        if self.mode == "congruent" and self.model:
            written = self._write(locale, spec.emotion, int(rng.integers(2**31 - 1)), max_chars)
            if written:
                return written, "model"
        return fallback, "bank"

    def _write(self, locale: str, emotion: str, seed: int, max_chars: int) -> str:
        """One line from the text-generation model, cleaned; empty if it wrote nothing usable."""
        import torch
        pipe = self._pipeline()
        lang = LANGUAGE_NAMES.get(language(locale), locale)
        prompt = f"One short sentence in {lang} that a person feeling {emotion} says out loud:\n\""
        torch.manual_seed(seed)
        out = pipe(prompt, max_new_tokens=32, do_sample=True, top_p=0.95, temperature=0.9,
                   return_full_text=False, pad_token_id=pipe.tokenizer.eos_token_id)
        return clean_line(out[0]["generated_text"], min(max_chars, MAX_GENERATED_CHARS))

    def _pipeline(self):
        if self._pipe is None:
            from transformers import pipeline
            from factory.models import pick_device, resolve
            path = str(resolve(self.model, "modalities.speech.text_model", "config.json"))
            self._pipe = pipeline("text-generation", model=path, device=pick_device(self.device, "modalities.speech.device"))
        return self._pipe


def clean_line(text: str, max_chars: int = MAX_GENERATED_CHARS) -> str:
    """First sentence of generated text: one line, no quotes, at most `max_chars` characters."""
    line = "".join(ch for ch in text if ch.isprintable() or ch == "\n").replace("\ufffd", "")
    line = line.strip().split("\n")[0].strip().strip('"“”«»').strip()
    match = re.search(r"^(.+?[.!?。！？])(\s|$)", line)
    if match:
        line = match.group(1)
    if len(line) > max_chars:
        cut = line[:max_chars + 1]
        line = cut.rsplit(" ", 1)[0] if " " in cut else cut[:max_chars]
    return line if any(ch.isalpha() for ch in line) else ""
