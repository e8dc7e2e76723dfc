"""The offline default face backend: a FACS-driven parametric face (no model download).

Per sample: the person's fixed face (`factory.faces.identity`), the emotion's EMFACS
prototype scaled by intensity and by the person's expressivity, a small random head pose,
rendered at the episode's apex (and, with `frames: K`, at K times along onset-apex-offset).
Labels are exact: the AUs that drove the renderer, AUs measured back from the landmarks,
the 68 landmarks in pixels, the pose and the time.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np
import PIL
from PIL import Image
from pydantic import Field

import factory
from factory.affect import FACS_PROTOTYPES, MONK_SKIN_TONES
from factory.errors import FactoryError
from factory.faces.expression import (UNILATERAL, au_key, envelope, frame_times, rendered_aus,
                                      target_aus)
from factory.faces.geometry import Pose, au_basis, expression_landmarks, measure_aus, neutral_landmarks
from factory.faces.identity import FaceIdentity, draw_identity
from factory.faces.render import render
from factory.generators import GeneratorSettings, OutputFile, SampleParts
from factory.png import encode_png
from factory.spec import SampleSpec

# Head pose spread (degrees, SD and limit): *chosen* small, near-frontal portraits.
POSE_SD = {"yaw": (5.0, 12.0), "pitch": (3.0, 8.0), "roll": (3.0, 8.0)}
AU_TOLERANCE = 0.2   # measured vs target, per AU, for `met.au`
PNG_LEVEL = 3        # zlib level (deterministic); 3: ~15 % larger than 6, much faster


def sample_pose(spec: SampleSpec) -> Pose:
    """A small random head pose from the sample's own stream."""
    rng = spec.rng("face.pose")
    return Pose(**{k: round(float(np.clip(rng.normal(0, sd), -lim, lim)), 3) for k, (sd, lim) in POSE_SD.items()})


class FaceRig:
    """One person's face, ready to render any expression (neutral landmarks and AU basis)."""

    def __init__(self, identity: FaceIdentity):
        self.identity = identity
        self.neutral = neutral_landmarks(identity)
        self.basis = au_basis(identity)

    def landmarks(self, aus: dict[int, float], unilateral: str | None) -> np.ndarray:
        """Canonical landmarks of this face showing `aus`."""
        return expression_landmarks(self.neutral, self.basis, aus, unilateral)

    def render(self, aus: dict[int, float], unilateral: str | None, pose: Pose, size: int):
        """(image, canonical landmarks, pixel landmarks) for one expression."""
        lm = self.landmarks(aus, unilateral)
        img, px = render(self.identity, lm, aus, pose, size)
        return img, lm, px


def _identity_labels(idt: FaceIdentity) -> dict[str, Any]:
    return {"hair_style": idt.hair_style, "beard": idt.beard > 0, "age_cues": round(idt.wrinkles, 3),
            "skin_hex": MONK_SKIN_TONES[idt.skin_tone]}


def _round_lm(px: np.ndarray) -> list[list[float]]:
    return np.round(px, 2).tolist()


class FaceSettings(GeneratorSettings):
    """The face, rendered at the episode's apex (or as frames along the timeline)."""

    backend: str = "procedural"
    size: int = Field(256, ge=32, le=2048)
    frames: Optional[int] = Field(None, ge=2, le=64)


FACE_FILES = (
    OutputFile("png", "image/png", "the face at the expression's apex, RGB PNG"),
    OutputFile("frame*.png", "image/png", "with `frames: K`: the face at K times from onset to offset"),
)


