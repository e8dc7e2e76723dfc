"""One sample from its spec and what each generator made: the JSON labels and the index row."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Mapping

import pyarrow as pa

from factory.generators import SampleParts
from factory.plain import to_python
from factory.shards import Sample, ShardInfo
from factory.spec import SampleSpec


def assemble(spec: SampleSpec, parts: Mapping[str, SampleParts], generators: Mapping[str, Any]) -> Sample:
    """The sample's JSON holds its planned labels, timeline, each modality's labels and the
    generator names and versions; files are keyed by extension."""
    meta: dict[str, Any] = {"key": spec.sample_id, **spec.labels(), "episode": asdict(spec.episode)}
    files: dict[str, bytes] = {}
    for modality, part in parts.items():
        meta[modality] = part.labels
        clash = set(files) & set(part.files)
        if clash:
            raise ValueError(f"{modality} writes {sorted(clash)} which another modality wrote too")
        files.update(part.files)
    meta["generators"] = dict(generators)
    return Sample(key=spec.sample_id, meta=meta, files=files)


def flatten(meta: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Scalar fields of a sample's JSON, nested keys joined with '.' (lists are left out)."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        elif value is None or isinstance(value, (str, int, float, bool)):
            out[name] = value
    return out


def index_table(samples: list[Sample], info: ShardInfo) -> pa.Table:
    """The shard's index part: one row per sample, plus the shard name and member offsets."""
    rows = []
    for s in samples:
        row = flatten(to_python({k: v for k, v in s.meta.items() if k != "generators"}))
        row["shard"] = info.name
        for ext, (offset, size) in sorted(info.members[s.key].items()):
            row[f"tar_offset.{ext}"] = offset
            row[f"tar_size.{ext}"] = size
        rows.append(row)
    columns = list(dict.fromkeys(c for r in rows for c in r))
    return pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows])
