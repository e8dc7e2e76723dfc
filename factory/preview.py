"""A contact sheet of a generated dataset: one PNG grid of faces, emotions x skin tones.

Reads `index.parquet` (columns `key`, `shard`, `emotion`, `skin_tone`) to pick one sample
per cell, then the face members (`<key>.png`) from the shard tars, so a person can see at
a glance whether every emotion reads on every skin tone.
"""
from __future__ import annotations

import io
import tarfile
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
from PIL import Image, ImageDraw, ImageFont

from factory.affect import EMOTIONS
from factory.errors import FactoryError

THUMB = 112
MARGIN_LEFT = 84
MARGIN_TOP = 22


def _cells(dataset_dir: Path) -> tuple[list[str], list, dict[tuple[str, object], tuple[str, str]]]:
    index = dataset_dir / "index.parquet"
    if not index.exists():
        raise FactoryError(f"{dataset_dir}: no index.parquet; is this an affect-factory dataset folder?")
    table = pq.read_table(index)
    need = {"key", "shard", "emotion", "skin_tone"}
    missing = need - set(table.column_names)
    if missing:
        raise FactoryError(f"{index}: missing columns {sorted(missing)} (a contact sheet needs faces and skin tones)")
    rows = table.select(sorted(need)).to_pylist()
    rows.sort(key=lambda r: str(r["key"]))
    cells: dict[tuple[str, object], tuple[str, str]] = {}
    for r in rows:
        cells.setdefault((r["emotion"], r["skin_tone"]), (r["shard"], r["key"]))
    order = {e: i for i, e in enumerate(EMOTIONS)}
    emotions = sorted({e for e, _ in cells}, key=lambda e: (order.get(e, len(order)), str(e)))
    tones = sorted({t for _, t in cells}, key=lambda t: (float(t) if str(t).replace(".", "").isdigit() else 1e9, str(t)))
    return emotions, tones, cells


def _shard_path(dataset_dir: Path, shard: str) -> Path:
    for cand in (dataset_dir / shard, dataset_dir / f"{shard}.tar"):
        if cand.exists():
            return cand
    raise FactoryError(f"{dataset_dir}: shard {shard!r} listed in index.parquet is missing")


def _read_faces(dataset_dir: Path, wanted: dict[str, set[str]]) -> dict[str, Image.Image]:
    faces: dict[str, Image.Image] = {}
    for shard, keys in sorted(wanted.items()):
        with tarfile.open(_shard_path(dataset_dir, shard)) as tar:
            for member in tar:
                key, _, ext = member.name.rpartition("/")[2].partition(".")
                if ext == "png" and key in keys:
                    data = tar.extractfile(member).read()
                    faces[key] = Image.open(io.BytesIO(data)).convert("RGB")
    return faces


def write_contact_sheet(dataset_dir, out_path) -> Path:
    """Write one PNG grid (rows: emotions, columns: skin tones) and return its path."""
    dataset_dir, out_path = Path(dataset_dir), Path(out_path)
    emotions, tones, cells = _cells(dataset_dir)
    if not cells:
        raise FactoryError(f"{dataset_dir}: the index has no samples")
    wanted: dict[str, set[str]] = defaultdict(set)
    for shard, key in cells.values():
        wanted[shard].add(key)
    faces = _read_faces(dataset_dir, wanted)
    if not faces:
        raise FactoryError(f"{dataset_dir}: no face images (<key>.png) in the shards; was the face modality generated?")
    sheet = Image.new("RGB", (MARGIN_LEFT + THUMB * len(tones), MARGIN_TOP + THUMB * len(emotions)), (250, 250, 250))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for j, tone in enumerate(tones):
        draw.text((MARGIN_LEFT + j * THUMB + 4, 5), f"MST {tone}", fill=(30, 30, 30), font=font)
    for i, emotion in enumerate(emotions):
        y = MARGIN_TOP + i * THUMB
        draw.text((4, y + THUMB // 2 - 6), str(emotion), fill=(30, 30, 30), font=font)
        for j, tone in enumerate(tones):
            cell = cells.get((emotion, tone))
            if cell and cell[1] in faces:
                sheet.paste(faces[cell[1]].resize((THUMB, THUMB), Image.LANCZOS), (MARGIN_LEFT + j * THUMB, y))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out_path, format="PNG")
    return out_path
