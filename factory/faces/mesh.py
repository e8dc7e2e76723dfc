"""The 3D face: MediaPipe's 478-vertex face mesh, per-person shape, and AU-driven expression.

Frame: centimetres, x to the image right, y down, z towards the camera, origin between the
outer eye corners. Two expression models (`face_model` in the recipe's face settings):

- `blendshapes` (default): clean terms (Apache-2.0 only): MediaPipe's canonical face, moved by
  this project's own FACS landmark displacements (`factory.faces.geometry`), spread smoothly
  from the 68 landmarks over the mesh, plus soft tissue between them.
- `pyfeat`: py-feat's `au_to_mesh_pls_v4`, a linear model fitted on real faces that moves every
  vertex per AU intensity, limited to each AU's anatomical region (the fit also carries
  correlations with head shape and pose, which a region mask removes). AU16 and AU27, not in
  the fit, come from the blend shapes. Fitted parameters: research-use terms.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import numpy as np
from scipy import sparse

from factory.faces.expression import AUS

FACE_MODELS = ("blendshapes", "pyfeat")
N_VERTICES = 478
# iBUG 300-W 68-point landmarks as MediaPipe vertices (subject's right = image left first).
IBUG68 = np.array([
    127, 234, 93, 58, 172, 136, 150, 176, 152, 400, 379, 365, 397, 288, 323, 454, 356,   # jaw
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,                                     # brows
    168, 197, 5, 1, 98, 97, 2, 326, 327,                                                # nose
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,                          # eyes
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,                                # outer lips
    78, 82, 13, 312, 308, 317, 14, 87])                                                 # inner lips
# Mesh vertex at the middle of each lid margin -> the two iBUG points on either side of it.
LID_MIDDLES = {159: (37, 38), 145: (40, 41), 386: (43, 44), 374: (46, 47)}
EYE_LOOPS = ((33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
             (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249))
MOUTH_LOOP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
IRIS = (468, 473)           # iris centres, subject's right eye first
EYE_CENTRE_X = 3.3          # cm from the midline, canonical
IRIS_POINTS = np.arange(468, 478)   # both irises: centre and four rim points each
# AU64 at 1: the eyeball (radius ~1.2 cm) turned 15 degrees down moves the iris this far (cm).
GAZE_DOWN = (0.0, 1.2 * np.sin(np.radians(15)), -1.2 * (1 - np.cos(np.radians(15))))


def _data(name: str):
    return np.load(files("factory") / "data" / "faces" / name, allow_pickle=False)


@lru_cache(maxsize=1)
def topology() -> tuple[np.ndarray, np.ndarray]:
    """(canonical vertices (478, 3), triangles) with counter-clockwise front faces; the
    triangles that close the eye and mouth openings are left out (eyeballs and the mouth
    interior are drawn there)."""
    d = _data("mediapipe_face.npz")
    v, t = d["vertices"].astype(np.float64), d["triangles"].astype(np.int64)
    for loop in EYE_LOOPS + (MOUTH_LOOP,):
        t = t[~np.isin(t, loop).all(axis=1)]
    p = v[t][:, :, :2]
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    facing = (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) * np.sign(v[t][:, :, 2].mean(1) + 50)
    if (facing > 0).mean() < 0.5:
        t = t[:, ::-1].copy()
    return v, t


@lru_cache(maxsize=1)
def vertex_normal_matrix() -> sparse.csr_matrix:
    """Sparse (V, T) incidence matrix: vertex normal = sum of its triangles' area normals."""
    _, t = topology()
    rows, cols = t.ravel(), np.repeat(np.arange(len(t)), 3)
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(N_VERTICES, len(t)))


def vertex_normals(v: np.ndarray) -> np.ndarray:
    """Unit normals (pointing to the camera for a frontal face) of mesh vertices `v`."""
    _, t = topology()
    p = v[t]
    n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    vn = vertex_normal_matrix() @ n
    vn /= np.linalg.norm(vn, axis=1, keepdims=True) + 1e-12
    return vn


