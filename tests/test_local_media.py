"""Local media in production: with DEBUG off Django serves no media, so images stored as local files were a 404
on every page. `check --deploy` now says so, unless SERVE_MEDIA has Django serve them (to signed-in staff)."""

import pytest
from django.core.checks import run_checks
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from testkit.factories import make_user
from testkit.images import jpeg
from testkit.servers import database_url
from testkit.web import running_gunicorn
from tests.conftest import requires_postgresql

LOCAL = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"allow_overwrite": True}}
BUCKET = {"BACKEND": "generation.storage.PutObjectS3Storage", "OPTIONS": {"bucket_name": "avatars"}}


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
def test_with_serve_media_gunicorn_serves_local_images_to_staff_only(settings, tmp_path):
    image = jpeg(64, 64)
    name = default_storage.save("avatars/probe/1/base.jpg", ContentFile(image))
    staff = Client()
    staff.force_login(make_user(is_staff=True))
    session = {"sessionid": staff.cookies["sessionid"].value}
    environment = {"DATABASE_URL": database_url(), "SECRET_KEY": settings.SECRET_KEY, "SERVE_MEDIA": "true",
                   "MEDIA_ROOT": str(settings.MEDIA_ROOT)}  # fmt: skip
    with running_gunicorn(environment, tmp_path / "web.log") as web:
        served = web.get(f"/media/{name}", cookies=session)
        anonymous = web.get(f"/media/{name}")
        missing = web.get("/media/avatars/probe/1/none.jpg", cookies=session)
        outside = web.get("/media/../settings.py", cookies=session)
    assert served.status == 200, web.log()
    assert served.body == image and served.headers["Content-Type"] == "image/jpeg"
    assert anonymous.status == 302 and "/accounts/login/" in anonymous.headers["Location"]
    assert missing.status == 404 and outside.status in (400, 404)  # never a file outside MEDIA_ROOT
