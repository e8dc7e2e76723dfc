"""Turn a recipe's targets into exactly `size` planned samples.

Steps, each a small pure function:

1. `cell_quotas`: the joint counts over the *balanced* factors (emotion plus every factor
   named in `balance`), found with an integer program (scipy's HiGHS) so that every
   `balance` cell and every marginal gets its exact largest-remainder share, or at worst
   one sample off when several constraints cannot all be exact. `existing` counts (a real
   dataset to complement) are taken into account: only the deficit is planned.
2. `assign_identities`: synthetic persons with fixed demographics, proportional to the
   balanced demographic cells; each person's samples mix emotions.
3. `assign_free_factors`: factors not named in `balance` get exact marginal counts,
   assigned independently of everything else (per person when identities exist).
4. `assign_splits`: by identity, stratified by demographic cell.
5. Order, seeds (`SeedSequence([seed, index])`), stable keys and shard names.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from factory.affect import age_from_band, coordinates
from factory.errors import FactoryError
from factory.plain import to_python
from factory.recipe import Recipe
from factory.spec import Episode, SampleSpec

FIXED_COLUMNS = ("index", "key", "shard", "split", "seed", "identity", "identity_seed",
                 "emotion", "intensity", "valence", "arousal", "dominance", "age", "repetition")


def largest_remainder(weights, total: int) -> np.ndarray:
    """Integers proportional to `weights` that sum to `total` (ties go to the earlier one)."""
    w = np.asarray(weights, dtype=float)
    if total == 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=int)
    exact = w / w.sum() * total
    counts = np.floor(exact + 1e-9).astype(int)
    short = total - counts.sum()
    order = sorted(range(len(w)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[:short]:
        counts[i] += 1
    return counts


def stable_int(*entropy: int, spawn_key: tuple[int, ...] = ()) -> int:
    """A 63-bit integer derived from `entropy` (and `spawn_key`) with numpy's SeedSequence."""
    a, b = np.random.SeedSequence(list(entropy), spawn_key=spawn_key).generate_state(2, np.uint32)
    return int((int(a) << 31) ^ int(b)) & (2**63 - 1)


IDENTITY_STREAM = 1   # persons' seeds live under this spawn key, apart from every sample's

# What planning costs per sample (peak memory of the planning process, and time), measured
# with benchmarks/plan_cost.py on the shared 2-core reference machine and rounded up.
PLAN_BYTES_PER_SAMPLE = 1_500
PLAN_SECONDS_PER_SAMPLE = 5e-4
MEMORY_HEADROOM = 0.8    # plan only what fits in this share of the memory available now
STEP = 100_000           # samples per progress report in the per-sample steps

Progress = Callable[[str, int, int], None]    # (step, samples done, samples in all)


@dataclass(frozen=True)
class PlanCost:
    """Estimated peak memory (bytes) and time (seconds) of planning `samples` samples."""

    samples: int
    bytes: int
    seconds: float

    def describe(self) -> str:
        """'~2.5 GB, ~8 min': for messages."""
        minutes = self.seconds / 60
        time = f"~{self.seconds:.0f} s" if minutes < 2 else (f"~{minutes:.0f} min" if minutes < 120
                                                               else f"~{minutes / 60:,.1f} h")
        memory = f"~{self.bytes / 1e9:,.1f} GB" if self.bytes >= 1e9 else f"~{self.bytes / 1e6:.0f} MB"
        return f"{memory} of memory, {time}"


def plan_cost(size: int) -> PlanCost:
    """The estimated cost of planning `size` samples."""
    return PlanCost(size, size * PLAN_BYTES_PER_SAMPLE, size * PLAN_SECONDS_PER_SAMPLE)


def check_plan_fits(size: int, available: Optional[int] = None) -> PlanCost:
    """Refuse a plan that would not fit in memory (`available` bytes; default: what psutil says
    is available now), before any of it is built; returns the estimate."""
    import psutil

    cost = plan_cost(size)
    available = psutil.virtual_memory().available if available is None else available
    if cost.bytes > MEMORY_HEADROOM * available:
        most = int(MEMORY_HEADROOM * available / PLAN_BYTES_PER_SAMPLE)
        raise FactoryError(f"size: planning {size:,} samples needs {cost.describe()}, but only "
                           f"{available / 1e9:.1f} GB of memory is available; use a size of at most {most:,}, "
                           f"or make the dataset as several recipes (other seeds or names) of that size")
    return cost


