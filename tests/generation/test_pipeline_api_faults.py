"""What a task does when the OpenAI API misbehaves: the loopback server injects the fault, the real
client and the whole pipeline run in this process, and the task must end in the right state with a
log a person can act on."""

from __future__ import annotations

import time

import pytest

from generation.models import GenerationTask, PipelineUnit
from generation.pipeline.stages import run_inline
from tests.generation.helpers import assert_task_stored_completely, submit

pytestmark = pytest.mark.django_db

CHAT = "/chat/completions"
GENERATIONS = "/images/generations"
EDITS = "/images/edits"
EVERY_CALL = 10_000  # a fault count no task of these tests gets through


def finished(task: GenerationTask) -> GenerationTask:
    """The task from the database, checked to have ended with coherent timestamps."""
    task.refresh_from_db()
    assert task.status in GenerationTask.FINISHED_STATUSES, task.status
    assert task.completed_at is not None
    assert task.completed_at >= task.created_at
    assert task.updated_at >= task.completed_at
    return task


def counts(server) -> dict[str, int]:
    return {path: len(server.calls(path)) for path in (CHAT, GENERATIONS, EDITS)}


def chat_prompt(call) -> str:
    return call.json["messages"][-1]["content"]


def personas_asked(call) -> int:
    """How many personas a chat call asked for: the length its JSON schema fixes."""
    personas = call.json["response_format"]["json_schema"]["schema"]["properties"]["personas"]
    assert personas["minItems"] == personas["maxItems"]
    return personas["minItems"]


def assert_personas_kept_their_data(task: GenerationTask) -> None:
    for result in task.results.all():
        assert result.firstname and result.lastname and result.gender in ("f", "m")
        for field in ("bio_facebook", "bio_instagram", "bio_x", "bio_tiktok"):
            assert getattr(result, field).strip(), field


# --- Rate limits and server errors on the image endpoints ------------------------------------------------


@pytest.mark.parametrize("endpoint", [GENERATIONS, EDITS])
def test_a_429_with_retry_after_is_waited_out_and_the_task_completes(fake_openai, s3_bucket, settings, endpoint):
    settings.OPENAI_MAX_RETRIES = 1
    fake_openai.fail_next(endpoint, 429, retry_after=1)
    task = submit(number_to_generate=2, images_per_persona=4)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    finished(task)
    calls = fake_openai.calls(endpoint)
    assert len(calls) == 3  # the refused call, its retry, and the other persona's call
    # The backend waited the server's Retry-After (1 s), not its own ~0.5 s first backoff.
    assert calls[1].at - calls[0].at >= 0.95
    assert all(u.attempts == 1 for u in task.units.all())  # absorbed by the backend's retry, not by a unit retry


def test_500s_on_every_grid_call_fail_the_task_and_name_each_persona(fake_openai, s3_bucket, settings):
    settings.OPENAI_MAX_RETRIES = 1
    settings.UNIT_MAX_ATTEMPTS = 2
    fake_openai.fail_next(EDITS, 500, times=EVERY_CALL)
    task = submit(number_to_generate=2, images_per_persona=4)

    run_inline(task)

    task = finished(task)
    assert task.status == GenerationTask.Status.FAILED
    results = list(task.results.all())
    assert len(results) == 2
    assert_personas_kept_their_data(task)
    assert all(r.images is None for r in results)
    assert all(r.base_image_url for r in results)  # the base selfies were made and are kept
    assert task.error_log.startswith("No persona got its images.")
    for result in results:
        line = next(line for line in task.error_log.splitlines() if result.full_name in line)
        assert "The API failed or asked to try again (500)" in line and "failed 2 times" in line, line
    images_units = task.units.filter(kind=PipelineUnit.Kind.PERSONA_IMAGES)
    assert {(u.state, u.attempts) for u in images_units} == {(PipelineUnit.State.FAILED, settings.UNIT_MAX_ATTEMPTS)}
    # Bounded spending: personas x unit attempts x the backend's tries per call, and each base selfie made once.
    assert counts(fake_openai) == {
        CHAT: 1,
        GENERATIONS: 2,
        EDITS: 2 * settings.UNIT_MAX_ATTEMPTS * (settings.OPENAI_MAX_RETRIES + 1),
    }


def test_a_task_whose_first_persona_fails_its_images_still_completes_with_the_others(fake_openai, s3_bucket, settings):
    settings.OPENAI_MAX_RETRIES = 1
    settings.UNIT_MAX_ATTEMPTS = 1
    fake_openai.fail_next(EDITS, 500, times=settings.OPENAI_MAX_RETRIES + 1)  # the first persona's grid only
    task = submit(number_to_generate=2, images_per_persona=4)

    run_inline(task)

    task = finished(task)
    assert task.status == GenerationTask.Status.COMPLETED
    failed, done = task.results.order_by("id")
    assert failed.images is None and len(done.images) == 4
    assert_personas_kept_their_data(task)
    assert f"images of {failed.full_name} (result {failed.pk}) failed" in task.error_log
    assert "The API failed or asked to try again (500)" in task.error_log
    assert done.full_name not in task.error_log
    assert counts(fake_openai)[EDITS] == 3


# --- Errors that no retry can fix stop the task at once -----------------------------------------------------


