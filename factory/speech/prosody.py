"""What a speech backend needs before the emotion stage: the emotion's prosody as ratios (for
backends with prosody controls of their own, such as eSpeak NG's pitch, range, rate and volume)
and the active span of an utterance.

Targets, the emotion stage and the measurements live in `factory.speech`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from factory.affect import VOCAL

_SILENCE_DB = 35.0      # frames this far below the loudest are silence


@dataclass(frozen=True)
class Ratios:
    """Prosody relative to neutral for one sample: F0 level, F0 range, rate (ratios), gain (dB)."""

    f0_mean: float
    f0_range: float
    rate: float
    intensity_db: float


def ratios(emotion: str, intensity: float) -> Ratios:
    """The `VOCAL` profile of `emotion` at `intensity` (0 = neutral, 1 = full) as ratios."""
    p = VOCAL[emotion]
    k = float(np.clip(intensity, 0.0, 1.0))
    return Ratios(2 ** (p.f0_st * k / 12), p.f0_variability ** k, p.rate ** k, p.intensity_db * k)


def active_span(audio: np.ndarray, sr: int) -> tuple[int, int]:
    """First and last sample (exclusive end) of the non-silent part of `audio`."""
    if audio.size == 0:
        return 0, 0
    hop = max(1, sr // 100)
    n = int(np.ceil(audio.size / hop))
    padded = np.zeros(n * hop, dtype=np.float32)
    padded[:audio.size] = audio
    rms = np.sqrt(np.mean(padded.reshape(n, hop) ** 2, axis=1)) + 1e-10
    db = 20 * np.log10(rms)
    active = np.flatnonzero(db > db.max() - _SILENCE_DB)
    if active.size == 0:
        return 0, 0
    return int(active[0] * hop), int(min(audio.size, (active[-1] + 1) * hop))
