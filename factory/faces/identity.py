"""A synthetic person's face: everything that stays fixed across their samples.

Drawn once from the identity's random stream (`SampleSpec.identity_rng("face")`) and the
population attributes (sex, age, Monk skin tone), so every sample of one person shows the
same face shape, features, hair and age cues, whatever the emotion.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from factory.affect import MONK_SKIN_TONES, age_from_band
from factory.faces.mesh import FaceShape
from factory.faces.texture import hex_rgb
from factory.spec import SampleSpec

# Hair colours (sRGB); *chosen* to cover common natural shades.
HAIR_COLOURS = {
    "black": (20, 18, 17), "dark_brown": (58, 40, 28), "brown": (96, 66, 42),
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
    """A person's fixed appearance: 3D face shape, skin, hair and expressivity."""

    identity: str
    sex: str
    age: float
    skin_tone: int
    skin: tuple[int, int, int]          # Monk swatch, sRGB
    shape: FaceShape
    hair_style: str
    hair_colour: tuple[int, int, int]   # sRGB
    brow_colour: tuple[int, int, int]   # sRGB
    hairline: float                     # cm above the eyes at the midline (y = -hairline)
    beard: float                        # 0 none, ~0.4 stubble, ~0.85 beard
    iris: tuple[int, int, int]
    shirt: tuple[int, int, int]
    wrinkles: float                     # age cue strength 0..1
    redness: float
    freckles: float
    brow_thick: float
    brow_density: float
    lip_tint: float
    oiliness: float
    neck: float
    shoulders: float
    expressivity: dict[int, float] = field(default_factory=dict)  # per-AU gain

    def gain(self, au: int) -> float:
        """This person's expressivity for one action unit (multiplies its intensity)."""
        return self.expressivity.get(au, 1.0)


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


def _hair_colour(rng: np.random.Generator, tone: int, age: float) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(scalp hair, eyebrow) colours: brows grey later and less than scalp hair."""
    # Hair melanin follows skin melanin: the darkest tones have black hair (and brows), which
    # stays darker than the skin (a dark-brown brow would be as light as MST 9-10 skin and
    # vanish); mid-dark tones mostly black/dark brown; lighter ones the whole range.
    if tone >= 8:
        name = _pick(rng, (("black", 1.0),))
    elif tone >= 6:
        name = _pick(rng, (("black", 0.7), ("dark_brown", 0.3)))
    elif tone >= 4:
        name = _pick(rng, (("black", 0.4), ("dark_brown", 0.4), ("brown", 0.2)))
    else:
        name = _pick(rng, (("black", 0.1), ("dark_brown", 0.3), ("brown", 0.25),
                           ("light_brown", 0.15), ("blond", 0.13), ("auburn", 0.07)))
    grey = float(np.clip((age - 38) / 32, 0, 1)) * float(rng.uniform(0.6, 1.1))
    grey = min(grey, 1.0)
    base = np.array(HAIR_COLOURS[name], float)
    white = np.array(GREY if age < 70 else (205, 203, 198))
    colour = base * (1 - grey) + white * grey
    brow = base * (1 - 0.3 * grey) + white * 0.3 * grey
    return tuple(int(round(c)) for c in colour), tuple(int(round(c)) for c in brow)


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
    style = _hair_style(rng, sex, age)
    hair, brow_colour = _hair_colour(rng, tone, age)
    beard = 0.0
    if sex == "male":
        beard = float(rng.choice([0.0, 0.0, 0.35, 0.8], p=[0.35, 0.2, 0.25, 0.2]))
    shape = FaceShape(
        width=u(0.95, 1.03) + 0.03 * m, length=u(0.95, 1.04) + 0.03 * m,
        jaw=n(0.04) + 0.05 * m - 0.02, chin=n(0.2) + 0.2 * m, nose_width=u(0.9, 1.12) + 0.04 * m + 0.012 * (tone - 5),
        nose_length=u(0.93, 1.07), nose_depth=u(0.9, 1.1) + 0.04 * m, eye_size=u(0.94, 1.08) - 0.03 * m,
        lips=u(0.9, 1.2) * (1 - 0.2 * wr) - 0.08 * m + 0.02 * max(tone - 5, 0), mouth_width=u(0.95, 1.06),
        brow=n(0.15) + 0.1 * m, brow_ridge=0.12 * m + u(0, 0.08), cheekbones=u(0.0, 0.25), sag=0.35 * wr)
    # drawn whatever the tone, so a person's later draws (and face) are the same at every tone
    freckles = u(0, 1) * (rng.random() < 0.3)
    recede = 0.0
    if style == "receding":
        recede = u(1.0, 2.5)
    expressivity = {au: float(np.clip(rng.normal(1.0, 0.07), 0.86, 1.14))
                    for au in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 16, 20, 23, 25, 26)}
    return FaceIdentity(
        identity=spec.identity, sex=sex, age=age, skin_tone=tone, skin=hex_rgb(MONK_SKIN_TONES[tone]),
        shape=shape, hair_style=style, hair_colour=hair, brow_colour=brow_colour, hairline=u(4.5, 5.1) + recede + 0.3 * m,
        beard=beard, iris=_iris(rng, tone), shirt=SHIRT_COLOURS[int(rng.integers(len(SHIRT_COLOURS)))],
        wrinkles=wr, redness=u(0.2, 1.0) * (1.2 if tone <= 4 else 0.7), freckles=freckles if tone <= 3 else 0.0,
        brow_thick=u(1.0, 1.3) + 0.15 * m, brow_density=u(0.8, 1.0) + 0.05 * m, lip_tint=u(0, 1),
        oiliness=u(0.7, 1.3), neck=u(0.95, 1.05) + 0.1 * m, shoulders=u(0.9, 1.0) + 0.1 * m,
        expressivity=expressivity,
    )
