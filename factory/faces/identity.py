"""A synthetic person's face: everything that stays fixed across their samples.

Drawn once from the identity's random stream (`SampleSpec.identity_rng("face")`) and the
population attributes (sex, age, Monk skin tone), so every sample of one person shows the
same face shape, features, hair and age cues, whatever the emotion.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from factory.affect import MONK_SKIN_TONES, age_from_band
from factory.spec import SampleSpec

# Hair colours (sRGB); *chosen* to cover common natural shades.
HAIR_COLOURS = {
    "black": (28, 24, 22), "dark_brown": (58, 40, 28), "brown": (96, 66, 42),
    "light_brown": (138, 102, 66), "blond": (196, 160, 102), "auburn": (132, 62, 34),
}
GREY = (168, 166, 162)
IRIS_COLOURS = {
    "dark_brown": (62, 38, 24), "brown": (102, 64, 34), "hazel": (124, 102, 52),
    "green": (88, 120, 72), "blue": (78, 112, 150), "grey": (112, 124, 130),
}
SHIRT_COLOURS = [(70, 86, 110), (120, 60, 60), (60, 100, 80), (90, 90, 96), (150, 130, 100),
                 (46, 52, 70), (110, 100, 140), (170, 170, 165)]
FEMALE_STYLES = (("long", 0.5), ("bob", 0.3), ("bun", 0.2))
MALE_STYLES = (("short", 0.6), ("buzz", 0.25), ("long", 0.15))


@dataclass(frozen=True)
class FaceIdentity:
    """Identity parameters in canonical face units (face half-width at the cheeks = 1)."""

    identity: str
    sex: str
    age: float
    skin_tone: int
    skin: tuple[int, int, int]
    # head shape
    face_width: float      # half-width of the face
    face_length: float     # ear level to chin
    jaw_square: float      # superellipse exponent of the jaw (2 = oval, 3 = square)
    chin_width: float
    skull_height: float
    # features
    eye_x: float           # distance of each eye centre from the midline
    eye_y: float
    eye_width: float       # half-width of an eye
    eye_open: float        # upper-lid height above the eye line
    eye_tilt: float        # outer corners up (+) or down (-)
    brow_y: float
    brow_arch: float
    brow_thick: float
    nose_width: float
    nose_length: float
    mouth_y: float
    mouth_width: float     # half-width of the mouth
    upper_lip: float
    lower_lip: float
    # colour and style
    hair_style: str
    hair_colour: tuple[int, int, int]
    hairline: float        # y of the hairline at the midline (more negative = higher)
    hair_part: float       # x of the parting
    beard: float           # 0 none, ~0.4 stubble, ~0.85 beard
    iris: tuple[int, int, int]
    shirt: tuple[int, int, int]
    background: tuple[int, int, int]
    wrinkles: float        # age cue strength 0..1
    expressivity: dict[int, float] = field(default_factory=dict)  # per-AU gain

    def gain(self, au: int) -> float:
        """This person's expressivity for one action unit (multiplies its intensity)."""
        return self.expressivity.get(au, 1.0)


def hex_rgb(value: str) -> tuple[int, int, int]:
    """'#a07e56' -> (160, 126, 86)."""
    value = value.lstrip("#")
    return tuple(int(value[i:i + 2], 16) for i in (0, 2, 4))


def skin_tone_of(spec: SampleSpec, rng: np.random.Generator) -> int:
    """The sample's Monk Skin Tone (1-10); drawn from the identity stream when not planned."""
    value = spec.get("skin_tone")
    if value is None:
        return int(rng.integers(1, 11))
    return int(value)


def age_of(spec: SampleSpec, rng: np.random.Generator) -> float:
    """The person's age in years (spec.age, else inside the planned age band)."""
    u = float(rng.random())
    if spec.age and spec.age > 0:
        return float(spec.age)
    return age_from_band(spec.get("age_band"), u)


