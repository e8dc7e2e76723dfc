"""Render a person's 3D face as a photograph: pose, perspective camera, z-buffered
rasterisation, and per-pixel shading (wrapped Lambert + Blinn-Phong specular under a key and
a fill light, ambient occlusion, a soft shadow map from the key light), with eyes, teeth,
hair, background, lens softness and sensor noise. Landmarks are the projected vertices."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy.ndimage import gaussian_filter

from factory.faces.geometry import Pose
from factory.faces.identity import FaceIdentity
from factory.faces.mesh import (IBUG68, IRIS, N_VERTICES, cavity_occlusion, expression_model,
                                expression_vertices, shape_face, vertex_normals)
from factory.faces.raster import Fragments, rasterize
from factory.faces.scene import (EAR, EYE, HAIR_BACK, MOUTH, NECK, SCALP, SHIRT, SKIN, Solid, build_solid,
                                 face_triangles, fan_centres)
from factory.faces.texture import (LUMA, TEXEL, SkinMaps, crease_maps, linear_to_srgb, sample, skin_maps,
                                  srgb_to_linear)

PIVOT = np.array([0.0, 4.0, -7.0])       # head rotates about the top of the neck, cm
AIM = np.array([0.0, 3.0, 0.0])          # the point the camera centres, cm (below the eyes)
FOCAL = 2.9                              # focal length in image widths (a ~70 mm lens on full frame)
IRIS_RADIUS, PUPIL_RADIUS = 0.56, 0.2
CREASE_AUS = (1, 2, 4, 6, 9, 10, 12, 14, 15, 17)
SENSOR_NOISE = 1.6     # sensor noise, SD in 8-bit sRGB steps
LENS = ImageFilter.Kernel((3, 3), (1, 2, 1, 2, 4, 2, 1, 2, 1), scale=16)   # lens softness (binomial, ~0.7 px)
SKIN_SPECULAR = 0.09   # peak specular of skin (times the map: T-zone, lips, oiliness)
SKIN_SHEEN, SHEEN_EXPONENT = 0.35, 6.0   # broad second specular lobe of skin, relative to the sharp one
HAIR_SPECULAR, HAIR_SHININESS = 0.06, 30.0   # hair: a narrower, weaker lobe than skin (black hair stays black)
SCLERA = (0.5, 0.46, 0.43)   # linear reflectance of the eye white (bluish-grey, not paper white)
WHITE_BALANCE = 0.8    # share of the key light's colour cast the camera's white balance removes
SHADOW_BIAS = 0.9      # cm: a surface does not shadow itself
AE_TARGET, AE_STRENGTH, AE_LIMITS = 0.26, 0.9, (0.5, 8.0)
METER_KEY = 1.15       # incident metering: exposure x frontal illuminance, so bare skin renders at its swatch


@dataclass(frozen=True)
class Light:
    """A directional light: unit direction towards the light (camera frame) and linear RGB."""

    direction: tuple[float, float, float]
    colour: tuple[float, float, float]


@dataclass(frozen=True)
class Lighting:
    """Key and fill lights, ambient level and the background colour (sRGB)."""

    key: Light
    fill: Light
    ambient: float
    background: tuple[int, int, int]


def light_direction(azimuth: float, elevation: float) -> tuple[float, float, float]:
    """Unit vector towards a light `azimuth` degrees to the image right of the camera and
    `elevation` degrees above it."""
    a, e = np.radians([azimuth, elevation])
    return (float(np.sin(a) * np.cos(e)), float(-np.sin(e)), float(np.cos(a) * np.cos(e)))


def kelvin_rgb(kelvin: float) -> np.ndarray:
    """Approximate linear RGB of a light of colour temperature `kelvin`, green = 1."""
    t = np.clip(kelvin, 2500, 9000) / 6500
    return np.array([t ** -0.55, 1.0, t ** 0.75]) / max(t ** -0.55, 1.0, t ** 0.75) * np.array([1, 1, 1])


class Person:
    """One person's face, head and skin maps, ready to photograph with any expression."""

    def __init__(self, identity: FaceIdentity, model: str, rng: np.random.Generator):
        self.identity = identity
        self.model = model
        base, self.basis = expression_model(model)
        self.base = base
        self.face = shape_face(base, identity.shape)
        s = identity.shape
        long_hair = {"long": 14.0, "bob": 4.0}.get(identity.hair_style, 0.0)
        self.solid: Solid = build_solid(self.face[:N_VERTICES - 10], s.width, s.length, identity.neck, identity.shoulders, long_hair)
        self.hair = srgb_to_linear(np.array(identity.hair_colour) / 255.0)
        brows = srgb_to_linear(np.array(identity.brow_colour) / 255.0)
        self.maps: SkinMaps = skin_maps(model, identity.skin, brows, rng, redness=identity.redness,
                                        freckles=identity.freckles, age=identity.wrinkles,
                                        brow_thick=identity.brow_thick, brow_density=identity.brow_density,
                                        beard=identity.beard, lip_tint=identity.lip_tint, oiliness=identity.oiliness)
        self.strands = gaussian_filter(rng.random((96, 96)), [2.5, 0.6], mode="wrap")
        self.strands = (self.strands - self.strands.mean()) / (self.strands.std() + 1e-9)
        self.triangles, self.material = self._triangles()
        self.shadow_triangles = self.triangles[~np.isin(self.material, (SHIRT, HAIR_BACK))]
        self.solid_normals = _solid_normals(self.solid)
        self.uv = np.vstack([base, fan_centres(base), self.solid.vertices])[:, :2]
        self.teeth_top = self.face[13, 1] + 0.32           # upper incisal edge, cm

    def _triangles(self):
        ft, fm = face_triangles()
        n_face = N_VERTICES + 3
        return np.vstack([ft, self.solid.triangles + n_face]), np.concatenate([fm, self.solid.material])

    @cached_property
    def creases(self) -> dict[int, np.ndarray]:
        """This person's crease relief per AU (deeper with age): height and its x, y gradients
        stacked (rows, cols, 3); relief is linear in the AUs, so these add."""
        return {au: _relief(m * (1 + 0.3 * self.identity.wrinkles)) for au, m in crease_maps().items()}

    @cached_property
    def relief(self) -> np.ndarray:
        """The static skin relief (pores, age lines): height and gradients, (rows, cols, 3)."""
        return _relief(self.maps.height)

    @cached_property
    def surface(self) -> np.ndarray:
        """Albedo and specular strength stacked, (rows, cols, 4)."""
        return np.dstack([self.maps.albedo, self.maps.specular]).astype(np.float32)

    def expression(self, aus: dict[int, float], unilateral: str | None) -> np.ndarray:
        """Mesh vertices (478, 3) of this face showing `aus`, head frame."""
        return expression_vertices(self.face, self.basis, aus, unilateral)


