"""Complement plans: count a real dataset's samples per balanced cell and plan only the gaps.

The recipe's `complement:` block names the real dataset's labels (a CSV or Parquet file with
one row per sample, an affect-factory dataset folder, or a `datasets` folder saved with
`save_to_disk`), a `columns:` mapping from its column names to recipe factors and a
`values:` mapping from its level codes to recipe levels. Real + synthetic then meets the
recipe's shares and joint quotas in every cell the real data does not already exceed.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pandas as pd
from fsspec.implementations.local import LocalFileSystem

from factory.dataset import MANIFEST, open_dataset
from factory.errors import FactoryError
from factory.plan import Plan, Progress, balanced_factors, largest_remainder, make_plan
from factory.recipe import Recipe
from factory.shards import sha256_of


@dataclass(frozen=True)
class RealData:
    """The real dataset's labels, mapped onto the recipe's factors."""

    labels: pd.DataFrame
    source: dict[str, Any]     # file name, rows, SHA-256 (never its contents)


def load_real(recipe: Recipe, base_dir: Path) -> RealData:
    """Read and map the labels of the dataset named in `recipe.complement`."""
    spec = recipe.complement
    path = (base_dir / spec.path) if not Path(spec.path).is_absolute() else Path(spec.path)
    frame, digest_of = _read_labels(path)
    if frame.empty and recipe.size == "auto":
        raise FactoryError(f"complement.path: {path.name} has no rows (a header only?), so `size: auto` has nothing "
                           f"to top up; give the real dataset's labels (one row per sample) or a number as `size`")
    frame = _rename_columns(frame, spec.columns, path.name)
    factors = recipe.factor_levels()
    needed = [f for f in balanced_factors(recipe)]
    missing = [f for f in needed if f not in frame.columns]
    if missing:
        raise FactoryError(
            f"complement: {path.name} has no column for {missing} (its columns: {', '.join(map(str, frame.columns))}); "
            f"map one with `complement.columns: {{its_column: {missing[0]}}}` or list the factors to balance in "
            f"`balance:` without it (balance defaults to emotion crossed with every population factor)")
    keep = [f for f in factors if f in frame.columns]
    frame = frame[keep].copy()
    for factor in keep:
        frame[factor] = _map_levels(frame[factor], factor, spec.values.get(factor, {}), factors[factor], path.name)
    return RealData(frame, {"file": path.name, "rows": int(len(frame)), "sha256": digest_of})


def _rename_columns(frame: pd.DataFrame, columns: dict[str, str], source: str) -> pd.DataFrame:
    """`frame` with its columns renamed to factors; two columns ending up with one name is an error."""
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        raise FactoryError(f"complement.columns: {source} has no column {unknown[0]!r} (its columns: "
                           f"{', '.join(map(str, frame.columns))})")
    renamed = [columns.get(c, c) for c in frame.columns]
    for name in dict.fromkeys(n for n in renamed if renamed.count(n) > 1):
        sources = [str(c) for c, n in zip(frame.columns, renamed) if n == name]
        raise FactoryError(f"complement.columns: {source} would have two {name!r} columns ({' and '.join(sources)}); "
                           f"map only one of them to {name!r}, or map the other to a name of its own")
    return frame.set_axis(renamed, axis=1)


def _read_labels(path: Path) -> tuple[pd.DataFrame, str]:
    if not path.exists():
        raise FactoryError(f"complement.path: {path} does not exist")
    try:
        if path.is_dir() and (path / MANIFEST).exists():
            ds = open_dataset(str(path))        # a factory dataset: complete and checksum-checked
            return ds.index, ds.manifest["index"]["sha256"]
        if path.is_dir():
            from datasets import load_from_disk

            ds = load_from_disk(str(path))
            frame = ds.to_pandas() if hasattr(ds, "to_pandas") else pd.concat([d.to_pandas() for d in ds.values()])
            return frame, _sha256_dir(path)
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path), _sha256(path)
        return pd.read_csv(path), _sha256(path)
    except FactoryError:
        raise
    except Exception as exc:  # the parser's own message is the useful part
        raise FactoryError(f"complement.path: cannot read {path}: {exc}") from None


def _map_levels(column: pd.Series, factor: str, mapping: dict, levels: list, source: str) -> pd.Series:
    empty = column.isna() | (column.astype(str).str.strip() == "")
    if empty.any():
        raise FactoryError(f"complement: {source} has {int(empty.sum())} rows without a {factor!r} value (first: row "
                           f"{int(empty.to_numpy().argmax()) + 1}); fill them in or drop those rows")
    mapped = column.map(lambda v: mapping.get(str(v), mapping.get(v, v)))
    if factor == "skin_tone":
        mapped = pd.to_numeric(mapped, errors="coerce")
    as_key = {str(lv): lv for lv in levels}
    result = mapped.map(lambda v: as_key.get(str(int(v)) if isinstance(v, float) and not math.isnan(v) else str(v)))
    unknown = sorted({str(v) for v, r in zip(column, result) if r is None})
    if unknown:
        raise FactoryError(
            f"complement: {source} column for {factor!r} has levels {unknown[:10]} that are not recipe levels "
            f"{[str(lv) for lv in levels]}; map them, e.g. `complement.values: {{{factor}: "
            f"{{{json.dumps(unknown[0])}: {json.dumps(str(levels[0]))}}}}}`")
    return result


def _sha256(path: Path) -> str:
    return sha256_of(LocalFileSystem(), str(path))


def _sha256_dir(path: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(path).as_posix().encode())
            h.update(_sha256(p).encode())
    return h.hexdigest()


# ---------------------------------------------------------------- planning

def real_cell_counts(recipe: Recipe, real: pd.DataFrame) -> pd.Series:
    """Real samples per joint cell of the balanced factors."""
    factors = balanced_factors(recipe)
    counts = real.groupby(factors, sort=False).size()
    if not isinstance(counts.index, pd.MultiIndex):
        counts.index = pd.MultiIndex.from_arrays([counts.index], names=factors)
    return counts


def combined_size(recipe: Recipe, real: pd.DataFrame) -> int:
    """`size` as the combined total; `auto` tops every balanced cell up to the largest."""
    if isinstance(recipe.size, int):
        return recipe.size
    shares = recipe.factor_shares()
    need = 0.0
    for combo in [("emotion",), *map(tuple, recipe.balance)]:
        counts = real.groupby(list(combo), sort=False).size()
        for cell, n in counts.items():
            cell = cell if isinstance(cell, tuple) else (cell,)
            share = math.prod(shares[f][lv] for f, lv in zip(combo, cell))
            if share > 0:
                need = max(need, n / share)
    return int(math.ceil(need - 1e-9))


def free_factor_weights(recipe: Recipe, real: pd.DataFrame, total: int) -> dict[str, dict]:
    """For factors outside `balance` that the real data has: weights = the deficit per level."""
    shares = recipe.factor_shares()
    named = set(balanced_factors(recipe))
    out = {}
    for factor in recipe.population:
        if factor in named or factor not in real.columns:
            continue
        levels = list(shares[factor])
        targets = largest_remainder([shares[factor][lv] for lv in levels], total)
        have = real[factor].value_counts()
        deficit = {lv: max(0, int(t) - int(have.get(lv, 0))) for lv, t in zip(levels, targets)}
        if sum(deficit.values()) > 0:
            out[factor] = deficit
    return out


def complement_plan(recipe: Recipe, base_dir: Path, progress: Optional[Progress] = None) -> tuple[Plan, RealData]:
    """Plan only the samples the real dataset lacks."""
    real = load_real(recipe, base_dir)
    total = combined_size(recipe, real.labels)
    existing = real_cell_counts(recipe, real.labels)
    plan = make_plan(recipe, existing=existing, size=total,
                     free_weights=free_factor_weights(recipe, real.labels, total), progress=progress)
    plan.complement = {**real.source, "combined_size": total}
    return plan, real


def plan_recipe(recipe: Recipe, recipe_path: str | Path,
                progress: Optional[Progress] = None) -> tuple[Plan, Optional[RealData]]:
    """The plan of a recipe file: a complement plan when it names a real dataset."""
    if recipe.complement is None:
        return make_plan(recipe, progress=progress), None
    return complement_plan(recipe, Path(recipe_path).resolve().parent, progress)


def before_after(plan: Plan, real: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    """Real, planned and combined counts per cell of `factors`, with the target."""
    before = real.groupby(factors, sort=False).size().rename("real")
    planned = plan.samples.groupby(factors, sort=False).size().rename("planned")
    table = pd.concat([before, planned], axis=1).fillna(0).astype(int)
    table["after"] = table["real"] + table["planned"]
    return table
