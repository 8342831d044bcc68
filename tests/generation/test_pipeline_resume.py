"""Resuming work: retrying a task from what is saved, running a unit twice, units whose worker died,
the sweep and cancelling. Everything runs in this process against the loopback servers."""

from __future__ import annotations

import io
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import OrmQ

from generation.models import GenerationResult, GenerationTask, PipelineUnit
from generation.pipeline import lifecycle
from generation.pipeline.lifecycle import Lease
from generation.pipeline.personas import run_batch
from generation.pipeline.stages import run_inline, run_unit
from generation.services import cancel_task, retry_task
from generation.services.jobs import sweep
from siteconfig.models import IntConfig
from testkit.factories import make_result, make_task, make_user
from tests.generation.helpers import assert_task_stored_completely, submit, with_thumbnails

pytestmark = pytest.mark.django_db(transaction=True)

CHAT = "/chat/completions"
GENERATIONS = "/images/generations"
EDITS = "/images/edits"
State = PipelineUnit.State
Kind = PipelineUnit.Kind


def counts(server) -> dict[str, int]:
    return {path: len(server.calls(path)) for path in (CHAT, GENERATIONS, EDITS)}


def bucket_objects(bucket, prefix: str = "avatars/") -> dict[str, tuple[str, object]]:
    """Key -> (ETag, LastModified): a rewritten file shows up as a changed entry."""
    client = bucket.client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket.name, Prefix=prefix)
    return {item["Key"]: (item["ETag"], item["LastModified"]) for page in pages for item in page.get("Contents", [])}


@contextmanager
def inline():
    """As `generate --sync` runs: units are queued in the database only, nothing goes to the broker."""
    token = lifecycle.inline.set(True)
    try:
        yield
    finally:
        lifecycle.inline.reset(token)


def run_data_stage(task: GenerationTask) -> None:
    """Plan the task and run its batches, leaving its images units waiting."""
    with inline():
        lifecycle.start(task.pk)
        for unit in task.units.filter(kind=Kind.BATCH):
            run_unit(unit.pk)
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.GENERATING_IMAGES


def age(task: GenerationTask, minutes: int) -> None:
    """No progress for `minutes` (what `is_stalled` compares with STALL_MINUTES)."""
    GenerationTask.objects.filter(pk=task.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes))


def past_one_lease() -> datetime:
    """A moment longer than one unit lease ago: what the sweep takes for lost."""
    return timezone.now() - timedelta(seconds=settings.UNIT_LEASE_SECONDS + 1)


def quiet_past_one_lease(task: GenerationTask) -> None:
    """The task has not moved for longer than a lease (the sweep moves such a task on)."""
    GenerationTask.objects.filter(pk=task.pk).update(updated_at=past_one_lease())


# --- retry_task ---------------------------------------------------------------------------------------------


def test_retrying_a_task_whose_images_all_failed_repeats_no_paid_call_that_succeeded(fake_openai, s3_bucket, settings):
    settings.OPENAI_MAX_RETRIES = 0
    settings.UNIT_MAX_ATTEMPTS = 1
    fake_openai.fail_next(EDITS, 500, times=1000)
    task = submit(number_to_generate=3)
    run_inline(task)
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.FAILED
    assert counts(fake_openai) == {CHAT: 1, GENERATIONS: 3, EDITS: 3}
    bases = bucket_objects(s3_bucket)
    assert len(bases) == 9 and sorted(bases) == with_thumbnails(key for key in bases if key.endswith("/base.jpg"))

    fake_openai.clear_faults()
    assert retry_task(task) == 3
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.GENERATING_IMAGES and task.completed_at is None
    # The tries already made stay counted; the retry grants UNIT_MAX_ATTEMPTS more.
    images_units = task.units.filter(kind=Kind.PERSONA_IMAGES)
    assert {(u.attempts, u.attempt_limit) for u in images_units} == {(1, 1 + settings.UNIT_MAX_ATTEMPTS)}
    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    # No new chat call, no new base selfie (the stored ones are reused), one grid per persona.
    assert counts(fake_openai) == {CHAT: 1, GENERATIONS: 3, EDITS: 6}
    after = bucket_objects(s3_bucket)
    assert {key: after[key] for key in bases} == bases  # the bases were not written again
    # The retry came out clean: the earlier failure is no longer shown as the task's state, and the task ran twice.
    assert task.error_log is None
    assert task.runs.count() == 2 and not task.runs.filter(ended_at__isnull=True).exists()


