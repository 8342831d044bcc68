"""Write paths for tasks: submit, retry, cancel, delete. Views, the admin and commands call these. Every status
change and unit move is made by `generation.pipeline.lifecycle`; these check what people send and hand over."""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from generation.costs import budgets as costs
from generation.faces import checks as face_checks
from generation.imaging.grids import position_in_grid
from generation.integrations import provenance, storage
from generation.models import ExportBuild, GenerationResult, GenerationTask, PipelineUnit, TaskSubmission
from generation.pipeline import lifecycle
from generation.services import export_builds
from generation.services.requests import validate_request
from siteconfig.defaults import MOST_USD

log = logging.getLogger("generation.pipeline")
Status = GenerationTask.Status


def submit_task(
    *,
    user: User,
    persona_description: str,
    bio_language: str,
    number_to_generate: int,
    images_per_persona: int,
    budget_usd: Decimal | float | str | None = None,
    submission_token: uuid.UUID | str | None = None,
    **people: object,
) -> GenerationTask:
    """Check the request and its cost against the caps, and hand it to the lifecycle, which creates the pending task
    and queues its start. `budget_usd`: the task's own cap, at most TASK_BUDGET_USD (default: that). Refused as
    well: an owner with MAX_OPEN_TASKS_PER_USER tasks waiting or running.
    `submission_token`, the form's: the task this user already submitted with it is returned instead of a new one.
    `people`: the ages, gender mix, country and seed of `validate_request` (its defaults when left out)."""
    if submission_token not in (None, ""):
        request = {
            "persona_description": persona_description,
            "bio_language": bio_language,
            "number_to_generate": number_to_generate,
            "images_per_persona": images_per_persona,
            "budget_usd": budget_usd,
            **people,
        }
        return _submit_once(user, submission_token, request)
    values = validate_request(
        persona_description=persona_description,
        bio_language=bio_language,
        number_to_generate=number_to_generate,
        images_per_persona=images_per_persona,
        **people,
    )
    if not user.is_active:
        raise ValidationError("This account is deactivated.")
    try:
        provenance.signing_credentials()
    except provenance.CredentialsError as error:
        raise ValidationError(f"No task can start, because its images could not be signed: {error}") from None
    cap = task_budget(budget_usd)
    guess = costs.estimate(values["number_to_generate"], values["images_per_persona"])
    with transaction.atomic():
        lifecycle.lock_owner(user.pk)  # two submits at once cannot both pass the caps below
        too_many = open_tasks_refusal(user)
        if too_many:
            raise ValidationError(too_many)
        refusal = costs.check_at_submit(user.pk, cap, guess)
        if refusal:
            raise ValidationError({"budget_usd": refusal})
        task = lifecycle.submit(user=user, values=values, cap_usd=cap, estimate_usd=guess.usd)
    log.info("task %s: submitted by %s (%s personas x %s images)", task.task_code, user.email, task.number_to_generate,
             task.images_per_persona)  # fmt: skip
    return task


def open_tasks_refusal(user: User) -> str | None:
    """Why the user may not submit another task now: they have MAX_OPEN_TASKS_PER_USER waiting or running."""
    limit = settings.MAX_OPEN_TASKS_PER_USER
    if limit is None:
        return None
    count = GenerationTask.objects.filter(user=user, status__in=GenerationTask.OPEN_STATUSES).count()
    if count < limit:
        return None
    return (
        f"You have {count} tasks waiting or running, the most one person may have at once "
        f"(MAX_OPEN_TASKS_PER_USER is {limit}). Submit this one once one of them has ended, or cancel one."
    )


def _submit_once(user: User, submission_token: uuid.UUID | str, request: dict) -> GenerationTask:
    """Submit under a form's token, once. The token is claimed before the checks, in the task's own transaction: of
    concurrent POSTs of one form, the database lets one through and the others wait on the unique key (owner,
    token), then find its task. A submit that is refused releases the token with its rollback."""
    try:
        token = uuid.UUID(str(submission_token))
    except ValueError:
        raise ValidationError("The form's submission token is not valid: reload the form and submit again.") from None
    earlier = submitted_with(user, token)
    if earlier is not None:
        return earlier
    with transaction.atomic():
        try:
            with transaction.atomic():
                claim = TaskSubmission.objects.create(owner=user, token=token)
        except IntegrityError:
            earlier = submitted_with(user, token)
            if earlier is None:  # its task was deleted in plain SQL, which left the token behind
                raise ValidationError("This form was submitted before: reload the form to submit again.") from None
            log.info("task %s: the same form again, from %s; no new task", earlier.task_code, user.email)
            return earlier
        claim.task = submit_task(user=user, **request)
        claim.save(update_fields=["task"])
    return claim.task


