"""The task's ZIP is prepared once per state of the task by a background job, and handed out from storage."""

import io
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_q.models import OrmQ

from generation import export_builds, jobs, services, storage
from generation.models import ExportBuild, GenerationResult, GenerationTask
from testkit.factories import make_result, make_task, make_user
from tests.conftest import requires_postgresql
from tests.generation.helpers import prepared_zip

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(client):
    user = make_user("zipper@example.com", is_staff=True)
    client.force_login(user)
    return user


def stored_task(user, personas: int = 3):
    """A finished task whose personas' files are in the local storage."""
    task = make_task(user=user, status="completed", number_to_generate=personas)
    for n in range(personas):
        result = make_result(task, base_image_url=None, images=None)
        prefix = f"avatars/{task.task_code}/{result.pk}/"
        for name in ("base.png", "1.jpg"):
            default_storage.save(prefix + name, ContentFile(f"{n} {name}".encode()))
        result.base_image_url, result.images = storage.url(prefix + "base.png"), [storage.url(prefix + "1.jpg")]
        result.save(update_fields=["base_image_url", "images"])
    return task


def queued_builds() -> list:
    return [job.task["args"] for job in OrmQ.objects.all() if job.func() == export_builds.BUILD_JOB]


def folders(response) -> set[str]:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    return {name.split("/")[0] for name in archive.namelist() if "/" in name}


def test_asking_again_while_the_zip_is_prepared_queues_no_second_build(client, staff):
    task = stored_task(staff)
    answers = [client.get(f"/tasks/{task.task_code}/export.zip") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [202, 202, 202]
    assert all(answer["Retry-After"] == "2" for answer in answers)
    build = ExportBuild.objects.get(task=task)
    assert queued_builds() == [(build.pk, build.token)]


@requires_postgresql  # the in-memory SQLite test database locks whole tables between threads
def test_six_requests_at_once_queue_one_build(staff):
    task = stored_task(staff)
    barrier = threading.Barrier(6)

    def ask() -> int:
        client = Client()
        client.force_login(staff)
        barrier.wait()
        try:
            return client.get(f"/tasks/{task.task_code}/export.zip").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(lambda _: ask(), range(6))) == [202] * 6
    build = ExportBuild.objects.get(task=task)
    assert queued_builds() == [(build.pk, build.token)]


def test_a_browser_is_told_the_zip_is_on_its_way_and_asks_again_by_itself(client, staff):
    task = stored_task(staff)
    page = client.get(f"/tasks/{task.task_code}/export.zip")
    assert page.status_code == 202 and page["Refresh"] == "2" and page["Cache-Control"] == "no-store"
    assert "Preparing the ZIP" in page.content.decode()
    program = client.get(f"/tasks/{task.task_code}/export.zip", HTTP_ACCEPT="application/json")
    assert program.status_code == 202 and program.json() == {"state": "preparing", "retry_after": 2}


def test_the_prepared_zip_is_served_from_storage_until_a_persona_changes(client, staff):
    task = stored_task(staff)
    first = prepared_zip(client, task.task_code)
    assert first.status_code == 200 and first["Content-Disposition"].startswith("attachment;")
    assert len(folders(first)) == 3
    again = client.get(f"/tasks/{task.task_code}/export.zip")
    assert again.status_code == 200 and len(queued_builds()) == 1  # served as prepared: no new build
    old_key = ExportBuild.objects.get(task=task).key

    gone = task.results.order_by("pk").first()
    GenerationResult.objects.filter(pk=gone.pk).delete()
    assert client.get(f"/tasks/{task.task_code}/export.zip").status_code == 202
    after = prepared_zip(client, task.task_code)
    assert len(folders(after)) == 2
    assert not storage.exists(old_key)  # the out-of-date ZIP is not left behind


def test_a_regenerated_persona_makes_the_zip_out_of_date(client, staff):
    task = stored_task(staff)
    prepared_zip(client, task.task_code)
    result = task.results.order_by("pk").first()
    result.bio_x = "A new bio from a regeneration"
    result.save(update_fields=["bio_x"])
    assert client.get(f"/tasks/{task.task_code}/export.zip").status_code == 202


def test_a_change_while_the_zip_is_prepared_waits_for_that_build_then_makes_it_out_of_date(client, staff):
    task = stored_task(staff)
    client.get(f"/tasks/{task.task_code}/export.zip")
    build = ExportBuild.objects.get(task=task)
    jobs.build_export(build.pk, build.token)  # made as the task is now...
    task.results.order_by("pk").first().delete()  # ...which changes before it is asked for again
    assert client.get(f"/tasks/{task.task_code}/export.zip").status_code == 202
    again = ExportBuild.objects.get(task=task)
    make_result(task)  # while the new one is prepared: no third build, that one runs to its end
    assert client.get(f"/tasks/{task.task_code}/export.zip").status_code == 202
    assert queued_builds() == [(build.pk, build.token), (again.pk, again.token)]
    jobs.build_export(again.pk, again.token)
    assert len(folders(client.get(f"/tasks/{task.task_code}/export.zip"))) == 3  # it read the rows when it ran


def test_a_running_task_gets_what_is_finished_so_far_though_it_keeps_changing(client, staff):
    task = stored_task(staff)
    GenerationTask.objects.filter(pk=task.pk).update(status="generating-images")
    first = prepared_zip(client, task.task_code)
    assert len(folders(first)) == 3
    make_result(task)  # the task goes on
    assert client.get(f"/tasks/{task.task_code}/export.zip").status_code == 200
    ExportBuild.objects.filter(task=task).update(finished_at=timezone.now() - timedelta(minutes=5))
    assert client.get(f"/tasks/{task.task_code}/export.zip").status_code == 202  # too old by now: made again


def test_a_build_whose_worker_died_is_prepared_again_and_the_dead_one_changes_nothing(client, staff):
    task = stored_task(staff)
    client.get(f"/tasks/{task.task_code}/export.zip")
    dead = ExportBuild.objects.get(task=task)
    ExportBuild.objects.filter(pk=dead.pk).update(beat_at=timezone.now() - timedelta(minutes=5))

    assert client.get(f"/tasks/{task.task_code}/export.zip").status_code == 202
    retried = ExportBuild.objects.get(task=task)
    assert retried.token != dead.token and queued_builds() == [(dead.pk, dead.token), (retried.pk, retried.token)]
    jobs.build_export(dead.pk, dead.token)  # the old job, delivered again after all
    assert ExportBuild.objects.get(task=task).state == ExportBuild.State.PREPARING
    assert storage.list_files(storage.export_prefix(task.task_code)) == []
    jobs.build_export(retried.pk, retried.token)
    assert client.get(f"/tasks/{task.task_code}/export.zip").status_code == 200


def test_deleting_a_task_deletes_its_prepared_zip(client, staff):
    task = stored_task(staff)
    prepared_zip(client, task.task_code)
    key = ExportBuild.objects.get(task=task).key
    assert storage.exists(key)
    services.delete_task(task)
    assert not storage.exists(key) and not ExportBuild.objects.exists()