# ---------------------------------------------------------------- 1. balanced cell quotas

def balanced_factors(recipe: Recipe) -> list[str]:
    """Emotion plus every factor named in `balance`, in recipe order."""
    named = {f for combo in recipe.balance for f in combo}
    return [f for f in recipe.factor_levels() if f == "emotion" or f in named]


def cell_quotas(recipe: Recipe, size: int, existing: Optional[pd.Series] = None) -> pd.Series:
    """Synthetic sample counts per joint cell of the balanced factors.

    `existing` (indexed like the result) holds real samples already present per cell; the
    targets then apply to real + synthetic: each `balance` cell is filled up to its target,
    never past it, and cells the real data already fills get no synthetic samples.
    """
    factors = balanced_factors(recipe)
    levels = recipe.factor_levels()
    shares = recipe.factor_shares()
    cells = list(itertools.product(*(levels[f] for f in factors)))
    index = pd.MultiIndex.from_tuples(cells, names=factors)
    joint = np.array([math.prod(shares[f][lv] for f, lv in zip(factors, cell)) for cell in cells])
    have = np.zeros(len(cells)) if existing is None else existing.reindex(index, fill_value=0).to_numpy(float)
    constraints = [tuple(c) for c in recipe.balance]
    if existing is None:        # fresh plan: every marginal is exact too
        constraints = [(f,) for f in factors] + constraints
    elif not any("emotion" in c for c in constraints):
        constraints.append(("emotion",))
    constraints = list(dict.fromkeys(tuple(f for f in factors if f in c) for c in constraints))
    for slack in (0, 1, 2):
        x = _solve_cells(cells, factors, joint, size, have, constraints, slack)
        if x is not None:
            return pd.Series(x, index=index, name="count")
    raise FactoryError("balance: the constraints cannot be met together; remove one of the `balance` entries")


def _solve_cells(cells, factors, joint, size, have, constraints, slack):
    """Integer program over the joint cells.

    Variables: x (synthetic count per cell), d (each constrained cell's distance from its
    largest-remainder target), e (each cell's distance from the independent joint quota).
    Hard: every constrained cell within [floor, ceil] of its exact quota (+- slack), total
    right. Soft: targets first (weight 1000), then closeness to independence, so no factor
    is correlated with another beyond what the constraints force.
    """
    n = len(cells)
    groups = []                                  # (member cells, exact quota, target)
    for combo in constraints:
        pos = [factors.index(f) for f in combo]
        members: dict[tuple, list[int]] = {}
        for i, cell in enumerate(cells):
            members.setdefault(tuple(cell[p] for p in pos), []).append(i)
        quotas = np.array([joint[m].sum() for m in members.values()]) * size
        targets = largest_remainder(quotas, size)
        groups += list(zip(members.values(), quotas, targets))
    m = len(groups)
    a = lil_matrix((3 * m + 2 * n + 1, 2 * n + m))
    lb, ub = [], []
    complementing = bool(have.any())
    for r, (members, q, t) in enumerate(groups):
        h = have[members].sum()
        for i in members:
            a[r, i] = a[m + r, i] = 1
            a[2 * m + r, i] = -1
        a[m + r, n + r] = a[2 * m + r, n + r] = -1
        if complementing:       # fill up to the target, never past it; cells already full get none
            lb += [0.0]
            ub += [max(0.0, t - h)]
        else:
            lb += [max(0.0, math.floor(q + 1e-9) - slack - h)]
            ub += [max(0.0, math.ceil(q - 1e-9) + slack - h)]
    lb += [-np.inf] * (2 * m)
    ub += [max(0.0, t - have[mem].sum()) for mem, _, t in groups]
    ub += [-max(0.0, t - have[mem].sum()) for mem, _, t in groups]
    independent = np.maximum(joint * size - have, 0)
    for i in range(n):
        a[3 * m + i, i] = 1; a[3 * m + i, n + m + i] = -1
        a[3 * m + n + i, i] = -1; a[3 * m + n + i, n + m + i] = -1
    lb += [-np.inf] * (2 * n)
    ub += list(independent) + list(-independent)
    a[3 * m + 2 * n, :n] = 1
    total = size - have.sum()
    if complementing:                            # the planned total follows the cells
        lb.append(0); ub.append(np.inf)
    else:
        lb.append(total); ub.append(total)
    cost = np.concatenate([np.zeros(n), np.full(m, 1000.0), np.ones(n)])
    upper = np.concatenate([np.where(joint > 0, np.inf, 0), np.full(m + n, np.inf)])
    result = milp(cost, constraints=LinearConstraint(a.tocsr(), lb, ub),
                  integrality=np.concatenate([np.ones(n), np.zeros(m + n)]),
                  bounds=Bounds(np.zeros(2 * n + m), upper), options={"time_limit": 120})
    if result.x is None:
        return None
    return np.rint(result.x[:n]).astype(int)


