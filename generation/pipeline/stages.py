"""The task's stages: planning, running one unit, moving to the next stage exactly once, ending.
Every step locks the task row before it changes the task's state, so whichever worker finishes the
last unit of a stage moves the task on, and only once."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from generation.backends import FatalBackendError, RefusedError
from generation.models import GenerationResult, GenerationTask, PipelineUnit
from generation.pipeline import units
from generation.pipeline.images import run_images
from generation.pipeline.personas import run_batch

log = logging.getLogger("generation.pipeline")
Status = GenerationTask.Status
State = PipelineUnit.State
Kind = PipelineUnit.Kind
RUNNING_STATUSES = (Status.GENERATING_DATA, Status.GENERATING_IMAGES)


def locked_task(task_pk: int) -> GenerationTask | None:
    return GenerationTask.objects.select_for_update().filter(pk=task_pk).first()


def batch_sizes(total: int, per_batch: int) -> list[int]:
    return [min(per_batch, total - start) for start in range(0, total, per_batch)]


def start_task(task_pk: int) -> None:
    """Plan the batches and start the data stage. Running it again changes nothing."""
    with transaction.atomic():
        task = locked_task(task_pk)
        if task is None or task.status != Status.PENDING:
            return
        sizes = batch_sizes(task.number_to_generate, settings.PERSONAS_PER_BATCH)
        PipelineUnit.objects.bulk_create(
            [PipelineUnit(task=task, kind=Kind.BATCH, number=n, size=size) for n, size in enumerate(sizes, 1)],
            ignore_conflicts=True,
        )
        task.update_status(Status.GENERATING_DATA)
        units.dispatch(task)
    log.info("task %s: planned %s batch(es) for %s personas", task.task_id, len(sizes), task.number_to_generate)


def run_unit(unit_id: int) -> None:
    """Run one unit to an end: done, handed back for another try, or failed for good."""
    unit = units.claim(unit_id)
    if unit is None:
        log.info("unit %s: already taken or finished, nothing to do", unit_id)
        return
    task = unit.task
    if task.status not in RUNNING_STATUSES:
        units.finish(unit, State.FAILED, f"not run: the task is {task.status}")
        return
    if unit.attempts > settings.UNIT_MAX_ATTEMPTS:
        reason = f"gave up after {settings.UNIT_MAX_ATTEMPTS} tries; last: {last_problem(unit)}"
        units.finish(unit, State.FAILED, reason)
        units.log_unit(unit, "gave up", level=logging.WARNING)
        advance_task(task.pk)
        return
    units.log_unit(unit, "started")
    try:
        note = run_batch(unit) if unit.kind == Kind.BATCH else run_images(unit)
    except FatalBackendError as error:
        units.finish(unit, State.FAILED, str(error))
        units.log_unit(unit, "fatal: %s", error, level=logging.ERROR)
        fail_task(task.pk, str(error))
        return
    except RefusedError as error:
        units.finish(unit, State.FAILED, str(error))
        units.log_unit(unit, "refused: %s", error, level=logging.WARNING)
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"[:1000]
        if unit.attempts >= settings.UNIT_MAX_ATTEMPTS:
            units.finish(unit, State.FAILED, f"failed {unit.attempts} times; last: {reason}")
            units.log_unit(unit, "failed for good: %s", reason, level=logging.ERROR)
        else:
            units.log_unit(unit, "failed, will try again: %s", reason, level=logging.WARNING)
            time.sleep(min(settings.UNIT_RETRY_DELAY * unit.attempts, 30))
            units.when_database_answers(units.release, unit, reason)
    else:
        units.when_database_answers(units.finish, unit, State.DONE, note)
        units.log_unit(unit, "done%s", f" ({note})" if note else "")
    units.when_database_answers(advance_task, task.pk)


def last_problem(unit: PipelineUnit) -> str:
    return unit.note or "the worker stopped mid-run (killed, or out of time)"


def advance_task(task_pk: int) -> None:
    """After a unit ends: queue more units, or move the task to its next stage (exactly once)."""
    with transaction.atomic():
        task = locked_task(task_pk)
        if task is None or task.status not in RUNNING_STATUSES:
            return
        stage_kind = Kind.BATCH if task.status == Status.GENERATING_DATA else Kind.IMAGES
        if task.units.filter(kind=stage_kind, state__in=PipelineUnit.OPEN_STATES).exists():
            task.save(update_fields=["updated_at"])  # progress: the stall sweep watches this
            units.dispatch(task)
            return
        if stage_kind == Kind.BATCH:
            start_images_stage(task)
        else:
            end_task(task)


def start_images_stage(task: GenerationTask) -> None:
    result_ids = list(task.results.values_list("id", flat=True))
    if not result_ids:
        task.mark_completed(False, "No usable persona came out.\n" + task_notes(task))
        log.warning("task %s: failed, no usable persona", task.task_id)
        return
    plan_images_units(task, result_ids)
    task.update_status(Status.GENERATING_IMAGES)
    units.dispatch(task)
    log.info("task %s: %s persona(s) saved, images stage started", task.task_id, len(result_ids))


def plan_images_units(task: GenerationTask, result_ids: list[int]) -> None:
    PipelineUnit.objects.bulk_create(
        [PipelineUnit(task=task, kind=Kind.IMAGES, number=rid, result_id=rid) for rid in result_ids],
        ignore_conflicts=True,
    )


def end_task(task: GenerationTask) -> None:
    done = task.results.filter(images__isnull=False).count()
    notes = task_notes(task)
    if done == 0:
        task.mark_completed(False, ("No persona got its images.\n" + notes).strip())
        log.warning("task %s: failed, no persona got its images", task.task_id)
    else:
        task.mark_completed(True, notes or None)
        log.info("task %s: completed, %s persona(s) with images", task.task_id, done)


def task_notes(task: GenerationTask) -> str:
    """What went wrong, one line per batch that fell short or persona whose images failed."""
    lines = []
    for unit in task.units.exclude(note="").filter(Q(kind=Kind.BATCH) | Q(state=State.FAILED)).select_related("result"):
        if unit.kind == Kind.IMAGES and unit.result:
            who = f"{unit.result.firstname} {unit.result.lastname} (result {unit.result_id})"
            lines.append(f"images of {who} failed: {unit.note}")
        elif unit.kind == Kind.BATCH:
            lines.append(unit.note if unit.note.startswith("batch") else f"batch {unit.number} failed: {unit.note}")
    return "\n".join(lines)


def fail_task(task_pk: int, message: str) -> None:
    """Stop the task at once (a fatal API error, or a cancel): its waiting units are not run."""
    with transaction.atomic():
        task = locked_task(task_pk)
        if task is None or task.is_finished:
            return
        task.units.filter(state__in=[State.PENDING, State.QUEUED]).update(
            state=State.FAILED, note="not run: the task was stopped", updated_at=timezone.now()
        )
        task.mark_completed(False, message)
    log.error("task %s: stopped: %s", task.task_id, message)


def resume_stalled(task: GenerationTask) -> int:
    """Put back the units of a task that stopped making progress and queue them again."""
    with transaction.atomic():
        task = locked_task(task.pk)
        if task is None or task.status not in RUNNING_STATUSES:
            return 0
        reopened = units.reopen_stuck(task, timedelta(minutes=settings.STALL_MINUTES))
        task.save(update_fields=["updated_at"])
        units.dispatch(task)
        # A worker that finished the stage's last unit may have died before moving the task on
        # (the unit's end and the advance are two transactions): with nothing open, advance now.
        advance_task(task.pk)
    if reopened:
        log.warning("task %s: stalled, %s unit(s) queued again", task.task_id, reopened)
    return reopened


def run_inline(task: GenerationTask) -> None:
    """Run the whole pipeline in this process, with no worker (manage.py generate --sync)."""
    token = units.inline.set(True)
    try:
        start_task(task.pk)
        while True:
            waiting = list(
                task.units.filter(state__in=[State.PENDING, State.QUEUED]).order_by("id").values_list("id", flat=True)
            )
            if not waiting:
                break
            for unit_id in waiting:
                run_unit(unit_id)
    finally:
        units.inline.reset(token)


def results_missing_images(task: GenerationTask) -> list[int]:
    expected = task.images_per_persona
    return [
        pk
        for pk, images in GenerationResult.objects.filter(task=task).values_list("pk", "images")
        if not isinstance(images, list) or len(images) != expected
    ]