def submitted_with(user: User, token: uuid.UUID) -> GenerationTask | None:
    """The task this user submitted with this form token, if any."""
    return GenerationTask.objects.filter(submission__owner=user, submission__token=token).first()


def task_budget(budget_usd: Decimal | float | str | None) -> Decimal | None:
    """The cap a task gets: the one asked for, checked against TASK_BUDGET_USD and the size its column holds, or that
    setting (None: no cap). 0 is a cap: nothing may be spent."""
    ceiling = costs.task_ceiling()
    if budget_usd in (None, ""):
        return ceiling
    try:
        asked = Decimal(str(budget_usd).strip())
    except ArithmeticError:
        asked = None
    if asked is None or not asked.is_finite():
        raise ValidationError({"budget_usd": "Enter the budget as an amount in dollars, e.g. 12.50."})
    if asked < 0:
        raise ValidationError(
            {"budget_usd": "The budget cannot be negative: enter 0 or more, or leave it empty for the default."}
        )
    if ceiling is not None and asked > ceiling:
        raise ValidationError({"budget_usd": f"The budget can be at most ${ceiling:.2f} a task (TASK_BUDGET_USD)."})
    if asked > MOST_USD:
        raise ValidationError({"budget_usd": f"The budget can be at most ${MOST_USD:,.2f} a task."})
    return asked.quantize(Decimal("0.01"))


def retry_task(task: GenerationTask, *, by: User | None = None) -> int:
    """Resume a failed or stalled task from what is saved; how many units were put back in line."""
    return lifecycle.retry(task, by=by)


def cancel_task(task: GenerationTask, *, by: User) -> None:
    lifecycle.cancel(task, by=by)


# Operator actions: each is a unit the workers run (the lifecycle queues it); deleting a persona is immediate.


def regenerate_photos(result: GenerationResult) -> PipelineUnit:
    return lifecycle.request_redo(result, PipelineUnit.Kind.ALL_PHOTOS_AGAIN)


def regenerate_image(result: GenerationResult, position: int) -> PipelineUnit:
    return lifecycle.request_redo(result, PipelineUnit.Kind.ONE_PHOTO_AGAIN, position=position)


def regenerate_bios(result: GenerationResult) -> PipelineUnit:
    return lifecycle.request_redo(result, PipelineUnit.Kind.BIOS)


def delete_persona(result: GenerationResult) -> int:
    return lifecycle.delete_persona(result)


def generate_missing(task: GenerationTask) -> int:
    return lifecycle.generate_missing(task)


def request_export(task: GenerationTask) -> ExportBuild:
    """Views reach every write through this module, the export's preparation included; the work is
    export_builds'."""
    return export_builds.request_export(task)


def delete_task(task: GenerationTask) -> int:
    """Delete the task, its results and their files (refused while it runs). Returns how many files were removed."""
    return lifecycle.delete_task(task)


def check_faces(task: GenerationTask) -> list[str]:
    """Check every stored image of the task again with the face model and record the verdicts (nothing is
    replaced: that is the pipeline's, or the operator's, call). One line per persona; a persona whose files cannot
    be read says why, and the others are still checked."""
    lines = []
    for result in task.results.exclude(base_image_url=None).order_by("pk"):
        try:
            verdicts = check_persona_faces(task, result)
        except (OSError, ValueError) as error:
            lines.append(f"{result.full_name} (result {result.pk}): not checked, {error}")
            continue
        lines.append(f"{result.full_name} (result {result.pk}): " + " ".join(verdicts))
    return lines


def check_persona_faces(task: GenerationTask, result: GenerationResult) -> list[str]:
    base = face_checks.check(read_stored(result.base_image_url), None)
    face_checks.record(result, 0, result.base_image_url, base)
    verdicts = [base.verdict]
    for position, url in enumerate(result.images or [], 1):
        index, (cols, rows) = position_in_grid(position, task.images_per_persona)
        edges = face_checks.cut_edges(index, cols, rows)
        tile = face_checks.check(read_stored(url), base.reading.embedding, edges)
        face_checks.record(result, position, url, tile)
        verdicts.append(tile.verdict)
    return verdicts


def read_stored(url: str) -> bytes:
    return storage.read_image(url)
