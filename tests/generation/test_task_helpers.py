import re
import uuid

import pytest
from django.db import IntegrityError

from generation.models import GenerationTask
from testkit.factories import make_task

pytestmark = pytest.mark.django_db


def test_generate_task_id_returns_eight_lowercase_hex_characters():
    assert re.fullmatch(r"[0-9a-f]{8}", GenerationTask.generate_task_id())


def test_generate_task_id_draws_again_when_the_candidate_is_already_taken(monkeypatch):
    existing = make_task()
    taken, fresh = uuid.UUID(existing.task_code + "0" * 24), uuid.UUID("abcdef12" + "0" * 24)
    draws = iter([taken, fresh])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(draws))
    assert GenerationTask.generate_task_id() == "abcdef12"


def test_task_ids_are_unique_in_the_database():
    task = make_task()
    with pytest.raises(IntegrityError):
        make_task(task_code=task.task_code)


def test_a_new_task_is_pending_with_its_timestamps_set():
    task = make_task()
    assert task.status == GenerationTask.Status.PENDING
    assert task.created_at is not None and task.updated_at is not None and task.completed_at is None


def test_update_status_saves_the_new_status_and_moves_updated_at():
    task = make_task()
    before = task.updated_at
    task.update_status("generating-data")
    task.refresh_from_db()
    assert task.status == "generating-data"
    assert task.updated_at > before


def test_update_status_rejects_an_unknown_status_and_changes_nothing():
    task = make_task()
    with pytest.raises(ValueError, match="Unknown task status 'done'"):
        task.update_status("done")
    task.refresh_from_db()
    assert task.status == "pending"


def test_mark_completed_success_sets_completed_and_the_end_time():
    task = make_task()
    task.mark_completed(True)
    task.refresh_from_db()
    assert task.status == "completed"
    assert task.completed_at is not None and task.error_log is None
    assert task.is_finished


def test_mark_completed_failure_sets_failed_with_the_error_message():
    task = make_task()
    task.mark_completed(False, "The API key was rejected.")
    task.refresh_from_db()
    assert (task.status, task.error_log) == ("failed", "The API key was rejected.")
    assert task.completed_at >= task.created_at
