"""Every stored base face, as one float32 matrix in memory, for the search across tasks: which earlier task's
persona has this face? Brute force over the matrix is what this size needs: 100,000 faces take 51 MB per process
(128 float32 numbers each) and a query is one vectorised distance computation (bench/faces.py measures it). The
matrix is read once per process and then topped up with the base checks written or changed since."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.utils import timezone

from generation.models import FaceCheck, GenerationResult

DIMENSIONS = 128
CATCH_UP = timedelta(minutes=1)
# The admin page and the command look at this many of the newest personas by default: each is one query over the
# matrix, so that the whole list is a second or two at 100,000 stored faces.
RECENT = 500


@dataclass(frozen=True)
class Match:
    result_id: int
    task_pk: int
    distance: float


class FaceIndex:
    def __init__(self) -> None:
        self.rows: dict[int, int] = {}  # result pk -> row of the matrix
        self.results = np.empty(0, dtype=np.int64)
        self.tasks = np.empty(0, dtype=np.int64)
        self.matrix = np.empty((0, DIMENSIONS), dtype=np.float32)
        self._squares: np.ndarray | None = None  # each row's squared length, for one matrix-vector product a query
        self.read_until = None

    def refresh(self) -> FaceIndex:
        """Read the base checks written or changed since the last read (all of them the first time)."""
        # Read a minute back each time: a check saved just before the last read but committed after it (or on a
        # machine whose clock is a little behind) is read on the next one. Reading a row twice changes nothing.
        now = timezone.now() - CATCH_UP
        checks = FaceCheck.objects.filter(position=0, embedding__isnull=False)
        if self.read_until is not None:
            checks = checks.filter(updated_at__gte=self.read_until)
        fresh = list(checks.values_list("result_id", "result__task_id", "embedding"))
        self.read_until = now
        new = [(r, t, e) for r, t, e in fresh if r not in self.rows]
        self._squares = None
        for result_id, task_pk, stored in fresh:
            if result_id in self.rows:
                self.matrix[self.rows[result_id]] = np.frombuffer(bytes(stored), dtype=np.float32)
                self.tasks[self.rows[result_id]] = task_pk
        if new:
            start = len(self.results)
            self.results = np.concatenate([self.results, np.array([r for r, _, _ in new], dtype=np.int64)])
            self.tasks = np.concatenate([self.tasks, np.array([t for _, t, _ in new], dtype=np.int64)])
            faces = np.stack([np.frombuffer(bytes(e), dtype=np.float32) for _, _, e in new])
            self.matrix = np.concatenate([self.matrix, faces])
            self.rows.update({r: start + n for n, (r, _, _) in enumerate(new)})
        return self

    def nearest(self, face: np.ndarray, *, before_task: int, within: float) -> list[Match]:
        """The bases of tasks earlier than `before_task` closer than `within` to `face`, closest first."""
        if not len(self.results):
            return []
        if self._squares is None or len(self._squares) != len(self.matrix):
            self._squares = np.einsum("ij,ij->i", self.matrix, self.matrix)
        query = face.astype(np.float32)
        # |x - q|² = |x|² + |q|² - 2 x·q: one matrix-vector product instead of a difference matrix per query.
        apart = np.sqrt(np.maximum(self._squares + query @ query - 2 * (self.matrix @ query), 0))
        hits = np.flatnonzero((apart < within) & (self.tasks < before_task))
        order = hits[np.argsort(apart[hits])]
        return [Match(int(self.results[i]), int(self.tasks[i]), float(apart[i])) for i in order]


def existing(matches: list[Match], owner=None) -> list[Match]:
    """The matches whose persona still exists (a deleted one stays in a process's matrix until it restarts), and is
    of `owner`'s tasks when given."""
    if not matches:
        return []
    alive = GenerationResult.objects.filter(pk__in=[m.result_id for m in matches])
    if owner is not None:
        alive = alive.filter(task__user=owner)
    kept = set(alive.values_list("pk", flat=True))
    return [match for match in matches if match.result_id in kept]


_index: FaceIndex | None = None


def shared_index() -> FaceIndex:
    """This process's index, topped up before each use."""
    global _index
    _index = (_index or FaceIndex()).refresh()
    return _index


def faces_seen_before(results, owner=None) -> list[tuple[GenerationResult, Match]]:
    """Personas (of `results`) whose base face matches a persona of an earlier task, with the closest match that
    still exists; with `owner`, only matches of that user's own tasks (another user's face is not theirs to learn
    of)."""
    index = shared_index()
    candidates = []
    for result in results.select_related("task"):
        row = index.rows.get(result.pk)
        if row is None:
            continue
        face = index.matrix[row]
        matches = index.nearest(face, before_task=result.task_id, within=settings.DUPLICATE_FACE_THRESHOLD)
        if matches:
            candidates.append((result, matches))
    found_matches = [match for _, matches in candidates for match in matches]
    alive = {match.result_id for match in existing(found_matches, owner)}
    found = []
    for result, matches in candidates:
        live = [match for match in matches if match.result_id in alive]
        if live:
            found.append((result, live[0]))
    return found


def newest_personas(count: int = RECENT, owner=None):
    """The newest personas that have a base check (of `owner`'s tasks, when given), for the pages and commands that
    list faces seen before."""
    checked = GenerationResult.objects.filter(face_checks__position=0)
    if owner is not None:
        checked = checked.filter(task__user=owner)
    newest = checked.order_by("-pk").values_list("pk", flat=True)
    return GenerationResult.objects.filter(pk__in=list(newest[:count]))
