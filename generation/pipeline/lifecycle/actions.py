"""Operator actions: retrying a task, making a persona's photo, bios or base again, generating what a task came
out short of, and deleting a persona or a task."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from accounts.models import User
from generation.integrations import storage
from generation.models import GenerationResult, GenerationTask, PipelineUnit
from generation.pipeline.lifecycle.common import RUNNING_STATUSES, Kind, State, Status, _locked_task, log
from generation.pipeline.lifecycle.queue import START_JOB, _dispatch, _send
from generation.pipeline.lifecycle.sweep import _resend_lost, is_stalled
from generation.pipeline.lifecycle.tasks import _batch_sizes, _open_run, _plan


def retry(task: GenerationTask, *, by: User | None = None) -> int:
    """Resume a failed, stalled or partly failed task from what is saved: only units that did not finish run again,
    so paid calls that succeeded are not repeated. Each reopened unit gets UNIT_MAX_ATTEMPTS more tries. Units a
    live worker still holds are left to it. Returns how many units were put back in line."""
    with transaction.atomic():
        task = _locked_task(task.pk)
        if task.status == Status.PENDING:
            _send(START_JOB, task.pk, name=f"{task.task_code}-start", group=task.task_code)
            return 0
        if task.status in RUNNING_STATUSES and not is_stalled(task):
            raise ValidationError(
                f"Task {task.task_code} is still running; it can be retried once it has failed or made no progress "
                f"for {settings.STALL_MINUTES} minutes."
            )
        now = timezone.now()
        expired = _reopen(task.units.filter(state=State.RUNNING, lease_until__lt=now), now)
        _resend_lost(task.units.all(), now)
        task.units.filter(state=State.QUEUED).update(attempt_limit=F("attempts") + settings.UNIT_MAX_ATTEMPTS)
        short_batches = [
            unit.pk
            for unit in task.units.filter(kind=Kind.BATCH, state=State.DONE).exclude(note="")
            if task.results.filter(batch_number=unit.number).count() < unit.size
        ]
        reopened = expired + _reopen(task.units.filter(Q(state=State.FAILED) | Q(pk__in=short_batches)), now)
        if task.units.filter(kind__in=PipelineUnit.DATA_KINDS, state=State.PENDING).exists():
            stage = Status.GENERATING_DATA
        else:
            missing = results_missing_images(task)
            _plan(task, Kind.PERSONA_IMAGES, [(pk, 0, pk) for pk in missing])
            reopened += _reopen(
                task.units.filter(kind=Kind.PERSONA_IMAGES, result_id__in=missing, state=State.DONE), now
            )
            stage = Status.GENERATING_IMAGES
        if not task.units.filter(state__in=PipelineUnit.OPEN_STATES).exists():
            raise ValidationError(f"Task {task.task_code} has nothing left to retry.")
        who = f" by {by.email}" if by else ""
        # The earlier failure stays readable, marked as past, so a task that now completes does not show it as
        # its current state.
        earlier = f" The run before said:\n{task.error_log}" if task.error_log else ""
        task.error_log = f"Retried{who} at {now:%Y-%m-%d %H:%M} UTC.{earlier}"
        task.completed_at = None
        task.save(update_fields=["completed_at", "error_log", "updated_at"])
        task.update_status(stage)
        _open_run(task)
        _dispatch(task)
    log.info("task %s: retried%s, %s unit(s) queued again", task.task_code, who, reopened)
    return reopened


def _reopen(units, now) -> int:
    """Back to pending with UNIT_MAX_ATTEMPTS more tries (an operator's retry)."""
    return units.update(
        state=State.PENDING,
        attempt_limit=F("attempts") + settings.UNIT_MAX_ATTEMPTS,
        note="",
        error_code="",
        lease_until=None,
        ended_at=None,
        updated_at=now,
    )


def results_missing_images(task: GenerationTask) -> list[int]:
    expected = task.images_per_persona
    return [
        pk
        for pk, images in GenerationResult.objects.filter(task=task).values_list("pk", "images")
        if not isinstance(images, list) or len(images) != expected
    ]


# --- Operator actions on a persona, or a task that came out short ----------------------------------------------

ACTION_STAGES = {Kind.ALL_PHOTOS_AGAIN: Status.GENERATING_IMAGES, Kind.ONE_PHOTO_AGAIN: Status.GENERATING_IMAGES,
                 Kind.BIOS: Status.GENERATING_DATA}  # fmt: skip


def _may_take_action(task: GenerationTask, stage: str) -> None:
    """An action runs on a task that has ended, or joins one running in the action's own stage."""
    if task.status == Status.PENDING or (task.status in RUNNING_STATUSES and task.status != stage):
        raise ValidationError(
            f"Task {task.task_code} is {task.get_status_display().lower()}; try again once it has ended."
        )


def _run_again(task: GenerationTask, stage: str) -> None:
    """The task runs again in `stage`: its status moves there and it counts as not ended."""
    if task.status != stage:
        # Its notes are written anew from every unit when it ends again.
        task.completed_at, task.error_log = None, None
        task.save(update_fields=["completed_at", "error_log", "updated_at"])
        task.update_status(stage)
        _open_run(task)
    _dispatch(task)


def request_redo(result: GenerationResult, kind: str, *, position: int | None = None) -> PipelineUnit:
    """Queue new photos, one new photo (`position`) or new bios of a persona, as a unit. Asking again while the
    same request waits or runs returns that unit: it runs once."""
    stage = ACTION_STAGES[kind]
    with transaction.atomic():
        task = _locked_task(result.task_id)
        _may_take_action(task, stage)
        if kind == Kind.ONE_PHOTO_AGAIN and not 1 <= (position or 0) <= len(result.images or []):
            raise ValidationError(f"{result.full_name} has no image {position}.")
        same = task.units.filter(kind=kind, result=result, target=position, state__in=PipelineUnit.OPEN_STATES)
        unit = same.first()
        kinds = PipelineUnit.IMAGE_KINDS if kind in PipelineUnit.IMAGE_KINDS else (kind,)
        if unit is None and task.units.filter(kind__in=kinds, result=result, state__in=PipelineUnit.OPEN_STATES):
            # Two image units of one persona would each write back the list they read, and prune the other's files.
            raise ValidationError(f"New photos of {result.full_name} are being made; try again once they are done.")
        if kind == Kind.ONE_PHOTO_AGAIN and not (
            storage.is_stored_image(result.base_image_url) and storage.is_stored_image(result.images[position - 1])
        ):
            raise ValidationError(f"{result.full_name} has no stored base or photo {position} to make it from.")
        if unit is None:
            number = (task.units.filter(kind=kind).aggregate(top=Max("number"))["top"] or 0) + 1
            unit = PipelineUnit.objects.create(task=task, kind=kind, number=number, result=result, target=position)
        _run_again(task, stage)
    log.info("task %s: %s asked for %s", task.task_code, unit.get_kind_display().lower(), result.full_name)
    return unit


def generate_missing(task: GenerationTask) -> int:
    """A task that ended short makes what is missing: the personas it never got, in new batches, and the photos of
    personas left without them. Returns how many personas it works on (0 when nothing was missing)."""
    with transaction.atomic():
        task = _locked_task(task.pk)
        missing = task.number_to_generate - task.results.count()
        without_images = results_missing_images(task)
        stage = Status.GENERATING_DATA if missing > 0 else Status.GENERATING_IMAGES
        _may_take_action(task, stage)
        if missing <= 0 and not without_images:
            return 0
        if task.units.filter(kind=Kind.BATCH, state__in=PipelineUnit.OPEN_STATES).exists():
            return 0
        if missing > 0:
            first = (task.units.filter(kind=Kind.BATCH).aggregate(top=Max("number"))["top"] or 0) + 1
            sizes = _batch_sizes(missing, settings.PERSONAS_PER_BATCH)
            _plan(task, Kind.BATCH, [(number, size, None) for number, size in enumerate(sizes, first)])
        if without_images:
            _plan(task, Kind.PERSONA_IMAGES, [(pk, 0, pk) for pk in without_images])
            ended = task.units.filter(
                kind=Kind.PERSONA_IMAGES, result_id__in=without_images, state__in=[State.DONE, State.FAILED]
            )
            _reopen(ended, timezone.now())
        _run_again(task, stage)
    log.info(
        "task %s: making %s missing persona(s), photos for %s", task.task_code, max(missing, 0), len(without_images)
    )
    return max(missing, 0) + len(without_images)


def delete_persona(result: GenerationResult) -> int:
    """Delete one persona with its files (its units and checks go with it). Returns how many files were removed."""
    with transaction.atomic():
        task = _locked_task(result.task_id)
        if task.status in RUNNING_STATUSES or task.status == Status.PENDING:
            raise ValidationError(f"Task {task.task_code} is still running; delete personas once it has ended.")
        GenerationResult.objects.filter(pk=result.pk).delete()
        task.save(update_fields=["updated_at"])
    removed = storage.delete_tree(storage.result_prefix(task.task_code, result.pk))
    log.info("task %s: persona %s deleted with %s file(s)", task.task_code, result.pk, removed)
    return removed


def delete_task(task: GenerationTask) -> int:
    """Delete a task with its personas, their files and its prepared ZIPs. Refused while it runs, and while a worker
    still finishes a call for it (a cancelled task's running units end their current call): they would write files
    and rows for a task that is gone. A task not started yet may go: its start job then finds nothing to start.
    Returns how many persona files were removed."""
    with transaction.atomic():
        locked = _locked_task(task.pk)
        if locked is None:
            return 0
        if locked.status in RUNNING_STATUSES:
            raise ValidationError(
                f"Task {locked.task_code} is still running; cancel it, or delete it once it has ended."
            )
        if locked.units.filter(state=State.RUNNING, lease_until__gt=timezone.now()).exists():
            raise ValidationError(
                f"Task {locked.task_code} has stopped, but a worker is still finishing its current call; "
                "delete it in a minute."
            )
        removed = storage.delete_task_files(locked.task_code)
        task.delete()
    log.info("task %s: deleted with %s file(s)", locked.task_code, removed)
    return removed