@lru_cache(maxsize=1)
def _neighbour_average() -> sparse.csr_matrix:
    """Row-normalised vertex adjacency of the mesh (averages each vertex's neighbours)."""
    _, t = topology()
    rows = np.concatenate([t[:, 0], t[:, 1], t[:, 2], t[:, 1], t[:, 2], t[:, 0]])
    cols = np.concatenate([t[:, 1], t[:, 2], t[:, 0], t[:, 0], t[:, 1], t[:, 2]])
    a = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(N_VERTICES, N_VERTICES))
    a.data[:] = 1.0
    return sparse.diags(1.0 / np.maximum(a.sum(1).A1, 1)) @ a


def cavity_occlusion(v: np.ndarray, strength: float = 0.55, iterations: int = 12) -> np.ndarray:
    """Ambient occlusion per vertex (0..1) from how far a vertex lies below its smoothed
    surroundings (eye sockets, the sides of the nose, the nasolabial fold, the mouth corners)."""
    avg = _neighbour_average()
    z = v[:, 2]
    smooth = z
    for _ in range(iterations):
        smooth = avg @ smooth
    ao = np.clip(1.0 - strength * np.maximum(smooth - z, 0.0), 0.4, 1.0)
    ao[list(MOUTH_LOOP)] *= 0.55          # the line where the lips meet
    ao[[i for loop in EYE_LOOPS for i in loop]] *= 0.7     # lid margins and lashes
    return ao


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _region(v: np.ndarray, au: int) -> np.ndarray:
    """Where an AU may move the face (0..1 per vertex), from FACS anatomy."""
    x, y = np.abs(v[:, 0]), v[:, 1]
    upper = _smoothstep((1.6 - y) / 1.2)                     # brows, lids, upper cheeks
    eyes = _smoothstep((3.2 - np.hypot(x - EYE_CENTRE_X, (y - 0.2) * 1.2)) / 1.2)
    mouth = _smoothstep((y - 2.4) / 1.4) * _smoothstep((7.4 - x) / 1.6)
    if au in (1, 2, 4):
        return upper * _smoothstep((6.8 - x) / 1.5)
    if au in (5, 7, 43):
        return eyes * _smoothstep((1.8 - y) / 0.8)
    if au == 6:
        return np.maximum(eyes, _smoothstep((6.5 - y) / 1.5) * _smoothstep((y + 0.5) / 0.8) * _smoothstep((6.6 - x) / 1.5))
    if au == 9:
        return np.maximum(_smoothstep((6.4 - y) / 1.5) * _smoothstep((4.8 - x) / 1.5), upper * _smoothstep((2.6 - x) / 1.2))
    return mouth


UPPER_INNER_LIP = (191, 80, 81, 82, 13, 312, 311, 310, 415)
LOWER_INNER_LIP = (95, 88, 178, 87, 14, 317, 402, 318, 324)


def below_mouth(v: np.ndarray) -> np.ndarray:
    """Which vertices of a mesh with parted lips lie below the mouth line (move with the jaw)."""
    upper = v[list(UPPER_INNER_LIP)]
    lower = v[list(LOWER_INNER_LIP)]
    order = np.argsort(upper[:, 0])
    line = (np.interp(v[:, 0], upper[order, 0], upper[order, 1])
            + np.interp(v[:, 0], lower[np.argsort(lower[:, 0]), 0], lower[np.argsort(lower[:, 0]), 1])) / 2
    return v[:, 1] > line


UPPER_LIDS = ((246, 161, 160, 159, 158, 157, 173), (466, 388, 387, 386, 385, 384, 398))


def close_lips(v: np.ndarray) -> np.ndarray:
    """The mesh with its inner lips meeting (a relaxed closed mouth), moved smoothly."""
    upper, lower = list(UPPER_INNER_LIP), list(LOWER_INNER_LIP)
    half = (v[lower, 1] - v[upper, 1]) / 2 + 0.02       # a hair of overlap: no slit between the lips
    out = v.copy()
    out[:, 1] += spread_weights(v, upper + lower, 0.35) @ np.concatenate([half, -half])
    return out


def open_eyes(v: np.ndarray, lift: float) -> np.ndarray:
    """The mesh with its upper lids raised by up to `lift` cm (most at the lid's middle)."""
    upper = [i for lid in UPPER_LIDS for i in lid]
    pinned = [i for loop in EYE_LOOPS for i in loop if i not in upper]     # lower lids, corners
    shift = np.concatenate([lift * np.tile(np.sin(np.linspace(0.35, np.pi - 0.35, 7)), 2), np.zeros(len(pinned))])
    out = v.copy()
    out[:, 1] -= spread_weights(v, upper + pinned, 0.3) @ shift
    return out