@dataclass
class Camera:
    """Perspective camera on the z axis, `distance` cm from the face, looking at `AIM`."""

    distance: float
    size: int

    def project(self, p: np.ndarray) -> np.ndarray:
        """Camera-frame points (n, 3) -> pixel coordinates (n, 2)."""
        f = FOCAL * self.size
        d = self.distance - p[:, 2]
        return np.column_stack([self.size / 2 + f * (p[:, 0] - AIM[0]) / d,
                                self.size * 0.5 + f * (p[:, 1] - AIM[1]) / d])


@dataclass(frozen=True)
class Glasses:
    """A pair of spectacle frames: rim colour (linear reflectance) and rim width (cm)."""

    albedo: tuple[float, float, float]
    width: float


# Rims sit this far in front of the irises (cm); half-width and half-height of each lens.
GLASSES_OFFSET, LENS_SIZE = (0.25, 0.15, 1.3), (2.4, 1.75)


def _glasses_cover(face: np.ndarray, pose: Pose, camera: Camera, glasses: Glasses) -> np.ndarray:
    """How much of each pixel (size, size; 0..1) the frames cover: two elliptical rims and a
    bridge in front of the eyes, posed and projected like the face, drawn at 4x and averaged."""
    t = np.linspace(0, 2 * np.pi, 33)[:-1]
    rims = []
    for side, centre in ((-1, face[IRIS[0]]), (1, face[IRIS[1]])):
        c = centre + np.array([side * GLASSES_OFFSET[0], GLASSES_OFFSET[1], GLASSES_OFFSET[2]])
        rims.append(c + np.column_stack([LENS_SIZE[0] * np.cos(t), LENS_SIZE[1] * np.sin(t), 0.3 * np.cos(t) * side]))
    inner = [rims[0][np.argmax(rims[0][:, 0] - 0.6 * rims[0][:, 1])], rims[1][np.argmin(rims[1][:, 0] + 0.6 * rims[1][:, 1])]]
    scale = 4
    px = [camera.project(pose_points(np.asarray(r, float), pose)) * scale for r in (*rims, np.array(inner))]
    width = max(1, int(round(glasses.width * FOCAL * camera.size / camera.distance * scale)))
    mask = Image.new("L", (camera.size * scale, camera.size * scale), 0)
    draw = ImageDraw.Draw(mask)
    for k, pts in enumerate(px):
        xy = [tuple(p) for p in pts.tolist()]
        draw.line(xy + xy[:1] if k < 2 else xy, fill=255, width=width, joint="curve")
    return np.asarray(mask.resize((camera.size, camera.size), Image.BOX), np.float32) / np.float32(255.0)