def check_size(recipe: Recipe, size: int) -> None:
    """Refuse a size too small to give every balanced cell a sample."""
    shares = recipe.factor_shares()
    for combo in recipe.balance:
        cells = math.prod(sum(1 for w in shares[f].values() if w > 0) for f in combo)
        if size < cells:
            raise FactoryError(f"size: {size} samples cannot fill the {cells} cells of balance "
                               f"[{', '.join(combo)}]; use a size of at least {cells}")


# ---------------------------------------------------------------- 2-4. identities, free factors, splits

def expand_cells(quotas: pd.Series) -> pd.DataFrame:
    """One row per planned sample, with the balanced factors' levels."""
    reps = quotas.to_numpy()
    frame = quotas.index.to_frame(index=False).loc[np.repeat(np.arange(len(quotas)), reps)]
    return frame.reset_index(drop=True)


def assign_identities(samples: pd.DataFrame, demographic: list[str], identities: Optional[int],
                      rng: np.random.Generator) -> pd.Series:
    """An identity number per sample; each identity lies inside one demographic cell."""
    if identities is None:
        return pd.Series(rng.permutation(len(samples)), index=samples.index)
    if identities > len(samples):
        raise FactoryError(f"identities: {identities} persons cannot share {len(samples)} samples; "
                           f"use at most {len(samples)}")
    cells = samples.groupby(demographic, sort=False).indices if demographic else {(): np.arange(len(samples))}
    cells = {k: v for k, v in cells.items() if len(v)}
    if identities < len(cells):
        raise FactoryError(
            f"identities: {identities} persons cannot cover the {len(cells)} balanced demographic "
            f"cells of {demographic} (each person has one fixed {'/'.join(demographic)}); "
            f"use at least {len(cells)}, or balance fewer factors (`balance:` defaults to emotion crossed "
            f"with every population factor)")
    sizes = np.array([len(v) for v in cells.values()])
    per_cell = 1 + largest_remainder(sizes - 1, identities - len(cells))
    out = pd.Series(0, index=samples.index)
    first = 0
    for (key, members), k in zip(cells.items(), per_cell):
        members = samples.index[members]
        # Sorted by emotion, dealt round-robin: every person gets a mix of emotions.
        order = samples.loc[members].sort_values("emotion", kind="stable").index
        out.loc[order] = first + np.arange(len(order)) % k
        first += k
    return out


def assign_free_factors(samples: pd.DataFrame, recipe: Recipe, free: list[str],
                        rng: np.random.Generator, weights: Optional[dict[str, dict]] = None) -> pd.DataFrame:
    """Levels of factors not named in `balance`: exact marginal counts, independent draws.

    Each identity gets one level; people are visited in random order and given the level
    furthest below its sample target, so counts are exact when every person has one sample
    and within one person's samples otherwise. `weights` replaces a factor's shares (a
    complement plan fills the real data's per-level deficits).
    """
    sizes = samples.groupby("identity").size()
    shares = {**recipe.factor_shares(), **(weights or {})}
    table = pd.DataFrame(index=sizes.index)
    for factor in free:
        levels = list(shares[factor])
        targets = largest_remainder([shares[factor][lv] for lv in levels], int(sizes.sum())).astype(float)
        got = np.zeros(len(levels))
        chosen = []
        for person in rng.permutation(sizes.index.to_numpy()):
            i = int(np.argmax(targets - got - (targets <= 0) * 1e9))
            got[i] += sizes[person]
            chosen.append((person, levels[i]))
        table[factor] = pd.Series(dict(chosen))
    return samples.join(table, on="identity")


