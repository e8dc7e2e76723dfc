"""The offline default face backend: FACS-driven 3D faces rendered as photographs (no download).

Per sample: the person's fixed face (`factory.faces.identity`: 3D shape, skin, hair), the
emotion's EMFACS prototype scaled by intensity and by the person's expressivity driving the
MediaPipe face mesh (`factory.faces.mesh`), a small random head pose, lighting and camera
distance, rendered by `factory.faces.photo` at the episode's apex (and, with `frames: K`, at K
times along onset-apex-offset). Labels are exact: the AUs that drove the mesh, AUs fitted back
from the mesh, the 68 iBUG landmarks and all 478 mesh vertices in pixels (the projected
vertices of what was drawn), the pose, lighting and camera.
"""
from __future__ import annotations

import re
from typing import Any, Literal, Mapping, Optional, Sequence

import numpy as np
import PIL
from PIL import Image
from pydantic import Field, model_validator

import factory
from factory.affect import FACS_PROTOTYPES, MONK_SKIN_TONES
from factory.errors import FactoryError
from factory.faces.expression import (UNILATERAL, au_key, envelope, frame_times, head_pitch, rendered_aus,
                                      target_aus)
from factory.faces.geometry import Pose
from factory.faces.identity import FaceIdentity, draw_identity
from factory.faces.texture import hex_rgb
from factory.faces.measure import monk_tone_shown
from factory.faces.mesh import fit_aus
from factory.faces.photo import Glasses, Light, Lighting, Person, kelvin_rgb, light_direction, render_photo
from factory.generators import GeneratorSettings, OutputFile, SampleParts
from factory.png import encode_png
from factory.spec import SampleSpec

PNG_LEVEL = 1        # zlib level (deterministic); 1: larger files than 6, several times faster
KEY_LEVEL = 1.35     # key light intensity (linear), *chosen* for a normally exposed portrait
AMBIENT = 0.14
# Spectacle frames (*chosen*): linear reflectance of the rim and its width in cm: black and
# brown acetate, thin metal (grey, gold).
GLASSES_FRAMES = (((0.02, 0.02, 0.02), 0.35), ((0.06, 0.035, 0.02), 0.3), ((0.35, 0.35, 0.36), 0.12),
                  ((0.45, 0.33, 0.12), 0.12))
BACKGROUNDS = [(196, 200, 204), (150, 160, 170), (205, 196, 180), (120, 128, 120), (90, 96, 110),
               (214, 210, 200), (170, 150, 130), (110, 120, 140), (60, 64, 70), (228, 228, 226)]


def sample_pose(spec: SampleSpec, limits: Sequence[float], strength: float | None = None) -> Pose:
    """A small random head pose (SD = limit / 2.4, clipped at the limit) from the sample's
    stream, plus the expression's own head pitch (`head_pitch`) at `strength` (default: the
    sample's intensity, the apex)."""
    rng = spec.rng("face.pose")
    yaw, pitch, roll = (float(np.clip(rng.normal(0, lim / 2.4), -lim, lim)) for lim in limits)
    pitch += head_pitch(spec.emotion, spec.intensity if strength is None else strength)
    return Pose(yaw=round(yaw, 3), pitch=round(pitch, 3), roll=round(roll, 3))


def sample_lighting(spec: SampleSpec, settings: Any) -> tuple[Lighting, dict[str, Any]]:
    """Key and fill light, ambient and background for one sample, and their labels."""
    rng = spec.rng("face.light")
    u = lambda r: round(float(rng.uniform(*r)), 3)           # noqa: E731
    az, el, kelvin, fill = u(settings.light_azimuth), u(settings.light_elevation), u(settings.light_kelvin), u(settings.fill_ratio)
    bg = hex_rgb(settings.background) if settings.background else BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    key = Light(light_direction(az, el), tuple(kelvin_rgb(kelvin) * KEY_LEVEL))
    fill_light = Light(light_direction(-np.sign(az or 1) * 45.0, 5.0), tuple(kelvin_rgb(6500) * KEY_LEVEL * fill))
    labels = {"key_azimuth": az, "key_elevation": el, "key_kelvin": kelvin, "key_intensity": KEY_LEVEL,
              "fill_ratio": fill, "ambient": AMBIENT, "background": "#%02x%02x%02x" % bg}
    return Lighting(key, fill_light, AMBIENT, bg), labels


