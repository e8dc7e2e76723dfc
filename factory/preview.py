"""A contact sheet of a finished dataset: one PNG grid of faces, emotions x skin tones.

Picks one sample per (emotion, skin tone) from the index and reads its face member
(`<key>.png`) straight from its shard by the offsets the index stores, so a person can see
at a glance whether every emotion reads on every skin tone. Works on any fsspec URL.
"""
from __future__ import annotations

import io
from typing import Optional

from PIL import Image, ImageDraw, ImageFont

from factory.affect import EMOTIONS
from factory.dataset import PREVIEW, Dataset
from factory.errors import FactoryError
from factory.png import encode_png

THUMB = 112
MARGIN_LEFT = 84
MARGIN_TOP = 22
NEEDED = ("key", "shard", "emotion", "skin_tone", "tar_offset.png", "tar_size.png")


def write_contact_sheet(ds: Dataset, out_path: Optional[str] = None) -> str:
    """Write the grid (rows: emotions, columns: skin tones) to `out_path` (default:
    DIR/preview.png) and return where it went."""
    missing = [c for c in NEEDED if c not in ds.index.columns]
    if missing:
        raise FactoryError(f"{ds.url}: the index lacks {missing}; a contact sheet needs the face modality "
                           f"and a skin_tone factor")
    picks = ds.index.sort_values("key").drop_duplicates(["emotion", "skin_tone"])
    order = {e: i for i, e in enumerate(EMOTIONS)}
    emotions = sorted(picks["emotion"].unique(), key=lambda e: (order.get(e, len(order)), str(e)))
    tones = sorted(picks["skin_tone"].unique(), key=lambda t: (float(t) if str(t).isdigit() else 1e9, str(t)))
    sheet = Image.new("RGB", (MARGIN_LEFT + THUMB * len(tones), MARGIN_TOP + THUMB * len(emotions)), (250, 250, 250))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for j, tone in enumerate(tones):
        draw.text((MARGIN_LEFT + j * THUMB + 4, 5), f"MST {tone}", fill=(30, 30, 30), font=font)
    for i, emotion in enumerate(emotions):
        draw.text((4, MARGIN_TOP + i * THUMB + THUMB // 2 - 6), str(emotion), fill=(30, 30, 30), font=font)
    for _, row in picks.iterrows():
        data = ds.read_member(row["shard"], row["tar_offset.png"], row["tar_size.png"])
        try:
            face = Image.open(io.BytesIO(data)).convert("RGB").resize((THUMB, THUMB), Image.LANCZOS)
        except (OSError, ValueError) as exc:   # PIL: UnidentifiedImageError, truncated or broken data
            raise FactoryError(f"{ds.root}/{row['shard']}: the face of sample {row['key']} is not a readable PNG "
                               f"({exc.__class__.__name__}); run `affect-factory verify {ds.url}` and regenerate "
                               f"the shard with --resume") from None
        sheet.paste(face, (MARGIN_LEFT + tones.index(row["skin_tone"]) * THUMB,
                           MARGIN_TOP + emotions.index(row["emotion"]) * THUMB))
    png = encode_png(sheet)
    if out_path is None:
        return ds.write_bytes(PREVIEW, png)
    with open(out_path, "wb") as f:
        f.write(png)
    return str(out_path)