def _pick(rng: np.random.Generator, options) -> str:
    names = [n for n, _ in options]
    p = np.array([w for _, w in options], float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _hair_colour(rng: np.random.Generator, tone: int, age: float) -> tuple[str, tuple[int, int, int]]:
    # Darker skin tones mostly with black/dark-brown hair; lighter ones with the whole range.
    if tone >= 6:
        name = _pick(rng, (("black", 0.7), ("dark_brown", 0.3)))
    elif tone >= 4:
        name = _pick(rng, (("black", 0.4), ("dark_brown", 0.4), ("brown", 0.2)))
    else:
        name = _pick(rng, (("black", 0.1), ("dark_brown", 0.3), ("brown", 0.25),
                           ("light_brown", 0.15), ("blond", 0.13), ("auburn", 0.07)))
    grey = float(np.clip((age - 38) / 32, 0, 1)) * float(rng.uniform(0.6, 1.1))
    grey = min(grey, 1.0)
    base = np.array(HAIR_COLOURS[name], float)
    colour = base * (1 - grey) + np.array(GREY if age < 70 else (205, 203, 198)) * grey
    return name, tuple(int(round(c)) for c in colour)


def _iris(rng: np.random.Generator, tone: int) -> tuple[int, int, int]:
    if tone >= 5:
        name = _pick(rng, (("dark_brown", 0.8), ("brown", 0.2)))
    else:
        name = _pick(rng, (("dark_brown", 0.25), ("brown", 0.25), ("hazel", 0.15),
                           ("green", 0.1), ("blue", 0.17), ("grey", 0.08)))
    return IRIS_COLOURS[name]


def _hair_style(rng: np.random.Generator, sex: str, age: float) -> str:
    if sex == "female":
        return _pick(rng, FEMALE_STYLES)
    if sex == "male":
        bald = float(np.clip((age - 35) / 60, 0, 0.45))
        return _pick(rng, tuple((n, w * (1 - bald)) for n, w in MALE_STYLES) + (("receding", bald),))
    return _pick(rng, (("short", 0.3), ("bob", 0.3), ("long", 0.2), ("buzz", 0.2)))


def draw_identity(spec: SampleSpec) -> FaceIdentity:
    """Draw the fixed face of the person `spec` belongs to (same for all their samples)."""
    rng = spec.identity_rng("face")
    sex = str(spec.get("sex") or "unspecified")
    tone = skin_tone_of(spec, rng)
    age = age_of(spec, rng)
    if tone not in MONK_SKIN_TONES:
        raise ValueError(f"skin_tone {tone} is not a Monk Skin Tone (1-10)")
    m = {"male": 1.0, "female": 0.0}.get(sex, 0.5)          # masculinity of the geometry
    u = lambda lo, hi: float(rng.uniform(lo, hi))            # noqa: E731
    n = lambda sd: float(rng.normal(0, sd))                  # noqa: E731
    wr = float(np.clip((age - 28) / 45, 0, 1))
    hair_name_style = _hair_style(rng, sex, age)
    _, hair = _hair_colour(rng, tone, age)
    beard = 0.0
    if sex == "male":
        beard = float(rng.choice([0.0, 0.0, 0.35, 0.8], p=[0.35, 0.2, 0.25, 0.2]))
    hairline = -1.1 + n(0.04) - (0.25 * wr * m if hair_name_style in ("receding", "short") else 0.0)
    lip_age = 1 - 0.3 * wr
    expressivity = {au: float(np.clip(rng.normal(1.0, 0.07), 0.86, 1.14))
                    for au in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 16, 20, 23, 25, 26)}
    return FaceIdentity(
        identity=spec.identity, sex=sex, age=age, skin_tone=tone,
        skin=hex_rgb(MONK_SKIN_TONES[tone]),
        face_width=u(0.88, 0.96) + 0.04 * m, face_length=u(1.24, 1.36) + 0.06 * m,
        jaw_square=u(1.9, 2.3) + 0.5 * m, chin_width=u(0.2, 0.34) + 0.08 * m,
        skull_height=u(1.3, 1.42),
        eye_x=0.39 + n(0.015), eye_y=-0.2 + n(0.02), eye_width=u(0.175, 0.2),
        eye_open=u(0.07, 0.088) - 0.006 * m, eye_tilt=n(0.015) + 0.008 * (1 - m),
        brow_y=-0.44 + n(0.02) + 0.02 * m, brow_arch=u(0.02, 0.07) + 0.02 * (1 - m),
        brow_thick=u(0.035, 0.05) + 0.018 * m,
        nose_width=u(0.15, 0.22) + 0.02 * m + 0.006 * (tone - 5),
        nose_length=u(0.92, 1.08),
        mouth_y=0.68 + n(0.02), mouth_width=u(0.34, 0.4) + 0.02 * m,
        upper_lip=u(0.055, 0.08) * lip_age * (1 - 0.15 * m), lower_lip=u(0.075, 0.1) * lip_age * (1 - 0.1 * m),
        hair_style=hair_name_style, hair_colour=hair, hairline=hairline, hair_part=float(rng.choice([-0.14, 0.14])), beard=beard,
        iris=_iris(rng, tone), shirt=SHIRT_COLOURS[int(rng.integers(len(SHIRT_COLOURS)))],
        background=tuple(int(c) for c in rng.integers(188, 222, 3)),
        wrinkles=wr, expressivity=expressivity,
    )
