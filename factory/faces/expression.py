"""Facial expression as FACS action units, and its time course along the episode.

Targets are the EMFACS prototypes (`factory.affect.FACS_PROTOTYPES`) scaled by the sample's
intensity; what is rendered adds each person's expressivity (a per-identity gain of about
+-7 % per AU, at most +-14 %), the way real people differ in how strongly they emote.
"""
from __future__ import annotations

import numpy as np

from factory.affect import FACS_PROTOTYPES
from factory.spec import Episode

# The action units the renderer animates (all those of the prototypes, plus 16), and AU64
# (eyes down), the one eye-position code a prototype uses.
AUS: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 16, 17, 20, 23, 25, 26, 27, 64)
AU_NAMES = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser",
    6: "cheek raiser", 7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser",
    12: "lip corner puller", 14: "dimpler", 15: "lip corner depressor",
    16: "lower lip depressor", 17: "chin raiser", 20: "lip stretcher", 23: "lip tightener", 25: "lips part",
    26: "jaw drop", 27: "mouth stretch", 64: "eyes down",
}
# Head movement that belongs to an expression, degrees of pitch at full intensity (> 0 tilts
# the nose down): EMFACS sadness carries AU54 (head down; AU64, eyes down, is in its prototype).
# No other EMFACS prototype moves the head.
HEAD_PITCH = {"sadness": 8.0}
# Expressions shown on one side of the face only (EMFACS contempt: R12A+R14A).
UNILATERAL = {"contempt": "R"}
MAX_GAIN_DEVIATION = 0.14


def au_key(au: int) -> str:
    """1 -> 'AU01' (the label and index column name)."""
    return f"AU{au:02d}"


def target_aus(emotion: str, intensity: float) -> dict[int, float]:
    """The prototype of `emotion` scaled by `intensity`, for every animated AU (0 if absent)."""
    proto = FACS_PROTOTYPES.get(emotion, {})
    return {au: round(float(np.clip(proto.get(au, 0.0) * intensity, 0.0, 1.0)), 4) for au in AUS}


def head_pitch(emotion: str, strength: float) -> float:
    """The expression's head pitch (degrees) at `strength` (intensity times envelope)."""
    return HEAD_PITCH.get(emotion, 0.0) * strength


def rendered_aus(target: dict[int, float], gains: dict[int, float]) -> dict[int, float]:
    """Target AUs times the person's expressivity, clipped to [0, 1]."""
    return {au: round(float(np.clip(v * gains.get(au, 1.0), 0.0, 1.0)), 4) for au, v in target.items()}


def envelope(t: float, ep: Episode) -> float:
    """Expression strength at time `t` (0 before onset, 1 at apex, back to 0 at offset)."""
    if t <= ep.onset or t >= ep.offset:
        return 0.0
    if t <= ep.apex:
        x = (t - ep.onset) / max(ep.apex - ep.onset, 1e-9)
    else:
        x = 1.0 - (t - ep.apex) / max(ep.offset - ep.apex, 1e-9)
    return float(x * x * (3 - 2 * x))  # smoothstep


def frame_times(ep: Episode, k: int) -> list[float]:
    """`k` times along onset -> apex -> offset; the apex is always one of them."""
    rise = k // 2 + 1
    times = list(np.linspace(ep.onset, ep.apex, rise))
    times += list(np.linspace(ep.apex, ep.offset, k - rise + 1)[1:])
    return [round(float(t), 4) for t in times]
