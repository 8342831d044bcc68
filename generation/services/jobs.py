"""The django-q2 jobs: thin entry points that hand over to the pipeline by primary key. Their dotted names are
written once, in `generation.pipeline.lifecycle.queue` (START_JOB, RUN_UNIT_JOB, SWEEP_JOB) and
`generation.services.export_builds` (BUILD_JOB, PRUNE_JOB)."""

from __future__ import annotations

from generation.pipeline import lifecycle, stages
from generation.services import export_builds


def start_task(task_pk: int) -> None:
    lifecycle.start(task_pk)


def run_unit(unit_pk: int) -> None:
    stages.run_unit(unit_pk)


def sweep() -> int:
    """Every 30 s: units of dead workers back to the queue, lost jobs sent again. Returns how many units or tasks
    it moved."""
    return lifecycle.sweep().total


def build_export(build_pk: int, token: str) -> None:
    export_builds.build(build_pk, token)


def prune_exports(task_code: str) -> int:
    return export_builds.prune_task_exports(task_code)