@lru_cache(maxsize=1)
def canonical_face() -> np.ndarray:
    """MediaPipe's canonical face relaxed for a portrait: lips closed, eyes open to a
    typical palpebral fissure (~0.9 cm; the canonical model's 0.67 cm reads as a squint)."""
    v = open_eyes(close_lips(topology()[0]), 0.25)
    v.setflags(write=False)
    return v


def _p99(d: np.ndarray) -> float:
    return float(np.percentile(np.linalg.norm(d, axis=1), 99))


@lru_cache(maxsize=1)
def pyfeat_model() -> tuple[np.ndarray, np.ndarray]:
    """(neutral (478, 3), AU basis (len(AUS), 478, 3)) from py-feat's fit, region-limited.

    The fit maps detector AU *probabilities* to an average face and so regresses towards the
    mean: where its displacement at AU = 1 is smaller than the FACS apex of the project's own
    blend shapes, it is scaled up to that (never down). Its neutral has the lips apart (a
    population mean); they are closed here.
    """
    d = _data("pyfeat_au_mesh.npz")
    neutral, delta = d["neutral"].astype(np.float64), d["au_delta"].astype(np.float64)
    names = [str(n) for n in d["au_names"]]
    fallback = blendshape_basis()
    basis = np.zeros((len(AUS), N_VERTICES, 3))
    for k, au in enumerate(AUS):
        name = f"AU{au:02d}"
        if name not in names:
            basis[k] = fallback[k]
            continue
        fitted = delta[names.index(name)] * _region(neutral, au)[:, None]
        basis[k] = fitted * max(1.0, _p99(fallback[k]) / max(_p99(fitted), 1e-9))
    basis.setflags(write=False)
    return close_lips(neutral), basis


def eyelid_side(v: np.ndarray) -> np.ndarray:
    """Per vertex: -1 on an upper eyelid (above the eye's corner-to-corner line, between the
    corners, within 1.2 cm), +1 on a lower eyelid, 0 elsewhere (corners included)."""
    side = np.zeros(len(v), np.int8)
    for loop in EYE_LOOPS:
        a, b = v[loop[0], :2], v[loop[8], :2]           # the eye's corners
        lo, hi = sorted((a[0], b[0]))
        t = (v[:, 0] - a[0]) / (b[0] - a[0])
        dy = v[:, 1] - (a[1] + t * (b[1] - a[1]))
        near = (v[:, 0] > lo + 0.05) & (v[:, 0] < hi - 0.05) & (np.abs(dy) < 1.2)
        side[near] = np.where(dy[near] < 0, -1, 1)
    return side


def spread_weights(v: np.ndarray, anchors, sigma: float, jaw: np.ndarray | None = None,
                   lids: np.ndarray | None = None) -> np.ndarray:
    """(V, k) weights that move `anchors` (vertex indices) exactly and their neighbours
    smoothly (normalised Gaussian in the face plane, fading to nothing far away). With `jaw`
    (per-vertex: below the mouth line) a vertex only follows anchors on its own side, so
    closed lips can still part; with `lids` (`eyelid_side`) an upper eyelid never follows a
    lower lid's anchor nor the reverse, so a lid moves as one piece, not pulled back at its
    middle by the other lid."""
    anchors = np.asarray(anchors)
    d2 = ((v[:, None, :2] - v[None, anchors, :2]) ** 2).sum(-1)
    w = np.exp(-d2 / (2 * sigma ** 2))
    if jaw is not None:
        w *= jaw[:, None] == jaw[None, anchors]
    if lids is not None:
        w *= (lids[:, None].astype(np.int16) * lids[None, anchors]) >= 0
    w[anchors, np.arange(len(anchors))] += 1e6
    return w / (w.sum(1, keepdims=True) + 0.05)