class FaceSettings(GeneratorSettings):
    """The face, rendered at the episode's apex (or as frames along the timeline). Each sample
    draws its lighting and camera distance uniformly inside the [min, max] ranges."""

    backend: str = "procedural"
    size: int = Field(256, ge=32, le=2048)
    frames: Optional[int] = Field(None, ge=2, le=64)
    face_model: Literal["blendshapes", "pyfeat"] = "blendshapes"  # pyfeat: research-use terms (docs/faces.md)
    light_azimuth: tuple[float, float] = (-55.0, 55.0)        # key light, degrees right of the camera
    light_elevation: tuple[float, float] = (10.0, 45.0)       # key light, degrees above the camera
    light_kelvin: tuple[float, float] = (3800.0, 6800.0)      # key light colour temperature
    fill_ratio: tuple[float, float] = (0.1, 0.35)            # fill / key intensity
    distance: tuple[float, float] = (75.0, 105.0)             # camera to face, cm
    max_pose: tuple[float, float, float] = (12.0, 8.0, 8.0)   # |yaw|, |pitch|, |roll| limits, degrees
    background: Optional[str] = None                          # '#rrggbb'; None: a muted colour per sample
    metering: Literal["incident", "face"] = "incident"        # face: phone-style face exposure (lifts dark skin)
    glasses: float = Field(0.0, ge=0.0, le=1.0)               # share of persons who wear glasses

    @model_validator(mode="after")
    def _ranges(self):
        for name in ("light_azimuth", "light_elevation", "light_kelvin", "fill_ratio", "distance"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"{name}: min ({lo}) must not exceed max ({hi})")
        if self.background is not None and not re.fullmatch(r"#[0-9a-fA-F]{6}", self.background):
            raise ValueError(f"background: {self.background!r} is not a '#rrggbb' colour")
        return self


FACE_FILES = (
    OutputFile("png", "image/png", "the face at the expression's apex, RGB PNG"),
    OutputFile("frame*.png", "image/png", "with `frames: K`: the face at K times from onset to offset"),
)
LICENCES = {
    "pyfeat": ("affect-factory renderer (Apache-2.0); MediaPipe face mesh topology and canonical face "
               "(Apache-2.0); py-feat au_to_mesh_pls_v4 expression model (py-feat code MIT; its fitted "
               "parameters carry the research-use terms of their training data: research use only, "
               "see docs/faces.md)"),
    "blendshapes": ("affect-factory renderer and FACS blend shapes (Apache-2.0); MediaPipe face mesh "
                    "topology and canonical face (Apache-2.0)"),
}


def _identity_labels(idt: FaceIdentity) -> dict[str, Any]:
    return {"hair_style": idt.hair_style, "beard": idt.beard > 0, "age_cues": round(idt.wrinkles, 3),
            "skin_hex": MONK_SKIN_TONES[idt.skin_tone]}


def _round_px(px: np.ndarray) -> list[list[float]]:
    return np.round(px, 2).tolist()


