"""Stage 4, checked: the face model looks at every photo the images stage makes. Is it one face, and the same face
as the persona's base? A tile that shows someone else, two people, or a face cut by the split is replaced by a
single-image edit from the base, up to FACE_RETRIES times; a base with no face or several faces is made again once;
a base too close to another persona's of the task is made again too.

Verdicts: ok (one face within FACE_MATCH_THRESHOLD of the base), different-person, several-faces, face-cut (the
face box touches an edge where the grid was cut), no-face (no frontal face: not checked, not rejected: a profile
shot is a legitimate photo)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings

from generation.faces.index import existing, shared_index
from generation.integrations import face_model
from generation.models import FaceCheck, GenerationResult, GenerationTask

Verdict = FaceCheck.Verdict
# A box within this many pixels of an edge touches it (HOG boxes are approximate, and run past a cut face).
EDGE_TOLERANCE = 2


def enabled() -> bool:
    return settings.FACE_CHECK


@dataclass(frozen=True)
class Checked:
    reading: face_model.Reading
    verdict: str
    distance: float | None = None

    @property
    def rejected(self) -> bool:
        return self.verdict in FaceCheck.REJECTED


def cut_edges(index: int, cols: int, rows: int) -> set[str]:
    """The edges of tile `index` (0-based, row by row) that the split made: those between two tiles."""
    row, col = divmod(index, cols)
    edges = set()
    if col > 0:
        edges.add("left")
    if col < cols - 1:
        edges.add("right")
    if row > 0:
        edges.add("top")
    if row < rows - 1:
        edges.add("bottom")
    return edges


def touches(box: face_model.Box, width: int, height: int, edges: set[str]) -> bool:
    reach = {
        "left": box.left <= EDGE_TOLERANCE,
        "top": box.top <= EDGE_TOLERANCE,
        "right": box.right >= width - EDGE_TOLERANCE,
        "bottom": box.bottom >= height - EDGE_TOLERANCE,
    }
    return any(reach[edge] for edge in edges)


def judge(reading: face_model.Reading, base: np.ndarray | None, edges: set[str] = frozenset()) -> Checked:
    """The verdict on one photo; `base` is the persona's base embedding (None when judging the base itself)."""
    if not reading.faces:
        return Checked(reading, Verdict.NO_FACE)
    if len(reading.faces) > 1:
        return Checked(reading, Verdict.SEVERAL_FACES)
    if edges and touches(reading.faces[0], reading.width, reading.height, edges):
        return Checked(reading, Verdict.FACE_CUT)
    if base is None:
        return Checked(reading, Verdict.OK)
    distance = face_model.distance(reading.embedding, base)
    verdict = Verdict.OK if distance <= settings.FACE_MATCH_THRESHOLD else Verdict.DIFFERENT_PERSON
    return Checked(reading, verdict, distance)


def check(data: bytes, base: np.ndarray | None, edges: set[str] = frozenset()) -> Checked:
    return judge(face_model.read(data), base, edges)


def record(result: GenerationResult, position: int, url: str, checked: Checked, *, replaced: int = 0) -> None:
    """Keep the check of one image slot; a second run of the same slot overwrites it."""
    reading = checked.reading
    FaceCheck.objects.update_or_create(
        result=result,
        position=position,
        defaults={
            "image_url": url,
            "faces": len(reading.faces),
            "box": reading.faces[0].as_list() if reading.faces else None,
            "embedding": reading.embedding.tobytes() if reading.embedding is not None else None,
            "distance": checked.distance,
            "verdict": checked.verdict,
            "replaced": replaced,
        },
    )


def embedding(stored: bytes | memoryview | None) -> np.ndarray | None:
    return np.frombuffer(bytes(stored), dtype=np.float32) if stored else None


def duplicate_of(task: GenerationTask, result: GenerationResult, face: np.ndarray) -> tuple[int, float] | None:
    """Another persona whose base face is within DUPLICATE_FACE_THRESHOLD of this one: of this task, or of every
    earlier task too when FACE_DUPLICATES_ACROSS_TASKS is on. (result pk, distance) of the closest, or None."""
    closest: tuple[int, float] | None = None
    bases = FaceCheck.objects.filter(position=0, embedding__isnull=False, result__task=task).exclude(result=result)
    for result_id, stored in bases.values_list("result_id", "embedding"):
        apart = face_model.distance(face, embedding(stored))
        if apart < settings.DUPLICATE_FACE_THRESHOLD and (closest is None or apart < closest[1]):
            closest = (result_id, apart)
    if settings.FACE_DUPLICATES_ACROSS_TASKS:
        earlier = existing(shared_index().nearest(face, before_task=task.pk, within=settings.DUPLICATE_FACE_THRESHOLD))
        if earlier and (closest is None or earlier[0].distance < closest[1]):
            closest = (earlier[0].result_id, earlier[0].distance)
    return closest


def worst(verdicts: list[str]) -> str | None:
    """A persona's worst verdict, or None when nothing was checked."""
    present = set(verdicts)
    return next((verdict for verdict in FaceCheck.SEVERITY if verdict in present), None)


def duplicate_pairs(task: GenerationTask) -> list[tuple[int, int, float]]:
    """Pairs of the task's personas whose bases show one face (closer than DUPLICATE_FACE_THRESHOLD): (earlier
    result pk, later result pk, distance). Two workers making bases at the same moment cannot see each other's, so
    the images stage looks once more when it ends."""
    bases = list(
        FaceCheck.objects.filter(result__task=task, position=0, embedding__isnull=False)
        .order_by("result_id")
        .values_list("result_id", "embedding")
    )
    if len(bases) < 2:
        return []
    pks = [pk for pk, _ in bases]
    faces = np.stack([embedding(stored) for _, stored in bases])
    apart = np.linalg.norm(faces[:, None, :] - faces[None, :, :], axis=2)
    return [
        (pks[i], pks[j], float(apart[i, j]))
        for i in range(len(pks))
        for j in range(i + 1, len(pks))
        if apart[i, j] < settings.DUPLICATE_FACE_THRESHOLD
    ]
