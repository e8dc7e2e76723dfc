"""Speech benchmarks: what the emotion stage does to each measure, whether samples meet their
targets, how fast the speech generators are with the stage on, and how the fast F0 estimator
(YIN) agrees with pyin.

* Per emotion (eSpeak NG, 5 locales, intensity 0.8-1.0): the mean measured change against the
  person's neutral rendering of the same line, for every measure, and the share of samples
  meeting every target. `python benchmarks/speech.py table` prints it as a markdown table.
* Speed: real-time factor (generation time over seconds of speech) and samples/s of one
  generate() call, cold (each person's neutral reference measured in the call, 4 samples per
  person) and warm (references already measured, as for every later shard of a worker).
  eSpeak NG is the real default voice; the transformers and Coqui rows use tiny random VITS
  models (`tests/tiny_models.py`), so they time the pipeline around the model.
* YIN against pyin: F0 of the same clips with both, time and agreement.
"""
from __future__ import annotations

import sys
import tempfile
import time

import numpy as np

from factory.generators import load_generator
from factory.speech.base import SpeechSettings
from factory.speech.neural import NeuralSpeechSettings
from factory.speech.vocal_targets import TARGETS
from factory.spec import Episode, SampleSpec

EMOTIONS = ["neutral", "happiness", "sadness", "anger", "fear", "disgust", "surprise"]
LOCALES = ["en-US", "es-ES", "hi-IN", "ar-EG", "zh-CN"]
UNITS = {"f0_mean_st": "st", "f0_sd_st": "x", "f0_range_st": "x", "level_db": "dB", "rate_syl_s": "x",
         "alpha_ratio_db": "dB", "hammarberg_db": "dB", "hnr_db": "dB", "jitter_pct": "pt", "shimmer_db": "dB"}
RATIOS = {"f0_sd_st", "f0_range_st", "rate_syl_s"}


def specs(n: int, locales: list[str], intensities=(0.5, 0.625, 0.75, 0.875, 1.0), per_person: int = 4,
          first: int = 0) -> list[SampleSpec]:
    """`n` samples cycling through emotions, locales, sexes and intensities, `per_person` each."""
    out = []
    for i in range(first, first + n):
        person = i // per_person
        out.append(SampleSpec(
            sample_id=f"s{i:05d}", index=i, shard="train-000000", split="train", seed=11 + i,
            identity=f"p{person}", identity_seed=300 + person, emotion=EMOTIONS[i % len(EMOTIONS)],
            intensity=intensities[i % len(intensities)], valence=0.0, arousal=0.0, dominance=0.0,
            attributes={"sex": ("female", "male")[person % 2], "locale": locales[person % len(locales)],
                        "age_band": "30-44", "skin_tone": 5},
            episode=Episode(10.0, 3.0, 5.8, 8.5), age=25.0 + person % 50))
    return out


def change(labels: dict) -> dict[str, float]:
    """Measured change against the person's neutral reference: semitones and dB as differences,
    F0 variability and rate as ratios."""
    m, r = labels["measured"], labels["reference"]
    out = {"f0_mean_st": m["f0_mean_st"]}
    for key in TARGETS[1:]:
        out[key] = m[key] / r[key] if key in RATIOS else m[key] - r[key]
    return out


def emotion_rows(n: int = 140) -> tuple[list[dict], str]:
    """Rows and a markdown table of the measured change per emotion (eSpeak NG)."""
    gen = load_generator("speech", SpeechSettings())
    parts = gen.generate(specs(n, LOCALES, intensities=(0.8, 0.9, 1.0), per_person=7))
    by_emotion: dict[str, list] = {e: [] for e in EMOTIONS}
    for p, s in zip(parts, specs(n, LOCALES, intensities=(0.8, 0.9, 1.0), per_person=7)):
        by_emotion[s.emotion].append(p.labels)
    head = "| emotion | n | " + " | ".join(f"{k} ({UNITS[k]})" for k in TARGETS) + " | all targets met |"
    lines = [head, "|" + " --- |" * (len(TARGETS) + 3)]
    rows = []
    for emotion, labels in by_emotion.items():
        changes = [change(lb) for lb in labels]
        mean = {k: float(np.nanmean([c[k] for c in changes])) for k in TARGETS}
        met = float(np.mean([lb["met_all"] for lb in labels]))
        per_key = {k: float(np.mean([lb["met"][k] for lb in labels])) for k in TARGETS}
        cells = [f"{mean[k]:.2f}" if k in RATIOS else f"{mean[k]:+.2f}" for k in TARGETS]
        lines.append(f"| {emotion} | {len(labels)} | " + " | ".join(cells) + f" | {met:.0%} |")
        worst = min(per_key, key=per_key.get)
        rows.append({"benchmark": f"speech espeak {emotion}: all targets met", "value": f"{met:.0%}",
                     "detail": "; ".join(f"{k} {c}" for k, c in zip(TARGETS, cells))
                     + f" (change vs the person's neutral line; least met: {worst} {per_key[worst]:.0%})"})
    return rows, "\n".join(lines)


