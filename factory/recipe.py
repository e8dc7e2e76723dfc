"""Recipe format version 1: the pydantic schema, safe YAML loading and errors that name the key.

A recipe is data. It is read with ``yaml.safe_load`` (never evaluated), every key has a
default, unknown keys are refused with a "did you mean" hint, and every error names the key
path (``modalities.speech.backend``), the line in the file and what is allowed.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any, Literal, Mapping, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from factory.affect import EMOTIONS
from factory.errors import FactoryError, did_you_mean
from factory.generators import (DEFAULT_BACKENDS, MODALITY_ORDER, GeneratorSettings, default_backend, generator_class,
                                modalities, ordered)
from factory.spec import SAMPLE_FIELDS

RECIPE_VERSION = 1
KNOWN_SEXES = ("female", "male", "intersex", "unspecified")
_AGE_BAND = re.compile(r"^(\d{1,3})-(\d{1,3})$|^(\d{1,3})\+$")
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
MAX_AGE = 120          # age bands lie within 0-120 years; an open band 'N+' spans N to N+20
OPEN_BAND_SPAN = 20
# Hostile-YAML limits, checked before anything is built from the text.
MAX_RECIPE_BYTES = 1_000_000
MAX_NODES = 100_000    # YAML nodes after expanding aliases (a "billion laughs" recipe has ~10**9)
MAX_DEPTH = 64

Level = Union[int, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


class Intensity(_Strict):
    """Expression intensity, drawn uniformly per sample in [min, max] (0 = none, 1 = full)."""

    min: float = Field(0.5, ge=0.0, le=1.0)
    max: float = Field(1.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self):
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        return self


class EpisodeSettings(_Strict):
    """The shared timeline of every sample, in seconds."""

    duration: float = Field(10.0, ge=4.0, le=300.0)
    onset: float = Field(3.0, ge=1.0)
    apex: Optional[float] = None       # default: 40 % of the way from onset to the end
    offset: Optional[float] = None     # default: 85 % of the duration

    @model_validator(mode="after")
    def _timeline(self):
        if self.apex is None:
            self.apex = round(self.onset + 0.4 * (self.duration - self.onset), 3)
        if self.offset is None:
            self.offset = round(max(self.apex + 0.1, 0.85 * self.duration), 3)
        if not self.onset < self.apex < self.offset <= self.duration:
            raise ValueError(
                f"need onset < apex < offset <= duration, got onset={self.onset}, "
                f"apex={self.apex}, offset={self.offset}, duration={self.duration}")
        return self


class Complement(_Strict):
    """An existing (real) dataset whose gaps the plan fills."""

    path: str
    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, Level]] = Field(default_factory=dict)

    @field_validator("values", mode="before")
    @classmethod
    def _codes_as_text(cls, v):
        # A real dataset's codes are matched as text: `{emotion: {0: neutral}}` means the code "0".
        if isinstance(v, dict):
            return {f: ({str(code): lvl for code, lvl in m.items()} if isinstance(m, dict) else m) for f, m in v.items()}
        return v


class Publish(_Strict):
    """Where `affect-factory publish` sends the dataset."""

    repo_id: Optional[str] = None
    private: bool = True


class AuditThresholds(_Strict):
    """Limits the fairness audit checks; `affect-factory audit` exits non-zero past one."""

    max_representation_gap: float = Field(0.02, ge=0.0, le=1.0)   # |achieved - target| share
    min_label_parity_ratio: float = Field(0.8, ge=0.0, le=1.0)    # demographic-parity ratio
    max_fidelity_gap: float = Field(0.25, ge=0.0, le=1.0)          # between groups
    max_equalized_odds_difference: float = Field(0.5, ge=0.0, le=1.0)
    min_group_size: int = Field(20, ge=1)   # smaller groups are reported, not judged (b, c, d)


class Recipe(_Strict):
    """A validated recipe, every key resolved to a value."""

    recipe_version: Literal[1] = RECIPE_VERSION
    name: str = Field("affect-dataset", pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    version: str = Field("1.0.0", pattern=r"^\d+\.\d+\.\d+$")
    description: str = "A synthetic affective dataset made by affect-factory."
    license: str = "cc-by-4.0"
    seed: int = Field(0, ge=0, lt=2**63)
    # 140 = 7 emotions x 4 age bands x 5 (and x 2 sexes, x 10 skin tones): the default balance is exact.
    size: Union[int, Literal["auto"]] = 140
    shard_size: int = Field(100, ge=1, le=100_000)
    emotions: dict[str, float] = Field(
        default_factory=lambda: {e: 1.0 for e in ("neutral", "happiness", "sadness", "anger", "fear", "disgust", "surprise")})
    intensity: Intensity = Field(default_factory=Intensity)
    population: dict[str, dict[Level, float]] = Field(default_factory=lambda: {
        "age_band": {"18-29": 1, "30-44": 1, "45-64": 1, "65+": 1},
        "sex": {"female": 1, "male": 1},
        "skin_tone": {t: 1 for t in range(1, 11)},
        "locale": {"en-US": 1},
    })
    # Default (key left out): emotion crossed with each population factor; `balance: []` for none.
    balance: Optional[list[list[str]]] = None
    identities: Optional[int] = Field(None, ge=1)
    splits: dict[str, float] = Field(default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1})
    episode: EpisodeSettings = Field(default_factory=EpisodeSettings)
    modalities: dict[str, Any] = Field(default_factory=lambda: dict.fromkeys(DEFAULT_BACKENDS))
    complement: Optional[Complement] = None
    publish: Optional[Publish] = None
    audit: AuditThresholds = Field(default_factory=AuditThresholds)

    @field_validator("modalities", mode="before")
    @classmethod
    def _modalities_given(cls, v):
        if not isinstance(v, dict):
            raise ValueError("modalities: a mapping of modality name to its settings, e.g. {speech: {backend: espeak}}")
        if not v:
            raise ValueError(f"enable at least one modality, e.g. {', '.join(DEFAULT_BACKENDS)}")
        return v

    @field_validator("modalities")
    @classmethod
    def _modality_settings(cls, v):
        return validate_modalities(v)

    @field_validator("seed", "size", "shard_size", "identities", mode="before")
    @classmethod
    def _not_a_boolean(cls, v):
        if isinstance(v, bool):     # YAML's true/yes/on would otherwise count as 1
            raise ValueError(f"give a whole number, not {str(v).lower()}")
        return v

    @field_validator("size")
    @classmethod
    def _size(cls, v):
        if isinstance(v, int) and v < 1:
            raise ValueError("size must be at least 1")
        return v

    @field_validator("emotions", mode="before")
    @classmethod
    def _emotion_list(cls, v):
        if isinstance(v, list):
            twice = sorted({e for e in v if v.count(e) > 1}, key=str)
            if twice:
                raise ValueError(f"emotion {twice[0]!r} is listed twice")
            return {e: 1.0 for e in v}
        return v

    @field_validator("emotions")
    @classmethod
    def _known_emotions(cls, v):
        _check_shares(v, "emotion")
        for name in v:
            if name not in EMOTIONS:
                raise ValueError(f"unknown emotion {name!r}{did_you_mean(name, EMOTIONS)}; "
                                 f"known: {', '.join(EMOTIONS)}")
        return v

    @field_validator("population")
    @classmethod
    def _population(cls, v):
        out = {}
        reserved = reserved_factor_names()
        for factor, levels in v.items():
            if factor in reserved:
                raise ValueError(f"factor name {factor!r} is reserved (every sample already has a field or block "
                                 f"called {factor!r}); rename the factor, e.g. {factor}_group. Reserved: "
                                 f"{', '.join(sorted(reserved))}")
            if not re.fullmatch(r"[a-z][a-z0-9_]*", factor):
                raise ValueError(f"factor name {factor!r} must be lower_snake_case")
            _check_shares(levels, factor)
            out[factor] = {}
            for lvl, w in levels.items():
                level = _check_level(factor, lvl)
                if level in out[factor]:
                    raise ValueError(f"{factor} level {lvl!r} is listed twice (as {level!r})")
                out[factor][level] = w
        return out

    @field_validator("splits")
    @classmethod
    def _splits(cls, v):
        _check_shares(v, "split")
        for name in v:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"split name {name!r} must be lower_snake_case")
        return v

    @model_validator(mode="after")
    def _cross_checks(self):
        factors = ["emotion", *self.population]
        if self.balance is None:       # fair by default: no factor's levels skew the emotions
            self.balance = [["emotion", f] for f in self.population]
        for i, combo in enumerate(self.balance):
            if not combo:
                raise ValueError(f"balance[{i}] is empty; list factors to cross, e.g. [emotion, sex]")
            for f in combo:
                if f not in factors:
                    raise ValueError(f"balance[{i}] names unknown factor {f!r}{did_you_mean(f, factors)}; "
                                     f"factors are: {', '.join(factors)}")
            if len(set(combo)) != len(combo):
                raise ValueError(f"balance[{i}] names a factor twice: {combo}")
        if self.size == "auto" and self.complement is None:
            raise ValueError("size: auto needs a `complement:` dataset to top up; give a number")
        if self.episode.onset >= self.episode.duration:
            raise ValueError("episode.onset must be before episode.duration")
        return self

    def factor_levels(self) -> dict[str, list[Level]]:
        """Every factor (emotion first, then population) and its levels, in recipe order."""
        return {"emotion": list(self.emotions), **{f: list(lv) for f, lv in self.population.items()}}

    def factor_shares(self) -> dict[str, dict[Level, float]]:
        """Every factor's normalized shares."""
        raw = {"emotion": self.emotions, **self.population}
        return {f: shares(lv) for f, lv in raw.items()}

    def resolved(self) -> dict[str, Any]:
        """The recipe with every default filled in, as plain JSON-able data."""
        return self.model_dump(mode="json")

    def hash(self) -> str:
        """SHA-256 of the resolved recipe (canonical JSON): what resume and manifests compare."""
        blob = json.dumps(self.resolved(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()


def validate_modalities(blocks: dict[str, Any]) -> dict[str, GeneratorSettings]:
    """Each ``modalities.<name>`` block validated by its generator's own `Settings`, in generation order.

    A block names its generator with ``backend:`` (default: the modality's default backend); a
    block's errors keep their key path (``modalities.face.size``) so the recipe's line is found.
    """
    out, errors = {}, []
    for name in ordered(blocks):
        block = blocks[name]
        if isinstance(block, GeneratorSettings):
            out[name] = block
            continue
        block = {} if block is None else block
        if not isinstance(block, dict):
            errors.append(_custom(name, (), f"settings are a mapping of keys (or empty for the defaults), "
                                            f"got {type(block).__name__}", block))
            continue
        if name not in modalities():
            errors.append(_custom(name, (), f"no installed generator makes {name!r}; modalities: "
                                            f"{', '.join(modalities())}", block))
            continue
        backend = block.get("backend") or default_backend(name)
        if not backend:
            errors.append(_custom(name, (), "name a `backend:` (this modality has several)", block))
            continue
        try:
            settings_class = generator_class(name, str(backend)).Settings
        except FactoryError as exc:
            loc = ("backend",) if ".backend" in str(exc).split(":")[0] else ()
            errors.append(_custom(name, loc, str(exc).split(": ", 1)[-1], backend))
            continue
        try:
            out[name] = settings_class.model_validate({**block, "backend": backend})
        except ValidationError as exc:
            errors.extend({**e, "loc": (name, *e["loc"])} for e in exc.errors(include_url=False))
    if errors:
        raise ValidationError.from_exception_data("modalities", errors)
    return out


def _custom(name: str, loc: tuple, message: str, value: Any) -> dict:
    return {"type": PydanticCustomError("modality", message), "loc": (name, *loc), "input": value}


def shares(weights: Mapping[Any, float]) -> dict[Any, float]:
    """`weights` scaled to sum to 1, in their order (the recipe's shares of a factor's levels)."""
    total = sum(weights.values())
    return {level: w / total for level, w in weights.items()}


def reserved_factor_names() -> frozenset[str]:
    """Names a population factor may not take: a sample's own fields and every modality's block."""
    return SAMPLE_FIELDS | set(modalities()) | set(MODALITY_ORDER)


def _check_shares(levels: dict, what: str) -> None:
    if not levels:
        raise ValueError(f"{what}: list at least one level")
    for lvl, w in levels.items():
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
            raise ValueError(f"{what} level {lvl!r}: share must be a finite number >= 0, got {w!r}")
    if sum(levels.values()) <= 0:
        raise ValueError(f"{what}: shares must not all be zero")
    if not math.isfinite(sum(levels.values())):
        raise ValueError(f"{what}: shares are too large to add up; shares are relative, e.g. 1 and 2")


def _check_level(factor: str, level: Level) -> Level:
    """Normalize and check levels of the factors the generators understand."""
    if factor == "skin_tone":
        try:
            tone = int(level)
        except (TypeError, ValueError):
            raise ValueError(f"skin_tone level {level!r} must be a Monk Skin Tone number 1-10") from None
        if not 1 <= tone <= 10:
            raise ValueError(f"skin_tone level {tone} is outside the Monk scale 1-10")
        return tone
    level = str(level)
    if factor == "age_band":
        m = _AGE_BAND.match(level)
        if not m or (m.group(1) and int(m.group(1)) > int(m.group(2))):
            raise ValueError(f"age_band level {level!r} must look like '18-29' or '65+'")
        top = int(m.group(2)) if m.group(2) else int(m.group(3)) + OPEN_BAND_SPAN
        if top > MAX_AGE:
            raise ValueError(f"age_band level {level!r} is outside human ages: bands lie within 0-{MAX_AGE} "
                             f"years (an open band 'N+' spans N to N+{OPEN_BAND_SPAN}, so N <= "
                             f"{MAX_AGE - OPEN_BAND_SPAN})")
    elif factor == "sex" and level not in KNOWN_SEXES:
        raise ValueError(f"sex level {level!r}{did_you_mean(level, KNOWN_SEXES)}; known: {', '.join(KNOWN_SEXES)}")
    elif factor == "locale" and not _LOCALE.match(level):
        raise ValueError(f"locale {level!r} must be a BCP-47 tag such as 'en-US'")
    return level


# ---------------------------------------------------------------- loading

def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe file; raise FactoryError naming the key path and line."""
    return parse_recipe(read_text_file(path, "recipe"), source=str(path))


def read_text_file(path: str | Path, what: str) -> str:
    """A small UTF-8 file (a recipe, a thresholds file): a regular file of at most
    MAX_RECIPE_BYTES (a device or FIFO such as /dev/zero is never read to its end)."""
    path = Path(path)
    try:
        if path.is_dir():
            raise FactoryError(f"{path}: is a folder, not a {what} file")
        if path.exists() and not path.is_file():
            raise FactoryError(f"{path}: not a regular file (a device or pipe?); give a {what} file")
        with path.open("rb") as f:
            data = f.read(MAX_RECIPE_BYTES + 1)
    except FileNotFoundError:
        raise FactoryError(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise FactoryError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    if len(data) > MAX_RECIPE_BYTES:
        raise FactoryError(f"{path}: more than {MAX_RECIPE_BYTES:,} bytes is too large for a {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FactoryError(f"{path}: not a text file (a {what} is UTF-8 YAML)") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping (the last would win silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(None, None, f"a key must be a plain value, not a "
                                                        f"{type(key).__name__}", key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, source: str):
    """(data, key path -> line) of YAML text: plain data only (yaml.SafeLoader), a key given twice
    refused, and hostile documents refused before anything is built from them: more than
    MAX_RECIPE_BYTES of text, more than MAX_NODES nodes once aliases are expanded (a "billion
    laughs" document), nesting deeper than MAX_DEPTH, an alias that contains itself, or a number
    that is not finite (.nan, .inf), wherever it is."""
    if len(text) > MAX_RECIPE_BYTES:
        raise FactoryError(f"{source}: {len(text):,} characters is too large for a recipe (at most "
                           f"{MAX_RECIPE_BYTES:,}); a recipe names factors and shares, not data")
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        _check_node_graph(node, source)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise FactoryError(f"{source}:{where} is not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except RecursionError:
        raise FactoryError(f"{source}: the YAML is nested too deeply (at most {MAX_DEPTH} levels)") from None
    finally:
        loader.dispose()
    lines = _key_lines(node)
    _refuse_non_finite(data, (), lines, source)
    return data, lines


def _check_node_graph(node, source: str) -> None:
    """Count the nodes `node` expands to (aliases followed, each shared node costed once per use)."""
    expanded: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(n, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise FactoryError(f"{source}:{n.start_mark.line + 1}: the YAML is nested more than {MAX_DEPTH} "
                               f"levels deep; a recipe is a few levels of keys")
        if id(n) in expanded:
            return expanded[id(n)]
        if id(n) in open_nodes:
            raise FactoryError(f"{source}:{n.start_mark.line + 1}: a YAML alias refers to a node that contains it "
                               f"(a recursive structure); write the values out")
        open_nodes.add(id(n))
        children = [c for kv in n.value for c in kv] if isinstance(n, yaml.MappingNode) else (
            n.value if isinstance(n, yaml.SequenceNode) else [])
        total = 1 + sum(size(c, depth + 1) for c in children)
        open_nodes.discard(id(n))
        if total > MAX_NODES:
            raise FactoryError(f"{source}:{n.start_mark.line + 1}: the YAML expands to more than {MAX_NODES:,} "
                               f"values (aliases of aliases: a 'billion laughs' document?); refusing to load it")
        expanded[id(n)] = total
        return total

    if node is not None:
        size(node, 0)


def _refuse_non_finite(value, path: tuple, lines: dict[tuple, int], source: str) -> None:
    """A NaN or infinity anywhere (as a value or a key) is an error naming its key path and line."""
    if isinstance(value, float) and not math.isfinite(value):
        line = _nearest_line(path, lines)
        where = f"{source}:{line}" if line else source
        raise FactoryError(f"{where}: {'.'.join(map(str, path)) or '(top level)'}: {value!r} is not a finite "
                           f"number; give a number such as 0.5")
    if isinstance(value, dict):
        for k, v in value.items():
            _refuse_non_finite(k, path + (k,), lines, source)
            _refuse_non_finite(v, path + (k,), lines, source)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _refuse_non_finite(v, path + (i,), lines, source)


def parse_recipe(text: str, source: str = "<recipe>") -> Recipe:
    """Validate recipe YAML text; see `load_recipe`."""
    data, lines = load_yaml(text, source)
    if data is None or data == {}:
        raise FactoryError(f"{source}: the recipe is empty (no keys); a recipe names at least what to make, "
                           f"e.g. `name: my-dataset` and `size: 140` (every other key has a default, see "
                           f"docs/recipe.md and recipes/demo.yaml)")
    if not isinstance(data, dict):
        raise FactoryError(f"{source}: a recipe is a mapping of keys (name:, size:, ...), got {type(data).__name__}")
    if data.get("modalities") is not None and isinstance(data["modalities"], dict):
        # `speech:` with no settings means "on, with defaults".
        data["modalities"] = {k: ({} if v is None else v) for k, v in data["modalities"].items()}
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise FactoryError(_explain(exc, lines, source, data)) from None


def _explain(exc: ValidationError, lines: dict[tuple, int], source: str, data: dict) -> str:
    msgs = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "literal["))))
        loc = _strip_union_tags(loc)
        path = ".".join(str(p) for p in loc) or "(top level)"
        line = _nearest_line(loc, lines)
        where = f"{source}:{line}" if line else source
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            parent = _model_at(Recipe, loc[:-1], data)
            allowed = list(parent.model_fields) if parent else []
            msg = f"unknown key{did_you_mean(loc[-1], allowed)}; allowed here: {', '.join(allowed)}"
        elif "input" in err and err["type"] not in ("missing",) and not isinstance(err["input"], (dict, list)):
            msg = f"{msg} (got {err['input']!r})"
        msgs.append(f"{where}: {path}: {msg}")
    return "invalid recipe:\n  " + "\n  ".join(dict.fromkeys(msgs))


def _strip_union_tags(loc: tuple) -> tuple:
    # pydantic puts the union member tried into the path ("int", "str", ...); drop it.
    return tuple(p for p in loc if p not in ("int", "str", "float", "bool", "dict[str,float]", "list[str]"))


def _model_at(model, loc, data: dict):
    if loc[:1] == ("modalities",) and len(loc) >= 2:
        block = (data.get("modalities") or {}).get(loc[1]) or {}
        try:
            model = generator_class(loc[1], block.get("backend") or default_backend(loc[1])).Settings
        except (FactoryError, AttributeError, TypeError):
            return None
        loc = loc[2:]
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        candidates = [a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not candidates:
            return None
        model = candidates[0]
    return model


def _key_lines(node, path=()) -> dict[tuple, int]:
    """Map each key path in the YAML node tree to its 1-based line number."""
    out = {path: node.start_mark.line + 1} if node is not None else {}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = _scalar(k.value)
            out[path + (key,)] = k.start_mark.line + 1
            out.update({p: ln for p, ln in _key_lines(v, path + (key,)).items() if p != path + (key,)})
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out.update(_key_lines(item, path + (i,)))
    return out


def _scalar(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value if isinstance(value, str) else repr(value)


def _nearest_line(loc: tuple, lines: dict[tuple, int]) -> Optional[int]:
    for n in range(len(loc), -1, -1):
        key = tuple(_scalar(p) if isinstance(p, str) else p for p in loc[:n])
        if key in lines and key:
            return lines[key]
    return None