def test_retrying_a_partly_failed_task_only_makes_the_missing_images(fake_openai, s3_bucket, settings):
    settings.OPENAI_MAX_RETRIES = 0
    settings.UNIT_MAX_ATTEMPTS = 1
    fake_openai.fail_next(EDITS, 500, times=2)  # the first two personas' grids
    task = submit(number_to_generate=3)
    run_inline(task)
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.COMPLETED
    first, second, third = task.results.order_by("id")
    assert first.images is None and second.images is None and len(third.images) == 4
    done_files = bucket_objects(s3_bucket, f"avatars/{task.task_code}/{third.pk}/")
    assert len(done_files) == 15  # base and 4 tiles, each with two thumbnails
    before = counts(fake_openai)

    assert retry_task(task) == 2
    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    assert counts(fake_openai) == {CHAT: before[CHAT], GENERATIONS: before[GENERATIONS], EDITS: before[EDITS] + 2}
    assert bucket_objects(s3_bucket, f"avatars/{task.task_code}/{third.pk}/") == done_files
    third.refresh_from_db()
    assert len(third.images) == 4


def test_retrying_a_task_stopped_by_a_rejected_key_starts_its_data_stage_again(fake_openai, s3_bucket, settings):
    settings.PERSONAS_PER_BATCH = 2
    fake_openai.reject_all_with(401, "invalid_api_key")
    task = submit(number_to_generate=3)
    run_inline(task)
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.FAILED and not task.results.exists()

    fake_openai.clear_faults()  # the key was fixed
    assert retry_task(task) == 2
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.GENERATING_DATA
    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    assert len(fake_openai.calls(CHAT)) == 1 + 2  # the rejected call, then one per batch


def test_a_second_try_of_an_eight_image_persona_makes_only_the_grid_that_failed(fake_openai, s3_bucket, settings):
    settings.OPENAI_MAX_RETRIES = 0
    settings.UNIT_MAX_ATTEMPTS = 2
    fake_openai.fail_next(EDITS, 500)  # one of the two parallel grids
    task = submit(number_to_generate=1, images_per_persona=8)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    assert counts(fake_openai) == {CHAT: 1, GENERATIONS: 1, EDITS: 3}
    assert task.units.get(kind=Kind.PERSONA_IMAGES).attempts == 2


def test_the_retry_task_command_reports_what_it_requeued(fake_openai, s3_bucket, settings):
    settings.OPENAI_MAX_RETRIES = 0
    settings.UNIT_MAX_ATTEMPTS = 1
    fake_openai.fail_next(EDITS, 500, times=1000)
    task = submit(number_to_generate=2)
    run_inline(task)
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.FAILED
    fake_openai.clear_faults()
    OrmQ.objects.all().delete()

    out = io.StringIO()
    call_command("retry_task", task.task_code.upper(), stdout=out)

    assert out.getvalue().strip() == f"Task {task.task_code}: 2 unit(s) queued again."
    images_units = task.units.filter(kind=Kind.PERSONA_IMAGES)
    assert {u.state for u in images_units} == {State.QUEUED}
    jobs = sorted(q.task["args"] for q in OrmQ.objects.all())
    assert jobs == sorted((u.pk,) for u in images_units)
    run_inline(task)  # what a worker would do with those jobs
    assert_task_stored_completely(task, s3_bucket)