def time_backend(settings: SpeechSettings, n: int, locales: list[str]) -> dict[str, float]:
    """Cold and warm real-time factor and samples/s of generate() on n samples, share all met."""
    gen = load_generator("speech", settings)
    gen.generate(specs(1, locales, first=10_000))       # warm-up: model load, imports, JIT
    out = {}
    for mode in ("cold", "warm"):
        batch = specs(n, locales)
        start = time.perf_counter()
        parts = gen.generate(batch)
        took = time.perf_counter() - start
        speech = sum(p.labels["end"] - p.labels["start"] for p in parts)
        out[f"{mode}_rtf"], out[f"{mode}_rate"] = took / speech, n / took
        out["met"] = sum(p.labels["met_all"] for p in parts) / n
    return out


def speed_rows(n: int = 28) -> list[dict]:
    """Speed of each backend with the emotion stage on."""
    from tiny_models import build_coqui_vits, build_transformers_vits
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = [("espeak", SpeechSettings(), LOCALES, n),
                 ("transformers (tiny VITS)", NeuralSpeechSettings(
                     backend="transformers", model=build_transformers_vits(f"{tmp}/vits")), ["en-US"], n // 2),
                 ("coqui (tiny VITS)", NeuralSpeechSettings(
                     backend="coqui", model=build_coqui_vits(f"{tmp}/coqui")), ["en-US"], n // 2)]
        for name, settings, locales, count in cases:
            r = time_backend(settings, count, locales)
            detail = (f"{count} samples, 4 per person, {len(locales)} locale(s), 16 kHz; synthesis + WORLD "
                      f"emotion stage + YIN/eGeMAPS measurement + FLAC")
            rows.append({"benchmark": f"speech {name}: real-time factor, warm (cold)",
                         "value": f"{r['warm_rtf']:.3f} ({r['cold_rtf']:.3f})", "detail": detail + "; cold: each "
                         "person's neutral rendering of each line measured in the same call"})
            rows.append({"benchmark": f"speech {name}: samples/s, warm (cold)",
                         "value": f"{r['warm_rate']:.2f} ({r['cold_rate']:.2f})",
                         "detail": f"one process; every target met in {r['met']:.0%} of samples"})
    return rows


def f0_rows(clips: int = 20) -> list[dict]:
    """YIN (the factory's measure) against librosa's pyin on the same eSpeak NG clips."""
    import librosa
    from factory.speech.measure import SR, f0_contour
    gen = load_generator("speech", SpeechSettings())
    audio = []
    for p in gen.generate(specs(clips, LOCALES, per_person=2)):
        y, _ = _decode(p.files["flac"])
        audio.append(y[int(p.labels["start"] * SR):int(p.labels["end"] * SR)])
    librosa.pyin(audio[0], fmin=50, fmax=700, sr=SR, frame_length=1024, hop_length=160)   # numba JIT
    f0_contour(audio[0], SR)
    t_yin = t_pyin = 0.0
    mean_diff, sd_diff, agree = [], [], []
    for y in audio:
        start = time.perf_counter()
        c = f0_contour(y, SR)
        t_yin += time.perf_counter() - start
        start = time.perf_counter()
        f0, voiced, _ = librosa.pyin(y, fmin=50, fmax=700, sr=SR, frame_length=1024, hop_length=160)
        t_pyin += time.perf_counter() - start
        a, b = 12 * np.log2(c.f0[c.voiced]), 12 * np.log2(f0[voiced])
        mean_diff.append(abs(a.mean() - b.mean()))
        sd_diff.append(abs(a.std() - b.std()))
        n = min(c.f0.size, f0.size)
        agree.append(np.mean(c.voiced[:n] == voiced[:n]))
    return [{"benchmark": "F0: YIN + voicing (ours) vs pyin, time per clip", "value":
             f"{1000 * t_yin / clips:.0f} ms vs {1000 * t_pyin / clips:.0f} ms",
             "detail": f"{clips} eSpeak NG clips with the emotion stage, 16 kHz, 10 ms hop"},
            {"benchmark": "F0: YIN vs pyin agreement", "value": f"{np.mean(mean_diff):.2f} st",
             "detail": f"mean |difference| of clip F0 means (max {np.max(mean_diff):.2f}); of F0 s.d. "
                       f"{np.mean(sd_diff):.2f} st (max {np.max(sd_diff):.2f}); voicing decisions agree in "
                       f"{np.mean(agree):.0%} of frames"}]


def _decode(flac: bytes):
    import io
    import soundfile as sf
    return sf.read(io.BytesIO(flac), dtype="float32")


def run() -> list[dict]:
    """Rows for docs/benchmarks.md."""
    rows, _table = emotion_rows()
    return rows + speed_rows() + f0_rows()


if __name__ == "__main__":
    sys.path.insert(0, "tests")
    if sys.argv[1:] == ["table"]:
        print(emotion_rows()[1])
    else:
        for row in run():
            print(row)
