"""Measurements on a rendered face image, independent of the parameters that made it: the
Monk skin tone its skin shows (the swatch nearest, in CIELAB, to the median colour of the
bare-skin pixels), the way an annotator compares a photograph with the Monk scale."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageCms

from factory.affect import MONK_SKIN_TONES
from factory.faces.texture import hex_rgb


@lru_cache(maxsize=1)
def _to_lab() -> ImageCms.ImageCmsTransform:
    return ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB", colorTemp=6500),
                                   "RGB", "LAB")


def srgb_to_lab(colours: np.ndarray) -> np.ndarray:
    """8-bit sRGB colours (n, 3) -> CIELAB (n, 3): L* 0..100, a*, b* (D65, LittleCMS)."""
    rgb = Image.fromarray(np.asarray(colours, np.uint8).reshape(1, -1, 3), "RGB")
    lab = np.asarray(ImageCms.applyTransform(rgb, _to_lab()), np.float64).reshape(-1, 3)
    ab = (lab[:, 1:] + 128.0) % 256.0 - 128.0       # PIL stores a*, b* as signed bytes
    return np.column_stack([lab[:, 0] * 100.0 / 255.0, ab])


@lru_cache(maxsize=1)
def _monk_lab() -> tuple[list[int], np.ndarray]:
    tones = sorted(MONK_SKIN_TONES)
    return tones, srgb_to_lab(np.array([hex_rgb(MONK_SKIN_TONES[t]) for t in tones]))


def monk_tone_shown(skin_srgb) -> tuple[int, float]:
    """(the Monk tone whose swatch is nearest to `skin_srgb`, that distance as CIE76 delta E)."""
    tones, swatches = _monk_lab()
    d = np.linalg.norm(swatches - srgb_to_lab(np.round(np.asarray(skin_srgb, np.float64))[None]), axis=1)
    k = int(np.argmin(d))
    return tones[k], round(float(d[k]), 2)
