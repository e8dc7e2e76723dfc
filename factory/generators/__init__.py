"""Pluggable generators: one small class per modality and backend, behind one protocol.

A generator is registered under the entry point group ``factory.generators`` with the name
``<modality>.<backend>`` (e.g. ``speech.espeak``), so a third party adds a backend by
shipping a package, without touching the factory::

    [project.entry-points."factory.generators"]
    "speech.mytts" = "mypkg.tts:MyTTSGenerator"

A generator owns everything about itself: its `Settings` (a pydantic model, subclass of
`GeneratorSettings`; the recipe validates its ``modalities.<modality>`` block against it, so a
backend with new keys needs no change to the factory), the `files` it writes (extension, media
type, description, which cards, report and Croissant read) and its `licence`. The factory
builds it from its validated settings, calls `preflight` once before anything is written,
then `generate` once per shard with that shard's specs, in a fixed order.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar, Mapping, Protocol, Sequence, runtime_checkable

from pydantic import BaseModel, ConfigDict

from factory.errors import FactoryError
from factory.spec import SampleSpec

ENTRY_POINT_GROUP = "factory.generators"
# The embedded default (no download): the modalities a recipe without `modalities:` gets, and
# the backend a modality block without `backend:` gets. A modality with one registered
# backend needs no entry here.
DEFAULT_BACKENDS = {"physiology": "neurokit2", "speech": "espeak", "face": "procedural"}
# Modalities are generated, and their files and labels written, in this order, then by name.
MODALITY_ORDER = ("physiology", "speech", "face", "eeg")
NEURAL_PACKAGES = {"torch", "torchaudio", "torchcodec", "transformers", "diffusers", "TTS", "accelerate"}


class GeneratorSettings(BaseModel):
    """Base of every generator's `Settings`: unknown keys are refused, defaults validated."""

    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)

    backend: str


@dataclass(frozen=True)
class OutputFile:
    """One kind of file a generator writes per sample.

    `extension` is the WebDataset extension after the key (``"physio.npy"``; a ``*`` stands
    for a counter, as in ``"frame*.png"``), `media_type` its MIME type, and `description`
    one line for the datasheet, the Hub card, Croissant and the report.
    """

    extension: str
    media_type: str
    description: str


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
    Settings: ClassVar[type[GeneratorSettings]]   # the recipe's modalities.<modality> block
    files: ClassVar[tuple[OutputFile, ...]]       # what it writes per sample
    licence: ClassVar[str]    # one line: the code's licence and any model, voice or data terms
    # Optional: `model_keys`, a tuple of the `Settings` keys that hold model references (a hub
    # id or path, or a mapping of them, e.g. locale -> model); the datasheet lists each with its
    # licence.

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

    # Optional: `summary() -> str`, what this generator makes with its settings in a few words
    # for the datasheet (e.g. the physiological signals); absent or "" says nothing more.


def episodes_of(levels: Mapping[str, Any]) -> list[Any]:
    """The episode timelines a `preflight`'s `levels` carry (one or a list; none: [])."""
    found = levels.get("episode") or []
    return list(found) if isinstance(found, (list, tuple)) else [found]


def model_refs(generator_cls: type, settings: GeneratorSettings) -> dict[str, str]:
    """The model references in `settings`, by recipe key (``model``, ``models.en-US``), in the
    order of the class's `model_keys`."""
    out = {}
    for key in getattr(generator_cls, "model_keys", ()):
        value = getattr(settings, key, None)
        if isinstance(value, Mapping):
            out.update({f"{key}.{k}": str(v) for k, v in value.items() if v})
        elif value:
            out[key] = str(value)
    return out


def declaration(generator: Generator, settings: GeneratorSettings) -> dict[str, Any]:
    """What a generator declares about itself, as plain data for the manifest: its licence, the
    files it writes, the models its settings name and its summary. Cards, Croissant and the
    report describe a dataset from this, so a new backend or modality needs no change there."""
    summary = getattr(generator, "summary", None)
    return {"licence": generator.licence, "files": [asdict(f) for f in generator.files],
            "models": model_refs(type(generator), settings), "summary": summary() if summary else ""}


def available() -> dict[str, Any]:
    """Registered generators, by ``modality.backend`` name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def modalities() -> list[str]:
    """Every modality some installed generator makes, in generation order."""
    return ordered({name.split(".", 1)[0] for name in available()})


def ordered(names) -> list[str]:
    """Modality names in generation order (`MODALITY_ORDER`, then alphabetical)."""
    rank = {m: i for i, m in enumerate(MODALITY_ORDER)}
    return sorted(set(names), key=lambda m: (rank.get(m, len(rank)), m))


def default_backend(modality: str) -> str | None:
    """The backend a ``modalities.<modality>`` block without ``backend:`` gets (None: must be named)."""
    if modality in DEFAULT_BACKENDS:
        return DEFAULT_BACKENDS[modality]
    backends = [n.split(".", 1)[1] for n in available() if n.split(".", 1)[0] == modality]
    return backends[0] if len(backends) == 1 else None


def generator_class(modality: str, backend: str) -> type:
    """The class registered as ``<modality>.<backend>`` (FactoryError naming the recipe key if none)."""
    name = f"{modality}.{backend}"
    eps = available()
    if name not in eps:
        if modality not in modalities():
            raise FactoryError(f"modalities.{modality}: no installed generator makes {modality!r}; "
                               f"modalities: {', '.join(modalities())}")
        known = sorted(n.split(".", 1)[1] for n in eps if n.startswith(modality + "."))
        raise FactoryError(
            f"modalities.{modality}.backend: no generator {backend!r} is installed; "
            f"available: {', '.join(known) or 'none'} (a backend is a package registering the "
            f"entry point '{ENTRY_POINT_GROUP}' named '{name}')")
    try:
        return eps[name].load()
    except ImportError as exc:
        missing = exc.name or str(exc)
        hint = ("pip install 'affect-factory[neural]'" if missing.split(".")[0] in NEURAL_PACKAGES
                else f"pip install {missing.split('.')[0]}")
        raise FactoryError(
            f"modalities.{modality}.backend: {backend!r} needs a package that is not "
            f"installed: {missing} ({hint})") from None


def load_generator(modality: str, settings: GeneratorSettings) -> Generator:
    """Build the generator registered for ``<modality>.<settings.backend>``."""
    return generator_class(modality, settings.backend)(settings)