class ProceduralFaceGenerator:
    """`face.procedural`: FACS-driven parametric faces with exact labels."""

    modality = "face"
    backend = "procedural"
    Settings = FaceSettings
    files = FACE_FILES
    licence = "affect-factory (Apache-2.0): procedural renderer, no model or data files"

    def __init__(self, settings: Any):
        self.settings = settings
        self.size = int(getattr(settings, "size", 256))
        self.frames = getattr(settings, "frames", None)

    def preflight(self, levels: Mapping[str, Sequence[Any]]) -> None:
        """Refuse emotions without a FACS prototype and skin tones outside the Monk scale."""
        unknown = [e for e in levels.get("emotion", ()) if e not in FACS_PROTOTYPES]
        if unknown:
            raise FactoryError(
                f"emotions: the procedural face has no FACS prototype for {unknown}; "
                f"supported: {sorted(FACS_PROTOTYPES)}")
        bad = [t for t in levels.get("skin_tone", ()) if not _is_monk(t)]
        if bad:
            raise FactoryError(
                f"population.skin_tone: {bad} are not Monk Skin Tone levels; use integers 1-10")

    def versions(self) -> dict[str, str]:
        """Library versions that determine the pixels."""
        return {"face.procedural": factory.__version__, "pillow": PIL.__version__, "numpy": np.__version__}

    def generate(self, specs: Sequence[SampleSpec]) -> list[SampleParts]:
        """One PNG (plus frames) and labels per spec; rigs are shared within a shard."""
        rigs: dict[int, FaceRig] = {}
        out = []
        for spec in specs:
            rig = rigs.get(spec.identity_seed)
            if rig is None:
                rig = rigs[spec.identity_seed] = FaceRig(draw_identity(spec))
            out.append(self.sample(spec, rig))
        return out

    def sample(self, spec: SampleSpec, rig: FaceRig | None = None) -> SampleParts:
        """Render one sample (at the apex, and along the episode if frames are asked for)."""
        rig = rig or FaceRig(draw_identity(spec))
        img, labels = self.render_apex(spec, rig)
        files = {"png": encode_png(img, PNG_LEVEL)}
        if self.frames:
            aus = {int(k[2:]): v for k, v in labels["au"].items()}
            pose = Pose(**labels["pose"])
            labels["frames"] = self._frames(spec, rig, aus, labels["unilateral"] or None, pose, files)
        return SampleParts(files=files, labels=labels)

    def render_apex(self, spec: SampleSpec, rig: FaceRig) -> tuple[Image.Image, dict[str, Any]]:
        """The face at the episode's apex and its exact labels (also the diffusers layout guide)."""
        target = target_aus(spec.emotion, spec.intensity)
        aus = rendered_aus(target, rig.identity.expressivity)
        side = UNILATERAL.get(spec.emotion)
        pose = sample_pose(spec)
        img, lm, px = rig.render(aus, side, pose, self.size)
        measured = measure_aus(rig.neutral, rig.basis, lm, side)
        err = max(abs(measured[a] - target[a]) for a in target)
        labels: dict[str, Any] = {
            "backend": self.backend,
            "time": spec.episode.apex,
            "size": self.size,
            "target": {au_key(a): v for a, v in target.items()},
            "au": {au_key(a): v for a, v in aus.items()},
            "measured": {au_key(a): v for a, v in measured.items()},
            "au_error": round(err, 4),
            "met": {"au": bool(err <= AU_TOLERANCE)},
            "unilateral": side or "",
            "pose": {"yaw": pose.yaw, "pitch": pose.pitch, "roll": pose.roll},
            "landmarks": _round_lm(px),
            "identity": _identity_labels(rig.identity),
        }
        return img, labels

    def _frames(self, spec, rig, aus, side, pose, files) -> list[dict[str, Any]]:
        frames = []
        for k, t in enumerate(frame_times(spec.episode, int(self.frames))):
            w = envelope(t, spec.episode)
            a_t = {a: round(v * w, 4) for a, v in aus.items()}
            img, _, px = rig.render(a_t, side, pose, self.size)
            files[f"frame{k:02d}.png"] = encode_png(img, PNG_LEVEL)
            frames.append({"file": f"frame{k:02d}.png", "time": t, "weight": round(w, 4),
                           "au": {au_key(a): v for a, v in a_t.items()}, "landmarks": _round_lm(px)})
        return frames


def _is_monk(value: Any) -> bool:
    try:
        return int(value) in MONK_SKIN_TONES and float(value) == int(value)
    except (TypeError, ValueError):
        return False
