"""Everything around the face mesh that a portrait shows: eyeballs and mouth interior behind
the mesh's openings, skull (hair or scalp), ears, neck and shoulders, as triangles with a
material each. Same frame as `factory.faces.mesh` (cm, y down, z to the camera)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from factory.faces.mesh import EYE_LOOPS, MOUTH_LOOP, N_VERTICES, topology

SKIN, EYE, MOUTH, SCALP, EAR, NECK, SHIRT, HAIR_BACK = range(8)
EYE_DEPTH, MOUTH_DEPTH = 0.9, 2.2      # how far the fan centres sit behind the openings, cm


@dataclass(frozen=True)
class Solid:
    """Extra rigid geometry of one person: vertices (head frame), triangles, material per
    triangle, and per-vertex ambient occlusion."""

    vertices: np.ndarray
    triangles: np.ndarray
    material: np.ndarray
    occlusion: np.ndarray


def _fan(loop: tuple[int, ...], centre_index: int) -> np.ndarray:
    """Triangles closing a vertex loop around an added centre vertex."""
    loop = np.array(loop)
    return np.column_stack([loop, np.roll(loop, -1), np.full(len(loop), centre_index)])


@lru_cache(maxsize=1)
def face_triangles() -> tuple[np.ndarray, np.ndarray]:
    """Triangles of the face mesh plus the eye and mouth fans (centres appended after the 478
    mesh vertices: right eye, left eye, mouth), and each triangle's material."""
    v, t = topology()
    parts, mats = [t], [np.full(len(t), SKIN)]
    for k, loop in enumerate(EYE_LOOPS + (MOUTH_LOOP,)):
        fan = _fan(loop, N_VERTICES + k)
        centre = v[list(loop)].mean(0) - [0, 0, 1.0]
        p = np.vstack([v, centre])[np.where(fan == N_VERTICES + k, N_VERTICES, fan)][:, :, :2]
        e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
        if (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]).mean() < 0:
            fan = fan[:, ::-1]
        parts.append(fan)
        mats.append(np.full(len(fan), EYE if k < 2 else MOUTH))
    return np.vstack(parts), np.concatenate(mats)


def fan_centres(v: np.ndarray) -> np.ndarray:
    """The three fan centre vertices for mesh vertices `v`: behind each opening."""
    out = []
    for loop, depth in ((EYE_LOOPS[0], EYE_DEPTH), (EYE_LOOPS[1], EYE_DEPTH), (MOUTH_LOOP, MOUTH_DEPTH)):
        c = v[list(loop)].mean(0)
        out.append(c - [0, 0, depth])
    return np.array(out)


def _ellipsoid(centre, radii, n_lat: int, n_lon: int, lat=(0.0, np.pi), lon=(0.0, 2 * np.pi)):
    """Vertices and outward-facing triangles of (part of) an ellipsoid, y down."""
    th = np.linspace(*lat, n_lat)
    ph = np.linspace(*lon, n_lon)
    T, P = np.meshgrid(th, ph, indexing="ij")
    pts = np.stack([np.sin(T) * np.sin(P), -np.cos(T), np.sin(T) * np.cos(P)], -1).reshape(-1, 3)
    v = pts * radii + centre
    idx = np.arange(n_lat * n_lon).reshape(n_lat, n_lon)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    tris = np.vstack([np.stack([a, c, b], -1).reshape(-1, 3), np.stack([b, c, d], -1).reshape(-1, 3)])
    return v, tris


def _orient(v: np.ndarray, t: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Flip triangles so their normals point away from `centre`."""
    p = v[t]
    n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    out = (n * (p.mean(1) - centre)).sum(1) < 0
    t = t.copy()
    t[out] = t[out][:, ::-1]
    return t


FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)


def _behind(points: np.ndarray, face: np.ndarray, depth: float = 3.0) -> np.ndarray:
    """Points inside the face's outline moved `depth` cm behind the face surface, so that
    the skull never shows through the eye and mouth openings (it is carved there)."""
    from matplotlib.path import Path
    from scipy.spatial import cKDTree

    inside = Path(face[list(FACE_OVAL), :2]).contains_points(points[:, :2])
    _, idx = cKDTree(face[:, :2]).query(points[inside, :2], k=3)
    out = points.copy()
    out[inside, 2] = np.minimum(points[inside, 2], face[idx, 2].mean(1) - depth)
    return out


def build_solid(face: np.ndarray, width: float, length: float, neck: float, shoulders: float,
                long_hair: float) -> Solid:
    """Skull, ears, neck and shoulders around a neutral `face` mesh scaled by `width` and
    `length`; `long_hair` (cm below the ears, 0 for none) adds hair behind the head."""
    parts: list[tuple[np.ndarray, np.ndarray, int, np.ndarray]] = []

    def add(v, t, material, centre, occlusion):
        t = _orient(v, t, np.asarray(centre))
        if material != SHIRT:
            v = _behind(v, face)
        parts.append((v, t, material, np.broadcast_to(occlusion, (len(v),))))

    c = np.array([0.0, -1.2 * length, -7.6])
    r = np.array([8.05 * width, 9.6 * length, 9.4])
    v, t = _ellipsoid(c, r, 18, 28, lat=(0.0, 0.62 * np.pi))
    add(v, t, SCALP, c, 1.0)
    for side in (-1, 1):
        ce = np.array([side * 7.55 * width, 2.2 * length, -7.2])
        v, t = _ellipsoid(ce, np.array([0.9, 3.0 * length, 1.7]), 8, 10)
        add(v, t, EAR, ce, 0.8)
    cn = np.array([0.0, 14.0 * length, -7.0])
    v, t = _ellipsoid(cn, np.array([4.9 * neck, 10.0, 4.6]), 10, 16, lat=(0.25 * np.pi, 0.95 * np.pi))
    add(v, t, NECK, cn, 0.7)
    cs = np.array([0.0, 28.0 * length, -8.0])
    v, t = _ellipsoid(cs, np.array([19.0 * shoulders, 9.0, 10.0]), 10, 20, lat=(0.0, 0.7 * np.pi))
    add(v, t, SHIRT, cs, 0.9)
    if long_hair > 0:
        ch = np.array([0.0, 4.0 * length, -9.5])
        v, t = _ellipsoid(ch, np.array([9.2 * width, 8.0 * length + 0.7 * long_hair, 6.0]), 9, 12, lat=(0.15 * np.pi, np.pi))
        add(v, t, HAIR_BACK, ch, 0.85)
    verts, tris, mats, occ = [], [], [], []
    offset = 0
    for v, t, m, o in parts:
        verts.append(v)
        tris.append(t + offset)
        mats.append(np.full(len(t), m))
        occ.append(o)
        offset += len(v)
    return Solid(np.vstack(verts), np.vstack(tris), np.concatenate(mats), np.concatenate(occ))
