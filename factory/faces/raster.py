"""A z-buffered triangle rasteriser in numpy: which triangle covers each pixel, and where.

Every candidate pixel of every front-facing triangle's bounding box is tested at once with
the triangle's edge functions (barycentric weights as affine functions of the pixel centre);
the nearest surface wins per pixel by one sort, so the result is deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEPTH_LEVELS = 1 << 24      # depth resolution of the z-test (ties keep triangle order)

@dataclass
class Fragments:
    """The visible surface: for each covered pixel (flat index `pixel`), its triangle and the
    barycentric weights of that triangle's three vertices."""

    size: int
    pixel: np.ndarray        # (n,) flat pixel index y * size + x
    triangle: np.ndarray     # (n,) index into the triangle array
    weights: np.ndarray      # (n, 3) barycentric weights (float32), rows sum to 1

    def interpolate(self, triangles: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per-vertex `values` (V,) or (V, k) interpolated at every fragment -> (n,) or (n, k)."""
        corners = values[triangles[self.triangle]]                 # (n, 3[, k])
        if corners.ndim == 2:
            return (self.weights * corners).sum(axis=1)
        return np.einsum("nc,nck->nk", self.weights, corners)


def rasterize(xy: np.ndarray, depth: np.ndarray, triangles: np.ndarray, size: int) -> Fragments:
    """Rasterise `triangles` (T, 3) over vertices at pixel coordinates `xy` (V, 2) with `depth`
    (V,) growing towards the camera; pixel centres are at integer + 0.5. Triangles facing
    away (clockwise on screen, y down) are culled."""
    p = xy[triangles]                                               # (T, 3, 2)
    x0, y0 = p[:, 0, 0], p[:, 0, 1]
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    lo = np.floor(np.minimum(np.minimum(p[:, 0], p[:, 1]), p[:, 2]) - 0.5)
    hi = np.ceil(np.maximum(np.maximum(p[:, 0], p[:, 1]), p[:, 2]) - 0.5)
    keep = np.flatnonzero((area > 1e-9) & (hi >= 0).all(1) & (lo <= size - 1).all(1))
    lo = np.clip(lo[keep], 0, size - 1).astype(np.int32)
    hi = np.clip(hi[keep], 0, size - 1).astype(np.int32)
    # barycentric b1, b2 (and b0 = 1 - b1 - b2) as affine functions of the pixel centre
    inv = 1.0 / area[keep]
    e1, e2, x0, y0 = e1[keep], e2[keep], x0[keep], y0[keep]
    a1, c1 = e2[:, 1] * inv, -e2[:, 0] * inv
    a2, c2 = -e1[:, 1] * inv, e1[:, 0] * inv
    k1 = -(a1 * x0 + c1 * y0)
    k2 = -(a2 * x0 + c2 * y0)
    # scanline spans: on each pixel row of a triangle's box, the x range where all three
    # weights are >= 0 (a little wider; the exact test below decides), so that large thin
    # triangles do not test their whole bounding box
    h = hi[:, 1] - lo[:, 1] + 1
    rt = np.repeat(np.arange(len(keep)), h)
    cy = (lo[rt, 1] + np.arange(int(h.sum())) - np.repeat(np.cumsum(h) - h, h)) + 0.5
    xs, xe = lo[rt, 0].astype(np.float64), hi[rt, 0].astype(np.float64)
    for a, c, k in ((a1, c1, k1), (a2, c2, k2), (-a1 - a2, -c1 - c2, 1.0 - k1 - k2)):
        a, rest = a[rt], c[rt] * cy + k[rt] + 1e-3
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = -rest / a - 0.5                   # pixel index where this weight crosses 0
        xs = np.where(a > 0, np.maximum(xs, np.ceil(bound - 1e-3)), xs)
        xe = np.where(a < 0, np.minimum(xe, np.floor(bound + 1e-3)), xe)
        xe = np.where((a == 0) & (rest < 0), -1.0, xe)
    n = np.maximum(xe - xs + 1, 0).astype(np.int64)
    xs = xs.astype(np.int32)
    row = np.repeat(np.arange(len(rt), dtype=np.int32), n)
    px = xs[row] + (np.arange(int(n.sum()), dtype=np.int32) - np.repeat((np.cumsum(n) - n).astype(np.int32), n))
    tri = rt[row].astype(np.int32)
    py = (cy[row] - 0.5).astype(np.int32)
    # candidates are many: the per-candidate arithmetic runs in float32 (pixel sizes need no more)
    a1, c1, k1, a2, c2, k2 = (c.astype(np.float32) for c in (a1, c1, k1, a2, c2, k2))
    cx, cyf = px.astype(np.float32) + 0.5, py.astype(np.float32) + 0.5
    b1 = a1[tri] * cx + c1[tri] * cyf + k1[tri]
    b2 = a2[tri] * cx + c2[tri] * cyf + k2[tri]
    inside = np.flatnonzero((b1 >= -1e-5) & (b2 >= -1e-5) & (b1 + b2 <= 1 + 1e-5))
    tri, b1, b2 = tri[inside], b1[inside], b2[inside]
    pixel = py[inside].astype(np.int64) * size + px[inside]
    t = triangles[keep[tri]]
    z = depth[t[:, 0]] + b1 * (depth[t[:, 1]] - depth[t[:, 0]]) + b2 * (depth[t[:, 2]] - depth[t[:, 0]])  # float64
    near = np.round((z.max() - z) / (np.ptp(z) + 1e-12) * DEPTH_LEVELS).astype(np.int64)   # 0 = nearest
    zbuf = np.full(size * size, DEPTH_LEVELS + 1, np.int64)
    np.minimum.at(zbuf, pixel, near)
    front = np.flatnonzero(near == zbuf[pixel])
    first = np.full(size * size, len(near), np.int64)          # equal depth: the first candidate wins
    np.minimum.at(first, pixel[front], front)
    pick = first[first < len(near)]                            # in pixel order
    b1, b2 = b1[pick], b2[pick]
    return Fragments(size, pixel[pick], keep[tri[pick]], np.column_stack([1.0 - b1 - b2, b1, b2]))
