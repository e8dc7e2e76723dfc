"""One PNG encoder for every image the factory writes (faces, thumbnails, contact sheets).

zlib is deterministic, so the same pixels and settings give the same bytes.
"""
from __future__ import annotations

import io

from PIL import Image


def encode_png(img: Image.Image, compress_level: int = -1, optimize: bool = False) -> bytes:
    """PNG bytes of `img`: zlib `compress_level` 0-9 (-1: zlib's default, 6); `optimize` searches
    for the smallest file."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=compress_level, optimize=optimize)
    return buf.getvalue()
