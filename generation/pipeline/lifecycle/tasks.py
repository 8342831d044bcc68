"""A task's own states: submitting and starting it, moving it from stage to stage, ending it (completed, failed,
cancelled), and its runs."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from generation.costs import usage
from generation.faces import checks as face_checks
from generation.models import GenerationTask, PipelineUnit, TaskBudget, TaskRequest, TaskRun
from generation.pipeline.lifecycle.common import RUNNING_STATUSES, Kind, State, Status, _locked_task, log
from generation.pipeline.lifecycle.queue import START_JOB, _dispatch, _send, inline
from siteconfig.defaults import DEFAULT_INT_CONFIG, MAX_CONCURRENT_TASKS
from siteconfig.models import IntConfig

# --- Submitting and starting a task ---------------------------------------------------------------------------


def submit(*, user: User, values: dict, cap_usd: Decimal | None, estimate_usd: Decimal) -> GenerationTask:
    """Create a pending task (values and caps already checked) with its cap (None: no cap) and estimate, and queue
    its start once the rows are committed."""
    values = dict(values)
    people = values.pop("people")
    with transaction.atomic():
        task = GenerationTask.objects.create(user=user, **values)
        TaskRequest.objects.create(task=task, **people)
        TaskBudget.objects.create(task=task, cap_usd=cap_usd, estimate_usd=estimate_usd)
        usage.add(user.pk, tasks=1)
        _send(START_JOB, task.pk, name=f"{task.task_code}-start", group=task.task_code)
    return task


def _batch_sizes(total: int, per_batch: int) -> list[int]:
    return [min(per_batch, total - start) for start in range(0, total, per_batch)]


def running_and_cap() -> tuple[int, int]:
    """How many tasks generate now, and how many may (int_config's max_concurrent_tasks)."""
    running = GenerationTask.objects.filter(status__in=RUNNING_STATUSES).count()
    return running, IntConfig.get_value(MAX_CONCURRENT_TASKS)


def start(task_pk: int) -> bool:
    """Start pending tasks while fewer than max_concurrent_tasks generate, the oldest first: a start job starts the
    task that has waited longest, whichever it was sent for, so tasks start in the order they were submitted. The
    others wait as Pending until a running one ends. Returns whether `task_pk` started; running it again changes
    nothing. Under `generate --sync` its one task starts at once: that process runs it, and would run no other."""
    if inline.get():
        return _start_one(task_pk)
    with transaction.atomic():
        _lock_the_cap()
        running, cap = running_and_cap()
        waiting = GenerationTask.objects.filter(status=Status.PENDING).order_by("id").values_list("pk", flat=True)
        started = [pk for pk in waiting[: max(0, cap - running)] if _start_one(pk)]
    if task_pk not in started:
        log.info("task %s: waiting, %s of %s task(s) running", task_pk, running + len(started), cap)
    return task_pk in started


def _lock_the_cap() -> None:
    """Starts take turns, whichever cluster runs them, so that two never both see the last free place."""
    row, _ = IntConfig.objects.get_or_create(
        key=MAX_CONCURRENT_TASKS, defaults={"value": DEFAULT_INT_CONFIG[MAX_CONCURRENT_TASKS]}
    )
    IntConfig.objects.select_for_update().filter(pk=row.pk).first()


def _start_one(task_pk: int) -> bool:
    """Plan the batches and start the data stage of one pending task."""
    with transaction.atomic():
        task = _locked_task(task_pk)
        if task is None or task.status != Status.PENDING:
            return False
        sizes = _batch_sizes(task.number_to_generate, settings.PERSONAS_PER_BATCH)
        _plan(task, Kind.BATCH, [(number, size, None) for number, size in enumerate(sizes, 1)])
        task.update_status(Status.GENERATING_DATA)
        _open_run(task)
        _dispatch(task)
    log.info("task %s: planned %s batch(es) for %s personas", task.task_code, len(sizes), task.number_to_generate)
    return True


def _start_next_waiting() -> None:
    """A task ended: the task that has waited longest may start now (its start job decides, under the cap)."""
    waiting = GenerationTask.objects.filter(status=Status.PENDING).order_by("id").values_list("pk", "task_code")
    first = waiting.first()
    if first:
        _send(START_JOB, first[0], name=f"{first[1]}-start", group=first[1])


def _plan(task: GenerationTask, kind: str, units: list[tuple[int, int, int | None]]) -> None:
    """Create units (number, size, result id) that do not exist yet; planning twice plans once."""
    PipelineUnit.objects.bulk_create(
        [
            PipelineUnit(task=task, kind=kind, number=number, size=size, result_id=result_id)
            for number, size, result_id in units
        ],
        ignore_conflicts=True,
    )


def advance(task_pk: int, *, progress: bool = True) -> None:
    """After a unit ends: queue more units, or move the task to its next stage, exactly once (under the task row
    lock, whichever worker ends the stage's last unit). `progress` marks the task as having moved on (what
    `is_stalled` watches); the sweep advances without it."""
    with transaction.atomic():
        task = _locked_task(task_pk)
        if task is None or task.status not in RUNNING_STATUSES:
            return
        data_stage = task.status == Status.GENERATING_DATA
        stage_kinds = PipelineUnit.DATA_KINDS if data_stage else PipelineUnit.IMAGE_KINDS
        if task.units.filter(kind__in=stage_kinds, state__in=PipelineUnit.OPEN_STATES).exists():
            if progress:
                task.save(update_fields=["updated_at"])
            _dispatch(task)
            return
        if data_stage:
            _start_images_stage(task)
        elif not _redo_duplicate_faces(task):
            _end(task)


def _start_images_stage(task: GenerationTask) -> None:
    result_ids = list(task.results.values_list("id", flat=True))
    if not result_ids:
        _finish(task, False, "No usable persona came out.\n" + task_notes(task))
        log.warning("task %s: failed, no usable persona", task.task_code)
        return
    _plan(task, Kind.PERSONA_IMAGES, [(pk, 0, pk) for pk in result_ids])
    task.update_status(Status.GENERATING_IMAGES)
    if not task.units.filter(kind__in=PipelineUnit.IMAGE_KINDS, state__in=PipelineUnit.OPEN_STATES).exists():
        # Every persona has its images already (new bios of a persona of a finished task): nothing to wait for.
        _end(task)
        return
    _dispatch(task)
    log.info("task %s: %s persona(s) saved, images stage started", task.task_code, len(result_ids))


def _redo_duplicate_faces(task: GenerationTask) -> int:
    """At the end of the images stage: the later persona of each pair whose bases show one face gets new photos,
    once (a persona already given new photos for this is left as it is). Returns how many were queued."""
    if not face_checks.enabled():
        return 0
    queued = 0
    for _, later, distance in face_checks.duplicate_pairs(task):
        redone = task.units.filter(kind=Kind.ALL_PHOTOS_AGAIN, result_id=later).exists()
        busy = task.units.filter(kind__in=PipelineUnit.IMAGE_KINDS, result_id=later, state__in=PipelineUnit.OPEN_STATES)
        if redone or busy.exists():
            continue
        number = (task.units.filter(kind=Kind.ALL_PHOTOS_AGAIN).aggregate(top=Max("number"))["top"] or 0) + 1
        PipelineUnit.objects.create(task=task, kind=Kind.ALL_PHOTOS_AGAIN, number=number, result_id=later,
                                    note=f"its base showed another persona's face ({distance:.2f} apart)")  # fmt: skip
        queued += 1
    if queued:
        _dispatch(task)
        log.warning("task %s: %s persona(s) shared a face; new photos queued", task.task_code, queued)
    return queued


def _end(task: GenerationTask) -> None:
    done = task.results.filter(images__isnull=False).count()
    notes = task_notes(task)
    if done == 0:
        _finish(task, False, ("No persona got its images.\n" + notes).strip())
        log.warning("task %s: failed, no persona got its images", task.task_code)
    else:
        _finish(task, True, notes or None)
        log.info("task %s: completed, %s persona(s) with images", task.task_code, done)


def task_notes(task: GenerationTask) -> str:
    """What went wrong or was mended: one line per batch that fell short, persona whose images failed, or persona
    whose photos the face checks replaced."""
    lines = []
    units = task.units.exclude(note="").filter(state__in=[State.DONE, State.FAILED]).select_related("result")
    for unit in units:
        if unit.kind != Kind.BATCH and unit.result:
            who = f"{unit.result.firstname} {unit.result.lastname} (result {unit.result_id})"
            done = (
                "failed"
                if unit.state == State.FAILED
                else ("face checks" if unit.kind == Kind.PERSONA_IMAGES else "done")
            )
            lines.append(f"{unit.get_kind_display().lower()} of {who} {done}: {unit.note}")
        elif unit.kind == Kind.BATCH:
            lines.append(unit.note if unit.note.startswith("batch") else f"batch {unit.number} failed: {unit.note}")
    return "\n".join(lines)


def _finish(task: GenerationTask, success: bool, message: str | None) -> None:
    """End the task completed or failed. Its notes are written anew (None clears them), so a retry that ends clean
    leaves no earlier failure on show; its current run ends."""
    task.mark_completed(success, message)
    if not message and task.error_log:
        task.error_log = None
        task.save(update_fields=["error_log", "updated_at"])
    _close_run(task)


def _open_run(task: GenerationTask) -> None:
    if not task.runs.filter(ended_at__isnull=True).exists():
        TaskRun.objects.create(task=task, started_at=timezone.now())


def _close_run(task: GenerationTask) -> None:
    task.runs.filter(ended_at__isnull=True).update(ended_at=task.completed_at or timezone.now())
    _start_next_waiting()


def fail(task_pk: int, message: str, *, status: str = Status.FAILED, keep_what_it_has: bool = False) -> None:
    """Stop the task at once (an error every call would meet, or a cancel): its waiting units are not run. Units
    running now finish their current call; their outcome no longer moves the task."""
    with transaction.atomic():
        task = _locked_task(task_pk)
        if task is None or task.is_finished:
            return
        task.units.filter(state__in=[State.PENDING, State.QUEUED]).update(
            state=State.FAILED, note="not run: the task was stopped", ended_at=timezone.now(), updated_at=timezone.now()
        )
        if keep_what_it_has and task.results.filter(images__isnull=False).exists():
            _finish(task, True, message)
            log.warning("task %s: stopped with what it has: %s", task.task_code, message)
            return
        task.mark_completed(False, message)
        if status != task.status:
            task.update_status(status)
        _close_run(task)
    log.error("task %s: stopped: %s", task.task_code, message)


def cancel(task: GenerationTask, *, by: User) -> None:
    """Stop scheduling the task's units; it ends `cancelled`, with who cancelled it. Finished personas stay."""
    if task.is_finished:
        raise ValidationError(f"Task {task.task_code} has already ended.")
    fail(task.pk, f"Cancelled by {by.email}.", status=Status.CANCELLED)