def check_identities(recipe: Recipe, free: list[str]) -> None:
    """Refuse fewer persons than the levels of a per-person factor, or than the splits."""
    if recipe.identities is None:
        return
    shares = recipe.factor_shares()
    needs = {f"the {sum(w > 0 for w in shares[f].values())} levels of {f}": sum(w > 0 for w in shares[f].values())
             for f in free}
    needs[f"the {sum(w > 0 for w in recipe.splits.values())} splits"] = sum(w > 0 for w in recipe.splits.values())
    what, need = max(needs.items(), key=lambda kv: kv[1])
    if recipe.identities < need:
        raise FactoryError(f"identities: {recipe.identities} persons cannot cover {what} (each person has one); "
                           f"use at least {need}")


def assign_splits(samples: pd.DataFrame, splits: dict[str, float], demographic: list[str],
                  rng: np.random.Generator) -> pd.Series:
    """A split per identity (never per sample), stratified by demographic cell."""
    people = samples.groupby("identity").agg(n=("emotion", "size"), **{f: (f, "first") for f in demographic})
    people["shuffle"] = rng.permutation(len(people))
    people = people.sort_values([*demographic, "shuffle"], kind="stable")
    names = list(splits)
    targets = largest_remainder(list(splits.values()), int(people["n"].sum())).astype(float)
    got = np.zeros(len(names))
    chosen = {}
    for person, n in people["n"].items():
        # The split furthest below its target that this person does not push far past it.
        room = targets - got
        score = room / np.maximum(targets, 1e-9) - (targets <= 0) * 1e9 - (room < n / 2) * 1e6
        i = int(np.argmax(score))
        got[i] += n
        chosen[person] = names[i]
    return samples["identity"].map(chosen)


# ---------------------------------------------------------------- 5. the plan

@dataclass
class Plan:
    """The planned samples (one row each, in index order) and the recipe they came from."""

    recipe: Recipe
    samples: pd.DataFrame
    complement: Optional[dict[str, Any]] = None   # the real dataset this plan complements

    @property
    def factors(self) -> list[str]:
        """Emotion and the population factors."""
        return list(self.recipe.factor_levels())

    def shards(self) -> list[str]:
        """Shard names in order."""
        return list(dict.fromkeys(self.samples["shard"]))

    def rows(self, shard: str) -> pd.DataFrame:
        """The plan rows of one shard."""
        return self.samples[self.samples["shard"] == shard]

    def digest(self) -> str:
        """SHA-256 of the planned rows: what --resume compares to the run it continues."""
        import hashlib

        rows = pd.util.hash_pandas_object(self.samples, index=False).to_numpy()
        return hashlib.sha256(rows.tobytes() + ",".join(self.samples.columns).encode()).hexdigest()

    def levels(self) -> dict[str, list[Any]]:
        """Each factor's levels that the plan uses, and under "episode" its timeline(s):
        what generators check in `preflight`."""
        used = {f: sorted(self.samples[f].unique().tolist(), key=str) if f in self.samples else []
                for f in self.factors}
        return {**used, "episode": [episode_of(self.recipe)]}

    def counts(self, factors: list[str]) -> pd.Series:
        """Sample counts per cell of `factors`, every cell in recipe level order (zeros included)."""
        levels = self.recipe.factor_levels()
        cells = pd.MultiIndex.from_product([levels[f] for f in factors], names=factors)
        counts = self.samples.groupby(factors, sort=False).size()
        if len(factors) == 1:
            return counts.reindex(cells.get_level_values(0), fill_value=0)
        return counts.reindex(cells, fill_value=0)


def specs_from_rows(rows: pd.DataFrame, population: list[str], episode: Episode) -> Iterator[SampleSpec]:
    """SampleSpecs from plan rows (what a shard task receives)."""
    for row in rows.to_dict("records"):
        yield SampleSpec(
            sample_id=row["key"], index=int(row["index"]), shard=row["shard"], split=row["split"],
            seed=int(row["seed"]), identity=row["identity"], identity_seed=int(row["identity_seed"]),
            emotion=row["emotion"], intensity=float(row["intensity"]), valence=float(row["valence"]),
            arousal=float(row["arousal"]), dominance=float(row["dominance"]),
            attributes={f: to_python(row[f]) for f in population}, episode=episode, age=float(row["age"]),
            repetition=int(row.get("repetition", 0)))


def episode_of(recipe: Recipe) -> Episode:
    """The recipe's episode timeline."""
    e = recipe.episode
    return Episode(duration=e.duration, onset=e.onset, apex=e.apex, offset=e.offset)


