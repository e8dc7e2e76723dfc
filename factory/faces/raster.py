"""A z-buffered triangle rasteriser in numpy: which triangle covers each pixel, and where.

Every candidate pixel of every triangle's bounding box is tested at once (edge functions);
the nearest surface wins per pixel by one stable sort, so the result is deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Fragments:
    """The visible surface: for each covered pixel (flat index `pixel`), its triangle and the
    barycentric weights of that triangle's three vertices."""

    size: int
    pixel: np.ndarray        # (n,) flat pixel index y * size + x
    triangle: np.ndarray     # (n,) index into the triangle array
    weights: np.ndarray      # (n, 3) barycentric weights, rows sum to 1

    def interpolate(self, triangles: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per-vertex `values` (V, ...) interpolated at every fragment."""
        corners = values[triangles[self.triangle]]                 # (n, 3, ...)
        w = self.weights.reshape(self.weights.shape + (1,) * (corners.ndim - 2))
        return (corners * w).sum(axis=1)


def rasterize(xy: np.ndarray, depth: np.ndarray, triangles: np.ndarray, size: int) -> Fragments:
    """Rasterise `triangles` (T, 3) over vertices at pixel coordinates `xy` (V, 2) with `depth`
    (V,) growing towards the camera; pixel centres are at integer + 0.5. Triangles facing
    away (clockwise on screen, y down) are culled."""
    p = xy[triangles]                                               # (T, 3, 2)
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    lo = np.clip(np.floor(p.min(axis=1) - 0.5), 0, size - 1).astype(np.int64)
    hi = np.clip(np.ceil(p.max(axis=1) - 0.5), 0, size - 1).astype(np.int64)
    keep = np.flatnonzero((area > 1e-9) & (hi[:, 0] >= lo[:, 0]) & (hi[:, 1] >= lo[:, 1])
                          & (p.max(axis=1) >= 0).all(axis=1) & (p.min(axis=1) <= size).all(axis=1))
    lo, hi, p, area = lo[keep], hi[keep], p[keep], area[keep]
    w = hi[:, 0] - lo[:, 0] + 1
    n = w * (hi[:, 1] - lo[:, 1] + 1)
    tri = np.repeat(np.arange(len(keep)), n)
    offset = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    px = lo[tri, 0] + offset % w[tri]
    py = lo[tri, 1] + offset // w[tri]
    cx, cy = px + 0.5, py + 0.5
    q = p[tri]
    b1 = ((cx - q[:, 0, 0]) * (q[:, 2, 1] - q[:, 0, 1]) - (cy - q[:, 0, 1]) * (q[:, 2, 0] - q[:, 0, 0]))
    b2 = ((q[:, 1, 0] - q[:, 0, 0]) * (cy - q[:, 0, 1]) - (q[:, 1, 1] - q[:, 0, 1]) * (cx - q[:, 0, 0]))
    b1, b2 = b1 / area[tri], b2 / area[tri]
    b0 = 1.0 - b1 - b2
    inside = (b0 >= -1e-7) & (b1 >= -1e-7) & (b2 >= -1e-7)
    tri, b0, b1, b2 = tri[inside], b0[inside], b1[inside], b2[inside]
    pixel = py[inside] * size + px[inside]
    t = triangles[keep[tri]]
    z = b0 * depth[t[:, 0]] + b1 * depth[t[:, 1]] + b2 * depth[t[:, 2]]
    order = np.lexsort((-z, pixel))                                 # per pixel, nearest first
    pixel = pixel[order]
    first = np.ones(len(pixel), bool)
    first[1:] = pixel[1:] != pixel[:-1]
    pick = order[first]
    return Fragments(size, pixel[first], keep[tri[pick]],
                     np.column_stack([b0[pick], b1[pick], b2[pick]]))