def test_the_retry_task_command_refuses_a_running_task_but_takes_a_stalled_one(settings):
    settings.STALL_MINUTES = 10
    task = make_task(status=GenerationTask.Status.GENERATING_DATA, number_to_generate=2)
    expired = timezone.now() - timedelta(minutes=1)
    unit = PipelineUnit.objects.create(
        task=task, kind=Kind.BATCH, number=1, size=2, state=State.RUNNING, attempts=1, lease_until=expired
    )

    with pytest.raises(CommandError, match=f"Task {task.task_code} is still running; it can be retried once"):
        call_command("retry_task", task.task_code, stdout=io.StringIO())
    unit.refresh_from_db()
    task.refresh_from_db()
    assert unit.state == State.RUNNING and task.error_log is None

    age(task, minutes=11)  # no progress for STALL_MINUTES, and no live lease: stalled
    out = io.StringIO()
    call_command("retry_task", task.task_code, stdout=out)
    assert f"Task {task.task_code}: 1 unit(s) queued again." in out.getvalue()
    unit.refresh_from_db()
    # Queued again with its try kept counted and UNIT_MAX_ATTEMPTS more granted.
    assert (unit.state, unit.attempts, unit.attempt_limit) == (State.QUEUED, 1, 1 + settings.UNIT_MAX_ATTEMPTS)

    with pytest.raises(CommandError, match="No task zzzzzzzz"):
        call_command("retry_task", "zzzzzzzz", stdout=io.StringIO())


# --- Running the same work twice ------------------------------------------------------------------------------


def test_running_a_batch_twice_saves_its_personas_once(fake_openai, s3_bucket):
    task = submit(number_to_generate=3)
    with inline():
        lifecycle.start(task.pk)
    unit = lifecycle.claim(task.units.get(kind=Kind.BATCH).pk)
    lease = Lease(unit)  # held, but no heartbeat needed for two quick runs

    assert run_batch(unit, lease) == ""
    assert run_batch(unit, lease) == ""

    assert task.results.count() == 3
    assert len(fake_openai.calls(CHAT)) == 1


def test_running_finished_units_again_changes_nothing(fake_openai, s3_bucket):
    task = submit(number_to_generate=2)
    run_inline(task)
    assert_task_stored_completely(task, s3_bucket)
    files = bucket_objects(s3_bucket)
    rows = list(GenerationResult.objects.filter(task=task).order_by("id").values())
    unit_rows = list(task.units.order_by("id").values("id", "state", "attempts", "note"))
    calls = counts(fake_openai)

    for unit in unit_rows:
        run_unit(unit["id"])
        batch = PipelineUnit.objects.select_related("task").get(pk=unit["id"])
        if batch.kind == Kind.BATCH:
            assert run_batch(batch, Lease(batch)) == ""  # already full: nothing asked, nothing saved

    assert bucket_objects(s3_bucket) == files
    assert list(GenerationResult.objects.filter(task=task).order_by("id").values()) == rows
    assert list(task.units.order_by("id").values("id", "state", "attempts", "note")) == unit_rows
    assert counts(fake_openai) == calls


def test_an_images_unit_rerun_after_its_files_were_stored_reuses_them(fake_openai, s3_bucket):
    """A worker that died after storing every file but before recording the URLs: the next run
    records them without a single API call and without writing a file."""
    task = submit(number_to_generate=2)
    run_data_stage(task)
    first, second = task.units.filter(kind=Kind.PERSONA_IMAGES).order_by("id")
    run_unit(first.pk)
    result = GenerationResult.objects.get(pk=first.result_id)
    urls = (result.base_image_url, result.images)
    assert len(result.images) == 4
    files = bucket_objects(s3_bucket)
    calls = counts(fake_openai)
    # The crash: files stored, URLs not recorded, the unit left running under a lease that ran out.
    GenerationResult.objects.filter(pk=result.pk).update(images=None)
    PipelineUnit.objects.filter(pk=first.pk).update(
        state=State.RUNNING, lease_until=timezone.now() - timedelta(seconds=1)
    )

    run_unit(first.pk)

    result.refresh_from_db()
    assert (result.base_image_url, result.images) == urls
    assert counts(fake_openai) == calls
    assert bucket_objects(s3_bucket) == files
    first.refresh_from_db()
    assert (first.state, first.attempts) == (State.DONE, 2)
    run_inline(task)
    assert_task_stored_completely(task, s3_bucket)


