"""Local media in production: with DEBUG off Django serves no media, so images stored as local files were a 404
on every page. `check --deploy` now says so, unless SERVE_MEDIA has Django serve them, to the staff who may see
their task."""

import pytest
from django.core.checks import run_checks
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from testkit.factories import make_task, make_user
from testkit.images import jpeg
from testkit.servers import database_url
from testkit.web import running_gunicorn
from tests.conftest import requires_postgresql

LOCAL = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"allow_overwrite": True}}
BUCKET = {"BACKEND": "generation.integrations.storage.PutObjectS3Storage", "OPTIONS": {"bucket_name": "avatars"}}


def deploy_errors() -> list[str]:
    return [problem.id for problem in run_checks(include_deployment_checks=True, tags=["files"])]


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.SERVE_MEDIA = False
    settings.MEDIA_URL = "/media/"
    settings.STORAGES = {**settings.STORAGES, "default": LOCAL}
    return settings


def test_the_deploy_check_fails_on_local_media_nobody_serves(production):
    assert deploy_errors() == ["generation.E003"]


def test_the_deploy_check_passes_when_django_serves_the_media(production):
    production.SERVE_MEDIA = True
    assert deploy_errors() == []


def test_the_deploy_check_passes_with_a_bucket(production):
    production.STORAGES = {**production.STORAGES, "default": BUCKET}
    assert deploy_errors() == []


def test_the_deploy_check_passes_when_another_host_serves_the_media(production):
    production.MEDIA_URL = "https://files.example.com/media/"
    assert deploy_errors() == []


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_with_serve_media_gunicorn_serves_a_tasks_images_to_the_staff_who_may_see_it_only(settings, tmp_path):
    image = jpeg(64, 64)
    owner, colleague = make_user(is_staff=True), make_user(is_staff=True)
    task = make_task(user=owner)
    name = default_storage.save(f"avatars/{task.task_code}/1/base.jpg", ContentFile(image))
    prepared = default_storage.save(f"exports/{task.task_code}/build.zip", ContentFile(b"PK"))
    environment = {"DATABASE_URL": database_url(), "SECRET_KEY": settings.SECRET_KEY, "SERVE_MEDIA": "true",
                   "MEDIA_ROOT": str(settings.MEDIA_ROOT)}  # fmt: skip
    with running_gunicorn(environment, tmp_path / "web.log") as web:
        served = web.get(f"/media/{name}", cookies=session_of(owner))
        not_theirs = web.get(f"/media/{name}", cookies=session_of(colleague))
        anonymous = web.get(f"/media/{name}")
        missing = web.get(f"/media/avatars/{task.task_code}/1/none.jpg", cookies=session_of(owner))
        outside = web.get("/media/../settings.py", cookies=session_of(owner))
        zip_file = web.get(f"/media/{prepared}", cookies=session_of(owner))
    assert served.status == 200, web.log()
    assert served.body == image and served.headers["Content-Type"] == "image/jpeg"
    assert not_theirs.status == 404
    assert anonymous.status == 302 and "/accounts/login/" in anonymous.headers["Location"]
    assert missing.status == 404 and outside.status in (400, 404)  # never a file outside MEDIA_ROOT
    assert zip_file.status == 404  # a prepared ZIP goes out through its export view only


def session_of(user) -> dict[str, str]:
    browser = Client()
    browser.force_login(user)
    return {"sessionid": browser.cookies["sessionid"].value}
