"""Faces: the procedural 3D renderer's labels, identity, determinism and fairness (judged by
pretrained models from wheels: MediaPipe BlazeFace, the FER2013 mini-Xception), the diffusers
backend and critic on tiny random models built here, preflight errors, and the contact sheet."""
from __future__ import annotations

import io
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image
from pydantic import ValidationError

from factory.affect import FACS_PROTOTYPES
from factory.errors import FactoryError
from factory.faces.diffusers_generator import DiffusersFaceSettings
from factory.faces.expression import AUS, MAX_GAIN_DEVIATION, au_key, frame_times
from factory.faces.geometry import Pose
from factory.faces.identity import draw_identity
from factory.faces.mesh import IBUG68, expression_model
from factory.faces.photo import Camera, pose_points
from factory.faces.procedural_generator import FaceSettings, ProceduralFaceGenerator
from factory.generators import load_generator
from factory.spec import Episode, SampleSpec

EMOTIONS = sorted(FACS_PROTOTYPES)


def make_spec(index, emotion="happiness", person=0, tone=5, sex="female", age=35.0, intensity=0.8):
    return SampleSpec(sample_id=f"s{index:05d}", index=index, shard="train-000000", split="train",
                      seed=1000 + index, identity=f"p{person}", identity_seed=500 + person, emotion=emotion,
                      intensity=intensity, valence=0.0, arousal=0.0, dominance=0.0,
                      attributes={"sex": sex, "skin_tone": tone, "age_band": "30-44"},
                      episode=Episode(10.0, 3.0, 5.8, 8.5), age=age)


def rgb(part, name="png"):
    return np.asarray(Image.open(io.BytesIO(part.files[name])).convert("RGB"))


@pytest.fixture(scope="module")
def procedural():
    return ProceduralFaceGenerator(FaceSettings(size=128))


# ---------------------------------------------------------------- procedural


def test_registered_entry_points():
    assert type(load_generator("face", FaceSettings())).__name__ == "ProceduralFaceGenerator"
    gen = load_generator("face", DiffusersFaceSettings(backend="diffusers", model="x"))
    assert type(gen).__name__ == "DiffusersFaceGenerator"


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_au_labels_match_prototypes(procedural, emotion):
    """Labels say what drove the mesh, and the AUs fitted back from the drawn mesh agree."""
    intensity = 0.7
    part = procedural.generate([make_spec(3, emotion, intensity=intensity)])[0]
    lab = part.labels
    proto = FACS_PROTOTYPES[emotion]
    for au in AUS:
        want = proto.get(au, 0.0) * intensity
        assert lab["target"][au_key(au)] == pytest.approx(want, abs=1e-4)
        assert abs(lab["au"][au_key(au)] - want) <= MAX_GAIN_DEVIATION * want + 1e-4
        assert lab["mesh_fit"][au_key(au)] == pytest.approx(lab["au"][au_key(au)], abs=0.05)
    assert set(lab["appearance"]) == {"skin_tone", "skin_tone_delta_e", "skin_srgb"}
    assert lab["measured"] == {} and lab["met"] == {}      # no affect measurement on the face image
    assert lab["camera"]["metering"] == "incident"
    assert lab["time"] == 5.8 and lab["face_model"] == "blendshapes"
    assert set(lab["lighting"]) >= {"key_azimuth", "key_elevation", "key_kelvin", "fill_ratio", "background"}
    assert rgb(part).shape == (128, 128, 3)
    json.dumps(lab)  # labels are plain JSON