def test_a_rejected_key_fails_the_task_fast_with_one_call_and_never_logs_the_key(fake_openai, s3_bucket, settings):
    settings.OPENAI_MAX_RETRIES = 2  # retries are allowed, yet a 401 must not be retried
    key = settings.OPENAI_API_KEY
    fake_openai.reject_all_with(401, "invalid_api_key", f"Incorrect API key provided: {key}.")
    task = submit(number_to_generate=3)

    started = time.monotonic()
    run_inline(task)
    elapsed = time.monotonic() - started

    task = finished(task)
    assert task.status == GenerationTask.Status.FAILED
    assert elapsed < 5
    assert counts(fake_openai) == {CHAT: 1, GENERATIONS: 0, EDITS: 0}
    assert "key was rejected" in task.error_log and "OPENAI_API_KEY" in task.error_log
    assert key not in task.error_log
    assert not task.results.exists()
    (unit,) = task.units.all()
    assert unit.state == PipelineUnit.State.FAILED and unit.attempts == 1
    assert key not in unit.note


def test_an_exhausted_quota_fails_the_task_at_once_with_a_readable_reason(fake_openai, s3_bucket, settings):
    settings.OPENAI_MAX_RETRIES = 1
    settings.PERSONAS_PER_BATCH = 2
    fake_openai.reject_all_with(429, "insufficient_quota", "You exceeded your current quota.")
    task = submit(number_to_generate=4)

    started = time.monotonic()
    run_inline(task)

    task = finished(task)
    assert task.status == GenerationTask.Status.FAILED
    assert time.monotonic() - started < 5
    assert "no quota left" in task.error_log and "insufficient_quota" in task.error_log
    assert "credit" in task.error_log
    first, second = task.units.order_by("number")
    assert first.state == PipelineUnit.State.FAILED and first.attempts == 1  # never tried again as a unit
    assert (second.state, second.attempts, second.note) == (
        PipelineUnit.State.FAILED,
        0,
        "not run: the task was stopped",
    )
    # Only the first batch called the API, once: a 429 that says the quota is gone is not retried.
    assert counts(fake_openai)[CHAT] == 1
    assert counts(fake_openai)[GENERATIONS] == counts(fake_openai)[EDITS] == 0


def test_an_unknown_text_model_fails_the_task_and_names_the_setting(fake_openai, s3_bucket, settings):
    fake_openai.reject_all_with(404, "model_not_found", "The model `gpt-nope` does not exist.")
    task = submit(number_to_generate=2)

    run_inline(task)

    task = finished(task)
    assert task.status == GenerationTask.Status.FAILED
    assert "Unknown model" in task.error_log and "OPENAI_TEXT_MODEL" in task.error_log
    assert counts(fake_openai) == {CHAT: 1, GENERATIONS: 0, EDITS: 0}


def test_an_unknown_image_model_stops_the_task_and_keeps_the_personas(fake_openai, s3_bucket, settings):
    fake_openai.fail_next(GENERATIONS, 404, times=EVERY_CALL, code="model_not_found", message="No such model.")
    task = submit(number_to_generate=3)

    run_inline(task)

    task = finished(task)
    assert task.status == GenerationTask.Status.FAILED
    assert "Unknown model" in task.error_log and "OPENAI_IMAGE_MODEL" in task.error_log
    assert task.results.count() == 3
    assert_personas_kept_their_data(task)
    # The first persona's call was fatal; the others were not run at all.
    assert counts(fake_openai) == {CHAT: 1, GENERATIONS: 1, EDITS: 0}
    first, *others = task.units.filter(kind=PipelineUnit.Kind.PERSONA_IMAGES).order_by("id")
    assert "OPENAI_IMAGE_MODEL" in first.note
    assert [(u.state, u.attempts, u.note) for u in others] == [
        (PipelineUnit.State.FAILED, 0, "not run: the task was stopped")
    ] * 2


# --- Unusable chat answers cost a round, not the task --------------------------------------------------------


def test_a_malformed_json_answer_is_asked_again_and_the_task_completes(fake_openai, s3_bucket):
    fake_openai.malformed_next_chat()
    task = submit(number_to_generate=2)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    finished(task)
    assert task.results.count() == 2
    first, second = fake_openai.calls(CHAT)
    assert personas_asked(first) == personas_asked(second) == 2


def test_a_refusal_is_asked_again_and_the_task_completes(fake_openai, s3_bucket):
    fake_openai.refuse_next_chat()
    task = submit(number_to_generate=2)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    finished(task)
    assert task.results.count() == 2
    assert len(fake_openai.calls(CHAT)) == 2


def test_a_short_answer_asks_again_only_for_the_missing_personas(fake_openai, s3_bucket):
    fake_openai.short_next_chat()
    task = submit(number_to_generate=2)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    finished(task)
    first, second = fake_openai.calls(CHAT)
    assert personas_asked(first) == 2
    assert personas_asked(second) == 1
    # The second round lists only the person still missing.
    first_name, second_name = [f'"firstname": "{r.firstname}", "lastname": "{r.lastname}"' for r in
                               task.results.order_by("id")]  # fmt: skip
    assert first_name != second_name
    assert second_name in chat_prompt(second) and first_name not in chat_prompt(second)


@pytest.mark.parametrize("client_retries", [0, 1])
def test_a_dropped_connection_on_a_chat_call_is_tried_again_and_the_task_completes(
    fake_openai, s3_bucket, settings, client_retries
):
    """With backend retries the same call is made again; without them, the batch unit is tried again."""
    settings.OPENAI_MAX_RETRIES = client_retries
    fake_openai.drop_next(CHAT)
    task = submit(number_to_generate=2)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    finished(task)
    assert len(fake_openai.calls(CHAT)) == 2
    batch = task.units.get(kind=PipelineUnit.Kind.BATCH)
    assert batch.attempts == (1 if client_retries else 2)
