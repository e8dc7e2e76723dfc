"""What every speech backend shares: transcripts, the person's neutral reference, the emotion
stage, measurement, alignment with the episode, FLAC encoding and labels.

A backend subclasses `SpeechGenerator` and implements `render(plans)`: one rendering per
planned utterance, with whatever prosody the backend can set itself (eSpeak NG: pitch, range,
rate, volume; neural models: none). Everything else happens here, identically for all backends:

1. `plan`: the transcript (`factory.speech.text`) and the time window the episode leaves for speech;
2. the **person's neutral reference**: the person (identity and locale) speaks the sample's
   neutral carrier line neutrally, through the emotion stage with nothing to change, measured
   (`factory.speech.measure`). A sample's targets (`factory.speech.vocal_targets`) are relative
   to it (articulation rate, F0 range and spectral balance depend on the words), or to the
   person's mean over every carrier line of the locale when the sample says something else
   (congruent or model-written text). Each line is a pure function of person and line
   (rendered on its own, seeded from the person), so it is measured once per process;
3. `finish`: resample to the dataset's rate, trim silence, run the **emotion stage**
   (`factory.speech.emotion_stage`, WORLD) toward the targets, measure the output, derive
   ``met`` flags, fit into the window, place the utterance on the episode's timeline and
   encode FLAC.

The FLAC file spans the whole episode (``0 .. episode.duration``, silence around the
utterance) so it lines up sample-for-sample with the other modalities; ``start``/``end`` in
the labels are the utterance's span in seconds.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal, Mapping, Optional, Sequence

import numpy as np
from pydantic import Field

from factory.affect import VOCAL
from factory.errors import FactoryError
from factory.generators import GeneratorSettings, OutputFile, SampleParts, episodes_of
from factory.spec import Episode, SampleSpec
from factory.speech import espeak_ng as espeak
from factory.speech import prosody, vocal_targets
from factory.speech.emotion_stage import Voice, emotion_stage
from factory.speech.measure import MEASURES, ipa_syllables, speech_measure
from factory.speech.text import Transcripts, banks, language

LATENCY_S = 0.3     # speech starts at least this long after the stimulus onset
TAIL_S = 0.2        # and ends at least this long before the episode ends
# Characters per second of neutral speech, by script, used to estimate durations before
# synthesis (measured on eSpeak NG at 175 wpm, rounded down for slower neural voices).
_CHARS_PER_S = {"zh": 3.5, "ar": 9.0, "hi": 12.0}
_DEFAULT_CHARS_PER_S = 14.0


@dataclass(frozen=True)
class Plan:
    """One planned utterance: what is said, how (prosody ratios for backends with prosody
    controls) and by whom."""

    spec: SampleSpec
    text: str
    text_source: str
    locale: str
    ratios: prosody.Ratios


@dataclass
class Rendered:
    """A backend's rendering of one plan (float, mono) and the speed change it already made
    (eSpeak NG renders at the emotion's rate; the stage makes what is left)."""

    audio: np.ndarray
    sample_rate: int
    voice: str
    tempo: float = 1.0


def window(episode: Episode) -> tuple[float, float]:
    """Earliest start and latest end of speech in an episode (seconds)."""
    return episode.onset + LATENCY_S, episode.duration - TAIL_S


def slowest_rate(emotions: Sequence[str]) -> float:
    """The smallest speaking-rate ratio among `emotions` at full intensity."""
    return min([VOCAL[e].rate for e in emotions if e in VOCAL] + [1.0])


def estimate_seconds(text: str, locale: str) -> float:
    """Rough duration of `text` spoken neutrally (characters / typical rate of its script)."""
    return len(text) / _CHARS_PER_S.get(language(locale), _DEFAULT_CHARS_PER_S)


class SpeechSettings(GeneratorSettings):
    """Speech and its transcript (every backend)."""

    backend: str = "espeak"
    text: Literal["neutral", "congruent"] = "neutral"
    text_model: Optional[str] = None         # transformers text-generation model for congruent scripts
    sample_rate: int = Field(16000, ge=8000, le=48000)
    emotion_stage: bool = True               # the WORLD emotion stage (factory.speech.emotion_stage)


class SpeechGenerator:
    """Base of the speech backends; see the module docstring."""

    modality: ClassVar[str] = "speech"
    backend: ClassVar[str] = ""
    Settings: ClassVar[type[GeneratorSettings]] = SpeechSettings
    files: ClassVar[tuple[OutputFile, ...]] = (
        OutputFile("flac", "audio/flac", "speech of the whole episode, mono FLAC; the utterance starts "
                                         "after the stimulus onset (start/end in the JSON)"),
        OutputFile("txt", "text/plain", "the transcript of the utterance, UTF-8"),
    )
    licence: ClassVar[str] = ""
    model_keys: ClassVar[tuple[str, ...]] = ("text_model",)

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.sample_rate = int(settings.sample_rate)
        self.transcripts = Transcripts(settings.text, settings.text_model, getattr(settings, "device", "auto"))
        self._references: dict[tuple[int, str, str], dict[str, float]] = {}
        self._syllables: dict[tuple[str, str], int | None] = {}

    # ------------------------------------------------------------ protocol
    def preflight(self, levels: Mapping[str, Sequence[Any]]) -> None:
        """Check locales, transcripts, the backend's model and (given ``levels["episode"]``, an
        `Episode` or a list of them) that every transcript fits the episode."""
        locales = [str(x) for x in levels.get("locale", ["en-US"])]
        emotions = [str(x) for x in levels.get("emotion", list(VOCAL))]
        self.check_locales(locales)
        self.transcripts.preflight(locales, emotions)
        self.check_backend()
        for episode in episodes_of(levels):
            self.check_fits(locales, emotions, episode)

    def versions(self) -> dict[str, str]:
        """Library and model versions (extended by backends)."""
        import librosa
        import soundfile
        return {"librosa": librosa.__version__, "soundfile": soundfile.__version__}

    def generate(self, specs: Sequence[SampleSpec]) -> list[SampleParts]:
        """Speech and transcript of each spec, in order."""
        plans = [self.plan(spec) for spec in specs]
        references = [self.reference(p) for p in plans]
        syllables = self.syllables([(p.locale, p.text) for p in plans])
        rendered = self.render(plans)
        return [self.finish(*args) for args in zip(plans, rendered, references, syllables)]

    def reference(self, plan: Plan) -> dict[str, float]:
        """The neutral reference of the plan's person: their neutral voice on the plan's own line
        when it is one of the locale's neutral carrier lines (one extra rendering), else their
        mean over those lines."""
        lines = reference_plans(plan)
        own = [p for p in lines if p.text == plan.text]
        return self.line_reference(own[0]) if own else average_measures([self.line_reference(p) for p in lines])

    def line_reference(self, plan: Plan) -> dict[str, float]:
        """A person's neutral voice on one neutral carrier line, through the stage with nothing
        to change, measured; cached per process. Each line is rendered on its own (its own
        engine call), so its measures never depend on which other lines were needed before."""
        key = (plan.spec.identity_seed, plan.locale, plan.text)
        if key not in self._references:
            [count] = self.syllables([(plan.locale, plan.text)])
            [rendered] = self.render([plan])
            audio = self._staged(rendered, lambda: Voice(), plan.spec.identity_rng("speech-voice"))
            self._references[key] = speech_measure(audio, self.sample_rate, count)
        return self._references[key]

    def syllables(self, lines: Sequence[tuple[str, str]]) -> list[int | None]:
        """Syllables of each (locale, text): vowel groups of eSpeak NG's IPA of it (cached);
        None where eSpeak NG has no voice for the locale."""
        todo = sorted({ln for ln in lines if ln not in self._syllables})
        for locale in sorted({loc for loc, _ in todo}):
            texts = [t for loc, t in todo if loc == locale]
            voice = espeak.voice_for(locale)
            counts = [ipa_syllables(ipa) for ipa in espeak.phonemes(voice, texts)] if voice else [None] * len(texts)
            self._syllables.update({(locale, t): n for t, n in zip(texts, counts)})
        return [self._syllables[ln] for ln in lines]

    # ------------------------------------------------------------ backend hooks
    def supported_locales(self) -> list[str]:
        """Locales this backend can speak (for error messages); override."""
        return []

    def check_locales(self, locales: Sequence[str]) -> None:
        """Raise FactoryError for a locale the backend has no voice for."""
        known = self.supported_locales()
        missing = sorted({loc for loc in locales if loc not in known})
        if missing:
            raise FactoryError(f"population.locale: the {self.backend} speech backend has no voice for "
                               f"{', '.join(missing)}; supported locales: {', '.join(known)}")

    def check_backend(self) -> None:
        """Backend-specific checks (model exists, device present); override."""

    def render(self, plans: Sequence[Plan]) -> list[Rendered]:
        """One rendering per plan, in order; override."""
        raise NotImplementedError

    def utterance_seconds(self, locale: str, emotions: Sequence[str], lines: Sequence[str]) -> list[float]:
        """Longest plausible duration of each line at the slowest emotion; backends may measure."""
        slow = slowest_rate(emotions)
        return [estimate_seconds(line, locale) / slow for line in lines]

    # ------------------------------------------------------------ steps
    def check_fits(self, locales: Sequence[str], emotions: Sequence[str], episode: Episode) -> None:
        """FactoryError if some transcript cannot fit between onset and the episode's end."""
        lo, hi = window(episode)
        room = hi - lo
        for locale in locales:
            lines = sorted({ln for e in emotions for ln in self.transcripts.candidates(locale, e)})
            for line, seconds in zip(lines, self.utterance_seconds(locale, emotions, lines)):
                if seconds > room:
                    raise FactoryError(
                        f"episode: the transcript {line!r} ({locale}) takes about {seconds:.1f} s at the "
                        f"slowest emotion, but the episode leaves {room:.1f} s for speech (from "
                        f"onset + {LATENCY_S} s to duration - {TAIL_S} s): too long by {seconds - room:.1f} s; "
                        f"lengthen episode.duration or move episode.onset earlier")

    def plan(self, spec: SampleSpec) -> Plan:
        """Transcript and prosody ratios of one sample."""
        lo, hi = window(spec.episode)
        budget = (hi - lo) * slowest_rate([spec.emotion]) * _CHARS_PER_S.get(
            language(str(spec.get("locale", "en-US"))), _DEFAULT_CHARS_PER_S)
        text, source = self.transcripts.choose(spec, max_chars=max(8, int(budget)))
        return Plan(spec, text, source, str(spec.get("locale", "en-US")), prosody.ratios(spec.emotion, spec.intensity))

    def finish(self, plan: Plan, rendered: Rendered, reference: dict[str, float],
               syllables: int | None) -> SampleParts:
        """Run the emotion stage, measure, fit, place and encode one rendered utterance."""
        spec = plan.spec
        voice = lambda: vocal_targets.voice(spec.emotion, spec.intensity, reference,  # noqa: E731
                                            plan.ratios.rate / rendered.tempo)
        audio = self._staged(rendered, voice, spec.rng("speech-voice"))
        audio, fitted = self._fit(audio, spec.episode)
        measured = speech_measure(audio, self.sample_rate, syllables)
        target = vocal_targets.targets(spec.emotion, spec.intensity, reference)
        relative = vocal_targets.relative(measured, reference)
        start = self._start(spec, audio.size / self.sample_rate)
        track = self._place(audio, start, spec.episode.duration)
        labels = {
            "backend": self.backend, "voice": rendered.voice, "locale": plan.locale,
            "text": plan.text, "text_source": plan.text_source,
            "start": round(start, 4), "end": round(start + audio.size / self.sample_rate, 4),
            "sample_rate": self.sample_rate, "time_compression": round(fitted, 4),
            "syllables": int(measured["syllables"]), "emotion_stage": bool(self.settings.emotion_stage),
            "reference": _finite({k: reference[k] for k in REFERENCE_KEYS}, 3),
            "target": _finite(target, 3), "measured": _finite(relative, 3),
            "met": vocal_targets.met(target, relative),
        }
        labels["met_all"] = all(labels["met"].values())
        return SampleParts(files={"flac": encode_flac(track, self.sample_rate), "txt": plan.text.encode("utf-8")},
                           labels=labels)

    def _staged(self, rendered: Rendered, voice, rng: np.random.Generator) -> np.ndarray:
        """A rendering prepared (`_prepare`) and, with the emotion stage on, moved to `voice()`
        (called only then) and trimmed again."""
        audio = self._prepare(rendered.audio, rendered.sample_rate)
        if not self.settings.emotion_stage:
            return audio
        return self._trim(emotion_stage(audio, self.sample_rate, voice(), rng))

    def _trim(self, audio: np.ndarray) -> np.ndarray:
        lo, hi = prosody.active_span(audio, self.sample_rate)
        return audio[lo:hi]

    def _prepare(self, audio: np.ndarray, sr: int) -> np.ndarray:
        """Mono float32 at the dataset's rate, silence trimmed."""
        y = np.asarray(audio, dtype=np.float32).reshape(-1)
        if sr != self.sample_rate:
            import librosa
            y = librosa.resample(y, orig_sr=sr, target_sr=self.sample_rate).astype(np.float32)
        return self._trim(y)

    def _fit(self, audio: np.ndarray, episode: Episode) -> tuple[np.ndarray, float]:
        """Time-compress an utterance that is longer than the episode's speech window."""
        lo, hi = window(episode)
        room = (hi - lo) * self.sample_rate
        if audio.size <= room:
            return audio, 1.0
        import librosa
        ratio = audio.size / room * 1.01
        return librosa.effects.time_stretch(audio, rate=ratio)[: int(room)], ratio

    def _start(self, spec: SampleSpec, seconds: float) -> float:
        """Speech onset: after the stimulus onset plus a latency drawn from the sample's stream."""
        lo, hi = window(spec.episode)
        slack = max(0.0, hi - lo - seconds)
        u = float(spec.rng("speech-timing").random())
        return round(lo + u * min(slack, 1.5), 4)

    def _place(self, audio: np.ndarray, start: float, duration: float) -> np.ndarray:
        n = int(round(duration * self.sample_rate))
        track = np.zeros(n, dtype=np.float32)
        i = int(round(start * self.sample_rate))
        seg = audio[: max(0, n - i)]
        track[i:i + seg.size] = seg
        return track


REFERENCE_KEYS = tuple(k for k in MEASURES if k != "duration_s")


def reference_plans(plan: Plan) -> list[Plan]:
    """The plans of a person's neutral reference: every neutral carrier line of the plan's
    locale, neutral, seeded from the person."""
    spec = replace(plan.spec, sample_id=f"{plan.spec.identity}-reference", emotion="neutral", intensity=0.0,
                   seed=plan.spec.identity_seed)
    neutral = prosody.ratios("neutral", 0.0)
    return [Plan(spec, line, "reference", plan.locale, neutral) for line in banks()["neutral"][language(plan.locale)]]


def average_measures(measures: Sequence[dict[str, float]]) -> dict[str, float]:
    """The mean of each measure over several utterances (NaN-aware); F0 mean in semitones."""
    out = {k: float(np.nanmean([m[k] for m in measures])) if any(math.isfinite(m[k]) for m in measures)
           else float("nan") for k in measures[0]}
    out["f0_mean_hz"] = 27.5 * 2 ** (out["f0_mean_st"] / 12)
    return out


def encode_flac(audio: np.ndarray, sample_rate: int) -> bytes:
    """16-bit mono FLAC bytes (deterministic: libsndfile writes no timestamps)."""
    import soundfile as sf
    buf = io.BytesIO()
    sf.write(buf, np.clip(audio, -1.0, 1.0), sample_rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def _finite(values: dict[str, float], digits: int) -> dict[str, float]:
    """Round; a value that could not be measured (nothing voiced, say) is NaN, never None, so
    every sample's JSON has the same types (the factory-wide convention, docs/architecture.md)."""
    return {k: (round(float(v), digits) if v is not None and math.isfinite(v) else float("nan"))
            for k, v in values.items()}
