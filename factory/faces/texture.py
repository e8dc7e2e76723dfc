"""Skin maps of one person in the face's texture space (the model's neutral x, y in cm):
albedo (Monk skin tone with redness, freckles and pores, lips, brows, lash line, stubble),
specular strength, and height maps for fine relief, age wrinkles and the creases each
action unit makes in a photograph (nasolabial fold AU12/AU6, glabellar furrows AU4, nose
wrinkles AU9, horizontal forehead lines AU1/AU2, crow's feet AU6)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy.ndimage import gaussian_filter

LUMA = np.array([0.2126, 0.7152, 0.0722])   # Rec. 709 luminance of linear RGB
TEXEL = 0.125                       # cm per texel
ORIGIN = np.array([-10.0, -11.5])   # texture space top-left, cm
SHAPE = (208, 160)                  # rows (y), columns (x)
BROWS = ((70, 63, 105, 66, 107, 55, 65, 52, 53, 46), (300, 293, 334, 296, 336, 285, 295, 282, 283, 276))
UPPER_LIDS = ((33, 246, 161, 160, 159, 158, 157, 173, 133), (263, 466, 388, 387, 386, 385, 384, 398, 362))
OUTER_LIPS = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)


def hex_rgb(value: str) -> tuple[int, int, int]:
    """'#a07e56' -> (160, 126, 86)."""
    value = value.lstrip("#")
    return tuple(int(value[i:i + 2], 16) for i in (0, 2, 4))


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """sRGB (0..1) to linear light."""
    c = np.asarray(c, np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    """Linear light to sRGB (0..1), clipped."""
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1 / 2.4) - 0.055)


@lru_cache(maxsize=1)
def _grid() -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    return ORIGIN[0] + (xs + 0.5) * TEXEL, ORIGIN[1] + (ys + 0.5) * TEXEL


def to_texel(points: np.ndarray) -> np.ndarray:
    """Texture-space cm -> fractional texel coordinates (column, row)."""
    return (np.asarray(points)[..., :2] - ORIGIN) / TEXEL - 0.5


def sample(tex: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear lookup of `tex` (rows, cols[, c]) at texture-space points `uv` (n, 2) in cm."""
    t = to_texel(uv)
    x = np.clip(t[:, 0], 0, SHAPE[1] - 1.001)
    y = np.clip(t[:, 1], 0, SHAPE[0] - 1.001)
    x0, y0 = x.astype(np.int64), y.astype(np.int64)
    fx, fy = x - x0, y - y0
    if tex.ndim == 3:
        fx, fy = fx[:, None], fy[:, None]
    a, b = tex[y0, x0], tex[y0, x0 + 1]
    c, d = tex[y0 + 1, x0], tex[y0 + 1, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def _mask(polygons: list[np.ndarray], blur: float = 0.0, width: int = 0) -> np.ndarray:
    """Filled (or, with `width`, stroked) polygons in texture space, 0..1, at 2x then halved."""
    img = Image.new("L", (SHAPE[1] * 2, SHAPE[0] * 2), 0)
    draw = ImageDraw.Draw(img)
    for poly in polygons:
        pts = [tuple(p) for p in ((to_texel(poly) + 0.5) * 2)]
        if width:
            draw.line(pts, fill=255, width=width, joint="curve")
        else:
            draw.polygon(pts, fill=255)
    img = img.resize((SHAPE[1], SHAPE[0]), Image.BILINEAR)
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(img, np.float64) / 255.0


def _groove(x, y, path: np.ndarray, width: float) -> np.ndarray:
    """A groove (negative height, depth 1 at the centre) along a polyline, Gaussian profile."""
    d2 = np.full(x.shape, np.inf)
    for p, q in zip(path[:-1], path[1:]):
        seg = q - p
        t = np.clip(((x - p[0]) * seg[0] + (y - p[1]) * seg[1]) / (seg @ seg), 0, 1)
        d2 = np.minimum(d2, (x - p[0] - t * seg[0]) ** 2 + (y - p[1] - t * seg[1]) ** 2)
    along = np.ones_like(x)
    return -np.exp(-d2 / (2 * width ** 2)) * along


def _both_sides(path: list[tuple[float, float]]) -> list[np.ndarray]:
    p = np.array(path, float)
    return [p, p * [-1, 1]]


CREASE_DEPTH = 2.3    # all AU creases; *chosen* so that young faces fold visibly too


@lru_cache(maxsize=1)
def crease_maps() -> dict[int, np.ndarray]:
    """Height map (cm, grooves negative) of the creases of each AU at intensity 1."""
    x, y = _grid()
    out: dict[int, np.ndarray] = {}

    def lines(paths, width, depth):
        return CREASE_DEPTH * depth * sum(_groove(x, y, p, width) for p in paths)

    nasolabial = _both_sides([(1.9, 3.4), (2.6, 4.6), (3.2, 6.0), (3.5, 7.4), (3.4, 8.6)])
    out[12] = lines(nasolabial, 0.25, 0.07)
    out[6] = (lines(nasolabial, 0.3, 0.06)
              + lines(_both_sides([(4.6, 0.0), (5.6, -0.5)]) + _both_sides([(4.8, 0.4), (5.8, 0.5)])
                      + _both_sides([(4.6, 0.8), (5.5, 1.4)]), 0.15, 0.035)
              + lines(_both_sides([(2.2, 1.5), (3.3, 1.8), (4.4, 1.5)]), 0.16, 0.06))
    out[4] = lines(_both_sides([(0.45, -2.5), (0.55, -1.8), (0.5, -1.1)]), 0.16, 0.08) \
        + lines([np.array([(-0.9, -0.7), (0.9, -0.7)])], 0.14, 0.05)
    # AU9 (FACS): wrinkles across the root and along the sides of the nose, and the nasolabial
    # furrow deepened; AU10 deepens the furrow's upper part (where the upper lip is pulled up).
    furrow = [(1.9, 3.4), (2.5, 4.5), (3.0, 5.8), (3.3, 7.0)]
    out[9] = lines([np.array([(-0.9, y0 + 0.1), (0.0, y0), (0.9, y0 + 0.1)]) for y0 in (-0.6, -0.15, 0.3)], 0.1, 0.08) \
        + lines(_both_sides([(0.55, -0.4), (0.9, 0.5), (1.3, 1.4)]) + _both_sides([(0.7, 0.0), (1.3, 0.8)]), 0.1, 0.08) \
        + lines(_both_sides(furrow), 0.25, 0.1)
    forehead = [np.array([(-4.2, y0 + 0.3), (-2, y0), (0, y0 - 0.1), (2, y0), (4.2, y0 + 0.3)]) for y0 in (-3.0, -3.7, -4.4)]
    centre = np.exp(-(x / 2.6) ** 2)
    out[1] = lines(forehead, 0.18, 0.028) * (0.35 + 0.65 * centre)
    out[2] = lines(forehead, 0.18, 0.028) * (1.0 - 0.6 * centre)
    out[15] = lines(_both_sides([(3.3, 7.2), (3.6, 8.6), (3.4, 9.6)]), 0.2, 0.06)
    out[10] = lines(_both_sides(furrow[:3]), 0.25, 0.1)
    # AU17: the mentolabial furrow under the lower lip deepens and the chin boss wrinkles.
    out[17] = lines([np.array([(-1.4, 7.7), (-0.6, 8.05), (0.0, 8.1), (0.6, 8.05), (1.4, 7.7)])], 0.22, 0.08) \
        + lines(_both_sides([(0.3, 8.6), (0.7, 9.1)]) + _both_sides([(0.9, 8.5), (1.2, 9.0)]), 0.1, 0.04)
    out[14] = lines(_both_sides([(3.35, 6.4), (3.45, 7.2)]), 0.15, 0.1)
    return out


@dataclass
class SkinMaps:
    """One person's texture-space maps."""

    albedo: np.ndarray      # (rows, cols, 3) linear
    specular: np.ndarray    # (rows, cols)
    height: np.ndarray      # (rows, cols) static relief, cm
    lips: np.ndarray        # (rows, cols) 0..1


@dataclass(frozen=True)
class Regions:
    """Where things are on every face of one face model, in texture space (0..1 weights)."""

    lips: np.ndarray
    lash: np.ndarray
    cheeks: np.ndarray
    nose: np.ndarray
    under_eye: np.ndarray
    tzone: np.ndarray
    beard: np.ndarray


@lru_cache(maxsize=2)
def regions(model: str) -> Regions:
    """The face model's regions (drawn from its neutral mesh once, shared by every person)."""
    from factory.faces.mesh import expression_model

    neutral = expression_model(model)[0]
    x, y = _grid()
    lips = _mask([neutral[list(OUTER_LIPS), :2]], blur=1.0)
    jaw = (np.clip((y - 4.6) / 1.2, 0, 1) * (1 - lips) * np.clip(np.abs(x), 0.6, 1)
           * (1 - np.clip((y - 12.5) / 1.5, 0, 1)))
    jaw += np.clip((y - 5.2) / 0.4, 0, 1) * np.clip((6.0 - y) / 0.4, 0, 1) * (np.abs(x) < 2.4) * (1 - lips)
    return Regions(
        lips=lips, lash=_mask([neutral[list(loop), :2] for loop in UPPER_LIDS], width=3),
        cheeks=sum(np.exp(-((x - s * 4.0) ** 2 + (y - 3.6) ** 2) / (2 * 1.5 ** 2)) for s in (-1, 1)),
        nose=np.exp(-(x ** 2 + (y - 3.2) ** 2) / (2 * 0.8 ** 2)),
        under_eye=sum(np.exp(-((x - s * 3.2) ** 2 / 1.4 + (y - 1.2) ** 2 / 0.12)) for s in (-1, 1)),
        tzone=np.exp(-(x ** 2) / 3.0) * np.clip((3.8 - y) / 3.0, 0, 1) + 0.6 * np.exp(-((y + 3.5) ** 2) / 3.0),
        beard=gaussian_filter(np.clip(jaw, 0, 1), 2))


def _brows(neutral: np.ndarray, thickness: float) -> np.ndarray:
    """Both brows' coverage, `thickness` times the mesh's brow band."""
    brows = np.zeros(SHAPE)
    for loop in BROWS:
        pts = neutral[list(loop), :2]
        upper, lower = pts[:5], pts[5:][::-1]
        mid_line = (upper + lower) / 2
        half = (lower - upper) / 2 * thickness
        brows = np.maximum(brows, _mask([np.vstack([mid_line - half, (mid_line + half)[::-1]])], blur=0.8))
    return brows


def skin_maps(model: str, skin_srgb, hair_linear, rng: np.random.Generator, *, redness: float,
              freckles: float, age: float, brow_thick: float, brow_density: float, beard: float,
              lip_tint: float, oiliness: float) -> SkinMaps:
    """Draw a person's skin maps on face model `model`'s texture space."""
    from factory.faces.mesh import expression_model

    x, y = _grid()
    r = regions(model)
    skin = srgb_to_linear(np.array(skin_srgb) / 255.0)
    lum = float(skin @ LUMA)
    low = gaussian_filter(rng.normal(0, 1, SHAPE), 6) * 6
    mid = gaussian_filter(rng.normal(0, 1, SHAPE), 1.2) * 1.5
    albedo = skin[None, None, :] * (1 + 0.05 * low[..., None] + 0.025 * mid[..., None])
    red = redness * (0.8 * r.cheeks + 0.6 * r.nose)
    albedo *= (1 + red[..., None] * np.array([0.06, -0.12, -0.1]))
    albedo *= 1 - (0.06 + 0.05 * min(lum * 4, 1.0)) * r.under_eye[..., None]
    if freckles > 0:
        dots = (rng.random(SHAPE) < 0.02 * freckles) * (np.exp(-((np.abs(x) - 2.8) ** 2 + (y - 2.6) ** 2) / 6.0))
        albedo *= 1 - 0.25 * gaussian_filter(dots.astype(float), 0.6)[..., None] * 2.5
    lips = r.lips
    lip_colour = skin * np.array([0.78, 0.52, 0.55]) * (0.9 + 0.2 * lip_tint)
    albedo = albedo * (1 - lips[..., None]) + lip_colour * lips[..., None] * (1 + 0.04 * mid[..., None])
    strands = np.clip(gaussian_filter(rng.random(SHAPE), [0.3, 1.0]) * 2.2 - 0.6, 0, 1)
    brows = _brows(expression_model(model)[0], brow_thick)
    brow_cover = np.clip(brows * brow_density * (0.55 + 0.6 * strands), 0, 0.95)
    albedo = albedo * (1 - brow_cover[..., None]) + hair_linear * brow_cover[..., None]
    albedo *= 1 - 0.7 * r.lash[..., None]
    if beard > 0:
        dots = gaussian_filter(rng.random(SHAPE), 0.4)
        dots = (dots - dots.mean()) / (dots.std() + 1e-9)
        cover = np.clip(beard * r.beard * (0.75 + 0.12 * dots), 0, 0.9)
        albedo = albedo * (1 - cover[..., None]) + hair_linear * cover[..., None]
    pores = gaussian_filter(rng.normal(0, 1, SHAPE), 0.5)
    height = 0.0015 * pores + 0.003 * mid
    if age > 0:
        maps = crease_maps()
        height = height + age / CREASE_DEPTH * (0.3 * maps[12] + 0.25 * maps[1] + 0.25 * maps[2] + 0.3 * maps[6])
    specular = (0.35 + 0.45 * r.tzone + 0.6 * lips) * oiliness * (1 - 0.8 * brow_cover) * (1 + 0.3 * pores)
    return SkinMaps(np.clip(albedo, 0, 1), np.clip(specular, 0, None), height, lips)