def _bump(v: np.ndarray, centre, radius: float, shift) -> np.ndarray:
    """A smooth displacement field: `shift` (dx, dy, dz) at `centre` (x, y; mirrored to both
    sides), Gaussian falloff of `radius`."""
    out = np.zeros_like(v)
    for side in (-1, 1):
        c = np.array([side * centre[0], centre[1]])
        w = np.exp(-((v[:, :2] - c) ** 2).sum(1) / (2 * radius ** 2))
        out += w[:, None] * np.array([side * shift[0], shift[1], shift[2]])
    return out


# Soft-tissue motion between the landmarks, cm at AU = 1 (FACS: AU6 raises and bulges the
# cheeks, AU12 pulls them up and out along the nasolabial fold, AU9 bunches the nose sides,
# AU4 bunches the brows forward, AU1/2 lift the forehead, AU10 lifts the cheek above the lip,
# AU17 pushes the chin boss up and forward).
_SOFT_TISSUE = {
    6: [((3.6, 2.3), 1.2, (0.05, -0.35, 0.25))],
    12: [((3.5, 4.4), 1.3, (0.25, -0.45, 0.3)), ((2.6, 2.6), 1.0, (0.05, -0.2, 0.12))],
    9: [((1.1, 2.4), 0.7, (0.05, -0.25, 0.12)), ((0.0, 0.8), 0.7, (0.0, 0.0, 0.1))],
    4: [((0.9, -1.6), 0.8, (-0.1, 0.2, 0.2)), ((2.4, -1.5), 1.0, (-0.05, 0.15, 0.15))],
    1: [((1.2, -3.2), 1.6, (0.0, -0.35, 0.0))],
    2: [((3.6, -3.0), 1.5, (0.0, -0.3, 0.0))],
    10: [((1.9, 4.2), 1.0, (0.0, -0.2, 0.1))],
    20: [((3.6, 6.6), 1.2, (0.25, 0.05, -0.05))],
    17: [((0.5, 8.7), 0.9, (0.0, -0.25, 0.2))],
}


@lru_cache(maxsize=1)
def blendshape_basis() -> np.ndarray:
    """AU basis from the project's own 68-landmark FACS displacements, spread over the mesh,
    plus the soft tissue between landmarks (`_SOFT_TISSUE`)."""
    from factory.faces.geometry import landmark_au_basis

    v = canonical_face()
    lm68 = landmark_au_basis() * 8.2                  # canonical face units -> cm
    # the middle of each lid margin moves as the mean of its two iBUG points on either side
    middles = np.stack([lm68[:, list(pair)].mean(1) for pair in LID_MIDDLES.values()], axis=1)
    anchors = np.concatenate([IBUG68, list(LID_MIDDLES)])
    w = spread_weights(v, anchors, 0.9, jaw=below_mouth(topology()[0]), lids=eyelid_side(v))
    basis = np.zeros((len(AUS), N_VERTICES, 3))
    basis[:, :, :2] = np.einsum("vk,akd->avd", w, np.concatenate([lm68, middles], axis=1))
    lips = np.array(MOUTH_LOOP)
    basis[:, lips, 2] -= 0.15 * np.abs(basis[:, lips, 1])    # parted lips roll in slightly
    free = ~np.isin(np.arange(N_VERTICES), anchors)[:, None]     # soft tissue moves what no anchor pins
    for k, au in enumerate(AUS):
        for centre, radius, shift in _SOFT_TISSUE.get(au, ()):
            basis[k] += _bump(v, centre, radius, shift) * free
    basis[AUS.index(64), IRIS_POINTS] = GAZE_DOWN          # the eyes turn; the lids only follow
    basis.setflags(write=False)
    return basis


