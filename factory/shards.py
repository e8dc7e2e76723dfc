"""Deterministic, atomic WebDataset shards.

A shard is built in memory (a shard bounds a worker's memory), written under a temporary
name and moved into place, so a reader never sees a half-written tar under a final name.
Member order, times, owners and modes are fixed, so the same samples give the same bytes.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import uuid
from dataclasses import dataclass
from typing import Any, Iterable

from factory.plain import to_python

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
    return json.dumps(to_python(meta), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


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


def tar_members(fs, path: str) -> list[tuple[str, int, int]]:
    """(name, data offset, size) of every member of the tar at `path`, read from its headers
    only; a damaged tar raises tarfile.TarError."""
    with fs.open(path, "rb") as f, tarfile.open(fileobj=f, mode="r:") as tar:
        return [(m.name, m.offset_data, m.size) for m in tar]


def compare_members(members: list[tuple[str, int, int]], expected: dict[str, tuple[int, int]]) -> list[str]:
    """What is wrong with a shard's members given what the index says it holds (member name ->
    (offset, size)): a member the index does not list (e.g. `../../evil.txt`), one it lists
    that is absent, or one at another place."""
    problems = []
    seen = set()
    for name, offset, size in members:
        if name not in expected:
            problems.append(f"member {name!r} is not in the index")
        elif expected[name] != (offset, size):
            problems.append(f"member {name!r} is at {offset}+{size}, the index says {expected[name][0]}+{expected[name][1]}")
        seen.add(name)
    missing = sorted(set(expected) - seen)
    if missing:
        problems.append(f"{len(missing)} members in the index are not in the tar (first: {missing[0]!r})")
    return problems


def partial_path(root: str, name: str) -> str:
    """A temporary name for `name` that no other writer uses (a retried task, a lingering
    worker of a killed run), under `root/.factory/partial/`."""
    return f"{root}/{PARTIAL_DIR}/{name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.partial"


def put_atomic(fs, root: str, data: bytes, final: str, name: str) -> None:
    """Write `data` to `final` so that no reader sees part of it under its final name.

    On a local or POSIX-like filesystem the bytes go to a temporary file that is renamed into
    place. On object stores (s3, gcs, hf) `mv` is copy + delete, but a single object PUT is
    itself atomic: a reader sees the whole object or none. Either way, what marks a shard
    *done* is its manifest entry (written by the driver after the task returns), never the
    file's mere presence; resume re-checks size and SHA-256 before trusting a file.
    """
    partial = partial_path(root, name)
    fs.makedirs(f"{root}/{PARTIAL_DIR}", exist_ok=True)
    try:
        with fs.open(partial, "wb") as f:
            f.write(data)
        fs.mv(partial, final)
    except BaseException:
        try:
            if fs.exists(partial):
                fs.rm(partial)
        except Exception:  # noqa: BLE001 - best effort; resume cleans partials anyway
            pass
        raise


def write_shard(fs, root: str, name: str, samples: list[Sample]) -> ShardInfo:
    """Write `samples` as shard `name` under `root` on filesystem `fs`, atomically."""
    data = build_tar(samples)
    put_atomic(fs, root, data, f"{root}/{name}", name)
    return ShardInfo(name, len(samples), len(data), hashlib.sha256(data).hexdigest(), member_offsets(data))


def sha256_of(fs, path: str) -> str:
    """SHA-256 of a file, streamed."""
    h = hashlib.sha256()
    with fs.open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