# --- Units whose worker died ----------------------------------------------------------------------------------


def test_a_unit_whose_worker_keeps_dying_is_given_up_and_the_task_still_ends(fake_openai, s3_bucket, settings):
    settings.UNIT_MAX_ATTEMPTS = 3
    task = submit(number_to_generate=2)
    run_data_stage(task)
    doomed, healthy = task.units.filter(kind=Kind.PERSONA_IMAGES).order_by("id")
    PipelineUnit.objects.filter(pk=doomed.pk).update(
        state=State.RUNNING, attempts=3, lease_until=timezone.now() + timedelta(minutes=5)
    )

    run_inline(task)  # runs the healthy unit; the doomed one is still held by its (dead) worker
    run_unit(doomed.pk)  # its lease has not run out: not taken
    doomed.refresh_from_db()
    assert (doomed.state, doomed.attempts) == (State.RUNNING, 3)
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.GENERATING_IMAGES

    PipelineUnit.objects.filter(pk=doomed.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    run_unit(doomed.pk)

    doomed.refresh_from_db()
    assert doomed.state == State.FAILED
    assert doomed.note.startswith("gave up after 3 tries; last: the worker stopped mid-run")
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.COMPLETED
    assert task.completed_at is not None and task.updated_at >= task.completed_at
    person = doomed.result
    assert f"images of {person.full_name} (result {person.pk}) failed: gave up after 3 tries" in task.error_log
    assert len(fake_openai.calls(GENERATIONS)) == 1  # only the healthy persona's base was made
    healthy.refresh_from_db()
    assert healthy.state == State.DONE


def test_a_unit_whose_worker_died_before_the_last_try_is_run_again(fake_openai, s3_bucket, settings):
    settings.UNIT_MAX_ATTEMPTS = 3
    task = submit(number_to_generate=1)
    run_data_stage(task)
    unit = task.units.get(kind=Kind.PERSONA_IMAGES)
    PipelineUnit.objects.filter(pk=unit.pk).update(
        state=State.RUNNING, attempts=2, lease_until=timezone.now() - timedelta(seconds=1)
    )

    run_unit(unit.pk)

    unit.refresh_from_db()
    assert (unit.state, unit.attempts) == (State.DONE, 3)
    assert_task_stored_completely(task, s3_bucket)


# --- The sweep ------------------------------------------------------------------------------------------------


def test_the_sweep_requeues_a_unit_whose_lease_ran_out_and_leaves_live_leases_and_young_tasks_alone():
    def images_task(lease_until) -> tuple[GenerationTask, PipelineUnit]:
        task = make_task(status=GenerationTask.Status.GENERATING_IMAGES, number_to_generate=1)
        result = make_result(task, images=None)
        unit = PipelineUnit.objects.create(task=task, kind=Kind.PERSONA_IMAGES, number=result.pk, result=result)
        PipelineUnit.objects.filter(pk=unit.pk).update(
            state=State.RUNNING, attempts=1, lease_token=1, lease_until=lease_until
        )
        unit.refresh_from_db()
        return task, unit

    IntConfig.set_value("max_concurrent_tasks", 3)  # a place free beside the two running tasks
    _, lost_unit = images_task(timezone.now() - timedelta(seconds=1))  # its worker died: no heartbeat
    _, busy_unit = images_task(timezone.now() + timedelta(seconds=settings.UNIT_LEASE_SECONDS))  # heartbeating
    forgotten = make_task()  # pending, its start job lost
    GenerationTask.objects.filter(pk=forgotten.pk).update(
        created_at=timezone.now() - timedelta(seconds=2 * settings.UNIT_LEASE_SECONDS + 1)
    )
    just_submitted = make_task()  # pending, its start job still on its way
    OrmQ.objects.all().delete()

    assert lifecycle.sweep() == lifecycle.SweepReport(expired=1, resent=0, started=1)

    lost_unit.refresh_from_db()
    assert lost_unit.state == State.QUEUED and lost_unit.lease_until is None and lost_unit.queued_at is not None
    assert lost_unit.attempts == 1  # the death counts as a try; the sweep grants none
    assert lost_unit.note == "the worker stopped mid-run (its lease ran out)"
    busy_unit.refresh_from_db()
    assert (busy_unit.state, busy_unit.lease_token) == (State.RUNNING, 1)
    jobs = [(q.task["func"], q.task["args"]) for q in OrmQ.objects.all()]
    assert (lifecycle.RUN_UNIT_JOB, (lost_unit.pk,)) in jobs
    assert (lifecycle.RUN_UNIT_JOB, (busy_unit.pk,)) not in jobs
    forgotten.refresh_from_db()
    assert forgotten.status == GenerationTask.Status.GENERATING_DATA
    just_submitted.refresh_from_db()
    assert just_submitted.status == GenerationTask.Status.PENDING

    OrmQ.objects.all().delete()
    assert sweep() == 0  # the requeued unit's job was just sent: not sent again before a lease has passed
    assert OrmQ.objects.count() == 0


def test_the_sweep_ends_a_quiet_task_whose_units_all_finished_but_whose_end_was_lost(fake_openai, s3_bucket):
    """The worker that finished the last unit died before moving the task on (the unit's end and
    the task's advance are two transactions): nothing is left to requeue, the task must still end."""
    task = submit(number_to_generate=2)
    run_inline(task)
    GenerationTask.objects.filter(pk=task.pk).update(status=GenerationTask.Status.GENERATING_IMAGES, completed_at=None)
    assert not task.units.filter(state__in=PipelineUnit.OPEN_STATES).exists()
    calls = counts(fake_openai)

    assert sweep() == 0
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.GENERATING_IMAGES  # moved within the lease: left to its worker

    quiet_past_one_lease(task)
    assert sweep() == 0  # nothing to requeue or start: only the task's end

    assert_task_stored_completely(task, s3_bucket)
    task.refresh_from_db()
    assert task.updated_at >= task.completed_at
    assert counts(fake_openai) == calls


def test_the_sweep_starts_the_images_stage_of_a_task_whose_data_stage_end_was_lost(fake_openai, s3_bucket):
    task = submit(number_to_generate=2)
    run_data_stage(task)
    task.units.filter(kind=Kind.PERSONA_IMAGES).delete()
    GenerationTask.objects.filter(pk=task.pk).update(status=GenerationTask.Status.GENERATING_DATA)
    quiet_past_one_lease(task)
    OrmQ.objects.all().delete()

    sweep()

    task.refresh_from_db()
    assert task.status == GenerationTask.Status.GENERATING_IMAGES
    images_units = task.units.filter(kind=Kind.PERSONA_IMAGES)
    assert images_units.count() == 2 and {u.state for u in images_units} == {State.QUEUED}
    assert sorted(q.task["args"] for q in OrmQ.objects.all()) == sorted((u.pk,) for u in images_units)


# --- Cancelling -----------------------------------------------------------------------------------------------


def test_cancelling_a_running_task_ends_it_cancelled_with_who_cancelled_and_runs_nothing_more(fake_openai, s3_bucket):
    task = submit(number_to_generate=2)
    run_data_stage(task)
    admin = make_user("ops@example.com")

    cancel_task(task, by=admin)
    run_inline(task)  # a worker picking the units up afterwards

    task.refresh_from_db()
    assert task.status == GenerationTask.Status.CANCELLED
    assert "Cancelled by ops@example.com" in task.error_log
    assert task.completed_at is not None and task.updated_at >= task.completed_at >= task.created_at
    assert fake_openai.calls(GENERATIONS) == [] and fake_openai.calls(EDITS) == []
    images_units = task.units.filter(kind=Kind.PERSONA_IMAGES)
    assert [(u.state, u.attempts, u.note) for u in images_units] == [
        (State.FAILED, 0, "not run: the task was stopped")
    ] * 2
    assert task.results.count() == 2 and not task.results.filter(images__isnull=False).exists()
    with pytest.raises(ValidationError, match="has already ended"):
        cancel_task(task, by=admin)