def pose_points(p: np.ndarray, pose: Pose) -> np.ndarray:
    """Head-frame points rotated by the head pose about the neck pivot."""
    return (p - PIVOT) @ pose.matrix().T + PIVOT


def _shadow(world: np.ndarray, triangles: np.ndarray, frag_points: np.ndarray, light: np.ndarray,
            res: int = 112) -> np.ndarray:
    """Fraction (0..1) of the key light reaching each fragment: a shadow map with 3x3 PCF."""
    w = light / np.linalg.norm(light)
    u = np.cross([0.0, 1.0, 0.0], w)
    u /= np.linalg.norm(u)
    v = np.cross(w, u)
    uv = np.column_stack([world @ u, world @ v])
    head = uv[:N_VERTICES]
    lo = head.min(0) - 12.0
    span = (head.max(0) - head.min(0)).max() + 24.0
    px = (uv - lo) / span * res
    depth = world @ w
    frags = rasterize(px, depth, triangles, res)
    zmap = np.full(res * res, -np.inf)
    zmap[frags.pixel] = frags.interpolate(triangles, depth)
    zmap = np.pad(zmap.reshape(res, res), 1, constant_values=-np.inf).ravel()   # a border: no clipping below
    q = np.clip(((np.column_stack([frag_points @ u, frag_points @ v]) - lo) / span * res).astype(np.int64), 0, res - 1)
    at = (q[:, 1] + 1) * (res + 2) + q[:, 0] + 1
    reach = frag_points @ w + SHADOW_BIAS
    lit = np.zeros(len(at))
    for offset in (-res - 3, -res - 2, -res - 1, -1, 0, 1, res + 1, res + 2, res + 3):
        lit += reach >= zmap[at + offset]
    return lit / 9.0


