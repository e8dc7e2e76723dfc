"""Planner: exact sizes, joint quotas, identities, splits and seeds."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from factory.errors import FactoryError
from factory.plan import largest_remainder, make_plan
from factory.recipe import Recipe


def quota_ok(counts, shares_of, size, slack=1):
    for cell, n in counts.items():
        cell = cell if isinstance(cell, tuple) else (cell,)
        exact = size * math.prod(shares_of(i, lv) for i, lv in enumerate(cell))
        assert abs(n - exact) < 1 + slack, (cell, n, exact)


@given(st.lists(st.floats(0, 10), min_size=1, max_size=12), st.integers(0, 5000))
def test_largest_remainder_is_exact(weights, total):
    counts = largest_remainder(weights, total)
    if sum(weights) > 0:
        assert counts.sum() == total
        exact = np.array(weights) / sum(weights) * total
        assert np.all(np.abs(counts - exact) < 1)


recipes = st.fixed_dictionaries({
    "size": st.integers(40, 600),
    "emotions": st.dictionaries(st.sampled_from(["neutral", "anger", "fear", "sadness", "happiness", "disgust"]),
                                st.integers(1, 4), min_size=2, max_size=6),
    "population": st.fixed_dictionaries({
        "sex": st.just({"female": 1, "male": 1}),
        "skin_tone": st.dictionaries(st.integers(1, 10), st.integers(1, 3), min_size=2, max_size=6),
        "age_band": st.just({"18-29": 2, "30-44": 1, "65+": 1}),
        "locale": st.just({"en-US": 1, "es-ES": 1}),
    }),
    "balance": st.sampled_from([[], [["emotion", "sex"]], [["emotion", "sex"], ["emotion", "skin_tone"]],
                                [["emotion", "skin_tone"], ["sex", "skin_tone"]], [["emotion", "sex", "age_band"]]]),
    "seed": st.integers(0, 2**31),
})


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipes)
def test_plan_meets_size_marginals_and_joint_quotas(spec):
    r = Recipe.model_validate(spec)
    cells = max([math.prod(len(r.factor_levels()[f]) for f in c) for c in r.balance] or [1])
    if r.size < cells:
        with pytest.raises(FactoryError):
            make_plan(r)
        return
    plan = make_plan(r)
    s = plan.samples
    assert len(s) == r.size
    shares = r.factor_shares()
    balanced = {"emotion", *(f for c in r.balance for f in c)}
    for f in balanced:
        quota_ok(plan.counts([f]), lambda i, lv, f=f: shares[f][lv], r.size, slack=0)
    for combo in r.balance:
        quota_ok(plan.counts(list(combo)), lambda i, lv, c=combo: shares[c[i]][lv], r.size, slack=1)
    # Unbalanced factors: exact marginals (every sample is its own person here).
    for f in set(r.population) - balanced:
        quota_ok(plan.counts([f]), lambda i, lv, f=f: shares[f][lv], r.size, slack=0)
    assert s["key"].is_unique and not s["key"].str.contains(".", regex=False).any()
    assert s["seed"].is_unique


def test_identities_keep_demographics_and_splits_are_by_identity():
    r = Recipe.model_validate({"size": 700, "identities": 50, "balance": [["emotion", "sex"], ["emotion", "skin_tone"]]})
    s = make_plan(r).samples
    per_person = s.groupby("identity")[list(r.population) + ["split", "identity_seed", "age"]].nunique()
    assert (per_person == 1).all().all()
    assert s["identity"].nunique() == 50
    assert s.groupby("identity")["emotion"].nunique().min() >= 3     # persons show several emotions
    assert s.groupby("split")["identity"].apply(set).pipe(lambda x: set.intersection(*x)) == set()
    counts = s.groupby(["emotion", "sex"]).size()
    assert counts.max() - counts.min() <= 1


def test_too_few_identities_suggests_minimum():
    r = Recipe.model_validate({"size": 200, "identities": 5, "balance": [["emotion", "skin_tone"]]})
    with pytest.raises(FactoryError, match="at least 10"):
        make_plan(r)


def test_size_smaller_than_cells_says_minimum():
    r = Recipe.model_validate({"size": 20, "balance": [["emotion", "skin_tone"]]})
    with pytest.raises(FactoryError, match="at least 70"):
        make_plan(r)


def test_plan_is_deterministic_and_seed_sensitive():
    a = make_plan(Recipe.model_validate({"size": 120, "seed": 3})).samples
    b = make_plan(Recipe.model_validate({"size": 120, "seed": 3})).samples
    c = make_plan(Recipe.model_validate({"size": 120, "seed": 4})).samples
    assert a.equals(b)
    assert not a["seed"].equals(c["seed"])


def test_shards_are_named_by_split_and_sized():
    r = Recipe.model_validate({"size": 95, "shard_size": 10})
    s = make_plan(r).samples
    assert s.groupby("shard").size().max() <= 10
    assert all(name.startswith(split + "-") for name, split in zip(s["shard"], s["split"]))


def test_person_seeds_never_equal_sample_seeds():
    s = make_plan(Recipe.model_validate({"size": 60, "identities": 12, "seed": 1234, "balance": []})).samples
    assert not set(s["seed"]) & set(s["identity_seed"])


def test_too_few_identities_for_a_per_person_factor():
    r = Recipe.model_validate({"size": 40, "identities": 2, "balance": [["emotion", "sex"]],
                               "population": {"sex": {"female": 1, "male": 1}, "skin_tone": {1: 1, 2: 1, 3: 1, 4: 1}}})
    with pytest.raises(FactoryError, match="levels of skin_tone.*at least 4"):
        make_plan(r)


def test_splits_follow_their_shares_with_few_persons():
    r = Recipe.model_validate({"size": 200, "identities": 20, "balance": [],
                               "splits": {"train": 0.8, "validation": 0.1, "test": 0.1}})
    shares = make_plan(r).samples["split"].value_counts(normalize=True)
    assert abs(shares["train"] - 0.8) <= 0.06 and shares["validation"] > 0 and shares["test"] > 0
