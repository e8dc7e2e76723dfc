"""Rasterise a face: flat shapes drawn with Pillow at `SUPERSAMPLE` times the output size,
downsampled with Lanczos (anti-aliasing), then lit with smooth low-resolution shading and
specular maps (face falloff, eye sockets, nose, cheeks, folds, under-chin shadow).

Everything is placed from the 68 landmarks and a few derived contours (skull, hair, ears),
all rotated by the head pose, so what is drawn is exactly what the labels say.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from factory.faces.geometry import Pose, landmark_depth, project, surface_depth
from factory.faces.identity import FaceIdentity

SUPERSAMPLE = 2
FACE_SCALE = 0.235     # face half-width as a fraction of the image width
FACE_CENTRE = (0.5, 0.44)
Y_TOP = -0.12          # ear level, canonical units


def catmull(points: np.ndarray, n: int = 6) -> np.ndarray:
    """Open Catmull-Rom spline through `points` (k, 2), n samples per segment."""
    p = np.vstack([2 * points[0] - points[1], points, 2 * points[-1] - points[-2]])
    t = np.linspace(0, 1, n, endpoint=False)[:, None]
    t2, t3 = t * t, t * t * t
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t3))
    out.append(points[-1][None])
    return np.vstack(out)


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 20) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([cx + rx * np.cos(a), cy + ry * np.sin(a)])


def _mix(c1, c2, t: float) -> tuple[int, int, int]:
    return tuple(int(round(a * (1 - t) + b * t)) for a, b in zip(c1, c2))


def _scale(c, f: float) -> tuple[int, int, int]:
    return tuple(int(np.clip(round(v * f), 0, 255)) for v in c)


@dataclass
class Layout:
    """Canonical (posed) coordinates of every contour of one face, ready to draw at any size."""

    lm: np.ndarray            # 68 posed landmarks
    head: np.ndarray
    hair_back: np.ndarray | None
    hair_front: np.ndarray | None
    ears: list[np.ndarray]
    neck: np.ndarray
    shirt: np.ndarray
    beard: np.ndarray | None
    irises: list[tuple[np.ndarray, float]]   # centre, radius
    extra: dict[str, np.ndarray]


class Frame:
    """Maps canonical coordinates to pixels of a square image of side `res`."""

    def __init__(self, res: int, origin: tuple[int, int] = (0, 0)):
        self.res = res
        self.s = FACE_SCALE * res
        self.c = np.array(FACE_CENTRE) * res - np.array(origin)

    def px(self, pts: np.ndarray) -> list[float]:
        """Flat [x0, y0, x1, y1, ...] pixel list for ImageDraw."""
        return (np.asarray(pts) * self.s + self.c).ravel().tolist()

    def pt(self, p) -> tuple[float, float]:
        q = np.asarray(p) * self.s + self.c
        return float(q[0]), float(q[1])

    def r(self, v: float) -> float:
        return v * self.s


# ---------------------------------------------------------------- layout

def layout(idt: FaceIdentity, lm: np.ndarray, pose: Pose) -> Layout:
    """All contours of the face in posed canonical coordinates."""
    P = lambda pts, z=None: project(np.asarray(pts, float), surface_depth(np.asarray(pts, float)) if z is None else np.broadcast_to(z, (len(pts),)), pose)  # noqa: E731
    a, sh = idt.face_width, idt.skull_height
    th = np.linspace(0, np.pi, 25)
    skull = np.column_stack([a * np.cos(th) * (1 - 0.05 * np.sin(th) ** 2), Y_TOP - sh * np.sin(th)])
    jaw = lm[:17]
    head = np.vstack([jaw, skull[1:-1]])
    head_z = np.concatenate([landmark_depth(lm)[:17], np.full(len(skull) - 2, -0.1)])
    ear_y = Y_TOP + 0.22
    ears = [P(_ellipse(side * a * 1.0, ear_y, 0.1, 0.2, 14), -0.15) for side in (-1, 1)]
    hair_back, hair_front = _hair_shapes(idt, skull)
    beard = None
    if idt.beard > 0:
        my = idt.mouth_y
        inner = np.array([(0.62, my - 0.15), (0.5, my + 0.05), (0.3, my + 0.16), (-0.3, my + 0.16), (-0.5, my + 0.05), (-0.62, my - 0.15)])
        beard = np.vstack([P(jaw[3:14], landmark_depth(lm)[3:14]), P(inner)])
    neck_top = P([(-0.5, 0.35), (0.5, 0.35)], -0.3)
    neck = np.vstack([neck_top[:1], [(-0.55, 1.65), (0.55, 1.65)], neck_top[1:]])
    shirt = np.array([(-0.58, 1.55), (0.0, 1.8), (0.58, 1.55), (1.75, 1.86), (2.3, 2.1), (2.3, 2.4),
                      (-2.3, 2.4), (-2.3, 2.1), (-1.75, 1.86)])
    irises = []
    for eye in (lm[36:42], lm[42:48]):
        centre = np.array([(eye[0, 0] + eye[3, 0]) / 2, (eye[0, 1] + eye[3, 1]) / 2 - 0.004])
        irises.append((centre, 0.42 * idt.eye_width))
    z = landmark_depth(lm)
    posed = project(lm, z, pose)
    irises = [(project(c[None], np.array([0.02]), pose)[0], r) for c, r in irises]
    extra = {"skull": P(skull, -0.1)}
    return Layout(posed, project(head, head_z, pose),
                  None if hair_back is None else P(hair_back, -0.25),
                  None if hair_front is None else P(hair_front, -0.05),
                  ears, neck, shirt, beard, irises, extra)


def _hair_shapes(idt: FaceIdentity, skull: np.ndarray):
    """Back (behind the head) and front (over the skull) hair polygons, canonical units."""
    a, style, hl, part = idt.face_width, idt.hair_style, idt.hairline, idt.hair_part
    cap = skull.copy()
    cap[:, 0] *= 1.06
    cap[:, 1] = Y_TOP + (cap[:, 1] - Y_TOP) * 1.05
    # hairline from the image-left temple over the forehead to the right temple
    line = np.array([(-a * 0.99, Y_TOP - 0.02), (-a * 0.9, Y_TOP - 0.22), (-0.62, hl + 0.12),
                     (-0.25, hl + 0.02), (part, hl - 0.02), (0.3, hl + 0.03), (0.66, hl + 0.13),
                     (a * 0.9, Y_TOP - 0.22), (a * 0.99, Y_TOP - 0.02)])
    if style == "receding":
        line[2:7, 1] -= np.array([0.34, 0.16, 0.1, 0.16, 0.34])
    if style in ("long", "bob"):
        bottom = 1.62 if style == "long" else 0.72
        back = np.vstack([[(a * 1.2, bottom)], cap * [1.1, 1.02], [(-a * 1.2, bottom)]])
        # right lock down, over the skull, left lock down, then back up along the hairline
        front = np.vstack([[(a * 1.14, bottom)], cap,
                           [(-a * 1.14, bottom), (-a * 0.98, bottom - 0.06), (-a * 0.93, 0.25)],
                           line[1:-1], [(a * 0.93, 0.25), (a * 0.98, bottom - 0.06)]])
        return back, front
    back = _ellipse(0.0, Y_TOP - idt.skull_height * 1.08, 0.36, 0.28, 18) if style == "bun" else None
    return back, np.vstack([cap, line])


# ---------------------------------------------------------------- drawing

def render(idt: FaceIdentity, lm: np.ndarray, aus: dict[int, float], pose: Pose, size: int) -> tuple[Image.Image, np.ndarray]:
    """Render one face; returns the RGB image and the 68 landmarks in output pixels."""
    lay = layout(idt, lm, pose)
    res = size * SUPERSAMPLE
    fr = Frame(res)
    img = Image.new("RGB", (res, res), idt.background)
    d = ImageDraw.Draw(img, "RGBA")
    _draw_body(img, d, fr, idt, lay)
    _draw_eyes(d, fr, idt, lay)
    _draw_brows(d, fr, idt, lay)
    _draw_nose(d, fr, idt, lay)
    _draw_mouth(img, d, fr, idt, lay)
    _draw_lines(img, fr, idt, lay, aus)
    _draw_catchlights(d, fr, lay)
    out = img.resize((size, size), Image.LANCZOS)
    out = _shade(out, idt, lay, aus)
    return out, lay.lm * FACE_SCALE * size + np.array(FACE_CENTRE) * size


def _draw_body(img: Image.Image, d: ImageDraw.ImageDraw, fr: Frame, idt: FaceIdentity, lay: Layout) -> None:
    skin, hair = idt.skin, idt.hair_colour
    if lay.hair_back is not None:
        d.polygon(fr.px(lay.hair_back), fill=_scale(hair, 0.82))
    d.polygon(fr.px(lay.neck), fill=_scale(skin, 0.93))
    d.polygon(fr.px(lay.shirt), fill=idt.shirt)
    for ear in lay.ears:
        d.polygon(fr.px(ear), fill=_scale(skin, 0.95))
        c = ear.mean(0)
        d.ellipse([*fr.pt(c - (0.045, 0.11)), *fr.pt(c + (0.045, 0.11))], fill=_scale(skin, 0.78) + (110,))
    d.polygon(fr.px(lay.head), fill=skin)
    _draw_ridge_sheen(img, fr, idt, lay)
    if lay.beard is not None:
        d.polygon(fr.px(lay.beard), fill=_scale(hair, 0.9) + (int(255 * idt.beard * 0.6),))
        lm = lay.lm
        tash = np.vstack([lm[[31, 33, 35]] + [(-0.03, 0.05), (0, 0.05), (0.03, 0.05)], lm[54] + (0.03, 0.01), lm[48] + (-0.03, 0.01)])
        d.polygon(fr.px(tash), fill=_scale(hair, 0.9) + (int(255 * idt.beard * 0.6),))
    if lay.hair_front is not None:
        alpha = 150 if idt.hair_style == "buzz" else 255
        d.polygon(fr.px(lay.hair_front), fill=hair + (alpha,))


def _draw_ridge_sheen(img: Image.Image, fr: Frame, idt: FaceIdentity, lay: Layout) -> None:
    """Dark skin: soft specular light on the brow ridges (anchored to the eyes, i.e. the bone),
    painted under the brows, so a brow reads as dark hair against lit skin wherever it moves."""
    k = sheen(idt.skin)
    if k <= 0:
        return
    q = 4                                               # mask at 1/q resolution, blurred
    lr = Frame(fr.res // q)
    mask = Image.new("L", (lr.res, lr.res), 0)
    dm = ImageDraw.Draw(mask)
    for eye in (lay.lm[36:42], lay.lm[42:48]):
        c = eye.mean(0) - (0.0, 0.25)
        dm.ellipse([*lr.pt(c - (0.24, 0.12)), *lr.pt(c + (0.24, 0.12))], fill=220)
    mask = mask.filter(ImageFilter.GaussianBlur(lr.r(0.07))).resize(img.size, Image.BILINEAR)
    img.paste(_mix(idt.skin, SHEEN_COLOUR, 0.46 * k), (0, 0), mask)


def _eye_curves(eye: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    upper = catmull(eye[[0, 1, 2, 3]], 6)
    lower = catmull(eye[[3, 4, 5, 0]], 6)
    return upper, lower


def _draw_eyes(d: ImageDraw.ImageDraw, fr: Frame, idt: FaceIdentity, lay: Layout) -> None:
    for k, eye in enumerate((lay.lm[36:42], lay.lm[42:48])):
        upper, lower = _eye_curves(eye)
        d.polygon(fr.px(np.vstack([upper, lower])), fill=(226, 220, 212))
        c, r = lay.irises[k]
        d.ellipse([*fr.pt(c - r), *fr.pt(c + r)], fill=idt.iris, outline=_scale(idt.iris, 0.45),
                  width=max(1, int(fr.r(0.012))))
        pr = r * 0.42
        d.ellipse([*fr.pt(c - pr), *fr.pt(c + pr)], fill=(14, 11, 10))
        lift = np.array([0.0, 1.5 * r])
        d.polygon(fr.px(np.vstack([upper, (upper - lift)[::-1]])), fill=idt.skin)
        d.polygon(fr.px(np.vstack([lower, (lower + lift * 0.9)[::-1]])), fill=idt.skin)


def _draw_brows(d: ImageDraw.ImageDraw, fr: Frame, idt: FaceIdentity, lay: Layout) -> None:
    colour = _mix(_scale(idt.hair_colour, 0.75), idt.skin, 0.15)
    if idt.hair_style == "receding" or max(idt.hair_colour) > 150:
        colour = _mix(colour, (60, 50, 44), 0.4)
    if _luma(colour) < _luma(idt.skin):   # dark skin: keep the brow hair clearly below the skin
        colour = _mix(colour, (8, 7, 6), 0.6 * sheen(idt.skin))
    prof = np.array([0.45, 0.85, 1.0, 1.08, 1.0])[:, None]
    for idx in ((17, 18, 19, 20, 21), (26, 25, 24, 23, 22)):
        pts = lay.lm[list(idx)]
        low = catmull(pts, 5)
        up = catmull(pts - prof * [0, idt.brow_thick] + np.array([[0, 0]] * 4 + [[0, 0.005]]), 5)
        d.polygon(fr.px(np.vstack([low, up[::-1]])), fill=colour + (225,))


def _draw_nose(d: ImageDraw.ImageDraw, fr: Frame, idt: FaceIdentity, lay: Layout) -> None:
    lm = lay.lm
    dark = _scale(idt.skin, 0.42)
    for a, b in ((31, 32), (35, 34)):
        c = lm[a] * 0.45 + lm[b] * 0.55 + (0, -0.012)
        d.ellipse([*fr.pt(c - (0.042, 0.02)), *fr.pt(c + (0.042, 0.02))], fill=dark + (200,))


def _mouth_polys(lm: np.ndarray):
    outer_up = catmull(lm[48:55], 5)
    outer_lo = catmull(lm[[54, 55, 56, 57, 58, 59, 48]], 5)
    inner_up = catmull(lm[[48, 60, 61, 62, 63, 64, 54]], 5)
    inner_lo = catmull(lm[[54, 64, 65, 66, 67, 60, 48]], 5)
    return outer_up, outer_lo, inner_up, inner_lo


def _draw_mouth(img: Image.Image, d: ImageDraw.ImageDraw, fr: Frame, idt: FaceIdentity, lay: Layout) -> None:
    lm = lay.lm
    outer_up, outer_lo, inner_up, inner_lo = _mouth_polys(lm)
    lip = _mix(idt.skin, (168, 78, 80), 0.32 if idt.skin_tone <= 6 else 0.18)
    lip = _scale(lip, 0.86 if idt.skin_tone <= 6 else 0.9)
    # dark skin: two-toned lips as often seen (lighter, rosier lower lip; darker upper lip),
    # so the lip outline keeps a contrast relative to the skin's own luminance
    k = sheen(idt.skin)
    upper = _mix(_scale(lip, 0.88), (20, 14, 14), 0.3 * k)
    lip = _mix(lip, (156, 96, 98), 0.38 * k)
    gap = float(np.max(lm[[65, 66, 67], 1] - lm[[63, 62, 61], 1]))
    if gap > 0.006:
        _draw_mouth_inside(img, fr, np.vstack([inner_up, inner_lo]), inner_up, inner_lo, gap)
    d.polygon(fr.px(np.vstack([outer_up, inner_up[::-1]])), fill=upper)
    d.polygon(fr.px(np.vstack([outer_lo, inner_lo[::-1]])), fill=lip)
    if gap <= 0.006:
        d.line(fr.px(inner_up), fill=_scale(lip, 0.45) + (220,), width=max(1, int(fr.r(0.014))))


def _draw_mouth_inside(img, fr: Frame, poly, inner_up, inner_lo, gap: float) -> None:
    pts = np.array(fr.px(poly)).reshape(-1, 2)
    x0, y0 = np.floor(pts.min(0)).astype(int) - 2
    x1, y1 = np.ceil(pts.max(0)).astype(int) + 2
    w, h = x1 - x0, y1 - y0
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).polygon((pts - (x0, y0)).ravel().tolist(), fill=255)
    inside = Image.new("RGB", (w, h), (58, 20, 24))
    di = ImageDraw.Draw(inside)
    off = np.array([x0, y0])
    teeth = (232, 226, 212)
    th = min(0.055, 0.55 * gap)
    up = np.array(fr.px(inner_up)).reshape(-1, 2) - off
    di.polygon(np.vstack([up, (up + (0, fr.r(th)))[::-1]]).ravel().tolist(), fill=teeth)
    if gap > 0.05:
        lo = np.array(fr.px(inner_lo)).reshape(-1, 2) - off
        di.polygon(np.vstack([lo, (lo - (0, fr.r(0.03)))[::-1]]).ravel().tolist(), fill=_scale(teeth, 0.9))
    img.paste(inside, (int(x0), int(y0)), mask)


def _stroke(d: ImageDraw.ImageDraw, fr: Frame, pts: np.ndarray, value: int, width: float) -> None:
    if value > 0:
        d.line(fr.px(catmull(np.asarray(pts, float), 5)), fill=int(min(value, 255)),
               width=max(1, int(round(fr.r(width)))), joint="curve")


def _luma(c) -> float:
    """sRGB-encoded luma (BT.601) of a colour, 0..1."""
    return (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) / 255.0


def sheen(skin) -> float:
    """How much expression cues on this skin are carried by highlights, 0..1.

    Dark lines (creases, liner, brows) stop reading on dark skin: the skin is already near the
    bottom of the range. In photographs such skin shows its folds through specular and rim
    light on the raised side of each fold. 0 on MST 1-4 (pixels unchanged there), about 0.08
    on MST 5 and rising to 1 on MST 10.
    """
    return float(np.clip((0.8 - _luma(skin)) / 0.62, 0.0, 1.0))


SHEEN_COLOUR = (214, 198, 186)   # soft, slightly warm specular light


def _draw_lines(img: Image.Image, fr: Frame, idt: FaceIdentity, lay: Layout, aus: dict[int, float]) -> None:
    """Creases, wrinkles and lid lines: drawn into masks, then painted in a darker skin colour.

    On darker skin (`sheen` > 0) every fold also gets a highlight on its raised side (the `lit`
    direction: the cheek above a nasolabial fold, the skin below a forehead line, the bulge
    between glabellar furrows), and the brow bone, upper-lip border and lower lip get
    luminance-aware highlights, so expressions read as well as on light skin.
    """
    lm, age = lay.lm, idt.wrinkles
    # masks only over the face's bounding box (faster than full-size masks)
    box = np.array(fr.px(lay.head)).reshape(-1, 2)
    x0, y0 = np.maximum(np.floor(box.min(0)).astype(int) - 4, 0)
    x1, y1 = np.minimum(np.ceil(box.max(0)).astype(int) + 4, img.size[0])
    fr = Frame(fr.res, (int(x0), int(y0)))
    crease = Image.new("L", (int(x1 - x0), int(y1 - y0)), 0)
    dc = ImageDraw.Draw(crease)
    liner = Image.new("L", crease.size, 0)
    dl = ImageDraw.Draw(liner)
    k = sheen(idt.skin)
    ridge = Image.new("L", crease.size, 0) if k > 0 else None
    dr = ImageDraw.Draw(ridge) if ridge is not None else None
    au = lambda k: aus.get(k, 0.0)  # noqa: E731

    def fold(pts, value: int, width: float, lit=(0.0, 1.0)) -> None:
        """A crease, plus (dark skin) its highlight offset towards the raised, lit side."""
        pts = np.asarray(pts, float)
        _stroke(dc, fr, pts, value, width)
        if dr is not None:
            _stroke(dr, fr, pts + np.asarray(lit) * (1.6 * width + 0.006), value, 1.3 * width)

    def shine(pts, value: int, width: float) -> None:
        if dr is not None:
            _stroke(dr, fr, pts, value, width)

    for eye, sgn in ((lm[36:42], -1), (lm[42:48], 1)):
        upper, lower = _eye_curves(eye)
        dl.line(fr.px(upper), fill=235, width=max(1, int(fr.r(0.02))), joint="curve")
        dl.line(fr.px(lower), fill=90, width=max(1, int(fr.r(0.008))), joint="curve")
        fold_ = eye[[0, 1, 2, 3]].copy()
        fold_[1:3, 1] -= 0.045 + 0.03 * au(5)
        fold_[:, 0] += [-0.015 * sgn, 0, 0, 0.01 * sgn]
        fold(fold_, 120 + int(60 * au(5)), 0.01, (0.0, -1.0))
        bag = eye[[3, 4, 5, 0]].copy()
        bag[1:3, 1] += 0.05 - 0.015 * au(6)
        fold(bag, int(170 * (0.5 * age + 0.6 * au(6) + 0.3 * au(7))), 0.009, (0.0, -1.0))
        corner = eye[0] if sgn < 0 else eye[3]   # outer corner
        for j, ang in enumerate((-0.5, 0.0, 0.5)):
            v = np.array([np.cos(ang) * sgn, np.sin(ang)])
            seg = np.array([corner + v * 0.05, corner + v * 0.09 + (0, 0.01 * j - 0.01), corner + v * 0.13])
            fold(seg, int(230 * min(1.0, 0.9 * au(6) + 0.5 * age)), 0.008, (0.0, 1.0))
    # forehead: AU1/AU2 lift it into horizontal lines; age leaves them
    brow_top = min(lm[17:27, 1].min(), -0.5)
    strength = min(1.0, 0.8 * au(1) + 0.6 * au(2) + 0.55 * age)
    for j in range(3):
        y = brow_top - 0.09 - 0.075 * j
        xs = np.linspace(-0.45 + 0.08 * j, 0.45 - 0.08 * j, 5)
        curve = np.column_stack([xs, y - 0.02 * np.cos(xs * 2.5) + 0.03 * (au(1) - au(2)) * np.cos(xs * 3)])
        fold(curve, int(210 * strength * (1 - 0.2 * j)), 0.009, (0.0, 1.0))
    # glabella (AU4) and nose bridge (AU9); the procerus bulges between the furrows
    g = min(1.0, 1.0 * au(4) + 0.5 * au(9))
    for sgn in (-1, 1):
        x = 0.055 * sgn
        top, bot = lm[21, 1] if sgn < 0 else lm[22, 1], lm[27, 1]
        fold([(x * 1.3, top - 0.08), (x, (top + bot) / 2 - 0.03), (x * 0.9, bot + 0.03)], int(230 * g), 0.01, (-sgn, 0.0))
    for j in range(3):
        y = lm[28, 1] + 0.02 * j - 0.015
        fold([(-0.09, y + 0.01), (0, y - 0.005), (0.09, y + 0.01)], int(220 * au(9)), 0.008, (0.0, 1.0))
    # nose: alar creases and base
    for a, b, sgn in ((31, 32, -1), (35, 34, 1)):
        c = lm[a]
        fold([c + (0.03 * -sgn, -0.07), c + (0.01 * sgn, -0.035), c + (0.0, 0.0), (lm[a] + lm[b]) / 2 + (0, 0.018)], 200, 0.011, (-sgn, 0.0))
    # nasolabial folds: from the nose wing round the lip corner; deeper with AU12, AU9, AU10, age
    nl = min(1.0, 0.12 + 0.8 * au(12) + 0.5 * au(9) + 0.4 * au(10) + 0.3 * au(20) + 0.4 * age)
    for wing, corner, sgn in ((31, 48, -1), (35, 54, 1)):
        w, c = lm[wing], lm[corner]
        out = 0.07 + 0.05 * au(12)
        pts = [w + (0.04 * sgn, -0.03), w + (0.1 * sgn, 0.06), c + (out * sgn, -0.04 - 0.03 * au(12)), c + ((out - 0.01) * sgn, 0.06 + 0.08 * age)]
        fold(pts, int(235 * nl), 0.012 + 0.006 * au(12), (0.8 * sgn, -0.6))
        # dimple (AU14) and marionette lines (age, AU15)
        fold([c + (0.015 * sgn, -0.02), c + (0.03 * sgn, 0.01), c + (0.02 * sgn, 0.035)], int(220 * au(14)), 0.01, (sgn, 0.0))
        fold([c + (0.01 * sgn, 0.02), c + (0.03 * sgn, 0.1), c + (0.05 * sgn, 0.18)], int(200 * min(1.0, 0.6 * max(age - 0.4, 0) + 0.5 * au(15))), 0.01, (sgn, 0.0))
    # chin boss / mentolabial sulcus
    ml = lm[57] + (0, 0.06 + 0.03 * idt.lower_lip)
    fold([ml + (-0.12, 0.01), ml, ml + (0.12, 0.01)], int(120 + 60 * au(16)), 0.014, (0.0, 1.0))
    if dr is not None:
        # brow bone under each brow and forehead skin over it: the brow's shape reads by its rim
        for idx in ((17, 18, 19, 20, 21), (26, 25, 24, 23, 22)):
            brow = lm[list(idx)]
            shine(brow + (0.0, 0.024), 150, 0.014)
            shine(brow - (0.0, idt.brow_thick + 0.02), 110, 0.014)
        # lips: the upper-lip border ("white roll"), the lit inner edge and sheen of the lower lip
        shine(lm[48:55] - (0.0, 0.012), 150, 0.012)
        shine(lm[[60, 67, 66, 65, 64]] + (0.0, 0.012), 140, 0.01)
        shine(lm[[58, 57, 56]] * 0.55 + lm[[67, 66, 65]] * 0.45, 170, 0.018)
    box = (int(x0), int(y0), int(x1), int(y1))
    if ridge is not None:
        img.paste(_mix(idt.skin, SHEEN_COLOUR, 0.5 * k), box, mask=ridge.filter(ImageFilter.BoxBlur(SUPERSAMPLE // 2)))
    img.paste(_scale(idt.skin, 0.58 - 0.16 * k), box, mask=crease)
    img.paste((22, 16, 14), box, mask=liner)


def _draw_catchlights(d: ImageDraw.ImageDraw, fr: Frame, lay: Layout) -> None:
    for c, r in lay.irises:
        p = c + (-0.35 * r, -0.4 * r)
        d.ellipse([*fr.pt(p - 0.16 * r), *fr.pt(p + 0.16 * r)], fill=(250, 250, 250, 230))


# ---------------------------------------------------------------- lighting

@lru_cache(maxsize=8)
def _vignette(size: int) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] / size - 0.5
    v = 1.0 - 0.35 * (x * x + (y + 0.1) ** 2)
    return v.astype(np.float32)[:, :, None]


def _shade(img: Image.Image, idt: FaceIdentity, lay: Layout, aus: dict[int, float]) -> Image.Image:
    """Multiply by a smooth light map and add soft specular highlights."""
    size = img.size[0]
    lr = max(32, size // 4)
    fr = Frame(lr)
    mul = Image.new("L", (lr, lr), 128)
    spec = Image.new("L", (lr, lr), 0)
    dm, ds = ImageDraw.Draw(mul), ImageDraw.Draw(spec)
    lm = lay.lm
    au = lambda k: aus.get(k, 0.0)  # noqa: E731
    dm.polygon(fr.px(lay.neck), fill=104)
    dm.polygon(fr.px(np.vstack([lm[2:15], lm[14:1:-1] + (0, 0.2)])), fill=70)
    dm.polygon(fr.px(lay.head), fill=100)
    c = np.array([(lm[0, 0] + lm[16, 0]) / 2 - 0.12, -0.3])   # key light from the upper left
    dm.ellipse([*fr.pt(c - (0.72, 1.0)), *fr.pt(c + (0.72, 1.0))], fill=136)
    for k, eye in enumerate((lm[36:42], lm[42:48])):
        e = eye.mean(0) + (0.02 * (1 if k == 0 else -1), -0.04)
        dm.ellipse([*fr.pt(e - (0.2, 0.1)), *fr.pt(e + (0.2, 0.1))], fill=114)
    for sgn in (-1, 1):
        dm.line(fr.px([lm[27] + (0.075 * sgn, 0), lm[31 if sgn < 0 else 35] + (0.0 * sgn, -0.02)]), fill=108, width=max(1, int(fr.r(0.07))))
        chk = np.array([0.52 * sgn, 0.12 - 0.06 * au(6) - 0.04 * au(12)])
        ds.ellipse([*fr.pt(chk - (0.16, 0.09)), *fr.pt(chk + (0.16, 0.09))], fill=int(60 + 90 * max(au(6), au(12))))
        dm.ellipse([*fr.pt(chk + (0.02 * sgn, 0.22) - (0.14, 0.09)), *fr.pt(chk + (0.02 * sgn, 0.22) + (0.14, 0.09))], fill=int(124 - 10 * au(12)))
    dm.ellipse([*fr.pt(lm[33] + (0, 0.04) - (0.13, 0.035)), *fr.pt(lm[33] + (0, 0.04) + (0.13, 0.035))], fill=106)
    dm.ellipse([*fr.pt(lm[57] + (0, 0.06) - (0.16, 0.04)), *fr.pt(lm[57] + (0, 0.06) + (0.16, 0.04))], fill=112)
    ds.line(fr.px([lm[28], lm[30]]), fill=110, width=max(1, int(fr.r(0.06))))
    ds.ellipse([*fr.pt(lm[30] - 0.05), *fr.pt(lm[30] + 0.05)], fill=160)
    fh = np.array([(lm[19, 0] + lm[24, 0]) / 2 - 0.08, lm[19:25, 1].min() - 0.22])
    ds.ellipse([*fr.pt(fh - (0.3, 0.12)), *fr.pt(fh + (0.3, 0.12))], fill=90)
    ds.ellipse([*fr.pt(lm[8] + (0, -0.12) - (0.12, 0.06)), *fr.pt(lm[8] + (0, -0.12) + (0.12, 0.06))], fill=70)
    ds.ellipse([*fr.pt(lm[57] + (0, -0.035) - (0.1, 0.02)), *fr.pt(lm[57] + (0, -0.035) + (0.1, 0.02))], fill=70)
    k = sheen(idt.skin)
    if k > 0:   # dark skin: the procerus bulge (AU4) and the raised upper lip / nose (AU9, AU10) shine
        g = lm[[21, 22]].mean(0) + (0.0, 0.02)
        ds.ellipse([*fr.pt(g - (0.08, 0.07)), *fr.pt(g + (0.08, 0.07))], fill=int(k * 200 * au(4)))
        ul = lm[[33, 51]].mean(0)
        ds.ellipse([*fr.pt(ul - (0.14, 0.04)), *fr.pt(ul + (0.14, 0.04))], fill=int(k * 140 * max(au(9), au(10))))
    blur = ImageFilter.GaussianBlur(lr / 40)
    mul = np.asarray(mul.filter(blur).resize((size, size), Image.BILINEAR), np.float32) / 128.0
    spec = np.asarray(spec.filter(blur).resize((size, size), Image.BILINEAR), np.float32) / 255.0
    gain = 14.0 + 5.0 * idt.skin_tone
    arr = np.asarray(img, np.float32) * (mul[:, :, None] * _vignette(size)) + spec[:, :, None] * gain
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))