def _background(size: int, colour: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """A defocused backdrop: the colour with a vertical gradient and soft blotches (linear RGB)."""
    base = srgb_to_linear(np.array(colour) / 255.0)
    blotch = gaussian_filter(rng.normal(0, 1, (12, 12)), 1.5)
    blotch = np.asarray(Image.fromarray(((blotch - blotch.min()) / (np.ptp(blotch) + 1e-9) * 255).astype(np.uint8))
                        .resize((size, size), Image.BICUBIC), np.float32) * np.float32(0.4 / 255.0)
    grad = np.linspace(1.1, 0.8, size, dtype=np.float32)[:, None]
    return base.astype(np.float32)[None, None, :] * (grad * (0.8 + blotch))[..., None]


def _hair_mask(p: Person, uv: np.ndarray) -> np.ndarray:
    """Which rest-frame points (n, 2) are covered by scalp hair (0..1)."""
    idt = p.identity
    x, y = uv[:, 0], uv[:, 1]
    if idt.hair_style == "receding":
        line = -idt.hairline + 1.2 * (x / 4.0) ** 2
    else:
        line = -idt.hairline + 0.25 * (x / 4.0) ** 2 - 0.6 * np.exp(-(x / 2.5) ** 2) * (idt.hair_style in ("long", "bob"))
    side_y = {"long": 6.0, "bob": 4.0, "bun": 0.0, "short": -0.5, "buzz": -1.0}.get(idt.hair_style, -1.5)
    side = np.clip((np.abs(x) - 6.3) / 0.6, 0, 1) * np.clip((side_y - y) / 0.8, 0, 1)
    line = line + 0.25 * np.sin(x * 3.1) + 0.15 * np.sin(x * 7.3 + 1.0)
    top = np.clip((line - y) / 0.3, 0, 1)
    return np.maximum(top, side)


@dataclass
class Photo:
    """A rendered face: the image, the 68 iBUG landmarks and the 478 mesh vertices in pixels
    (projections of the drawn vertices), the exposure the camera chose, and the median sRGB
    of the face's bare-skin pixels as they came out (after exposure, lens and noise)."""

    image: Image.Image
    landmarks: np.ndarray
    mesh: np.ndarray
    exposure: float
    skin_srgb: np.ndarray | None


def incident_exposure(lighting: Lighting) -> float:
    """Incident-light metering, as a portrait photographer's light meter reads: exposure from
    the light falling on a frontal surface (ambient plus each light's cosine), whatever is in
    front of the lens, so skin keeps its own lightness: MST 10 is as dark in the photograph as
    its swatch and MST 1 as light, neither lifted nor darkened."""
    front = np.array([0.0, 0.0, 1.0])
    light = lighting.ambient + sum(max(float(np.dot(lt.direction, front)), 0.0) * float(np.array(lt.colour) @ LUMA)
                                   for lt in (lighting.key, lighting.fill))
    return METER_KEY / light


def white_balance(lighting: Lighting) -> np.ndarray:
    """Per-channel gains (luminance kept) that take `WHITE_BALANCE` of the key light's colour
    cast out, as a camera's white balance does, leaving the rest as a photograph's residual cast."""
    key = np.array(lighting.key.colour, np.float64)
    full = float(key @ LUMA) / key
    return (full ** WHITE_BALANCE).astype(np.float32)


def face_exposure(colour: np.ndarray, skin: np.ndarray) -> float:
    """Face-priority auto-exposure, as phone cameras meter: scale that brings the mean
    luminance of the face's skin part of the way (power `AE_STRENGTH`) to `AE_TARGET`. It
    lifts dark skin towards mid-grey (MST 9-10 render like MST 5-6): an option, not the default."""
    if not skin.any():
        return 1.0
    measured = float((colour[skin] @ LUMA).mean())
    return float(np.clip((AE_TARGET / max(measured, 1e-4)) ** AE_STRENGTH, *AE_LIMITS))


def _film(x: np.ndarray) -> np.ndarray:
    """Linear up to 0.8, then a soft shoulder to 1 (highlights roll off instead of clipping)."""
    return np.where(x < 0.8, x, 0.8 + 0.2 * (1 - np.exp(-(x - 0.8) / 0.2)))


def render_photo(person: Person, aus: dict[int, float], unilateral: str | None, pose: Pose,
                 lighting: Lighting, distance: float, size: int, rng: np.random.Generator,
                 metering: str = "incident", glasses: Glasses | None = None) -> Photo:
    """Photograph `person` showing `aus` (one side only with `unilateral`), exposed by
    `metering`: "incident" (`incident_exposure`) or "face" (`face_exposure`), wearing `glasses`."""
    face = person.expression(aus, unilateral)
    verts = np.vstack([face, fan_centres(face), person.solid.vertices])
    normals = np.vstack([vertex_normals(face), np.tile([0.0, 0.0, 1.0], (3, 1)), person.solid_normals])
    cavity = np.concatenate([cavity_occlusion(face), np.ones(3 + len(person.solid.vertices))])
    world = pose_points(verts, pose)
    rot = pose.matrix()
    camera = Camera(distance, size)
    xy = camera.project(world)
    tris = person.triangles
    frags = rasterize(xy, world[:, 2], tris, size)
    mat = person.material[frags.triangle]
    a = frags.interpolate(tris, np.hstack([normals, person.uv, verts, world, cavity[:, None]]).astype(np.float32))
    n, uv, local, points, ao = a[:, :3] @ rot.T, a[:, 3:5], a[:, 5:8], a[:, 8:11], a[:, 11]
    n /= np.linalg.norm(n, axis=1, keepdims=True) + 1e-12
    lit = _shadow(world, person.shadow_triangles, points, np.array(lighting.key.direction))
    colour, hair = _shade(person, aus, frags, mat, n, uv, local, face, lit, lighting, rot, ao)
    skin = (mat == SKIN) & (hair < 0.5)
    exposure = incident_exposure(lighting) if metering == "incident" else face_exposure(colour, skin)
    bg = _background(size, lighting.background, rng).reshape(-1, 3)
    bg[frags.pixel] = colour
    gain = np.float32(exposure * len(_TONE) / TONE_RANGE) * white_balance(lighting)
    img = bg.reshape(size, size, 3) * gain
    if glasses is not None:      # frames in front of the face, lit by the ambient and key light
        cover = _glasses_cover(face, pose, camera, glasses)[..., None]
        light = np.float32(lighting.ambient + 0.6 * float(np.array(lighting.key.colour) @ LUMA))
        img = img * (1 - cover) + np.asarray(glasses.albedo, np.float32) * light * gain * cover
    img = _TONE[np.minimum(img, len(_TONE) - 1).astype(np.int32)]
    img = Image.fromarray(img).filter(LENS)                                     # lens softness
    grain = rng.standard_normal((size, size, 1), dtype=np.float32) * SENSOR_NOISE     # luminance noise
    noisy = np.asarray(img, np.int16) + np.round(grain).astype(np.int16)   # = round(img + grain)
    out = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    mesh_px = xy[:N_VERTICES]
    skin_srgb = _median_colour(np.asarray(out).reshape(-1, 3)[frags.pixel[skin]]) if skin.any() else None
    return Photo(out, mesh_px[IBUG68], mesh_px, round(exposure, 4), skin_srgb)


def _median_colour(pixels: np.ndarray) -> np.ndarray:
    """Per-channel (lower) median of 8-bit pixels (n, 3), from their histograms (exact, O(n))."""
    half = (len(pixels) + 1) // 2
    return np.array([np.searchsorted(np.cumsum(np.bincount(pixels[:, c], minlength=256)), half) for c in range(3)])


TONE_RANGE = 2.5
_TONE = np.round(linear_to_srgb(_film(np.linspace(0.0, TONE_RANGE, 8192))) * 255).astype(np.uint8)  # linear -> sRGB


def _is(material: np.ndarray, *kinds: int) -> np.ndarray:
    """Which fragments have one of the material `kinds` (a table lookup, cheaper than isin)."""
    table = np.zeros(HAIR_BACK + 1, bool)
    table[list(kinds)] = True
    return table[material]


def _relief(height: np.ndarray) -> np.ndarray:
    """A height map (cm) and its x, y gradients (per cm) stacked, (rows, cols, 3)."""
    gy, gx = np.gradient(height, TEXEL)
    return np.dstack([height, gx, gy]).astype(np.float32)


def _solid_normals(solid: Solid) -> np.ndarray:
    v, t = solid.vertices, solid.triangles
    p = v[t]
    fn = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, t[:, k], fn)
    return vn / (np.linalg.norm(vn, axis=1, keepdims=True) + 1e-12)


