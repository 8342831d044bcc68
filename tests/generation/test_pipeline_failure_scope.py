"""Failures scoped to what failed: one persona's rejected input fails that persona and the task goes on; an error
that every further call would meet stops the task at once, with no further paid call; the same rejection unit
after unit stops the task at STOP_AFTER_SAME_REJECTION. The real client talks to the loopback server."""

from __future__ import annotations

import pytest

from generation.models import GenerationTask, PipelineUnit
from generation.pipeline.stages import run_inline
from tests.generation.helpers import submit

pytestmark = pytest.mark.django_db

CHAT = "/chat/completions"
GENERATIONS = "/images/generations"
EDITS = "/images/edits"


def requests_made(server) -> int:
    return len(server.requests)


@pytest.mark.parametrize(
    ("endpoint", "code", "what"),
    [
        (EDITS, "invalid_image_file", "rejected this request (400, invalid_image_file)"),
        (GENERATIONS, "moderation_blocked", "Refused by the model's moderation (moderation_blocked)"),
        (EDITS, "content_policy_violation", "Refused by the model's moderation (content_policy_violation)"),
    ],
)
def test_one_persona_s_rejected_image_fails_only_that_persona_and_the_task_completes(
    fake_openai, s3_bucket, endpoint, code, what
):
    fake_openai.fail_next(endpoint, 400, code=code)
    task = submit(number_to_generate=3, images_per_persona=4)

    run_inline(task)

    task.refresh_from_db()
    assert task.status == GenerationTask.Status.COMPLETED
    assert task.results.filter(images__isnull=False).count() == 2
    failed = task.units.get(state=PipelineUnit.State.FAILED)
    assert what in failed.note
    assert failed.error_code == f"400:{code}"
    assert failed.attempts == 1  # a rejection is not tried again
    assert f"images of {failed.result.firstname} {failed.result.lastname}" in task.error_log
    assert what in task.error_log


def test_a_persona_refused_by_the_text_model_is_asked_again_and_the_task_completes(fake_openai, s3_bucket):
    fake_openai.refuse_next_chat()
    task = submit(number_to_generate=2, images_per_persona=4)

    run_inline(task)

    task.refresh_from_db()
    assert task.status == GenerationTask.Status.COMPLETED
    assert task.results.count() == 2


@pytest.mark.parametrize(
    ("status", "code", "names"),
    [
        (401, "invalid_api_key", "OPENAI_API_KEY"),
        (403, None, "OPENAI_IMAGE_MODEL"),
        (429, "insufficient_quota", "no quota left"),
        (404, "model_not_found", "OPENAI_IMAGE_MODEL"),
    ],
)
def test_an_error_every_call_would_meet_stops_the_task_at_once_with_no_further_call(
    fake_openai, s3_bucket, settings, status, code, names
):
    """The first image call meets it: the task stops there, with one call to the image API and none after it, no
    retry by the client (a 429 `insufficient_quota` included), and a log line that names what to check."""
    settings.OPENAI_MAX_RETRIES = 3
    task = submit(number_to_generate=3, images_per_persona=4)
    fake_openai.fail_next(GENERATIONS, status, times=100, code=code)

    run_inline(task)

    task.refresh_from_db()
    assert task.status == GenerationTask.Status.FAILED
    assert names in task.error_log
    assert len(fake_openai.calls(GENERATIONS)) == 1
    assert len(fake_openai.calls(EDITS)) == 0
    assert task.results.count() == 3  # the personas already made are kept
    assert set(task.units.filter(kind="images").values_list("state", flat=True)) == {PipelineUnit.State.FAILED}
    assert "sk-test-key" not in task.error_log


def test_an_error_every_call_would_meet_on_the_text_model_stops_before_any_image_call(fake_openai, s3_bucket):
    fake_openai.reject_all_with(429, "insufficient_quota", "You exceeded your current quota.")
    task = submit(number_to_generate=6, images_per_persona=4)

    run_inline(task)

    task.refresh_from_db()
    assert task.status == GenerationTask.Status.FAILED
    assert "no quota left (insufficient_quota)" in task.error_log
    assert requests_made(fake_openai) == 1


def test_the_same_rejection_for_several_personas_in_a_row_stops_the_task_at_the_threshold(
    fake_openai, s3_bucket, settings
):
    settings.STOP_AFTER_SAME_REJECTION = 4
    settings.PERSONAS_PER_BATCH = 10
    task = submit(number_to_generate=10, images_per_persona=4)
    fake_openai.fail_next(GENERATIONS, 400, times=100, code="unknown_parameter", message="Unknown parameter: 'x'.")

    run_inline(task)

    task.refresh_from_db()
    assert task.status == GenerationTask.Status.FAILED
    assert "rejected 4 units in a row with the same error (400:unknown_parameter)" in task.error_log
    assert "OPENAI_IMAGE_MODEL" in task.error_log
    assert len(fake_openai.calls(GENERATIONS)) == 4  # not one per persona
    states = list(task.units.filter(kind="images").values_list("state", "note"))
    assert sum(1 for state, note in states if note == "not run: the task was stopped") == 6


def test_rejections_with_a_success_between_them_do_not_stop_the_task(fake_openai, s3_bucket, settings):
    """The units run one after another here: base calls answer rejected, fine, rejected, fine."""
    settings.STOP_AFTER_SAME_REJECTION = 2
    settings.PERSONAS_PER_BATCH = 4
    task = submit(number_to_generate=4, images_per_persona=4)
    fake_openai.fail_next(GENERATIONS, 400, code="invalid_value")
    fake_openai.fail_next(GENERATIONS, 400, code="invalid_value", skip=1)

    run_inline(task)

    task.refresh_from_db()
    assert task.status == GenerationTask.Status.COMPLETED
    assert task.results.filter(images__isnull=False).count() == 2
    assert task.units.filter(state=PipelineUnit.State.FAILED, error_code="400:invalid_value").count() == 2
