"""Pluggable generators: one small class per modality and backend, behind one protocol.

A generator is registered under the entry point group ``factory.generators`` with the name
``<modality>.<backend>`` (e.g. ``speech.espeak``), so a third party adds a backend by
shipping a package, without touching the factory::

    [project.entry-points."factory.generators"]
    "speech.mytts" = "mypkg.tts:MyTTSGenerator"

The factory builds a generator from its validated settings (the recipe's
``modalities.<modality>`` block), calls `preflight` once before anything is written, then
`generate` once per shard with that shard's specs, in a fixed order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar, Mapping, Protocol, Sequence, runtime_checkable

from factory.errors import FactoryError
from factory.spec import SampleSpec

ENTRY_POINT_GROUP = "factory.generators"
NEURAL_PACKAGES = {"torch", "torchaudio", "torchcodec", "transformers", "diffusers", "TTS", "accelerate"}


@dataclass
class SampleParts:
    """What one generator made for one sample.

    `files` maps a WebDataset extension (no key, e.g. ``"physio.npy"``, ``"flac"``, ``"png"``)
    to encoded bytes; `labels` is this modality's JSON fragment: targets, measurements,
    timestamps and anything else a user may filter on. Scalars in it become index columns.
    """

    files: dict[str, bytes] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Generator(Protocol):
    """The protocol every generator follows."""

    modality: ClassVar[str]   # "physiology", "speech", "face", ...
    backend: ClassVar[str]    # "neurokit2", "espeak", "diffusers", ...

    def __init__(self, settings: Any) -> None: ...

    def preflight(self, levels: Mapping[str, Sequence[Any]]) -> None:
        """Fail fast (FactoryError) if the recipe asks for something this backend cannot do.

        `levels` maps each factor (emotion, age_band, sex, skin_tone, locale, ...) to the
        levels the plan uses, and "episode" to the plan's `Episode` timelines. Check models
        exist, locales have voices, transcripts fit the episode, devices are present.
        """

    def versions(self) -> dict[str, str]:
        """Names and versions of the libraries and models this generator used (for the manifest)."""

    def generate(self, specs: Sequence[SampleSpec]) -> list[SampleParts]:
        """Make one `SampleParts` per spec, in order. Pure: same specs, same bytes."""


def available() -> dict[str, Any]:
    """Registered generators, by ``modality.backend`` name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_generator(modality: str, settings: Any) -> Generator:
    """Build the generator registered for ``<modality>.<settings.backend>``."""
    name = f"{modality}.{settings.backend}"
    eps = available()
    if name not in eps:
        known = sorted(n.split(".", 1)[1] for n in eps if n.startswith(modality + "."))
        raise FactoryError(
            f"modalities.{modality}.backend: no generator {settings.backend!r} is installed; "
            f"available: {', '.join(known) or 'none'} (a backend is a package registering the "
            f"entry point '{ENTRY_POINT_GROUP}' named '{name}')")
    try:
        cls = eps[name].load()
    except ImportError as exc:
        missing = exc.name or str(exc)
        hint = ("pip install 'affect-factory[neural]'" if missing.split(".")[0] in NEURAL_PACKAGES
                else f"pip install {missing.split('.')[0]}")
        raise FactoryError(
            f"modalities.{modality}.backend {settings.backend!r} needs a package that is not "
            f"installed: {missing} ({hint})") from None
    return cls(settings)