def _shade(person: Person, aus, frags: Fragments, mat, n, uv, local, face, lit, lighting: Lighting, rot, ao):
    """Linear RGB of each fragment."""
    count = len(mat)
    albedo = np.zeros((count, 3))
    spec = np.zeros(count)
    shininess = np.full(count, 24.0)
    occlusion = np.ones(count)
    skinlike = _is(mat, SKIN, SCALP, EAR, NECK)
    skin = srgb_to_linear(np.array(person.identity.skin) / 255.0)
    face_px = mat == SKIN
    if face_px.any():
        relief = person.relief
        active = [au for au in CREASE_AUS if aus.get(au, 0.0) > 0.02]
        if active:
            relief = relief.copy()
            for au in active:
                relief += aus[au] * person.creases[au]
        t = np.hstack([sample(person.surface, uv[face_px]), sample(relief, uv[face_px])])
        albedo[face_px] = t[:, :3]
        spec[face_px] = SKIN_SPECULAR * t[:, 3]
        bump = np.column_stack([t[:, 5], t[:, 6], np.zeros(len(t))]) @ rot.T
        nf = n[face_px] - 1.5 * bump
        n[face_px] = nf / np.linalg.norm(nf, axis=1, keepdims=True)
        occlusion[face_px] = ao[face_px] * np.clip(1 + 7.0 * t[:, 4], 0.4, 1)
    other_skin = _is(mat, SCALP, EAR, NECK)
    albedo[other_skin] = skin * 0.97
    spec[other_skin] = 0.05
    occlusion[mat == NECK] = np.clip(0.55 + 0.05 * (local[mat == NECK, 1] - 9.0), 0.5, 0.9)
    occlusion[mat == EAR] = 0.8
    hair = np.zeros(count)
    hairable = _is(mat, SKIN, SCALP)
    hair[hairable] = _hair_mask(person, uv[hairable])
    hair[mat == HAIR_BACK] = 1.0
    if hair.any():
        h = hair > 0
        s = person.strands
        sx = np.floor(np.arctan2(local[h, 0], local[h, 2] + 7.0) / np.pi * 48).astype(np.int64) % 96
        sy = np.floor(local[h, 1] * 2.5).astype(np.int64) % 96
        strand = s[sy, sx]
        hc = person.hair * (1 + 0.28 * strand)[:, None]
        w = hair[h][:, None]
        albedo[h] = albedo[h] * (1 - w) + hc * w
        spec[h] = spec[h] * (1 - w[:, 0]) + HAIR_SPECULAR * w[:, 0] * np.clip(1 + 0.5 * strand, 0, 2)
        shininess[h] = HAIR_SHININESS
        occlusion[h] *= 1 - 0.15 * w[:, 0]
    shirt = mat == SHIRT
    albedo[shirt] = srgb_to_linear(np.array(person.identity.shirt) / 255.0)
    spec[shirt] = 0.02
    eye = mat == EYE
    if eye.any():
        albedo[eye], spec[eye], shininess[eye], occlusion[eye] = _eyes(person, local[eye], face)
        n[eye] = _eye_normals(local[eye], face) @ rot.T
    mouth = mat == MOUTH
    if mouth.any():
        albedo[mouth], spec[mouth], occlusion[mouth] = _mouth(person, local[mouth], face)
    return _light(albedo, spec, shininess, occlusion, n, lit, lighting, skinlike), hair


