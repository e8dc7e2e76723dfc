"""The contract between planner and generators: one planned sample and its timeline.

Generators see a `SampleSpec` and their own settings, never the recipe.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Episode:
    """The shared timeline of one sample, in seconds from its start.

    Physiology covers [0, duration]; responses follow `onset`; speech starts after `onset`;
    the face is shown at `apex`; `offset` is when the expression has faded.
    """

    duration: float
    onset: float
    apex: float
    offset: float


@dataclass(frozen=True)
class SampleSpec:
    """Everything a generator may know about one planned sample.

    `seed` is the entropy of ``SeedSequence([recipe_seed, index])``; each modality draws its
    own child stream with `rng(modality)`, so adding a modality never changes another's output.
    `identity_seed` is the same for all samples of one synthetic person (their face, voice and
    physiological baseline). `attributes` holds the population factors (age_band, sex,
    skin_tone, locale, and any others the recipe names). `repetition` counts the person's
    earlier episodes in plan order (0 for the first), for habituation.
    """

    sample_id: str
    index: int
    shard: str
    split: str
    seed: int
    identity: str
    identity_seed: int
    emotion: str
    intensity: float
    valence: float
    arousal: float
    dominance: float
    attributes: dict[str, Any]
    episode: Episode
    age: float = field(default=0.0)
    repetition: int = field(default=0)   # how many episodes of this identity come before this one

    def rng(self, stream: str) -> np.random.Generator:
        """A random generator for one named stream of this sample (e.g. 'physiology')."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, _stream_key(stream)]))

    def identity_rng(self, stream: str) -> np.random.Generator:
        """A random generator shared by every sample of this identity (e.g. 'face')."""
        return np.random.default_rng(np.random.SeedSequence([self.identity_seed, _stream_key(stream)]))

    def get(self, factor: str, default: Any = None) -> Any:
        """A population attribute (age_band, sex, skin_tone, locale, ...) or `default`."""
        return self.attributes.get(factor, default)

    def labels(self) -> dict[str, Any]:
        """The planned labels, as they go into the sample's JSON."""
        d = asdict(self)
        d.pop("seed"); d.pop("identity_seed")
        d.update(d.pop("attributes"))
        return d


def _stream_key(stream: str) -> int:
    # A stable integer per stream name (Python's hash() is salted per process).
    return int.from_bytes(hashlib.sha256(stream.encode("utf-8")).digest()[:8], "little")


# The names a sample already uses for its own fields (plan columns and top-level keys of its
# JSON): a population factor may not take one, or one value would overwrite the other.
SAMPLE_FIELDS = frozenset({f.name for f in fields(SampleSpec)} - {"attributes"} | {"key", "generators"})