class ProceduralFaceGenerator:
    """`face.procedural`: FACS-driven 3D faces rendered as photographs, with exact labels."""

    modality = "face"
    backend = "procedural"
    Settings = FaceSettings
    files = FACE_FILES
    licence = LICENCES["blendshapes"]

    def __init__(self, settings: Any):
        self.settings = settings
        self.size = int(getattr(settings, "size", 256))
        self.frames = getattr(settings, "frames", None)
        self.face_model = getattr(settings, "face_model", "blendshapes")
        self.licence = LICENCES[self.face_model]

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
        return {"face.procedural": factory.__version__, "pillow": PIL.__version__, "numpy": np.__version__,
                "face_model": self.face_model}

    def person(self, spec: SampleSpec) -> Person:
        """The 3D face of the person `spec` belongs to."""
        return Person(draw_identity(spec), self.face_model, spec.identity_rng("face.skin"))

    def glasses(self, spec: SampleSpec) -> Glasses | None:
        """The frames `spec`'s person wears, if any: a `glasses` share of persons, each with one
        pair (style and colour from the person's own stream, so the same in every sample)."""
        rng = spec.identity_rng("face.glasses")
        if rng.random() >= self.settings.glasses:
            return None
        albedo, width = GLASSES_FRAMES[int(rng.integers(len(GLASSES_FRAMES)))]
        return Glasses(albedo, width)

    def generate(self, specs: Sequence[SampleSpec]) -> list[SampleParts]:
        """One PNG (plus frames) and labels per spec; persons are shared within a shard."""
        persons: dict[int, Person] = {}
        out = []
        for spec in specs:
            person = persons.get(spec.identity_seed)
            if person is None:
                person = persons[spec.identity_seed] = self.person(spec)
            out.append(self.sample(spec, person))
        return out

    def sample(self, spec: SampleSpec, person: Person | None = None) -> SampleParts:
        """Render one sample (at the apex, and along the episode if frames are asked for)."""
        person = person or self.person(spec)
        img, labels = self.render_apex(spec, person)
        files = {"png": encode_png(img, PNG_LEVEL)}
        if self.frames:
            labels["frames"] = self._frames(spec, person, labels, files)
        return SampleParts(files=files, labels=labels)

    def _scene(self, spec: SampleSpec, strength: float | None = None):
        pose = sample_pose(spec, getattr(self.settings, "max_pose", (12.0, 8.0, 8.0)), strength)
        lighting, light_labels = sample_lighting(spec, self.settings)
        distance = round(float(spec.rng("face.camera").uniform(*self.settings.distance)), 2)
        return pose, lighting, light_labels, distance

    def render_apex(self, spec: SampleSpec, person: Person) -> tuple[Image.Image, dict[str, Any]]:
        """The face at the episode's apex and its exact labels (also the diffusers layout guide)."""
        target = target_aus(spec.emotion, spec.intensity)
        aus = rendered_aus(target, person.identity.expressivity)
        side = UNILATERAL.get(spec.emotion)
        pose, lighting, light_labels, distance = self._scene(spec)
        glasses = self.glasses(spec)
        photo = render_photo(person, aus, side, pose, lighting, distance, self.size, spec.rng("face.photo"),
                             self.settings.metering, glasses)
        # A consistency check of the geometry, not a measurement of the image: the AUs recovered
        # from the drawn mesh by least squares against the same basis (hence not `measured`).
        fitted = fit_aus(person.face, person.basis, person.expression(aus, side), side)
        err = max(abs(fitted[a] - target[a]) for a in target)
        labels: dict[str, Any] = {
            "backend": self.backend,
            "face_model": self.face_model,
            "time": spec.episode.apex,
            "size": self.size,
            "target": {au_key(a): v for a, v in target.items()},
            "au": {au_key(a): v for a, v in aus.items()},
            "mesh_fit": {au_key(a): v for a, v in fitted.items()},
            "mesh_fit_error": round(err, 4),
            "measured": {},      # the image's affect is judged by the benchmark, not measured here
            "appearance": _appearance(photo),
            "met": {},
            "unilateral": side or "",
            "pose": {"yaw": pose.yaw, "pitch": pose.pitch, "roll": pose.roll},
            "landmarks": _round_px(photo.landmarks),
            "mesh_landmarks": _round_px(photo.mesh),
            "lighting": light_labels,
            "camera": {"distance_cm": distance, "exposure": photo.exposure, "metering": self.settings.metering},
            "identity": _identity_labels(person.identity),
            "occlusion": {"glasses": glasses is not None},
        }
        return photo.image, labels

    def _frames(self, spec: SampleSpec, person: Person, labels: dict[str, Any], files: dict[str, bytes]):
        aus = {int(k[2:]): v for k, v in labels["au"].items()}
        side = labels["unilateral"] or None
        frames, glasses = [], self.glasses(spec)
        for k, t in enumerate(frame_times(spec.episode, int(self.frames))):
            w = envelope(t, spec.episode)
            pose, lighting, _, distance = self._scene(spec, spec.intensity * w)
            a_t = {a: round(v * w, 4) for a, v in aus.items()}
            photo = render_photo(person, a_t, side, pose, lighting, distance, self.size, spec.rng(f"face.photo.{k}"),
                                 self.settings.metering, glasses)
            files[f"frame{k:02d}.png"] = encode_png(photo.image, PNG_LEVEL)
            frames.append({"file": f"frame{k:02d}.png", "time": t, "weight": round(w, 4),
                           "au": {au_key(a): v for a, v in a_t.items()},
                           "pose": {"yaw": pose.yaw, "pitch": pose.pitch, "roll": pose.roll}, "landmarks": _round_px(photo.landmarks)})
        return frames


def _appearance(photo) -> dict[str, Any]:
    """The Monk tone the rendered skin shows (nearest swatch to its median colour), measured on
    the output pixels (with `metering: face` it can be lighter than the person's tone). Not an
    affect measurement, so not under `measured`, whose numeric columns recognizers learn from."""
    if photo.skin_srgb is None:
        return {}
    tone, delta_e = monk_tone_shown(photo.skin_srgb)
    return {"skin_tone": tone, "skin_tone_delta_e": delta_e, "skin_srgb": [int(c) for c in photo.skin_srgb]}


def _is_monk(value: Any) -> bool:
    try:
        return int(value) in MONK_SKIN_TONES and float(value) == int(value)
    except (TypeError, ValueError):
        return False