def test_landmarks_are_the_drawn_mesh_vertices():
    """The 68 landmarks are the projected mesh vertices, recomputed here from the person's
    mesh, pose and camera; each lies inside the image on the face, not on the backdrop (the
    jaw line is the face's outline: there, within a pixel)."""
    gen = ProceduralFaceGenerator(FaceSettings(size=128, background="#00ff00"))
    specs = [make_spec(i, EMOTIONS[i % len(EMOTIONS)], person=i, tone=1 + i % 10,
                       sex=("female", "male", "unspecified")[i % 3], age=20 + 3 * i) for i in range(12)]
    for spec, part in zip(specs, gen.generate(specs)):
        lab = part.labels
        lm, mesh = np.array(lab["landmarks"]), np.array(lab["mesh_landmarks"])
        assert lm.shape == (68, 2) and mesh.shape == (478, 2)
        assert np.array_equal(lm, mesh[IBUG68])
        assert (lm >= 0).all() and (lm < 128).all()
        person = gen.person(spec)
        aus = {int(k[2:]): v for k, v in lab["au"].items()}
        verts = person.expression(aus, lab["unilateral"] or None)
        pose = Pose(**lab["pose"])
        expect = Camera(lab["camera"]["distance_cm"], 128).project(pose_points(verts, pose))
        assert np.abs(expect - mesh).max() < 0.006            # labels rounded to 0.01 px
        assert all(abs(lab["pose"][k]) <= lim for k, lim in zip(("yaw", "pitch", "roll"), (12, 8, 8)))
        img = rgb(part).astype(int)
        backdrop = (img[..., 1] > 150) & (img[..., 0] < 90) & (img[..., 2] < 90)
        x, y = np.floor(lm).astype(int).T
        inner = backdrop[y[17:], x[17:]]
        assert not inner.any(), f"{spec.sample_id}: landmarks {17 + np.flatnonzero(inner)} on the backdrop"
        jaw = [backdrop[max(b - 1, 0):b + 2, max(a - 1, 0):a + 2].all() for a, b in zip(x[:17], y[:17])]
        assert not any(jaw), f"{spec.sample_id}: jaw landmarks {np.flatnonzero(jaw)} off the face"


def test_expression_moves_the_right_landmarks(procedural):
    neutral, happy, surprise, sad = (procedural.generate([make_spec(7, e, intensity=1.0)])[0].labels
                                     for e in ("neutral", "happiness", "surprise", "sadness"))
    lm = {k: np.array(v["landmarks"]) for k, v in
          (("n", neutral), ("h", happy), ("s", surprise), ("d", sad))}
    # same sample seed, same pose and camera: differences come from the expression only
    corner = lambda p: (p[48, 1] + p[54, 1]) / 2 - p[51, 1]   # noqa: E731  corners below the upper lip
    assert corner(lm["h"]) < corner(lm["n"]) - 2              # smile: corners rise
    assert lm["s"][66, 1] - lm["s"][62, 1] > 8                # surprise: mouth open
    assert lm["n"][66, 1] - lm["n"][62, 1] < 0.5              # neutral: lips closed
    assert corner(lm["d"]) > corner(lm["n"]) + 1              # sadness: corners down
    assert lm["s"][19, 1] < lm["n"][19, 1] - 3                # surprise: brows up


def test_identity_fixed_per_person_and_distinct_across_persons(procedural):
    a1, a2 = make_spec(1, "anger", person=4), make_spec(2, "happiness", person=4)
    b = make_spec(3, "anger", person=5)
    ia1, ia2, ib = draw_identity(a1), draw_identity(a2), draw_identity(b)
    assert ia1 == ia2 and ia1 != ib
    assert ia1.skin == (0xd7, 0xbd, 0x96)   # Monk 5
    pa1, pa2, pb = procedural.person(a1), procedural.person(a2), procedural.person(b)
    assert np.array_equal(pa1.face, pa2.face) and np.array_equal(pa1.maps.albedo, pa2.maps.albedo)
    assert not np.allclose(pa1.face, pb.face)
    # the same person shows different expressions on the same face
    same = procedural.generate([make_spec(1, "anger", person=4), make_spec(1, "neutral", person=4)])
    assert same[0].labels["identity"] == same[1].labels["identity"]