@lru_cache(maxsize=2)
def expression_model(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(neutral mesh, AU basis) of one of `FACE_MODELS`."""
    if name == "pyfeat":
        return pyfeat_model()
    if name == "blendshapes":
        return canonical_face(), blendshape_basis()
    raise ValueError(f"unknown face model {name!r}; one of {FACE_MODELS}")


@dataclass(frozen=True)
class FaceShape:
    """A person's face shape as smooth deformations of the neutral mesh (1 = average)."""

    width: float = 1.0
    length: float = 1.0
    jaw: float = 0.0          # jaw widening (+) / narrowing (-), fraction at the chin
    chin: float = 0.0         # chin lengthening, cm
    nose_width: float = 1.0
    nose_length: float = 1.0
    nose_depth: float = 1.0
    eye_size: float = 1.0
    lips: float = 1.0         # lip fullness
    mouth_width: float = 1.0
    brow: float = 0.0         # brow height, cm (up < 0)
    brow_ridge: float = 0.0   # brow ridge prominence, cm
    cheekbones: float = 0.0   # cheekbone prominence, cm
    sag: float = 0.0          # age sagging of the lower face, cm


def shape_face(neutral: np.ndarray, s: FaceShape) -> np.ndarray:
    """The neutral mesh deformed by a person's `FaceShape`."""
    v = neutral.copy()
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    nose = _smoothstep((2.4 - np.abs(x)) / 1.2) * _smoothstep((y + 1.0) / 1.0) * _smoothstep((5.2 - y) / 0.8)
    v[:, 0] += x * (s.nose_width - 1) * nose
    v[:, 1] += (y - 0.0) * (s.nose_length - 1) * nose * _smoothstep((4.6 - y) / 1.0)
    v[:, 2] += np.maximum(z - 0.5, 0) * (s.nose_depth - 1) * nose
    for side in (-1, 1):
        r = np.hypot(x - side * EYE_CENTRE_X, (y - 0.1) * 1.3)
        w = _smoothstep((2.0 - r) / 1.0)
        v[:, 0] += (x - side * EYE_CENTRE_X) * (s.eye_size - 1) * w
        v[:, 1] += (y - 0.1) * (s.eye_size - 1) * w
        cheek = np.exp(-((x - side * 4.3) ** 2 + (y - 2.6) ** 2) / (2 * 1.3 ** 2))
        v[:, 2] += s.cheekbones * cheek
    mouth_y = 6.6
    lip = _smoothstep((3.2 - np.abs(x)) / 1.0) * np.exp(-((y - mouth_y) / 1.0) ** 2)
    v[:, 1] += (y - mouth_y) * (s.lips - 1) * lip
    v[:, 0] += x * (s.mouth_width - 1) * _smoothstep((3.6 - np.abs(x)) / 1.2) * _smoothstep((y - 4.8) / 0.8) * _smoothstep((9.0 - y) / 1.0)
    brow = _smoothstep((0.2 - y) / 1.2) * _smoothstep((y + 4.5) / 1.0)
    v[:, 1] += s.brow * brow
    v[:, 2] += s.brow_ridge * np.exp(-((y + 1.6) / 0.8) ** 2) * _smoothstep((5.5 - np.abs(x)) / 2.0)
    lower = _smoothstep((y - 3.0) / 6.0)
    v[:, 0] *= 1 + s.jaw * lower
    v[:, 1] += s.chin * _smoothstep((y - 7.5) / 4.0) + s.sag * lower * _smoothstep((np.abs(x) - 2.0) / 3.0)
    v[:, 0] *= s.width
    v[:, 1] *= s.length
    return v


def expression_vertices(face: np.ndarray, basis: np.ndarray, aus: dict[int, float],
                        unilateral: str | None = None) -> np.ndarray:
    """The person's neutral `face` moved by AU intensities (linear in each AU)."""
    w = np.array([aus.get(au, 0.0) for au in AUS])
    delta = np.tensordot(w, basis, axes=1)
    if unilateral:
        side = 1.0 if unilateral == "R" else -1.0          # subject's right = image left (x < 0)
        delta *= _smoothstep(0.5 - side * face[:, 0] / 1.6)[:, None]
    return face + delta


def fit_aus(face: np.ndarray, basis: np.ndarray, vertices: np.ndarray,
            unilateral: str | None = None) -> dict[int, float]:
    """AU intensities fitted (non-negative least squares) to the mesh's displacement."""
    from scipy.optimize import nnls

    b = basis
    if unilateral:
        side = 1.0 if unilateral == "R" else -1.0
        b = basis * _smoothstep(0.5 - side * face[:, 0] / 1.6)[None, :, None]
    coef, _ = nnls(b.reshape(len(AUS), -1).T, (vertices - face).ravel())
    return {au: round(float(min(c, 1.0)), 4) for au, c in zip(AUS, coef)}
