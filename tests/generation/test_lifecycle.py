"""The lifecycle's own rules, on the database: claims and their fencing tokens, the attempt rule, the sweep, and
that no other module writes a status or moves a unit."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import OrmQ, Schedule

from generation.models import GenerationTask, PipelineUnit
from generation.pipeline import lifecycle
from testkit.factories import make_result, make_task
from testkit.servers import ROOT
from tests.conftest import requires_postgresql
from tests.generation.helpers import at_the_same_moment

pytestmark = pytest.mark.django_db
State = PipelineUnit.State
Kind = PipelineUnit.Kind


def images_stage_task(personas: int = 2) -> GenerationTask:
    """A task in its images stage, with its personas saved and their images units planned, none queued yet."""
    task = make_task(number_to_generate=personas, status=GenerationTask.Status.GENERATING_IMAGES)
    for _ in range(personas):
        result = make_result(task, images=None, base_image_url=None)
        PipelineUnit.objects.create(task=task, kind=Kind.PERSONA_IMAGES, number=result.pk, result=result)
    return task


def expire(unit: PipelineUnit) -> None:
    PipelineUnit.objects.filter(pk=unit.pk).update(lease_until=timezone.now() - timedelta(seconds=1))


def test_a_claim_draws_a_new_lease_token_and_counts_the_attempt():
    unit = images_stage_task().units.first()
    first = lifecycle.claim(unit.pk)
    assert (first.state, first.attempts, first.lease_token) == (State.RUNNING, 1, 1)
    assert first.lease_until > timezone.now() + lifecycle.lease_length() - timedelta(seconds=5)
    assert lifecycle.claim(unit.pk) is None  # held: a second delivery of its job runs nothing
    expire(first)
    second = lifecycle.claim(unit.pk)
    assert (second.attempts, second.lease_token) == (2, 2)


def test_a_worker_whose_lease_was_taken_over_writes_no_outcome_and_no_images():
    unit = images_stage_task().units.first()
    old_holder = lifecycle.claim(unit.pk)
    expire(old_holder)
    new_holder = lifecycle.claim(unit.pk)

    lifecycle.complete_unit(old_holder, images=["https://cdn.example.com/stale.jpg"])
    assert not lifecycle.renew(old_holder)
    with pytest.raises(lifecycle.LeaseLost):
        lifecycle.Lease(old_holder).check()

    unit.refresh_from_db()
    assert (unit.state, unit.lease_token) == (State.RUNNING, new_holder.lease_token)
    assert unit.result.images is None
    lifecycle.complete_unit(new_holder, images=["https://cdn.example.com/1.jpg"])
    unit.refresh_from_db()
    unit.result.refresh_from_db()
    assert unit.state == State.DONE and unit.result.images == ["https://cdn.example.com/1.jpg"]


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_of_workers_claiming_one_unit_at_the_same_moment_exactly_one_gets_it():
    unit = images_stage_task().units.first()
    won: list[PipelineUnit] = []

    def claim() -> None:
        taken = lifecycle.claim(unit.pk)
        if taken:
            won.append(taken)

    at_the_same_moment(claim, timeout=10)
    assert len(won) == 1
    unit.refresh_from_db()
    assert (unit.attempts, unit.lease_token) == (1, 1)


def test_the_sweep_takes_back_a_unit_whose_lease_ran_out_and_keeps_its_attempt(settings):
    task = images_stage_task()
    held = lifecycle.claim(task.units.first().pk)
    expire(held)

    report = lifecycle.sweep()

    held.refresh_from_db()
    assert report.expired == 1
    assert (held.state, held.attempts) == (State.QUEUED, 1)  # back in the queue at once, its try counted
    assert "lease ran out" in held.note


def test_the_sweep_leaves_a_unit_with_a_live_lease_alone():
    task = images_stage_task()
    held = lifecycle.claim(task.units.first().pk)
    assert lifecycle.sweep().expired == 0
    held.refresh_from_db()
    assert held.state == State.RUNNING


def test_the_sweep_sends_a_queued_unit_s_job_again_once_a_lease_has_passed_and_not_sooner(
    django_capture_on_commit_callbacks,
):
    task = images_stage_task(personas=1)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.dispatch(task.pk)
    unit = task.units.get()
    assert unit.state == State.QUEUED and OrmQ.objects.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.sweep().resent == 0
    PipelineUnit.objects.filter(pk=unit.pk).update(queued_at=timezone.now() - lifecycle.lease_length() * 2)
    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.sweep().resent == 1
        assert lifecycle.sweep().resent == 0  # once per lease, however often the sweep runs
    assert OrmQ.objects.count() == 2
    assert {job.task["func"] for job in OrmQ.objects.all()} == {lifecycle.RUN_UNIT_JOB}
    unit.refresh_from_db()
    assert unit.state == State.QUEUED and unit.queued_at > timezone.now() - timedelta(seconds=5)


def test_the_sweep_starts_a_pending_task_whose_start_job_was_lost():
    task = make_task(number_to_generate=3)
    GenerationTask.objects.filter(pk=task.pk).update(created_at=timezone.now() - lifecycle.lease_length() * 3)
    assert lifecycle.sweep().started == 1
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.GENERATING_DATA
    assert task.units.filter(kind=Kind.BATCH).count() == 1


def test_a_unit_gives_up_after_its_limit_and_an_operator_retry_grants_more_tries_keeping_the_count(settings):
    settings.UNIT_MAX_ATTEMPTS = 2
    task = images_stage_task(personas=1)
    unit = task.units.get()
    for _ in range(2):  # two workers die holding it
        expire(lifecycle.claim(unit.pk))
    third = lifecycle.claim(unit.pk)
    assert not lifecycle.may_run(third)
    unit.refresh_from_db()
    assert unit.state == State.FAILED and unit.note.startswith("gave up after 2 tries")
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.FAILED

    assert lifecycle.retry(task) == 1

    unit.refresh_from_db()
    task.refresh_from_db()
    assert (unit.state, unit.attempts, unit.attempt_limit) == (State.QUEUED, 3, 5)
    assert task.status == GenerationTask.Status.GENERATING_IMAGES and task.completed_at is None
    assert lifecycle.may_run(lifecycle.claim(unit.pk))


def test_a_running_task_whose_unit_holds_a_live_lease_is_slow_not_stalled(settings):
    task = images_stage_task(personas=1)
    lifecycle.claim(task.units.get().pk)
    GenerationTask.objects.filter(pk=task.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    task.refresh_from_db()
    assert not lifecycle.is_stalled(task)
    PipelineUnit.objects.filter(task=task).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert lifecycle.is_stalled(task)


def test_every_job_name_is_a_real_function_and_the_sweep_is_scheduled_twice_a_minute():
    for job in (lifecycle.START_JOB, lifecycle.RUN_UNIT_JOB, lifecycle.SWEEP_JOB):
        assert callable(import_string(job)), job
    schedules = Schedule.objects.filter(func=lifecycle.SWEEP_JOB).order_by("next_run")
    assert [(s.schedule_type, s.minutes) for s in schedules] == [(Schedule.MINUTES, 1)] * 2
    assert (schedules[1].next_run - schedules[0].next_run).total_seconds() == pytest.approx(30, abs=1)


def test_a_cluster_restores_the_sweep_schedules_when_they_were_deleted():
    Schedule.objects.filter(func=lifecycle.SWEEP_JOB).delete()
    assert lifecycle.ensure_sweep_schedules() == 2
    assert lifecycle.ensure_sweep_schedules() == 0
    assert Schedule.objects.filter(func=lifecycle.SWEEP_JOB).count() == 2


# What writes a task's status or a unit's state, anywhere but in the lifecycle (and the model helpers it calls).
STATE_WRITES = re.compile(
    r"\.update_status\(|\.mark_completed\(|\bstatus\s*=\s*(Status|GenerationTask\.Status)\.|"
    r"\.(status|state)\s*=[^=]|update\([^)]*\b(state|status)\s*="
)


def test_no_module_but_the_lifecycle_changes_a_task_s_status_or_a_unit_s_state():
    owners = {*(ROOT / "generation/pipeline/lifecycle").glob("*.py"), *(ROOT / "generation/models").glob("*.py")}
    offenders = []
    for folder in ("generation", "accounts", "siteconfig", "avatar_project"):
        for path in (ROOT / folder).rglob("*.py"):
            if path in owners or "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if STATE_WRITES.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_state_write_pattern_catches_the_writes_it_is_meant_to():
    for line in ('task.update_status("failed")', "unit.state = State.DONE", "units.update(state=State.PENDING)",
                 "task.status = Status.FAILED", "x.update(note='', status='failed')"):  # fmt: skip
        assert STATE_WRITES.search(line), line
    for line in ("if task.status == Status.FAILED:", "filter(state=State.RUNNING)", "state__in=OPEN"):
        assert not STATE_WRITES.search(line), line


def test_a_stopped_task_s_units_never_go_back_in_line():
    task = images_stage_task(personas=2)
    first, second = task.units.all()
    held, retried = lifecycle.claim(first.pk), lifecycle.claim(second.pk)
    lifecycle.fail(task.pk, "Cancelled by ops@example.com.")
    expire(held)

    lifecycle.sweep()
    lifecycle.retry_unit_later(retried, "a 500 from the API")

    assert set(task.units.values_list("state", flat=True)) == {State.FAILED}


def test_one_persona_gets_one_image_unit_at_a_time_and_asking_twice_runs_once():
    task = make_task(status=GenerationTask.Status.COMPLETED)
    result = make_result(task)
    photos = lifecycle.request_redo(result, Kind.ALL_PHOTOS_AGAIN)
    assert lifecycle.request_redo(result, Kind.ALL_PHOTOS_AGAIN) == photos
    with pytest.raises(ValidationError, match="are being made; try again once they are done"):
        lifecycle.request_redo(result, Kind.ONE_PHOTO_AGAIN, position=2)
    with pytest.raises(ValidationError, match="has no image 9"):
        lifecycle.request_redo(make_result(task), Kind.ONE_PHOTO_AGAIN, position=9)
    assert task.units.count() == 1
