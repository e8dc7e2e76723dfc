"""FACS landmark geometry and head pose: how each action unit moves the 68 iBUG 300-W
landmarks (the project's own FACS-described displacements, which drive the `blendshapes`
face model in `factory.faces.mesh`), and the head pose convention.

Canonical face units: x to the image right, y down, face half-width at the cheeks about 1.
Index 0 is the jaw end on the image left (the subject's right), 17-21 the image-left brow,
36-41 the image-left eye, 48-67 the lips.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from factory.faces.expression import AUS

N_LANDMARKS = 68
# Mirror partner of each landmark (itself on the midline).
MIRROR = np.array(
    [16 - i for i in range(17)] + [26, 25, 24, 23, 22, 21, 20, 19, 18, 17] + [27, 28, 29, 30]
    + [35, 34, 33, 32, 31] + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55] + [64, 63, 62, 61, 60, 67, 66, 65])
CENTRE = MIRROR == np.arange(N_LANDMARKS)
# The image-left (subject's right) landmarks; their mirrors are on the image right.
LEFT = [*range(0, 8), *range(17, 22), 31, 32, *range(36, 42), 48, 49, 50, 58, 59, 60, 61, 67]
LEFT_HALF = sorted(LEFT + [i for i in range(N_LANDMARKS) if CENTRE[i]])  # image-left + midline
assert len(LEFT_HALF) + len(LEFT) == N_LANDMARKS and all(not CENTRE[i] for i in LEFT)


def _mirror_fill(p: np.ndarray) -> np.ndarray:
    """Copy the image-left half onto the right half (x negated)."""
    for i in LEFT_HALF:
        j = MIRROR[i]
        if j != i:
            p[j] = (-p[i, 0], p[i, 1])
        else:
            p[i, 0] = 0.0
    return p


# Displacement of the image-left/midline landmarks per AU at intensity 1, canonical units
# (dx < 0 is outward on the image-left side). *Chosen* to match FACS descriptions (Ekman,
# Friesen & Hager 2002): e.g. AU12 pulls the lip corners up and out, AU26 drops the jaw.
_DISPLACEMENTS: dict[int, dict[int, tuple[float, float]]] = {
    1: {21: (0.0, -0.2), 20: (0.0, -0.13), 19: (0.0, -0.06), 18: (0.0, -0.015)},
    2: {17: (0.0, -0.11), 18: (0.0, -0.1), 19: (0.0, -0.065), 20: (0.0, -0.025)},
    4: {17: (0.01, 0.04), 18: (0.025, 0.07), 19: (0.045, 0.1), 20: (0.07, 0.13), 21: (0.09, 0.15),
        37: (0.0, 0.028), 38: (0.0, 0.03), 36: (0.0, 0.006), 39: (0.0, 0.004)},
    5: {37: (0.0, -0.075), 38: (0.0, -0.072), 36: (0.0, -0.008), 39: (0.0, -0.005)},
    6: {40: (0.0, -0.024), 41: (0.0, -0.028), 36: (0.0, -0.008)},
    7: {40: (0.0, -0.045), 41: (0.0, -0.04), 37: (0.0, 0.012), 38: (0.0, 0.012)},
    9: {31: (-0.02, -0.06), 32: (0.0, -0.065), 33: (0.0, -0.055), 30: (0.0, -0.03), 29: (0.0, -0.015),
        49: (0.0, -0.06), 50: (0.0, -0.085), 51: (0.0, -0.075), 61: (0.0, -0.075), 62: (0.0, -0.07),
        48: (0.01, -0.02), 60: (0.01, -0.02),
        21: (0.005, 0.03), 20: (0.0, 0.015), 40: (0.0, -0.04), 41: (0.0, -0.035)},
    10: {49: (0.0, -0.05), 50: (0.0, -0.06), 51: (0.0, -0.055), 61: (0.0, -0.05), 62: (0.0, -0.05),
         48: (0.0, -0.012), 31: (0.0, -0.012), 32: (0.0, -0.01)},
    12: {48: (-0.1, -0.19), 60: (-0.1, -0.19), 49: (-0.06, -0.095), 50: (-0.015, -0.035),
         51: (0.0, -0.025), 59: (-0.055, -0.07), 58: (-0.025, -0.015), 57: (0.0, 0.015), 61: (-0.045, -0.085),
         67: (-0.045, -0.05), 62: (0.0, -0.035), 66: (0.0, 0.012), 41: (0.0, -0.008), 40: (0.0, -0.006)},
    14: {48: (0.025, -0.015), 60: (0.03, -0.015), 49: (0.01, -0.005), 59: (0.01, -0.005)},
    15: {48: (-0.01, 0.17), 60: (-0.01, 0.17), 49: (0.0, 0.07), 59: (0.0, 0.085), 58: (0.0, 0.02),
         61: (0.0, 0.04), 67: (0.0, 0.04), 57: (0.0, -0.01)},
    16: {57: (0.0, 0.08), 58: (-0.01, 0.075), 59: (-0.01, 0.045), 66: (0.0, 0.085), 67: (0.0, 0.065)},
    # AU17 (mentalis): the chin boss and the lower lip pushed up, the upper lip with it, so
    # the mouth line arches (corners relatively lower) and the lips stay closed.
    17: {57: (0.0, -0.07), 58: (0.0, -0.06), 59: (0.0, -0.035), 66: (0.0, -0.045), 67: (0.0, -0.035),
         61: (0.0, -0.03), 62: (0.0, -0.035), 51: (0.0, -0.02), 50: (0.0, -0.015),
         48: (0.0, 0.012), 60: (0.0, 0.012), 8: (0.0, -0.05), 7: (0.0, -0.035), 6: (0.0, -0.012)},
    20: {48: (-0.14, 0.035), 60: (-0.14, 0.035), 49: (-0.085, 0.01), 59: (-0.085, 0.02), 61: (-0.065, -0.005),
         67: (-0.065, 0.012), 50: (-0.035, 0.0), 58: (-0.035, 0.012), 51: (0.0, 0.0), 57: (0.0, 0.012),
         66: (0.0, 0.015)},
    23: {49: (0.015, 0.03), 50: (0.0, 0.034), 51: (0.0, 0.028), 57: (0.0, -0.038), 58: (0.0, -0.038),
         59: (0.012, -0.026), 48: (0.035, 0.0), 60: (0.03, 0.0)},
    # AU64 (eyes down): the upper lid follows the eye down (lid-gaze coupling), the lower lid
    # a little; the iris itself is moved on the mesh (`factory.faces.mesh.GAZE_DOWN`).
    64: {37: (0.0, 0.035), 38: (0.0, 0.036), 36: (0.0, 0.006), 39: (0.0, 0.005), 40: (0.0, 0.01), 41: (0.0, 0.01)},
    25: {57: (0.0, 0.03), 58: (0.0, 0.03), 59: (0.0, 0.02), 66: (0.0, 0.035), 67: (0.0, 0.025),
         61: (0.0, -0.008), 62: (0.0, -0.01)},
    26: {57: (0.0, 0.32), 58: (0.01, 0.3), 59: (0.03, 0.2), 66: (0.0, 0.33), 67: (0.03, 0.24),
         61: (0.01, -0.012), 62: (0.0, -0.015), 48: (0.04, 0.045), 60: (0.045, 0.05), 49: (0.012, 0.0)},
    # AU27 (mouth stretch): the jaw pulled down further than AU26's drop, the lips stretched
    # tall and thin around the opening, the corners drawn in, so the mouth is an upright oval.
    27: {57: (0.0, 0.47), 58: (0.015, 0.44), 59: (0.05, 0.29), 66: (0.0, 0.48), 67: (0.05, 0.35),
         61: (0.015, -0.02), 62: (0.0, -0.025), 50: (0.005, -0.01), 51: (0.0, -0.012),
         48: (0.07, 0.06), 60: (0.075, 0.065), 49: (0.025, 0.0)},
}
JAW_DROP = {26: 0.32, 27: 0.47}     # chin drop at the jaw's midline, canonical units



@lru_cache(maxsize=1)
def landmark_au_basis() -> np.ndarray:
    """Landmark displacement per unit of each AU in `AUS`, shape (len(AUS), 68, 2), canonical units."""
    basis = np.zeros((len(AUS), N_LANDMARKS, 2))
    for k, au in enumerate(AUS):
        d = np.zeros((N_LANDMARKS, 2))
        for i, (dx, dy) in _DISPLACEMENTS.get(au, {}).items():
            d[i] = (dx, dy)
        if au in JAW_DROP:
            theta = np.pi * np.arange(17) / 16
            d[:17, 1] = JAW_DROP[au] * np.sin(theta) ** 1.5
        basis[k] = _mirror_fill(d)
    basis.setflags(write=False)
    return basis


@dataclass(frozen=True)
class Pose:
    """Head pose in degrees: yaw > 0 turns the nose to the image right, pitch > 0 tilts it
    down, roll > 0 tilts the head clockwise in the image."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0

    def matrix(self) -> np.ndarray:
        """Rotation matrix R = Rz(roll) Rx(pitch) Ry(yaw) in (x right, y down, z to the viewer)."""
        y, p, r = np.radians([self.yaw, self.pitch, self.roll])
        ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
        rx = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
        rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
        return rz @ rx @ ry
