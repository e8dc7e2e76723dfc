"""eSpeak NG speech: the offline default (no model download, formant synthesis, many languages).

Voices. Each locale maps to an eSpeak NG language voice (`LOCALE_VOICES`). Each synthetic
person gets, from their identity stream (so it is the same in all their samples): a voice
variant by sex (``m1``-``m7`` / ``f1``-``f5``, at every age), a personal pitch level (+-3.5 % s.d.;
the variants already differ), pitch range (+-15 %) and speaking rate (+-5 % s.d.). Age shifts these
(*chosen* from the ageing-voice literature: women's F0 falls with age, men's rises slightly after 60,
and older adults speak ~10 % slower): see `age_factors`. eSpeak NG's ``grandpa`` / ``grandma``
variants are not used: their strong flutter (F0 tremor, 6-12 Hz) and weak voicing leave a third
to a half of their voiced speech unmeasurable once the emotion stage widens the range or tilts
the spectrum, so people of 65+ who drew them met their F0 and HNR targets far less often than
anyone else (`tests/test_speech.py`, docs/speech.md).

Emotion. eSpeak NG sets what it sets well, the speaking rate (words per minute, from the
emotion's `VOCAL` rate at the sample's intensity); the emotion stage
(`factory.speech.emotion_stage`) makes the rest: F0 level, range and contour, level and voice
quality. eSpeak NG's own pitch also changes its spectral balance and caps near x1.6, so the stage
starts from the voice's neutral pitch. With ``emotion_stage: false`` eSpeak NG's parameters
carry all of the prosody, as before the stage existed: pitch level through its exponential
pitch table (parameter 50 is the voice's own pitch) with a measured gain (`PITCH_GAIN`),
pitch range linearly (50 = the voice's own), volume as linear amplitude (from 45, about
-26 dBFS, so +6 dB does not clip).

Determinism. All of a shard's utterances (each person's neutral reference first, then every
sample) go through one `factory.speech.espeak_ng.synthesize` call, a fresh seeded child process.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from factory.speech import espeak_ng as espeak
from factory.speech.base import Plan, Rendered, SpeechGenerator, slowest_rate
from factory.speech.espeak_ng import LOCALE_VOICES
from factory.speech.prosody import Ratios, active_span
from factory.spec import SampleSpec

MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7")
FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5")
BASE_RATE_WPM = 175
BASE_VOLUME = 45           # about -26 dBFS: room for +6 dB (anger) below full scale
# Measured: eSpeak NG's mean F0 moves as ``2 ** (0.72 * (p - 50) / 50)`` with its pitch parameter
# p (its pitch table alone would give exponent 1; intonation contours dilute it), saturating
# near x1.63 at p = 100. We divide by this gain so ratios land on target.
PITCH_GAIN = 0.72
_WORST_IDENTITY_SLOWDOWN = 0.9 * 0.88   # slowest person (rate clipped at -10 %) at the oldest age


@dataclass(frozen=True)
class VoiceIdentity:
    """One person's eSpeak NG voice: variant and personal multipliers."""

    variant: str
    pitch: float      # F0 level multiplier
    range: float      # F0 range multiplier
    rate: float       # speaking-rate multiplier


def age_factors(age: float, sex: str) -> tuple[float, float]:
    """F0 and speaking-rate multipliers for age (*chosen*): women's F0 -2.5 %/decade after 30,
    men's +2 %/decade after 60; rate -2 %/decade after 30."""
    if sex == "female":
        f0 = 1 - 0.0025 * max(age - 30, 0)
    elif sex == "male":
        f0 = 1 + 0.002 * max(age - 60, 0)
    else:
        f0 = 1.0
    return f0, 1 - 0.002 * max(age - 30, 0)


def voice_identity(spec: SampleSpec) -> VoiceIdentity:
    """The voice of `spec`'s person, drawn from their identity stream."""
    rng = spec.identity_rng("voice")
    sex = str(spec.get("sex", "unspecified"))
    pool = {"male": MALE_VARIANTS, "female": FEMALE_VARIANTS}.get(sex, MALE_VARIANTS + FEMALE_VARIANTS)
    variant = pool[int(rng.integers(len(pool)))]
    pitch = 2 ** float(np.clip(rng.normal(0, 0.05), -0.12, 0.12))
    rng_range = float(rng.uniform(0.85, 1.15))
    rate = float(np.clip(rng.normal(1.0, 0.05), 0.9, 1.1))
    f0_age, rate_age = age_factors(spec.age, sex)
    return VoiceIdentity(variant, pitch * f0_age, rng_range, rate * rate_age)


def utterance(voice: str, person: VoiceIdentity, text: str, r: Ratios) -> espeak.Utterance:
    """eSpeak NG parameters for one utterance of `person` with prosody ratios `r`."""
    pitch = 50 + 50 * math.log2(person.pitch * r.f0_mean) / PITCH_GAIN
    return espeak.Utterance(
        voice=f"{voice}+{person.variant}", text=text,
        rate=int(round(np.clip(BASE_RATE_WPM * person.rate * r.rate, 80, 450))),
        pitch=int(round(np.clip(pitch, 0, 100))),
        range=int(round(np.clip(50 * person.range * r.f0_range, 0, 100))),
        volume=int(round(np.clip(BASE_VOLUME * 10 ** (r.intensity_db / 20), 0, 200))))


class EspeakSpeechGenerator(SpeechGenerator):
    """Speech with eSpeak NG (offline); see the module docstring."""

    backend = "espeak"
    licence = ("eSpeak NG (GPL-3.0-or-later), run as a separate library through espeakng-loader; its voices "
               "carry the same terms; emotion stage: WORLD via pyworld (MIT)")

    def supported_locales(self) -> list[str]:
        """Locales with an eSpeak NG voice and neutral transcripts."""
        return sorted(LOCALE_VOICES)

    def versions(self) -> dict[str, str]:
        """eSpeak NG (packaged library) plus the shared audio libraries."""
        return {**super().versions(), "espeak-ng": espeak.library_version()}

    def render(self, plans: Sequence[Plan]) -> list[Rendered]:
        """Every plan of the shard in one seeded child process: at the emotion's rate (the stage
        does the rest), or with all of eSpeak NG's own prosody when the stage is off."""
        calls, names = [], []
        for p in plans:
            person = voice_identity(p.spec)
            voice = LOCALE_VOICES[p.locale]
            own = Ratios(1.0, 1.0, p.ratios.rate, 0.0) if self.settings.emotion_stage else p.ratios
            calls.append(utterance(voice, person, p.text, own))
            names.append(f"{voice}+{person.variant}")
        pcm = espeak.synthesize(calls)
        return [Rendered(np.frombuffer(b, dtype="<i2").astype(np.float32) / 32768.0, espeak.SAMPLE_RATE, name,
                         tempo=p.ratios.rate) for b, name, p in zip(pcm, names, plans)]

    def utterance_seconds(self, locale: str, emotions: Sequence[str], lines: Sequence[str]) -> list[float]:
        """Measured: each line rendered by the slowest person at the slowest emotion."""
        slow = Ratios(1.0, 1.0, slowest_rate(emotions), 0.0)
        person = VoiceIdentity("m3", 1.0, 1.0, _WORST_IDENTITY_SLOWDOWN)
        pcm = espeak.synthesize([utterance(LOCALE_VOICES[locale], person, ln, slow) for ln in lines])
        out = []
        for b in pcm:
            y = np.frombuffer(b, dtype="<i2").astype(np.float32) / 32768.0
            lo, hi = active_span(y, espeak.SAMPLE_RATE)
            out.append((hi - lo) / espeak.SAMPLE_RATE)
        return out