def make_plan(recipe: Recipe, existing: Optional[pd.Series] = None, size: Optional[int] = None,
              free_weights: Optional[dict[str, dict]] = None, progress: Optional[Progress] = None) -> Plan:
    """Plan exactly `size` samples (default: the recipe's) meeting shares and joint quotas.

    With `existing` (real samples per balanced cell, see factory.complement) `size` is the
    combined total and only the deficit of each cell is planned. A size whose plan would not
    fit in memory is refused first (`check_plan_fits`); `progress` hears of each step.
    """
    size = recipe.size if size is None else size
    if not isinstance(size, int):
        raise FactoryError("size: auto needs the complement planner")
    check_plan_fits(size)
    report = progress or (lambda step, done, total: None)
    rng = np.random.default_rng(np.random.SeedSequence([recipe.seed, 0x9E3779B9]))
    if existing is None:
        check_size(recipe, size)
    report("quotas", 0, size)
    quotas = cell_quotas(recipe, size, existing)
    samples = expand_cells(quotas)
    if samples.empty:          # a complement whose real data already fills every cell
        return Plan(recipe, pd.DataFrame(columns=[*FIXED_COLUMNS, *recipe.population]))
    balanced = list(quotas.index.names)
    demographic = [f for f in balanced if f != "emotion"]
    free = [f for f in recipe.population if f not in balanced]
    check_identities(recipe, free)
    report("persons", 0, len(samples))
    samples["identity"] = assign_identities(samples, demographic, recipe.identities, rng)
    report("free factors", 0, len(samples))
    samples = assign_free_factors(samples, recipe, free, rng, free_weights)
    report("splits", 0, len(samples))
    samples["split"] = assign_splits(samples, recipe.splits, demographic, rng)
    return Plan(recipe, _finish(samples, recipe, rng, report))


def _per_sample(values, fn, step: str, report: Progress) -> list:
    """[fn(v) for v in values], reported to `report` every STEP samples."""
    values = list(values)
    out: list = []
    for start in range(0, len(values), STEP):
        report(step, start, len(values))
        out += [fn(v) for v in values[start:start + STEP]]
    report(step, len(values), len(values))
    return out


def _finish(samples: pd.DataFrame, recipe: Recipe, rng: np.random.Generator, report: Progress) -> pd.DataFrame:
    """Order samples (split by split, shuffled inside), then seeds, keys, shards, labels."""
    split_rank = {s: i for i, s in enumerate(recipe.splits)}
    samples["_split"] = samples["split"].map(split_rank)
    samples["_shuffle"] = rng.permutation(len(samples))
    samples = samples.sort_values(["_split", "_shuffle"], kind="stable").reset_index(drop=True)
    samples = samples.drop(columns=["_split", "_shuffle"])
    samples.insert(0, "index", np.arange(len(samples)))
    samples["key"] = [f"s{i:07d}" for i in samples["index"]]
    within = samples.groupby("split", sort=False).cumcount() // recipe.shard_size
    samples["shard"] = [f"{s}-{n:06d}.tar" for s, n in zip(samples["split"], within)]
    samples["seed"] = _per_sample(samples["index"], lambda i: stable_int(recipe.seed, int(i)), "sample seeds", report)
    ids = samples["identity"].astype(int)
    # SeedSequence ignores trailing zeros, so [seed, 1, 0] would equal sample 1's [seed, 1]:
    # persons get a spawn key of their own instead.
    samples["identity_seed"] = _per_sample(ids, lambda i: stable_int(recipe.seed, spawn_key=(IDENTITY_STREAM, int(i))),
                                           "person seeds", report)
    samples["identity"] = [f"p{int(i):06d}" for i in ids]
    lo, hi = recipe.intensity.min, recipe.intensity.max
    u = np.array(_per_sample(samples["seed"], lambda s: np.random.default_rng(np.random.SeedSequence([s, 1])).random(),
                             "intensities", report))
    samples["intensity"] = np.round(lo + (hi - lo) * u, 4)
    vad = [coordinates(e, i) for e, i in zip(samples["emotion"], samples["intensity"])]
    samples[["valence", "arousal", "dominance"]] = pd.DataFrame(vad, index=samples.index)
    ages = [age_from_band(band, np.random.default_rng(np.random.SeedSequence([s, 2])).random())
            for band, s in zip(samples.get("age_band", pd.Series([None] * len(samples))), samples["identity_seed"])]
    samples["age"] = ages
    samples["repetition"] = samples.groupby("identity", sort=False).cumcount()   # a person's episodes in plan order
    population = list(recipe.population)
    return samples[[*FIXED_COLUMNS, *population]]
