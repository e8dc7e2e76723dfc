"""Deterministic, atomic WebDataset shards.

A shard is built in memory (a shard bounds a worker's memory), written under a temporary
name and moved into place, so a reader never sees a half-written tar under a final name.
Member order, times, owners and modes are fixed, so the same samples give the same bytes.
"""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

PARTIAL_DIR = ".factory/partial"


@dataclass(frozen=True)
class Sample:
    """One sample as the writer sees it: a key (no dots), its JSON labels and encoded files."""

    key: str
    meta: dict[str, Any]
    files: dict[str, bytes]


@dataclass(frozen=True)
class ShardInfo:
    """What a written shard holds: name, sample count, byte size, SHA-256, member offsets."""

    name: str
    count: int
    size: int
    sha256: str
    members: dict[str, dict[str, tuple[int, int]]]   # key -> extension -> (offset, size)


def to_json_bytes(meta: dict[str, Any]) -> bytes:
    """Canonical JSON: sorted keys, numpy scalars as plain numbers.

    A value that could not be measured is NaN, not null, so every sample's JSON has the same
    types and `datasets` can infer one schema from the first few samples.
    """
    return json.dumps(_clean(meta), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _clean(value):
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    return value


def build_tar(samples: Iterable[Sample]) -> bytes:
    """The bytes of a WebDataset tar holding `samples` in the given order.

    Written with the standard library exactly as `webdataset.TarWriter(mtime=0, user="affect",
    group="affect", mode=0o444, encoder=False)` writes it (stream mode, members of a sample in
    sorted extension order), without importing webdataset (which imports torch: seconds per
    worker process).
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w|") as tar:
        for s in samples:
            if "." in s.key:
                raise ValueError(f"sample key {s.key!r} contains a dot")
            files = {"json": to_json_bytes(s.meta), **s.files}
            for ext in sorted(files):
                data = files[ext]
                info = tarfile.TarInfo(f"{s.key}.{ext}")
                info.size, info.mtime, info.mode = len(data), 0, 0o444
                info.uname = info.gname = "affect"
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def member_offsets(data: bytes) -> dict[str, dict[str, tuple[int, int]]]:
    """Key -> extension -> (data offset, size) of every member of a tar."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar.getmembers():
            key, ext = m.name.split(".", 1)
            out.setdefault(key, {})[ext] = (m.offset_data, m.size)
    return out


def write_shard(fs, root: str, name: str, samples: list[Sample]) -> ShardInfo:
    """Write `samples` as shard `name` under `root` on filesystem `fs`, atomically."""
    data = build_tar(samples)
    partial = f"{root}/{PARTIAL_DIR}/{name}"
    fs.makedirs(f"{root}/{PARTIAL_DIR}", exist_ok=True)
    with fs.open(partial, "wb") as f:
        f.write(data)
    fs.mv(partial, f"{root}/{name}")   # a rename on local disks; copy+delete on object stores
    return ShardInfo(name, len(samples), len(data), hashlib.sha256(data).hexdigest(), member_offsets(data))


def sha256_of(fs, path: str) -> str:
    """SHA-256 of a file, streamed."""
    h = hashlib.sha256()
    with fs.open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
