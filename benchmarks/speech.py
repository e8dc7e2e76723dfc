"""Speech benchmarks: real-time factor (synthesis + measurement + encoding time / audio
duration of the utterances) and samples/s for each backend, small N, one process.

eSpeak NG is the real default voice; the transformers and Coqui rows use tiny random VITS
models built here (`tests/tiny_models.py`), so they time the pipeline around the model, not a
production-size model. `python benchmarks/speech.py` prints the rows.
"""
from __future__ import annotations

import tempfile
import time

from factory.generators import load_generator
from factory.speech.base import SpeechSettings
from factory.speech.neural import NeuralSpeechSettings
from factory.spec import Episode, SampleSpec

EMOTIONS = ["neutral", "happiness", "sadness", "anger", "fear", "disgust", "surprise"]
LOCALES = ["en-US", "es-ES", "hi-IN", "ar-EG", "zh-CN"]


def specs(n: int, locales: list[str]) -> list[SampleSpec]:
    """`n` samples cycling through emotions, locales, sexes and n/4 persons."""
    return [SampleSpec(sample_id=f"s{i:05d}", index=i, shard="train-000000", split="train", seed=11 + i,
                       identity=f"p{i // 4}", identity_seed=300 + i // 4, emotion=EMOTIONS[i % len(EMOTIONS)],
                       intensity=0.5 + 0.5 * (i % 5) / 4, valence=0.0, arousal=0.0, dominance=0.0,
                       attributes={"sex": ("female", "male")[i % 2], "locale": locales[i % len(locales)],
                                   "age_band": "30-44", "skin_tone": 5},
                       episode=Episode(10.0, 3.0, 5.8, 8.5), age=25.0 + i % 50) for i in range(n)]


def time_backend(settings: SpeechSettings, n: int, locales: list[str]) -> tuple[float, float, float]:
    """(real-time factor, samples/s, share of targets met) of one generate() call on n samples."""
    gen = load_generator("speech", settings)
    batch = specs(n, locales)
    gen.generate(batch[:1])                     # warm-up: model load, numba JIT of pyin
    start = time.perf_counter()
    parts = gen.generate(batch)
    took = time.perf_counter() - start
    speech = sum(p.labels["end"] - p.labels["start"] for p in parts)
    met = sum(p.labels["met_all"] for p in parts) / len(parts)
    return took / speech, n / took, met


def run(n: int = 28) -> list[dict]:
    """Rows for docs/benchmarks.md."""
    from tiny_models import build_coqui_vits, build_transformers_vits
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = [("espeak", SpeechSettings(), LOCALES, n),
                 ("transformers (tiny VITS)", NeuralSpeechSettings(backend="transformers",
                                                             model=build_transformers_vits(f"{tmp}/vits")), ["en-US"], n // 2),
                 ("coqui (tiny VITS)", NeuralSpeechSettings(backend="coqui", model=build_coqui_vits(f"{tmp}/coqui")),
                  ["en-US"], n // 2)]
        for name, settings, locales, count in cases:
            rtf, rate, met = time_backend(settings, count, locales)
            detail = f"{count} samples, {len(locales)} locale(s), 16 kHz; synthesis + pyin measurement + FLAC"
            rows.append({"benchmark": f"speech {name}: real-time factor", "value": f"{rtf:.3f}", "detail": detail})
            rows.append({"benchmark": f"speech {name}: samples/s", "value": f"{rate:.2f}",
                         "detail": f"one process; all prosody targets met in {met:.0%} of samples"})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
