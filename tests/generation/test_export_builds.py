"""The task's ZIP is prepared once per state of the task by a background job, and handed out from storage."""

import ast
import io
import os
import threading
import urllib.error
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from generation import services
from generation.integrations import storage
from generation.models import ExportBuild, GenerationResult, GenerationTask
from generation.services import export_builds, jobs
from testkit.factories import make_result, make_task
from tests.conftest import requires_postgresql
from tests.generation.helpers import prepared_zip

pytestmark = pytest.mark.django_db(transaction=True)


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


def test_a_browser_is_told_the_zip_is_on_its_way_and_its_page_asks_a_status_part_without_reloading(client, staff):
    """A page that reloads itself (Refresh) restarts screen readers and loses focus; and once the ZIP was ready its
    attachment left the page saying "being put together" for good."""
    task = stored_task(staff)
    page = client.get(f"/tasks/{task.task_code}/export.zip")
    assert page.status_code == 202 and page["Retry-After"] == "2" and page["Cache-Control"] == "no-store"
    assert not page.has_header("Refresh")
    html = page.content.decode()
    status_url = f"/tasks/{task.task_code}/export.zip/status"
    assert "Preparing the ZIP" in html and f'hx-get="{status_url}"' in html and 'aria-live="polite"' in html
    program = client.get(f"/tasks/{task.task_code}/export.zip", HTTP_ACCEPT="application/json")
    assert program.status_code == 202 and program.json() == {"state": "preparing", "retry_after": 2}

    assert client.get(status_url, HTTP_HX_REQUEST="true").status_code == 204  # nothing to swap in yet
    build = ExportBuild.objects.get(task=task)
    jobs.build_export(build.pk, build.token)
    ready = client.get(status_url, HTTP_HX_REQUEST="true")
    assert ready.status_code == 200 and ready["Cache-Control"] == "no-store"
    assert "Ready" in ready.content.decode()
    assert f'href="/tasks/{task.task_code}/export.zip">Download the ZIP</a>' in ready.content.decode()


def test_polls_of_a_zip_being_prepared_read_no_persona_rows(client, staff):
    """Each poll fingerprinted every result, check and credential row of the task, for nothing: a build runs."""
    task = stored_task(staff)
    client.get(f"/tasks/{task.task_code}/export.zip")
    with CaptureQueriesContext(connection) as polls:
        assert client.get(f"/tasks/{task.task_code}/export.zip/status").status_code == 204
        assert client.get(f"/tasks/{task.task_code}/export.zip", HTTP_ACCEPT="application/json").status_code == 202
    assert not [query["sql"] for query in polls if "generation_face_checks" in query["sql"]]
    assert not [query["sql"] for query in polls if "generation_image_credentials" in query["sql"]]


def test_a_running_task_s_recent_zip_is_served_without_reading_its_personas(client, staff):
    task = stored_task(staff)
    GenerationTask.objects.filter(pk=task.pk).update(status="generating-images")
    prepared_zip(client, task.task_code)
    make_result(task)  # the task goes on
    with CaptureQueriesContext(connection) as served:
        assert client.get(f"/tasks/{task.task_code}/export.zip").status_code == 200
    assert not [query["sql"] for query in served if "generation_face_checks" in query["sql"]]


def test_the_prepared_zip_is_served_from_storage_until_a_persona_changes(client, staff):
    task = stored_task(staff)
    first = prepared_zip(client, task.task_code)
    assert first.status_code == 200 and first["Content-Disposition"].startswith("attachment;")
    assert len(folders(first)) == 3
    again = client.get(f"/tasks/{task.task_code}/export.zip")
    assert again.status_code == 200 and len(queued_builds()) == 1  # served as prepared: no new build

    gone = task.results.order_by("pk").first()
    GenerationResult.objects.filter(pk=gone.pk).delete()
    assert client.get(f"/tasks/{task.task_code}/export.zip").status_code == 202
    after = prepared_zip(client, task.task_code)
    assert len(folders(after)) == 2


def age(key: str, seconds: float) -> None:
    """Make the stored file look written `seconds` ago (local storage)."""
    path = default_storage.path(key)
    written = os.stat(path).st_mtime - seconds
    os.utime(path, (written, written))