def _eye_centres(local: np.ndarray, face: np.ndarray) -> np.ndarray:
    return np.where((local[:, 0] < 0)[:, None], face[IRIS[0]], face[IRIS[1]])


def _eyes(person: Person, local: np.ndarray, face: np.ndarray):
    """Sclera, iris with limbal ring and fibres, pupil; upper lid and lashes shade the eye."""
    c = _eye_centres(local, face)
    dx, dy = local[:, 0] - c[:, 0], local[:, 1] - c[:, 1]
    d = np.hypot(dx, dy)
    iris = srgb_to_linear(np.array(person.identity.iris) / 255.0)
    sclera = np.array(SCLERA) * (1 - 0.25 * np.clip((np.abs(dx) - 0.8) / 0.7, 0, 1))[:, None]
    fibres = 1 + 0.25 * np.cos(np.arctan2(dy, dx) * 23)
    ring = np.clip((d - 0.8 * IRIS_RADIUS) / (0.2 * IRIS_RADIUS), 0, 1)
    iris_col = iris[None, :] * (fibres * (1 - 0.6 * ring))[:, None] * (0.7 + 0.5 * (d / IRIS_RADIUS))[:, None]
    inside = np.clip((IRIS_RADIUS - d) / 0.04, 0, 1)[:, None]
    albedo = sclera * (1 - inside) + iris_col * inside
    pupil = np.clip((PUPIL_RADIUS - d) / 0.03, 0, 1)[:, None]
    albedo = albedo * (1 - pupil) + 0.005 * pupil
    lid = face[[159, 386], 1]
    top = np.where(local[:, 0] < 0, lid[0], lid[1])
    occlusion = 0.8 * np.clip(0.3 + 0.7 * (local[:, 1] - top) / 0.18, 0.3, 1.0)   # lid shadow, in the socket
    spec = np.full(len(d), 0.9)
    shininess = np.full(len(d), 400.0)
    return albedo, spec, shininess, occlusion


