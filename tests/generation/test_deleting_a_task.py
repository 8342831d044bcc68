"""Deleting a task goes through the lifecycle, as deleting a persona does: refused, with a message and nothing
deleted, while the task runs or a worker still finishes a call for it; a task that has ended goes with its personas,
their files and its prepared ZIPs. The admin action and the task page show the refusal instead of failing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from generation import services
from generation.integrations import storage
from generation.models import GenerationResult, GenerationTask, PipelineUnit
from generation.pipeline import lifecycle
from testkit.factories import make_stored_personas, make_task

pytestmark = pytest.mark.django_db

RUNNING = ["generating-data", "generating-images"]


def task_with_files(status: str, user=None, personas: int = 2) -> GenerationTask:
    task = make_task(user=user, status=status, number_to_generate=personas)
    make_stored_personas(task, personas, b"base", b"tile", tiles=2)
    storage.save(storage.export_key(task.task_code, "build1"), b"zip")
    return task


def stored(task: GenerationTask) -> list[str]:
    files = []
    for result in task.results.all():
        files += storage.list_files(storage.result_prefix(task.task_code, result.pk))
    return files + storage.list_files(storage.export_prefix(task.task_code))


@pytest.mark.parametrize("status", RUNNING)
def test_deleting_a_running_task_is_refused_and_deletes_no_file_or_row(status):
    task = task_with_files(status)
    files = stored(task)
    assert len(files) == 2 * 3 + 1
    with pytest.raises(ValidationError, match=f"Task {task.task_code} is still running; cancel it, or delete it"):
        services.delete_task(task)
    assert GenerationTask.objects.filter(pk=task.pk, status=status).exists()
    assert GenerationResult.objects.filter(task_id=task.pk).count() == 2
    assert stored(task) == files


def test_a_stopped_task_waits_for_the_call_a_worker_still_finishes_before_it_is_deleted():
    task = task_with_files("cancelled")
    unit = PipelineUnit.objects.create(
        task=task, kind=PipelineUnit.Kind.PERSONA_IMAGES, number=1, state=PipelineUnit.State.RUNNING,
        lease_until=timezone.now() + timedelta(minutes=1),
    )  # fmt: skip
    files = stored(task)
    with pytest.raises(ValidationError, match="a worker is still finishing its current call"):
        services.delete_task(task)
    assert GenerationTask.objects.filter(pk=task.pk).exists() and stored(task) == files
    PipelineUnit.objects.filter(pk=unit.pk).update(lease_until=timezone.now() - timedelta(seconds=1))  # worker died
    assert services.delete_task(task) == 2 * 3
    assert not GenerationTask.objects.filter(pk=task.pk).exists()


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
def test_deleting_a_finished_task_deletes_its_rows_its_files_and_its_prepared_zip(status):
    task = task_with_files(status)
    code, results = task.task_code, list(task.results.values_list("pk", flat=True))
    assert services.delete_task(task) == 2 * 3
    assert not GenerationTask.objects.filter(task_code=code).exists()
    assert not GenerationResult.objects.filter(pk__in=results).exists()
    assert storage.list_files(storage.export_prefix(code)) == []
    assert all(storage.list_files(storage.result_prefix(code, pk)) == [] for pk in results)


def test_a_task_not_started_yet_may_be_deleted_and_its_start_then_does_nothing():
    task = make_task(status="pending")
    assert services.delete_task(task) == 0
    lifecycle.start(task.pk)
    assert not GenerationTask.objects.exists() and not PipelineUnit.objects.exists()


def test_the_admin_delete_action_shows_the_refusal_and_still_deletes_the_finished_tasks(admin_client):
    running, done = task_with_files("generating-images"), task_with_files("completed")
    files = stored(running)
    response = admin_client.post(
        reverse("admin:generation_generationtask_changelist"),
        {"action": "delete_tasks", "_selected_action": [running.pk, done.pk]},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Task {running.task_code} is still running; cancel it, or delete it once it has ended." in page
    assert f"Deleted 1 task(s): {done.task_code}." in page
    assert GenerationTask.objects.filter(pk=running.pk).exists() and stored(running) == files
    assert not GenerationTask.objects.filter(pk=done.pk).exists()


def test_the_task_page_delete_shows_the_refusal_on_the_task_page(client, staff):
    task = task_with_files("generating-data", user=staff)
    files = stored(task)
    response = client.post(reverse("task_delete", args=[task.task_code]), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("task_detail", args=[task.task_code])
    assert f"Task {task.task_code} is still running; cancel it, or delete it once it has ended." in (
        response.content.decode()
    )
    assert GenerationTask.objects.filter(pk=task.pk).exists() and stored(task) == files
