"""Features of a real physiology corpus, computed with the code that measures the factory's
own signals, so real and synthetic feature tables line up column for column.

The input is a listing (CSV or Parquet), one row per window to measure:

| column | meaning |
| --- | --- |
| `file` | a `.npy` (channels x samples) or `.csv` (one column per channel) recording, relative to the listing |
| `channels` | for `.npy`: channel names joined by `+`, e.g. `ecg+eda+rsp` (a `.csv` names its columns) |
| `sampling_rate` | Hz |
| `start`, `duration` | the window inside the recording, seconds (default: the whole recording) |
| `onset` | stimulus onset inside the window, seconds (default 3) |
| any other column | labels and groups (emotion, sex, split, identity, ...), copied through |
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from factory.errors import FactoryError
from factory.physiology.generator import SIGNALS
from factory.physiology.measure import measure

RESERVED = {"file", "channels", "sampling_rate", "start", "duration", "onset"}


def read_recording(path: Path, channels: str | None) -> dict[str, np.ndarray]:
    """Channel name -> signal of one recording file."""
    if not path.exists():
        raise FactoryError(f"features: recording {path} does not exist")
    if path.suffix.lower() == ".npy":
        data = np.load(path, allow_pickle=False)
        names = (channels or "").split("+")
        if data.ndim != 2 or len(names) != data.shape[0]:
            raise FactoryError(f"features: {path.name} has shape {data.shape}; give `channels` naming its "
                               f"{data.shape[0] if data.ndim == 2 else '?'} rows, e.g. ecg+eda")
        return {n.strip().lower(): data[i].astype(float) for i, n in enumerate(names)}
    frame = pd.read_csv(path)
    return {c.strip().lower(): frame[c].to_numpy(float) for c in frame.columns}


def window_features(signals: dict[str, np.ndarray], fs: float, onset: float, duration: float) -> dict[str, float]:
    """The factory's measurements of one window, as `physiology.measured.*` columns."""
    tg = {"onset": onset, "offset": duration * 0.85, "duration": duration}
    known = {k: v for k, v in signals.items() if k in SIGNALS}
    if not known:
        raise FactoryError(f"features: no {'/'.join(SIGNALS)} channel among {sorted(signals)}")
    values, _ = measure(known, tg, int(round(fs)))
    return {f"physiology.measured.{k}": v for k, v in values.items() if k != "ppg_heart_rate"}


def corpus_features(listing: Path) -> pd.DataFrame:
    """One feature row per listed window, labels copied through."""
    try:
        table = pd.read_parquet(listing) if listing.suffix.lower() in (".parquet", ".pq") else pd.read_csv(listing)
    except Exception as exc:
        raise FactoryError(f"features: cannot read {listing}: {exc}") from None
    missing = {"file", "sampling_rate"} - set(table.columns)
    if missing:
        raise FactoryError(f"features: {listing.name} lacks columns {sorted(missing)} (it has {list(table.columns)})")
    rows = []
    cache: dict[str, dict[str, np.ndarray]] = {}
    for row in table.to_dict("records"):
        key = str(row["file"])
        if key not in cache:
            cache = {key: read_recording(listing.parent / key, row.get("channels"))}   # one recording at a time
        fs = float(row["sampling_rate"])
        start = float(row.get("start", 0) or 0)
        length = next(iter(cache[key].values())).shape[0] / fs
        duration = float(row.get("duration") or (length - start))
        lo, hi = int(start * fs), int((start + duration) * fs)
        window = {k: v[lo:hi] for k, v in cache[key].items()}
        feats = window_features(window, fs, float(row.get("onset", 3) or 3), duration)
        rows.append({**{k: v for k, v in row.items() if k not in RESERVED}, **feats})
    return pd.DataFrame(rows)
