"""What the task page reads: its steps, the time actually spent running, whether a worker is about, and what went
wrong in plain words."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Task as QueueTask

from generation.integrations import languages
from generation.models import FaceCheck, PipelineUnit, TaskRun
from generation.pipeline import lifecycle
from generation.selectors import task_state, worker_last_seen
from generation.selectors.explain import UNKNOWN, explain
from generation.selectors.progress import seconds_running
from testkit.factories import make_result, make_task, make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("note", "cause"),
    [
        ("failed 3 times; last: OperationalError: database is locked", "held SQLite's write lock"),
        ("failed 3 times; last: TransientBackendError: the API answered 503", "busy or unreachable"),
        ("Stopped: 401 invalid_api_key", "The OpenAI key was refused."),
        ("429 insufficient_quota: You exceeded your current quota", "run out of credit"),
        ("The model refused: safety system", "declined to make this"),
        ("gave up after 3 tries; last: the worker stopped mid-run (its lease ran out)", "A worker stopped"),
        ("Cancelled by ops@example.com.", "Someone cancelled the task."),
        ("not run: the task was stopped", "the task was stopped first"),
        ("Stopped: the API rejected 5 units in a row with the same error (invalid_size)", "again and again"),
    ],
)
def test_each_kind_of_failure_gets_a_plain_cause(note, cause):
    assert cause in explain(note).cause
    assert explain(note).next_step


def test_a_failure_nobody_foresaw_still_gets_a_next_step():
    assert explain("KeyError: 'frobnicate'") is UNKNOWN
    assert "Retry" in UNKNOWN.next_step


def test_a_pending_task_says_whether_a_worker_is_about():
    task = make_task(status="pending")
    assert task_state(task).worker_state == "never"
    assert task_state(task).steps[0].state == "failed"
    QueueTask.objects.create(id="a" * 32, name="sweep", func=lifecycle.SWEEP_JOB, started=timezone.now(),
                             stopped=timezone.now(), success=True)  # fmt: skip
    assert worker_last_seen() is not None
    state = task_state(task)
    assert state.worker_state == "seen" and state.steps[0].detail == "Waiting for a worker to pick it up"
    QueueTask.objects.update(stopped=timezone.now() - timedelta(minutes=5))
    assert task_state(task).worker_state == "silent"


def test_the_steps_count_personas_selfies_photos_and_face_checks():
    task = make_task(number_to_generate=3, status="generating-images")
    done = make_result(task)
    make_result(task, images=None)
    FaceCheck.objects.create(result=done, position=0, image_url="x", faces=1, verdict="ok")
    FaceCheck.objects.create(result=done, position=1, image_url="x", faces=2, verdict="several-faces")
    steps = {step.name: step for step in task_state(task).steps}
    assert (steps["Queued"].state, steps["Personas"].state, steps["Personas"].detail) == ("done", "short", "2 of 3")
    assert (steps["Selfies"].detail, steps["Photos"].state, steps["Photos"].detail) == ("2 of 2", "active", "1 of 2")
    assert steps["Face checks"].detail == "1 of 1; 1 need a look" and steps["Done"].state == "waiting"
    assert task_state(task).flagged == 1


def test_a_completed_task_that_came_out_short_says_so():
    task = make_task(number_to_generate=5, status="completed", completed_at=timezone.now())
    for _ in range(3):
        make_result(task)
    state = task_state(task)
    assert state.short and state.missing == 2 and state.headline == "Completed — 3 of 5"
    assert state.steps[-1].state == "failed"


def test_running_time_is_the_sum_of_runs_not_the_time_since_creation():
    task = make_task(status="completed", completed_at=timezone.now())
    start = timezone.now() - timedelta(hours=3)
    TaskRun.objects.create(task=task, started_at=start, ended_at=start + timedelta(seconds=50))
    TaskRun.objects.create(
        task=task, started_at=start + timedelta(hours=2), ended_at=start + timedelta(hours=2, seconds=10)
    )
    assert seconds_running(task) == (60.0, 2)
    assert task_state(task).duration == "1m 00s"


def test_a_task_from_before_runs_were_recorded_counts_from_creation_to_its_end():
    task = make_task(status="completed")
    task.completed_at = task.created_at + timedelta(seconds=90)
    assert seconds_running(task) == (90.0, 1)


def test_problems_are_grouped_by_cause_and_a_retry_that_mends_them_clears_them():
    task = make_task(number_to_generate=4, status="completed", completed_at=timezone.now())
    for n in range(3):
        result = make_result(task, images=None)
        PipelineUnit.objects.create(task=task, kind="images", number=result.pk, result=result, state="failed",
                                    note=f"failed 3 times; last: TransientBackendError: 50{n}")  # fmt: skip
    PipelineUnit.objects.create(task=task, kind="batch", number=1, size=4, state="failed",
                                note="failed 3 times; last: OperationalError: database is locked")  # fmt: skip
    problems = task_state(task).problems
    assert [problem.count for problem in problems] == [3, 1]
    assert "Affected: the photos of 3 personas" in problems[0].cause
    assert "Affected: a group of personas" in problems[1].cause
    task.units.update(state="done", note="")
    assert task_state(task).problems == []


def test_a_task_whose_batches_met_a_locked_database_blames_the_database_not_the_description(admin_client, superuser):
    task = make_task(user=superuser, number_to_generate=10, status="pending")
    lifecycle.start(task.pk)
    for unit_pk in task.units.values_list("pk", flat=True):
        lifecycle.fail_unit(lifecycle.claim(unit_pk), "failed 3 times; last: OperationalError: database is locked")
    task.refresh_from_db()
    assert task.status == "failed" and task.error_log.startswith("No usable persona came out.")
    first = task_state(task).problems[0]
    assert first.cause == explain("database is locked").cause
    page = admin_client.get(f"/tasks/{task.task_code}/").content.decode()
    assert "held SQLite&#x27;s write lock" in page
    assert "description" not in first.next_step and "reword the description" not in page


def test_a_task_that_got_no_persona_with_no_failed_step_still_points_at_the_description():
    task = make_task(number_to_generate=5, status="pending")
    lifecycle.start(task.pk)
    (unit_pk,) = task.units.values_list("pk", flat=True)
    lifecycle.complete_unit(lifecycle.claim(unit_pk), "batch 1: 0 of 5 personas (asked for 5, the model gave 0)")
    task.refresh_from_db()
    assert task.status == "failed"
    assert "reword the description" in task_state(task).problems[0].next_step


def test_cancel_ends_the_task_cancelled_and_closes_its_run():
    user = make_user()
    task = make_task(user=user, status="pending")
    lifecycle.start(task.pk)
    lifecycle.cancel(task, by=user)
    task.refresh_from_db()
    assert task.status == "cancelled" and task.is_finished
    assert task.runs.get().ended_at == task.completed_at


def test_a_retry_opens_a_new_run_and_a_clean_end_clears_the_old_failure():
    task = make_task(number_to_generate=1, status="generating-images")
    TaskRun.objects.create(task=task, started_at=timezone.now())
    result = make_result(task, images=None)
    unit = PipelineUnit.objects.create(task=task, kind="images", number=result.pk, result=result, state="failed",
                                       note="failed 3 times; last: 503")  # fmt: skip
    lifecycle.fail(task.pk, "Stopped: no quota left (insufficient_quota).")
    assert lifecycle.retry(task) == 1
    assert task.runs.count() == 2 and task.runs.filter(ended_at__isnull=True).count() == 1
    PipelineUnit.objects.filter(pk=unit.pk).update(state="done")
    result.images = ["https://cdn.example.com/1.jpg"] * 4
    result.save(update_fields=["images"])
    lifecycle.advance(task.pk)
    task.refresh_from_db()
    assert task.status == "completed" and task.error_log is None
    assert not task.runs.filter(ended_at__isnull=True).exists()


def test_generate_missing_also_gives_photos_to_personas_left_without():
    task = make_task(number_to_generate=2, status="completed", completed_at=timezone.now())
    make_result(task)
    bare = make_result(task, images=None)
    PipelineUnit.objects.create(task=task, kind="images", number=bare.pk, result=bare, state="failed", note="503")
    assert lifecycle.generate_missing(task) == 1
    task.refresh_from_db()
    assert task.status == "generating-images"
    assert task.units.get(result=bare).state in PipelineUnit.OPEN_STATES


@pytest.mark.parametrize(
    ("language", "code", "direction"),
    [("Arabic", "ar", "rtl"), ("Hebrew", "he", "rtl"), ("French", "fr", "ltr"), ("Klingon", "", "auto")],
)
def test_bio_languages_give_the_lang_and_dir_of_their_text(language, code, direction):
    assert languages.code(language) == code and languages.direction(language) == direction