def rebuilt(client, task) -> str:
    make_result(task)
    prepared_zip(client, task.task_code)
    return ExportBuild.objects.get(task=task).key


def test_a_replaced_zip_is_kept_while_links_to_it_may_still_work_then_pruned(client, staff, settings):
    """A link handed out just before a rebuild (valid EXPORT_LINK_SECONDS) found NoSuchKey: the replaced ZIP was
    deleted the moment the new one was ready."""
    settings.EXPORT_LINK_SECONDS = 900
    task = stored_task(staff)
    prepared_zip(client, task.task_code)
    first = ExportBuild.objects.get(task=task).key
    second = rebuilt(client, task)
    assert storage.exists(first) and storage.exists(second)  # a late or resumed download still finds the first
    prune = Schedule.objects.get(func=export_builds.PRUNE_JOB)
    assert prune.next_run > timezone.now() + timedelta(seconds=900)  # once the links to the first have expired

    age(first, 2000)
    age(second, 1000)  # as when that time comes: the first replaced more than a link's life ago
    assert jobs.prune_exports(*ast.literal_eval(prune.args)) == 1
    assert not storage.exists(first) and storage.exists(second)

    third = rebuilt(client, task)
    age(second, 2000)
    age(third, 1000)
    fourth = rebuilt(client, task)  # a later build prunes too, should the scheduled job be lost
    assert not storage.exists(second)
    assert storage.exists(third) and storage.exists(fourth)  # the third was handed out until a moment ago
    services.delete_task(task)
    assert storage.list_files(storage.export_prefix(task.task_code)) == []


def unsigned_get(url: str) -> int:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_the_bucket_policy_the_readme_gives_opens_the_images_but_not_the_prepared_zips(client, staff, s3_bucket):
    """`s3:GetObject` on BUCKET/* made every prepared ZIP public to anyone who guessed its key."""
    task = stored_task(staff)
    link = prepared_zip(client, task.task_code)["Location"]
    assert unsigned_get(link) == 200  # the presigned link works
    assert unsigned_get(link.split("?")[0]) == 403  # the key alone does not
    image = task.results.order_by("pk").first()
    image_key = storage.key_from_url(image.base_image_url)
    assert unsigned_get(f"{s3_bucket.endpoint}/{s3_bucket.name}/{image_key}") == 200


def test_the_zip_goes_up_to_s3_in_the_job_s_own_thread(s3_bucket):
    """boto3's threaded upload called the build's heartbeat (an ORM update) from s3transfer's threads: a
    database connection per thread that nothing closed, and the beat's state shared without a lock."""
    callers = set()
    with io.BytesIO(os.urandom(9 * 1024 * 1024)) as spooled:  # over the multipart threshold: several pieces
        size = storage.save_export("exports/T/one.zip", spooled, progress=lambda _: callers.add(threading.get_ident()))
    assert size == 9 * 1024 * 1024 and s3_bucket.keys("exports/") == ["exports/T/one.zip"]
    assert callers == {threading.get_ident()}


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


def test_a_running_task_gets_what_is_finished_so_far_though_it_keeps_changing(client, staff, settings):
    settings.EXPORT_BUILD_STALE_SECONDS, settings.EXPORT_RUNNING_REFRESH_SECONDS = 60, 300
    task = stored_task(staff)
    GenerationTask.objects.filter(pk=task.pk).update(status="generating-images")
    first = prepared_zip(client, task.task_code)
    assert len(folders(first)) == 3
    make_result(task)  # the task goes on
    assert client.get(f"/tasks/{task.task_code}/export.zip").status_code == 200
    # Older than a dead build's silence, which once meant "too old" here too: still served, no rebuild.
    ExportBuild.objects.filter(task=task).update(finished_at=timezone.now() - timedelta(minutes=2))
    assert client.get(f"/tasks/{task.task_code}/export.zip").status_code == 200 and len(queued_builds()) == 1
    ExportBuild.objects.filter(task=task).update(finished_at=timezone.now() - timedelta(minutes=6))
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