def test_a_persons_face_shape_is_the_same_at_every_skin_tone():
    # the benchmark's same-persons diagnostic relies on it: only the tone-linked draws differ
    people = [draw_identity(make_spec(1, person=7, tone=tone)) for tone in (1, 3, 6, 10)]
    for other in people[1:]:
        assert other.shape.width == people[0].shape.width and other.brow_thick == people[0].brow_thick
        assert other.expressivity == people[0].expressivity and other.oiliness == people[0].oiliness
    assert len({p.skin for p in people}) == 4


def test_an_eyelid_moves_as_one_piece():
    # AU5 raises the whole upper lid margin, AU7 the whole lower one: the margin's middle moves
    # as far as the iBUG points on either side of it, not held back by the other lid or the brow
    from factory.faces.mesh import EYE_LOOPS, blendshape_basis

    basis = blendshape_basis()
    for au, margin in ((5, EYE_LOOPS[0][3:6]), (7, EYE_LOOPS[0][11:14])):
        dy = basis[AUS.index(au), list(margin), 1]
        assert dy.max() < 0 and abs(dy[1]) >= 0.95 * min(abs(dy[0]), abs(dy[2]))
    # and the lower lid barely follows AU5
    assert np.abs(basis[AUS.index(5), list(EYE_LOOPS[0][10:15]), 1]).max() < 0.05


def test_deterministic_and_batch_independent(procedural):
    specs = [make_spec(i, EMOTIONS[i % len(EMOTIONS)], person=i % 3) for i in range(6)]
    first = procedural.generate(specs)
    again = ProceduralFaceGenerator(FaceSettings(size=128)).generate(specs[3:])
    assert [p.files["png"] for p in first[3:]] == [p.files["png"] for p in again]
    assert first[0].files["png"] != first[1].files["png"]


def test_frames_follow_the_episode():
    gen = ProceduralFaceGenerator(FaceSettings(size=64, frames=4))
    spec = make_spec(1, "surprise", intensity=1.0)
    part = gen.generate([spec])[0]
    frames = part.labels["frames"]
    assert [f["file"] for f in frames] == [f"frame{k:02d}.png" for k in range(4)]
    assert all(f["file"] in part.files for f in frames)
    times = [f["time"] for f in frames]
    assert times == frame_times(spec.episode, 4) and spec.episode.apex in times
    assert frames[0]["au"]["AU26"] == 0.0          # onset: no expression yet
    apex = frames[times.index(spec.episode.apex)]
    assert apex["au"] == part.labels["au"] and apex["landmarks"] == part.labels["landmarks"]
    assert frame_times(spec.episode, 2) == [3.0, 5.8]


def test_face_models_and_settings():
    """The clean-terms default and the py-feat model: same labels' meaning, their own licences;
    settings out of range are refused."""
    spec = make_spec(2, "happiness", intensity=1.0)
    clean = ProceduralFaceGenerator(FaceSettings(size=64))
    pyfeat = ProceduralFaceGenerator(FaceSettings(size=64, face_model="pyfeat"))
    assert "research" not in clean.licence and "research-use" in pyfeat.licence
    a, b = clean.generate([spec])[0], pyfeat.generate([spec])[0]
    assert b.labels["face_model"] == "pyfeat" and a.files["png"] != b.files["png"]
    assert b.labels["mesh_fit"]["AU12"] == pytest.approx(b.labels["au"]["AU12"], abs=0.05)
    neutral, basis = expression_model("pyfeat")
    assert neutral.shape == (478, 3) and basis.shape == (len(AUS), 478, 3)
    for bad in ({"background": "red"}, {"distance": (120, 60)}, {"face_model": "other"}):
        with pytest.raises(ValidationError):
            FaceSettings(**bad)


