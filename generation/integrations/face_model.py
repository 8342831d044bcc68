"""The face model, behind one small interface so that another (ONNX, a GPU service) can replace it: find the faces
in a photo and give the main one's 128-number embedding. Today it is dlib's HOG frontal face detector, the 5-point
landmark model and dlib's ResNet face-recognition model, read from the files of the `face_recognition_models`
package (never downloaded at run time). The 68-point landmark model is not used: its training data's license is
non-commercial.

The package is found with importlib, not imported: its __init__ needs pkg_resources, which current setuptools
removed. The models load once per process (`load()`, called before a worker cluster forks)."""

from __future__ import annotations

import importlib.util
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

# HOG scores: real faces score above 1; face-like things of a face's size (a mission patch on a chest) about 0.2.
MIN_SCORE = 0.5
# Detections smaller than this share of the main face's area are ignored (a face in a poster, a crowd far away).
MIN_AREA_SHARE = 0.25
# Boxes overlapping more than this (intersection over the smaller box) are one face found twice when upsampling.
SAME_FACE_OVERLAP = 0.5
# Photos are looked at no larger than this on their longer side: HOG time grows with the pixels.
MAX_SIDE = 640


class FaceModelMissing(RuntimeError):
    """The model files are not installed."""


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int
    score: float

    @property
    def area(self) -> int:
        return max(0, self.right - self.left) * max(0, self.bottom - self.top)

    def overlap(self, other: Box) -> float:
        width = min(self.right, other.right) - max(self.left, other.left)
        height = min(self.bottom, other.bottom) - max(self.top, other.top)
        if width <= 0 or height <= 0:
            return 0.0
        return width * height / max(1, min(self.area, other.area))

    def as_list(self) -> list[int]:
        return [self.left, self.top, self.right, self.bottom]


@dataclass(frozen=True)
class Reading:
    """What the model saw in one photo: the faces worth counting (main face first), in the photo's own pixels,
    and the main face's embedding (None when there is no face)."""

    width: int
    height: int
    faces: list[Box]
    embedding: np.ndarray | None


def model_folder() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelMissing("The face model files are missing: pip install face_recognition_models.")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@cache
def load():
    """dlib's detector, landmark model and recognition model, once per process."""
    import dlib

    folder = model_folder()
    return (
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat")),
        dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat")),
    )


def _pixels(data: bytes) -> tuple[np.ndarray, float, int, int]:
    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
        width, height = image.size
        scale = min(1.0, MAX_SIDE / max(width, height))
        if scale < 1.0:
            image = image.resize((round(width * scale), round(height * scale)), Image.Resampling.BILINEAR)
        return np.asarray(image), scale, width, height


def distinct_faces(boxes: list[Box]) -> list[Box]:
    """Strong detections, one per face, largest first, without those much smaller than the main face."""
    strong = sorted((box for box in boxes if box.score >= MIN_SCORE), key=lambda box: box.area, reverse=True)
    faces: list[Box] = []
    for box in strong:
        if all(box.overlap(kept) <= SAME_FACE_OVERLAP for kept in faces):
            faces.append(box)
    if not faces:
        return []
    main = faces[0]
    return [main] + [box for box in faces[1:] if box.area >= MIN_AREA_SHARE * main.area]


def read(data: bytes) -> Reading:
    """Find the faces in an encoded photo and embed the main one."""
    import dlib

    detector, landmarks, recognition = load()
    pixels, scale, width, height = _pixels(data)
    found, scores, _ = detector.run(pixels, 1, -0.5)
    boxes = [
        Box(round(r.left() / scale), round(r.top() / scale), round(r.right() / scale), round(r.bottom() / scale), s)
        for r, s in zip(found, scores, strict=True)
    ]
    faces = distinct_faces(boxes)
    if not faces:
        return Reading(width, height, [], None)
    main = faces[0]
    rectangle = dlib.rectangle(*(round(side * scale) for side in main.as_list()))
    shape = landmarks(pixels, rectangle)
    embedding = np.asarray(recognition.compute_face_descriptor(pixels, shape), dtype=np.float32)
    return Reading(width, height, faces, embedding)


def distance(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.linalg.norm(first.astype(np.float32) - second.astype(np.float32)))
