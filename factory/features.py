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
    if not path.is_file():
        raise FactoryError(f"recording {path} does not exist (paths are relative to the listing)")
    try:
        if path.suffix.lower() == ".npy":
            data = np.load(path, allow_pickle=False)
        else:
            frame = pd.read_csv(path)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise FactoryError(f"{path.name} holds Python objects (a pickled .npy), which the factory never "
                               f"loads; save the signals as a plain numeric array (np.save(path, array))") from None
        raise FactoryError(f"cannot read {path.name}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the parser's own message is the useful part
        raise FactoryError(f"cannot read {path.name}: {type(exc).__name__}: {exc}") from None
    if path.suffix.lower() == ".npy":
        names = (channels if isinstance(channels, str) else "").split("+")
        if data.ndim != 2 or len(names) != data.shape[0] or not np.issubdtype(data.dtype, np.number):
            raise FactoryError(f"{path.name} has shape {data.shape} and dtype {data.dtype}; it must be numeric, "
                               f"channels x samples, with `channels` naming its "
                               f"{data.shape[0] if data.ndim == 2 else '?'} rows, e.g. ecg+eda")
        return {n.strip().lower(): data[i].astype(float) for i, n in enumerate(names)}
    try:
        return {str(c).strip().lower(): frame[c].to_numpy(float) for c in frame.columns}
    except ValueError:
        raise FactoryError(f"{path.name}: every column must hold numbers (one column per channel)") from None


def window_features(signals: dict[str, np.ndarray], fs: float, onset: float, duration: float) -> dict[str, float]:
    """The factory's measurements of one window, as `physiology.measured.*` columns."""
    tg = {"onset": onset, "offset": duration * 0.85, "duration": duration}
    known = {k: v for k, v in signals.items() if k in SIGNALS}
    if not known:
        raise FactoryError(f"no {'/'.join(SIGNALS)} channel among {sorted(signals)}")
    values, _ = measure(known, tg, int(round(fs)))
    return {f"physiology.measured.{k}": v for k, v in values.items() if k != "ppg_heart_rate"}


def corpus_features(listing: Path) -> pd.DataFrame:
    """One feature row per listed window, labels copied through.

    A row that cannot be measured (no such file, a sampling rate that is not a positive number,
    a window outside the recording, nothing measurable in it) is an error naming the row.
    """
    try:
        table = pd.read_parquet(listing) if listing.suffix.lower() in (".parquet", ".pq") else pd.read_csv(listing)
    except Exception as exc:
        raise FactoryError(f"features: cannot read {listing}: {exc}") from None
    missing = {"file", "sampling_rate"} - set(table.columns)
    if missing:
        raise FactoryError(f"features: {listing.name} lacks columns {sorted(missing)} (it has {list(table.columns)})")
    if table.empty:
        raise FactoryError(f"features: {listing.name} lists no windows (it has a header and no rows)")
    rows = []
    cache: dict[str, dict[str, np.ndarray]] = {}
    for number, row in enumerate(table.to_dict("records"), start=1):
        where = f"features: {listing.name} row {number} (file {row['file']!r})"
        try:
            key = str(row["file"])
            if key not in cache:
                cache = {key: read_recording(listing.parent / key, row.get("channels"))}   # one recording at a time
            signals = cache[key]
            fs, start, duration, onset = window_of(row, len(next(iter(signals.values()))))
            lo, hi = int(round(start * fs)), int(round((start + duration) * fs))
            feats = window_features({k: v[lo:hi] for k, v in signals.items()}, fs, onset, duration)
        except FactoryError as exc:
            raise FactoryError(f"{where}: {exc}") from None
        if not any(np.isfinite(v) for v in feats.values()):
            raise FactoryError(f"{where}: nothing is measurable in this window (a flat or too short signal?); "
                               f"check the window and the channel names")
        rows.append({**{k: v for k, v in row.items() if k not in RESERVED}, **feats})
    return pd.DataFrame(rows)


def window_of(row: dict, samples: int) -> tuple[float, float, float, float]:
    """(sampling rate, start, duration, onset) of a listing row, checked against a recording of
    `samples` samples: a positive rate, a window inside the recording, an onset inside the window."""
    fs = _number(row, "sampling_rate", None)
    if fs is None or fs <= 0:
        raise FactoryError(f"sampling_rate must be a positive number of Hz, got {row.get('sampling_rate')!r}")
    length = samples / fs
    start = _number(row, "start", 0.0)
    duration = _number(row, "duration", length - start)
    onset = _number(row, "onset", 3.0)
    if start < 0 or duration <= 0 or start + duration > length + 1 / fs:
        raise FactoryError(f"the window start={start:g} s, duration={duration:g} s is not inside the recording "
                           f"(0 to {length:g} s at {fs:g} Hz)")
    if not 0 < onset < duration:
        raise FactoryError(f"onset={onset:g} s must lie inside the window (0 to {duration:g} s)")
    return fs, start, duration, onset


def _number(row: dict, column: str, default):
    """A row's value as a finite float; `default` when the column is absent or empty."""
    value = row.get(column)
    if value is None or (isinstance(value, float) and np.isnan(value)) or (isinstance(value, str) and not value.strip()):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FactoryError(f"{column} must be a number, got {value!r}") from None
    if not np.isfinite(number):
        raise FactoryError(f"{column} must be a finite number, got {value!r}")
    return number
