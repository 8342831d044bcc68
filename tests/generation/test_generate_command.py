"""`manage.py generate … --sync`: a whole task in the command's own process, with the offline
backend and local files, or against the loopback OpenAI server when it should fail."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from generation.models import GenerationTask
from testkit.factories import make_superuser, make_user
from tests.generation.helpers import with_thumbnails

pytestmark = pytest.mark.django_db


@pytest.fixture
def local_files(settings):
    """Local file storage under the test's own MEDIA_ROOT (set by the autouse fixture)."""
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"allow_overwrite": True}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return Path(settings.MEDIA_ROOT)


def generate(*args: str) -> str:
    out = io.StringIO()
    call_command("generate", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_generate_sync_with_the_offline_backend_stores_every_file_locally(settings, local_files):
    settings.GENERATION_BACKEND = "offline"
    owner = make_superuser()

    arguments = ["--count", "2", "--images", "4", "--language", "French", "--sync"]
    output = generate("Bakers in Lyon who love cycling", *arguments)

    task = GenerationTask.objects.get()
    assert task.user == owner
    assert task.status == GenerationTask.Status.COMPLETED, task.error_log
    assert (task.bio_language, task.number_to_generate, task.images_per_persona) == ("French", 2, 4)
    assert f"Task {task.task_code}: 2 persona(s) x 4 images, bios in French." in output
    assert "Status: completed." in output
    assert f"Images: {local_files}/avatars/{task.task_code}/" in output
    results = list(task.results.all())
    assert len(results) == 2
    names = [r.full_name for r in results]
    assert all(r.firstname.strip() and r.lastname.strip() for r in results)
    assert len(set(names)) == 2
    for result in results:
        assert result.full_name in output and result.base_image_url in output
        folder = local_files / "avatars" / task.task_code / str(result.pk)
        names = ["1.jpg", "2.jpg", "3.jpg", "4.jpg", "base.png"]
        assert sorted(p.name for p in folder.iterdir()) == with_thumbnails(names)
        with Image.open(folder / "base.png") as base:
            assert base.size == (1024, 1024)
        for n in range(1, 5):
            with Image.open(folder / f"{n}.jpg") as tile:
                assert tile.format == "JPEG" and min(tile.size) >= 256
        assert len(result.images) == 4 and all(url in output for url in result.images)


def test_a_failed_task_makes_the_command_exit_with_status_1(fake_openai, local_files):
    make_superuser()
    fake_openai.reject_all_with(401, "invalid_api_key")

    with pytest.raises(SystemExit) as exited:
        generate("Night-shift nurses", "--count", "2", "--sync")

    assert exited.value.code == 1
    task = GenerationTask.objects.get()
    assert task.status == GenerationTask.Status.FAILED
    assert "OPENAI_API_KEY" in task.error_log


def test_the_failure_is_printed_before_the_command_exits(fake_openai, local_files):
    make_superuser()
    fake_openai.reject_all_with(401, "invalid_api_key")
    out = io.StringIO()

    with pytest.raises(SystemExit):
        call_command("generate", "Night-shift nurses", "--count", "1", "--sync", stdout=out)

    assert "Status: failed." in out.getvalue()
    assert "The API key was rejected (invalid_api_key): check OPENAI_API_KEY." in out.getvalue()


def test_an_unknown_user_is_refused_with_a_clear_message(settings, local_files):
    settings.GENERATION_BACKEND = "offline"
    make_superuser()
    with pytest.raises(CommandError, match=r"^No active user nobody@example\.com\.$"):
        generate("Anyone", "--user", "nobody@example.com", "--sync")
    assert not GenerationTask.objects.exists()


def test_the_user_option_picks_the_owner_by_email(settings, local_files):
    settings.GENERATION_BACKEND = "offline"
    make_superuser()
    owner = make_user("writer@example.com", is_staff=True)
    generate("Anyone", "--count", "1", "--user", "writer@example.com")  # queued only, not run
    task = GenerationTask.objects.get()
    assert task.user == owner and task.status == GenerationTask.Status.PENDING


def test_a_non_staff_owner_is_refused_since_they_could_not_see_the_task(settings, local_files):
    settings.GENERATION_BACKEND = "offline"
    make_user("client@example.com")
    with pytest.raises(CommandError, match="client@example.com is not staff, so they could not see the task"):
        generate("Anyone", "--count", "1", "--user", "client@example.com")
    assert not GenerationTask.objects.exists()


def test_without_a_superuser_the_command_says_how_to_make_one(settings, local_files):
    settings.GENERATION_BACKEND = "offline"
    with pytest.raises(CommandError, match="No active superuser: pass --user or run ensure_superuser."):
        generate("Anyone", "--sync")


def test_invalid_values_are_refused_before_anything_is_created(settings, local_files):
    settings.GENERATION_BACKEND = "offline"
    make_superuser()
    with pytest.raises(CommandError, match="Choose a number of personas from 1 to"):
        generate("Anyone", "--count", "0", "--sync")
    assert not GenerationTask.objects.exists()