def _eye_normals(local: np.ndarray, face: np.ndarray) -> np.ndarray:
    c = _eye_centres(local, face)
    r = 1.15
    dx, dy = (local[:, 0] - c[:, 0]) / r, (local[:, 1] - c[:, 1]) / r
    dz = np.sqrt(np.clip(1 - dx * dx - dy * dy, 0.05, 1))
    nrm = np.column_stack([dx, dy, dz])
    return nrm / np.linalg.norm(nrm, axis=1, keepdims=True)


def _mouth(person: Person, local: np.ndarray, face: np.ndarray):
    """Mouth interior: upper teeth fixed to the skull, lower teeth riding on the jaw, dark cavity."""
    x, y = local[:, 0] - face[13, 0], local[:, 1]
    lower_edge = person.face[14, 1] - 0.3 + face[152, 1] - person.face[152, 1]   # lower incisors ride on the jaw (chin)
    curve = 0.12 * (x / 1.5) ** 2
    upper = (y < person.teeth_top - curve) & (np.abs(x) < 2.3)
    lower = (y > lower_edge + curve) & (np.abs(x) < 2.0)
    gap = face[14, 1] - face[13, 1]                     # lips barely apart: a dark line, no teeth
    teeth = (upper | lower) * float(np.clip((gap - 0.08) / 0.2, 0, 1))
    gaps = 1 - 0.35 * np.exp(-((np.abs(x) % 0.43 - 0.215) ** 2 * 0 + ((np.abs(x) + 0.215) % 0.43 - 0.215) ** 2) / 0.0012)
    tooth = np.array([0.72, 0.66, 0.55]) * (gaps * (1 - 0.55 * np.clip(np.abs(x) / 2.2, 0, 1) ** 2))[:, None]
    cavity = np.array([0.09, 0.025, 0.025])
    albedo = tooth * teeth[:, None] + cavity * (1 - teeth[:, None])
    spec = 0.25 * teeth
    depth = np.clip(np.abs(x) / 2.5, 0, 1)
    occlusion = (0.75 - 0.35 * depth) * teeth + 0.04 * (1 - teeth)     # a deep cavity: almost no light
    return albedo, spec, occlusion


def _light(albedo, spec, shininess, occlusion, n, lit, lighting: Lighting, skinlike) -> np.ndarray:
    """Wrapped Lambert (wider in red: light scattered under skin) plus Blinn-Phong specular,
    two lobes on skin (a sharp one and a broad sheen, as measured skin reflectance has: the
    sheen does not depend on albedo, so it carves the form of dark skin as photographs show),
    in float32 (8-bit output needs no more)."""
    f32 = np.float32
    albedo, spec, shininess, occlusion, n = (np.asarray(x, f32) for x in (albedo, spec, shininess, occlusion, n))
    lit = np.asarray(lit, f32)
    view = np.array([0.0, 0.0, 1.0], f32)
    sheen = np.where(skinlike, f32(SKIN_SHEEN), f32(0.0))
    out = np.zeros_like(albedo)
    wrap = np.where(skinlike[:, None], np.array([0.3, 0.18, 0.12], f32), f32(0.05))
    up = f32(0.65) + f32(0.35) * np.clip(-n[:, 1], -1, 1)
    out += albedo * (f32(lighting.ambient) * occlusion * up)[:, None]
    for light, shadow in ((lighting.key, lit), (lighting.fill, f32(1.0))):
        d = np.array(light.direction, f32)
        c = np.array(light.colour, f32)
        ndl = n @ d
        diffuse = np.clip((ndl[:, None] + wrap) / (1 + wrap), 0, None)
        shade = np.broadcast_to(shadow, ndl.shape) * (f32(0.35) + f32(0.65) * occlusion)
        out += albedo * diffuse * c * shade[:, None]
        h = (d + view) / np.linalg.norm(d + view)
        nh = np.clip(n @ h, 0, 1)
        fresnel = 1 + f32(2.0) * (1 - np.clip(n @ view, 0, 1)) ** 5
        lobes = nh ** shininess + sheen * nh ** f32(SHEEN_EXPONENT)
        out += (spec * fresnel * lobes * (ndl > 0) * shade)[:, None] * c
    return out
