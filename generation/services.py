"""Write paths for tasks: submit, retry, cancel, delete. Views, the admin and commands call these;
the pipeline itself lives in generation/pipeline/."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from generation import storage
from generation.models import GenerationTask, PipelineUnit
from generation.pipeline import stages, units

log = logging.getLogger("generation.pipeline")
Status = GenerationTask.Status
State = PipelineUnit.State
Kind = PipelineUnit.Kind
DESCRIPTION_MAX = 4000


def validate_request(
    *, persona_description: str, bio_language: str, number_to_generate: object, images_per_persona: object
) -> dict:
    """Clean the four inputs of a task, or raise a ValidationError naming each bad field."""
    errors: dict[str, str] = {}
    description = (persona_description or "").strip()
    language = (bio_language or "").strip()
    if not any(character.isalnum() for character in description):
        errors["persona_description"] = "Describe the personas to generate."
    elif len(description) > DESCRIPTION_MAX:
        errors["persona_description"] = f"Keep the description under {DESCRIPTION_MAX} characters."
    if not language:
        errors["bio_language"] = "Choose the language of the bios."
    elif len(language) > 100:
        errors["bio_language"] = "The language name is too long (100 characters at most)."
    maximum = settings.MAX_PERSONAS_PER_TASK
    try:
        count = int(number_to_generate)
    except (TypeError, ValueError):
        count = None
    if count is None or not 1 <= count <= maximum:
        errors["number_to_generate"] = f"Choose a number of personas from 1 to {maximum}."
    try:
        images = int(images_per_persona)
    except (TypeError, ValueError):
        images = None
    if images not in GenerationTask.ImagesPerPersona.values:
        errors["images_per_persona"] = "Choose 4 or 8 images per persona."
    if errors:
        raise ValidationError(errors)
    return {
        "persona_description": description,
        "bio_language": language,
        "number_to_generate": count,
        "images_per_persona": images,
    }


def enqueue_start(task: GenerationTask) -> None:
    units.enqueue_after_commit("generation.jobs.start_task", task.pk, name=f"{task.task_id}-start", group=task.task_id)


def submit_task(
    *,
    user: User,
    persona_description: str,
    bio_language: str,
    number_to_generate: int,
    images_per_persona: int,
) -> GenerationTask:
    """Create a pending task and queue its start once the row is committed."""
    values = validate_request(
        persona_description=persona_description,
        bio_language=bio_language,
        number_to_generate=number_to_generate,
        images_per_persona=images_per_persona,
    )
    if not user.is_active:
        raise ValidationError("This account is deactivated.")
    with transaction.atomic():
        task = GenerationTask.objects.create(user=user, **values)
        enqueue_start(task)
    log.info("task %s: submitted by %s (%s personas x %s images)", task.task_id, user.email, task.number_to_generate,
             task.images_per_persona)  # fmt: skip
    return task


def is_stalled(task: GenerationTask) -> bool:
    limit = timezone.now() - timedelta(minutes=settings.STALL_MINUTES)
    return task.status in stages.RUNNING_STATUSES and task.updated_at < limit


def retry_task(task: GenerationTask, *, by: User | None = None) -> int:
    """Resume a failed, stalled or partly failed task from what is saved: only units that did not
    finish run again, so paid API calls that succeeded are not repeated. Returns how many units
    were put back in line."""
    with transaction.atomic():
        task = stages.locked_task(task.pk)
        if task.status == Status.PENDING:
            enqueue_start(task)
            return 0
        if task.status in stages.RUNNING_STATUSES and not is_stalled(task):
            raise ValidationError(
                f"Task {task.task_id} is still running; it can be retried once it has failed or made no progress "
                f"for {settings.STALL_MINUTES} minutes."
            )
        now = timezone.now()
        short_batches = [
            unit.pk
            for unit in task.units.filter(kind=Kind.BATCH, state=State.DONE).exclude(note="")
            if task.results.filter(batch_number=unit.number).count() < unit.size
        ]
        reopened = task.units.filter(
            Q(state=State.FAILED) | Q(pk__in=short_batches) | Q(state__in=[State.QUEUED, State.RUNNING])
        ).update(state=State.PENDING, attempts=0, note="", lease_until=None, updated_at=now)
        if task.units.filter(kind=Kind.BATCH, state=State.PENDING).exists():
            stage = Status.GENERATING_DATA
        else:
            missing = stages.results_missing_images(task)
            stages.plan_images_units(task, missing)
            reopened += (
                task.units.filter(kind=Kind.IMAGES, result_id__in=missing)
                .exclude(state=State.PENDING)
                .update(state=State.PENDING, attempts=0, note="", lease_until=None, updated_at=now)
            )
            stage = Status.GENERATING_IMAGES
        if not task.units.filter(state=State.PENDING).exists():
            raise ValidationError(f"Task {task.task_id} has nothing left to retry.")
        who = f" by {by.email}" if by else ""
        # The earlier failure stays readable, marked as past, so a task that now completes does not
        # show it as its current state.
        earlier = f" The run before said:\n{task.error_log}" if task.error_log else ""
        task.error_log = f"Retried{who} at {now:%Y-%m-%d %H:%M} UTC.{earlier}"
        task.status, task.completed_at = stage, None
        task.save(update_fields=["status", "completed_at", "error_log", "updated_at"])
        units.dispatch(task)
    log.info("task %s: retried%s, %s unit(s) queued again", task.task_id, who, reopened)
    return reopened


def cancel_task(task: GenerationTask, *, by: User) -> None:
    """Stop scheduling the task's units; it ends failed with who cancelled it."""
    if task.is_finished:
        raise ValidationError(f"Task {task.task_id} has already ended.")
    stages.fail_task(task.pk, f"Cancelled by {by.email}.")


def delete_task(task: GenerationTask) -> int:
    """Delete the task, its results and their files. Returns how many files were removed."""
    removed = storage.delete_tree(f"avatars/{task.task_id}/")
    task.delete()
    log.info("task %s: deleted with %s file(s)", task.task_id, removed)
    return removed