def test_procedural_preflight_errors():
    gen = ProceduralFaceGenerator(FaceSettings())
    gen.preflight({"emotion": ["anger"], "skin_tone": [1, 10]})
    with pytest.raises(FactoryError, match="FACS prototype"):
        gen.preflight({"emotion": ["boredom"]})
    with pytest.raises(FactoryError, match="skin_tone"):
        gen.preflight({"skin_tone": [11]})


# ---------------------------------------------------------------- judged by pretrained models


def test_judges_read_a_real_photograph():
    """The judges work on a real photograph (Grace Hopper, shipped in matplotlib's sample data):
    one face found, the numpy mini-Xception gives a distribution whose top class is neutral, and
    the face mesh puts its landmarks on her upright face."""
    from pathlib import Path

    import matplotlib

    from factory.faces.judges import FER_LABELS, BlazeFace, FaceMesh, MiniXception, fer_crop

    img = np.asarray(Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").convert("RGB"))
    found = BlazeFace().detect(img)
    assert len(found) == 1
    p = MiniXception().predict(fer_crop(img, found[0][0])[None])[0]
    assert p.sum() == pytest.approx(1.0, abs=1e-4) and FER_LABELS[int(p.argmax())] == "neutral"
    marks = FaceMesh().landmarks(img)             # her face, upright: eyes level, nose between, mouth below
    x, y, w, h = found[0][0]
    assert ((marks >= (x, y)) & (marks <= (x + w, y + h))).all(axis=1).mean() > 0.8
    assert abs(marks[33, 1] - marks[263, 1]) < 0.1 * w and marks[33, 0] < marks[1, 0] < marks[263, 0]
    assert marks[13, 1] > marks[1, 1] > max(marks[33, 1], marks[263, 1])


def test_every_skin_tone_detected_by_blazeface():
    """Fairness: MediaPipe's BlazeFace finds the face on every Monk skin tone (a balanced set:
    10 tones x 2 sexes x 2 emotions at 256 px)."""
    from factory.faces.judges import BlazeFace

    gen, detector = ProceduralFaceGenerator(FaceSettings(size=256)), BlazeFace()
    specs = [make_spec(100 + 4 * t + k, ("anger", "happiness")[k % 2], person=100 + 2 * t + k // 2, tone=t,
                       sex=("female", "male")[k // 2], age=25 + 4 * t) for t in range(1, 11) for k in range(4)]
    missed = [(s.get("skin_tone"), s.emotion, s.get("sex")) for s, part in zip(specs, gen.generate(specs))
              if not detector.detect(rgb(part))]
    assert not missed, f"BlazeFace missed {missed}"


def test_face_mesh_reads_the_labelled_landmarks_on_every_skin_tone():
    """Label fidelity and legibility on every Monk tone, judged by MediaPipe's face landmark model
    (trained on real photographs): its 468 landmarks lie within 5 % of the outer-eye-corner
    distance of the labelled ones on neutral faces (10 % with the mouth stretched open), and the
    mouth opening it reads is larger in surprise than in neutral by at least 0.1 of that distance."""
    from factory.faces.judges import FaceMesh, landmark_error

    gen, mesh = ProceduralFaceGenerator(FaceSettings(size=256)), FaceMesh()
    specs = [make_spec(200 + 2 * t + k, ("neutral", "surprise")[k], person=300 + t, tone=t, sex=("female", "male")[t % 2],
                       age=22 + 5 * t) for t in range(1, 11) for k in range(2)]
    parts = gen.generate(specs)
    for t in range(1, 11):
        neutral, surprise = parts[2 * t - 2], parts[2 * t - 1]
        errors, mouths = [], []
        for part in (neutral, surprise):
            labelled = np.asarray(part.labels["mesh_landmarks"], float)[:468]
            read = mesh.landmarks(rgb(part))
            assert read is not None, f"MST {t}: no face found"
            errors.append(landmark_error(read, labelled))
            mouths.append(np.linalg.norm(read[13] - read[14]) / np.linalg.norm(labelled[33] - labelled[263]))
        assert errors[0] < 0.05 and errors[1] < 0.10, f"MST {t}: landmark errors {errors}"
        assert mouths[1] - mouths[0] > 0.1, f"MST {t}: mouth opening read {mouths}"


def _luma(a):
    """sRGB-encoded luma (BT.601, 0-255): the values a recognizer is trained on."""
    return np.asarray(a, np.float32)[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)


def expression_visibility(tone, emotions=("anger", "happiness"), size=128):
    """Mean |luma(expressive) - luma(neutral)| inside the face relative to the neutral face's
    mean luma (Weber contrast), per emotion at intensity 1, for one fixed person (geometry,
    hair, expressivity) whose skin is set to Monk tone `tone`, under one fixed light and camera."""
    import dataclasses

    from factory.affect import MONK_SKIN_TONES
    from factory.faces.expression import rendered_aus, target_aus
    from factory.faces.texture import hex_rgb
    from factory.faces.photo import Light, Lighting, Person, light_direction, render_photo

    base = draw_identity(make_spec(0, person=1, sex="male", tone=5))
    idt = dataclasses.replace(base, skin_tone=tone, skin=hex_rgb(MONK_SKIN_TONES[tone]))
    person = Person(idt, "blendshapes", np.random.default_rng(0))
    light = Lighting(Light(light_direction(30, 25), (1.35, 1.35, 1.35)), Light(light_direction(-45, 5), (0.3, 0.3, 0.3)),
                     0.14, (150, 150, 150))
    face = lambda e: render_photo(person, rendered_aus(target_aus(e, 1.0), idt.expressivity), None, Pose(),  # noqa: E731
                                  light, 90.0, size, np.random.default_rng(1))
    neutral = face("neutral")
    hull = neutral.landmarks[[0, 2, 4, 6, 8, 10, 12, 14, 16, 26, 24, 22, 21, 19, 17]]
    from matplotlib.path import Path

    ys, xs = np.mgrid[0:size, 0:size]
    inside = Path(hull).contains_points(np.column_stack([xs.ravel() + 0.5, ys.ravel() + 0.5])).reshape(size, size)
    base_luma = _luma(neutral.image)
    return {e: float(np.abs(_luma(face(e).image) - base_luma)[inside].mean() / base_luma[inside].mean())
            for e in emotions}


def test_expressions_legible_on_every_skin_tone():
    """Fairness: an expression changes the face about as much on MST 10 as on MST 1 relative to
    the face's own lightness (Weber contrast: what a recognizer that normalises its input sees;
    in absolute sRGB steps a dark face changes less, as in photographs). Measured MST 10 / MST 1:
    anger 1.59, happiness 2.34; MST 5: 1.04, 1.10 (docs/faces.md); thresholds 0.6 per emotion."""
    vis = {t: expression_visibility(t) for t in (1, 5, 10)}
    for e in ("anger", "happiness"):
        assert vis[5][e] >= 0.6 * vis[1][e], (e, vis)
        assert vis[10][e] >= 0.6 * vis[1][e], (e, vis)


def test_glasses_are_a_person_setting_in_front_of_the_eyes():
    """`glasses` is the share of persons wearing frames: a person keeps or lacks them in every
    sample, the label says so, landmarks do not move, and the frames change the pixels around
    the eyes (between the brows and the cheekbones), not the mouth."""
    specs = [make_spec(i, EMOTIONS[i % len(EMOTIONS)], person=i // 2, tone=1 + i % 10) for i in range(16)]
    bare = ProceduralFaceGenerator(FaceSettings(size=128)).generate(specs)
    half = ProceduralFaceGenerator(FaceSettings(size=128, glasses=0.5)).generate(specs)
    worn = {}
    for spec, a, b in zip(specs, bare, half):
        assert not a.labels["occlusion"]["glasses"]
        assert worn.setdefault(spec.identity, b.labels["occlusion"]["glasses"]) == b.labels["occlusion"]["glasses"]
        assert a.labels["landmarks"] == b.labels["landmarks"]
        lm = np.array(b.labels["landmarks"])
        diff = np.abs(rgb(a).astype(int) - rgb(b).astype(int)).sum(axis=2) > 24
        eyes = np.zeros_like(diff)
        top, bottom = int(lm[17:27, 1].min()), int(lm[[1, 15, 29], 1].max()) + 2
        eyes[top:bottom, int(lm[0, 0]) - 3:int(lm[16, 0]) + 4] = True
        mouth = np.zeros_like(diff)
        mouth[int(lm[48:68, 1].min()):int(lm[48:68, 1].max()) + 1, int(lm[48, 0]):int(lm[54, 0]) + 1] = True
        if b.labels["occlusion"]["glasses"]:
            assert diff[eyes].sum() >= 20 and not diff[mouth].any() and diff[~eyes].sum() <= 0.1 * diff.sum()
        else:
            assert rgb(a).tobytes() == rgb(b).tobytes()
    assert 0 < sum(worn.values()) < len(worn)


def test_rendered_skin_shows_its_monk_tone():
    """Incident metering keeps each skin's lightness: the Monk tone measured on the output
    (swatch nearest in CIELAB to the median bare-skin pixel) is the person's own within one
    step for nine faces in ten (MST 1-4 differ mostly in hue: the camera's white balance keeps
    it; a ruddy or bearded light face can read a few steps darker), and darker people look darker. Face-priority metering (the option) lifts MST 10 to a lighter tone."""
    gen = ProceduralFaceGenerator(FaceSettings(size=128))
    specs = [make_spec(i, "neutral", person=i, tone=1 + i % 10, sex=("female", "male")[i % 2]) for i in range(30)]
    shown = {}
    for spec, part in zip(specs, gen.generate(specs)):
        shown.setdefault(spec.get("skin_tone"), []).append(part.labels["appearance"]["skin_tone"])
    off = np.array([v - tone for tone, values in shown.items() for v in values])
    assert np.mean(np.abs(off) <= 1) >= 0.9 and np.abs(off).max() <= 3, shown
    medians = [np.median(shown[t]) for t in sorted(shown)]
    assert medians == sorted(medians) and medians[-1] - medians[0] >= 7, medians
    lifted = ProceduralFaceGenerator(FaceSettings(size=128, metering="face")).generate(
        [s for s in specs if s.get("skin_tone") == 10])
    assert all(p.labels["appearance"]["skin_tone"] <= 8 and p.labels["camera"]["metering"] == "face" for p in lifted)


# ---------------------------------------------------------------- contact sheet


@pytest.mark.slow
def test_contact_sheet(multimodal, tmp_path):
    """`preview` reads the faces by the index's offsets: one cell per emotion x skin tone."""
    from factory.cli import main
    from factory.preview import THUMB

    assert main(["preview", str(multimodal), "--out", str(tmp_path / "sheet.png")]) == 0
    sheet = Image.open(tmp_path / "sheet.png")
    index = pq.read_table(multimodal / "index.parquet").to_pandas()
    rows, cols = index["emotion"].nunique(), index["skin_tone"].nunique()
    assert sheet.size == (84 + THUMB * cols, 22 + THUMB * rows)
    assert len(set(sheet.crop((84, 22, 84 + THUMB, 22 + THUMB)).getdata())) > 10    # a face, not blank
    assert main(["preview", str(tmp_path / "nope")]) == 2


# ---------------------------------------------------------------- diffusers + critic


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    from tiny_models import build_tiny_clip, build_tiny_sd

    root = tmp_path_factory.mktemp("tiny_models")
    return build_tiny_sd(root / "sd"), build_tiny_clip(root / "clip")


def diffusers_settings(models, **kw):
    sd, clip = models
    base = dict(backend="diffusers", model=str(sd), size=32, steps=2, guidance=2.0, batch_size=3,
                critic=str(clip), device="cpu")
    base.update(kw)
    return DiffusersFaceSettings(**base)


@pytest.mark.slow
@pytest.mark.neural
def test_diffusers_same_seed_same_image(tiny_models):
    from factory.faces.diffusers_generator import DiffusersFaceGenerator

    specs = [make_spec(i, EMOTIONS[i % len(EMOTIONS)], person=i, tone=1 + 2 * i) for i in range(4)]
    gen = DiffusersFaceGenerator(diffusers_settings(tiny_models, scheduler="DDIMScheduler"))
    gen.preflight({"emotion": EMOTIONS, "skin_tone": [1, 3, 5, 7]})
    first = gen.generate(specs)
    second = DiffusersFaceGenerator(diffusers_settings(tiny_models, scheduler="DDIMScheduler")).generate(specs)
    assert [p.files["png"] for p in first] == [p.files["png"] for p in second]
    assert len({p.files["png"] for p in first}) == 4
    lab = first[1].labels
    assert Image.open(io.BytesIO(first[0].files["png"])).size == (32, 32)
    from factory.faces.diffusers_generator import EMOTION_PHRASES

    assert EMOTION_PHRASES[specs[1].emotion] in lab["prompt"]
    assert "woman" in lab["prompt"] and "skin" in lab["prompt"] and lab["negative_prompt"]
    assert lab["critic"]["top"] in EMOTIONS and 0 <= lab["critic"]["p_target"] <= 1
    assert lab["met"]["critic"] == (lab["critic"]["top"] == specs[1].emotion)
    assert lab["time"] == specs[1].episode.apex


@pytest.mark.slow
@pytest.mark.neural
def test_diffusers_layout_mode_keeps_procedural_labels(tiny_models, procedural):
    from factory.faces.diffusers_generator import DiffusersFaceGenerator

    spec = make_spec(2, "fear", person=2)
    gen = DiffusersFaceGenerator(diffusers_settings(tiny_models, mode="layout", strength=0.5, critic=None))
    part = gen.generate([spec])[0]
    proc = ProceduralFaceGenerator(FaceSettings(size=32)).generate([spec])[0].labels
    for key in ("au", "landmarks", "pose"):
        assert part.labels["layout"][key] == proc[key]
    assert part.labels["mode"] == "layout" and "landmarks" not in part.labels   # the guide's, not the image's


@pytest.mark.slow
@pytest.mark.neural
def test_diffusers_preflight_errors(tiny_models, tmp_path, monkeypatch):
    import torch

    from factory.faces.diffusers_generator import DiffusersFaceGenerator

    def check(match, **kw):
        with pytest.raises(FactoryError, match=match):
            DiffusersFaceGenerator(diffusers_settings(tiny_models, **kw)).preflight({"emotion": ["anger"]})

    check("does not exist", model=str(tmp_path / "missing-model/"))
    check("huggingface-cli download nobody/no-such-model", model="nobody/no-such-model")
    check("multiple of 2", size=33)
    check("not a diffusers scheduler", scheduler="NoSuchScheduler")
    check("critic", critic=str(tmp_path / "no-clip/"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    check("cuda", device="cuda")


# ---------------------------------------------------------------- diffusers + ControlNet


@pytest.fixture(scope="session")
def tiny_controlnet(tiny_models):
    from tiny_models import build_tiny_controlnet

    sd, _ = tiny_models
    return build_tiny_controlnet(sd.parent / "controlnet", sd)


def controlnet_settings(models, controlnet, **kw):
    base = dict(mode="layout", controlnet=str(controlnet), size=32, batch_size=2, critic=None)
    base.update(kw)
    return diffusers_settings(models, **base)


@pytest.mark.slow
@pytest.mark.neural
def test_controlnet_same_seed_same_image_keeps_labels(tiny_models, tiny_controlnet):
    from factory.faces.diffusers_generator import DiffusersFaceGenerator

    specs = [make_spec(i, e, person=i, tone=2 + 3 * i) for i, e in enumerate(("fear", "happiness", "contempt"))]
    gen = DiffusersFaceGenerator(controlnet_settings(tiny_models, tiny_controlnet))
    gen.preflight({"emotion": EMOTIONS, "skin_tone": [2, 5, 8]})
    first = gen.generate(specs)
    assert type(gen.pipeline()).__name__ == "StableDiffusionControlNetPipeline"
    # a fresh generator, same settings: same bytes
    again = DiffusersFaceGenerator(controlnet_settings(tiny_models, tiny_controlnet)).generate(specs)
    assert [p.files["png"] for p in first] == [p.files["png"] for p in again]
    # another batching: the same images but for float rounding (torch's batched kernels may
    # round the last bit differently, so a pixel can move by one level)
    rebatched = DiffusersFaceGenerator(controlnet_settings(tiny_models, tiny_controlnet, batch_size=3)).generate(specs)
    for a, b in zip(first, rebatched):
        diff = np.abs(np.asarray(Image.open(io.BytesIO(a.files["png"])), int) - np.asarray(Image.open(io.BytesIO(b.files["png"])), int))
        assert diff.max() <= 1 and (diff > 0).mean() < 0.01
    assert len({p.files["png"] for p in first}) == 3
    assert Image.open(io.BytesIO(first[0].files["png"])).size == (32, 32)
    proc = ProceduralFaceGenerator(FaceSettings(size=32)).generate(specs)
    for part, ref, spec in zip(first, proc, specs):
        assert part.labels["target"] == ref.labels["target"]
        for key in ("au", "unilateral", "landmarks", "pose", "identity"):
            assert part.labels["layout"][key] == ref.labels[key], key
        assert part.labels["mode"] == "layout" and part.labels["controlnet"] == str(tiny_controlnet)
        assert "layout_strength" not in part.labels   # img2img only
        assert part.labels["time"] == spec.episode.apex
        json.dumps(part.labels)
    assert first[2].labels["layout"]["unilateral"] == "R"
    # the control image is used: text mode with the same seeds and prompts gives other images
    text = DiffusersFaceGenerator(diffusers_settings(tiny_models, critic=None)).generate(specs[:1])
    assert text[0].labels["seed"] == first[0].labels["seed"]
    assert text[0].files["png"] != first[0].files["png"]


@pytest.mark.slow
@pytest.mark.neural
def test_controlnet_preflight_errors(tiny_models, tiny_controlnet, tmp_path):
    from factory.faces.diffusers_generator import DiffusersFaceGenerator

    def check(match, **kw):
        settings = controlnet_settings(tiny_models, kw.pop("controlnet", tiny_controlnet), **kw)
        with pytest.raises(FactoryError, match=match):
            DiffusersFaceGenerator(settings).preflight({"emotion": ["anger"]})

    check("modalities.face.controlnet: .* does not exist", controlnet=str(tmp_path / "no-controlnet/"))
    check("huggingface-cli download nobody/no-such-controlnet", controlnet="nobody/no-such-controlnet")
    check("set mode: layout", mode="text")
    other = tmp_path / "sd21-controlnet"
    other.mkdir()
    config = json.loads((tiny_controlnet / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "cross_attention_dim": 1024}))
    check("another base model", controlnet=str(other))
    (other / "config.json").write_text(json.dumps({**config, "conditioning_embedding_out_channels": [16, 32, 96, 256]}))
    check("downsamples its control image 8x but the model's VAE 2x", controlnet=str(other))
    # strength x steps does not apply to the ControlNet (no img2img)
    DiffusersFaceGenerator(controlnet_settings(tiny_models, tiny_controlnet, strength=0.1)).preflight({})
