"""How a unit's try ends: done, again later, failed, or stopping its task (a fatal error, a budget reached); and
the files a finished unit no longer needs."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from generation.costs import usage
from generation.integrations import storage
from generation.integrations.provenance import records
from generation.models import FaceCheck, GenerationResult, GenerationTask, PipelineUnit
from generation.pipeline.lifecycle.common import RUNNING_STATUSES, Kind, State, log_unit, when_database_answers
from generation.pipeline.lifecycle.leases import _held
from generation.pipeline.lifecycle.tasks import advance, fail


def _end_unit(unit: PipelineUnit, state: str, note: str, *, error_code: str = "", images: list[str] | None = None,
              base_url: str | None = None) -> bool:  # fmt: skip
    """Write a unit's outcome, fenced on its lease; with `images` (and `base_url`), the persona's image URLs in the
    same transaction. False, and nothing written, when the lease is no longer this worker's."""
    now = timezone.now()
    ended = state in (State.DONE, State.FAILED)
    with transaction.atomic():
        written = _held(unit).update(
            state=state,
            note=note,
            error_code=error_code,
            lease_until=None,
            ended_at=now if ended else None,
            updated_at=now,
        )
        if written and images is not None:
            urls = {"images": images} | ({"base_image_url": base_url} if base_url else {})
            GenerationResult.objects.filter(pk=unit.result_id).update(**urls)
            made = 1 if unit.kind == Kind.ONE_PHOTO_AGAIN else len(images)
            usage.add(unit.task.user_id, personas=1 if unit.kind == Kind.PERSONA_IMAGES else 0, images=made)
    if not written:
        log_unit(unit, "lease lost before its outcome (%s) was written; the next holder's stands", state,
                 level=logging.WARNING)  # fmt: skip
        return False
    unit.state, unit.note, unit.error_code = state, note, error_code
    return True


def complete_unit(unit: PipelineUnit, note: str = "", *, images: list[str] | None = None,
                  base_url: str | None = None) -> None:  # fmt: skip
    if when_database_answers(lambda: _end_unit(unit, State.DONE, note, images=images, base_url=base_url)):
        log_unit(unit, "done%s", f" ({note})" if note else "")
        if unit.kind in (Kind.ALL_PHOTOS_AGAIN, Kind.ONE_PHOTO_AGAIN):
            prune(unit)
    when_database_answers(advance, unit.task.pk)


def prune(unit: PipelineUnit) -> None:
    """After a redo unit ended: delete the persona's files and checks its row no longer points to (the ones the new
    files replaced, or those a failed redo left). A storage error is logged; the next redo or delete prunes again."""
    result = GenerationResult.objects.filter(pk=unit.result_id).first()
    if result is None:
        return
    urls = {url for url in [result.base_image_url, *(result.images or [])] if url}
    FaceCheck.objects.filter(result=result).exclude(image_url__in=urls).delete()
    keys = storage.keys_of(result)
    records.forget_all_but(result.pk, keys)
    try:
        pruned = storage.prune_result(unit.task.task_code, result.pk, keys)
    except Exception as error:  # the outcome is written; the files wait for the next prune
        log_unit(unit, "could not delete replaced files: %s", error, level=logging.WARNING)
        return
    log_unit(unit, "deleted %s replaced file(s)", pruned)


def retry_unit_later(unit: PipelineUnit, reason: str) -> None:
    """Hand the unit back to be tried again (the attempt stays counted); a unit of a task stopped meanwhile ends."""
    stopped = GenerationTask.objects.filter(pk=unit.task.pk, status__in=GenerationTask.FINISHED_STATUSES).exists()
    if stopped:
        when_database_answers(_end_unit, unit, State.FAILED, f"not run again: the task was stopped; last: {reason}")
    else:
        when_database_answers(_end_unit, unit, State.PENDING, reason)
    when_database_answers(advance, unit.task.pk)


def fail_unit(unit: PipelineUnit, reason: str, *, error_code: str = "") -> None:
    """This unit failed for good; the task goes on with the others, unless the same rejection keeps coming."""
    ended = when_database_answers(lambda: _end_unit(unit, State.FAILED, reason, error_code=error_code))
    if ended and unit.kind in (Kind.ALL_PHOTOS_AGAIN, Kind.ONE_PHOTO_AGAIN):
        prune(unit)
    if ended and error_code:
        repeated = _same_rejection_in_a_row(unit.task, error_code)
        if repeated:
            fail(unit.task.pk, (
                f"Stopped: the API rejected {repeated} units in a row with the same error ({error_code}): {reason} "
                "This is most likely a setting (OPENAI_IMAGE_MODEL, OPENAI_IMAGE_SIZE, OPENAI_IMAGE_QUALITY, "
                "OPENAI_OUTPUT_FORMAT, OPENAI_TEXT_MODEL) or the description itself, not one persona."
            ))  # fmt: skip
            return
    when_database_answers(advance, unit.task.pk)


def _same_rejection_in_a_row(task: GenerationTask, error_code: str) -> int:
    """How many units in a row ended rejected with this code, if that reached STOP_AFTER_SAME_REJECTION; else 0."""
    limit = settings.STOP_AFTER_SAME_REJECTION
    if limit <= 0:
        return 0
    ended = task.units.filter(ended_at__isnull=False).order_by("-ended_at", "-id")
    recent = list(ended.values_list("state", "error_code")[:limit])
    if len(recent) == limit and all(row == (State.FAILED, error_code) for row in recent):
        return limit
    return 0


def stop_for_fatal(unit: PipelineUnit, message: str) -> None:
    """An error that every further call would meet (a rejected key, no quota): this unit fails and the task stops."""
    when_database_answers(_end_unit, unit, State.FAILED, message)
    fail(unit.task.pk, message)


def stop_for_budget(unit: PipelineUnit, message: str) -> None:
    """A cap is reached: this unit and the waiting ones are not run; the task ends completed with what it has, or
    failed when no persona got its images."""
    when_database_answers(_end_unit, unit, State.FAILED, message)
    fail(unit.task.pk, message, keep_what_it_has=True)


def may_run(unit: PipelineUnit) -> bool:
    """After a claim: False (and the unit ended) when the task has stopped or the unit used up its tries."""
    if unit.task.status not in RUNNING_STATUSES:
        _end_unit(unit, State.FAILED, f"not run: the task is {unit.task.status}")
        return False
    if unit.attempts > unit.attempt_limit:
        last = unit.note or "the worker stopped mid-run (killed, or out of time)"
        _end_unit(unit, State.FAILED, f"gave up after {unit.attempt_limit} tries; last: {last}")
        log_unit(unit, "gave up", level=logging.WARNING)
        when_database_answers(advance, unit.task.pk)
        return False
    return True


def out_of_tries(unit: PipelineUnit) -> bool:
    return unit.attempts >= unit.attempt_limit
