"""What files and operators send, checked at the door: ZIP folder names that every file system can create,
`import_faces` reading only what it should, a new-task form whose token went missing, descriptions that carry bidi
controls, and admin filters given a NUL."""

from __future__ import annotations

import io
import os
import tracemalloc
import uuid
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from generation.models import GenerationTask
from generation.services.exports import FOLDER_NAME_BYTES, zip_archive
from testkit.factories import make_result, make_superuser, make_task, make_user

pytestmark = pytest.mark.django_db


def test_zip_folders_of_long_accented_and_cjk_names_fit_a_file_system_and_stay_distinct(tmp_path, settings):
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"allow_overwrite": True}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    task = make_task(number_to_generate=3)
    names = [("é" * 100, "é" * 100), ("日" * 100, "日" * 100), ("日" * 100, "日" * 99 + "本")]
    for first, last in names:
        make_result(task, firstname=first, lastname=last, base_image_url=None, images=None)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(zip_archive(task))))

    archive.extractall(tmp_path)  # a 510-byte folder name failed here, as it did in unzip

    folders = sorted({name.split("/")[0] for name in archive.namelist() if "/" in name})
    assert len(folders) == 3
    assert all(len(folder.encode()) <= FOLDER_NAME_BYTES + 20 for folder in folders)
    for folder in folders:
        assert (tmp_path / folder / "persona.json").is_file()


def jpeg_bytes(size=(512, 512)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (180, 140, 120)).save(buffer, "JPEG")
    return buffer.getvalue()


def import_faces(folder: Path) -> dict[str, str]:
    out = io.StringIO()
    call_command("import_faces", str(folder), gender="f", stdout=out)
    lines = [line.split(None, 1) for line in out.getvalue().splitlines()[:-1]]
    return {rest.split(":")[0]: verb + (":" + rest.split(":", 1)[1] if ":" in rest else "") for verb, rest in lines}


def test_import_faces_refuses_links_odd_entries_and_oversized_or_truncated_files_and_says_why(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    folder = tmp_path / "faces"
    folder.mkdir()
    (folder / "good.jpg").write_bytes(jpeg_bytes())
    (folder / "truncated.jpg").write_bytes(jpeg_bytes()[:600])
    with open(folder / "huge.jpg", "wb") as sparse:  # 3 GB on paper, no disk used
        sparse.truncate(3 * 1024**3)
    os.symlink("/etc/passwd", folder / "passwd.jpg")
    os.symlink(folder / "good.jpg", folder / "alias.jpg")
    os.symlink(folder / "gone.jpg", folder / "broken.jpg")
    os.mkfifo(folder / "pipe.jpg")
    (folder / "nested").mkdir()

    tracemalloc.start()
    report = import_faces(folder)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert report["good.jpg"] == "added"
    assert report["truncated.jpg"] == "rejected: not a readable image"
    assert report["huge.jpg"] == "rejected: larger than 20 MB"
    for link in ("passwd.jpg", "alias.jpg", "broken.jpg"):
        assert report[link] == "rejected: a symbolic link; links are not followed"
    assert report["pipe.jpg"] == "rejected: not a regular file (a pipe, socket or device)"
    assert report["nested"] == "rejected: a folder; folders are not searched"
    assert peak < 50 * 1024 * 1024  # the 3 GB file was never read
    stored = list((tmp_path / "media" / "faces" / "f").iterdir())
    assert len(stored) == 1


@pytest.mark.parametrize("token", [None, "", "not-a-uuid", "{x}"])
def test_a_missing_or_malformed_form_token_says_so_and_the_next_submit_goes_through(client, token):
    client.force_login(make_user(is_staff=True))
    fields = {"persona_description": "Surfers in Biarritz", "bio_language": "French", "number_to_generate": "2",
              "images_per_persona": "4"}  # fmt: skip
    if token is not None:
        fields["submission_token"] = token

    page = client.post(reverse("task_new"), fields)

    assert page.status_code == 200 and not GenerationTask.objects.exists()
    html = page.content.decode()
    assert "arrived without its submission token" in html and 'role="alert"' in html
    fresh = page.context["form"]["submission_token"].value()
    assert fresh not in (None, "", token)
    done = client.post(reverse("task_new"), fields | {"submission_token": fresh})
    assert done.status_code == 302
    assert GenerationTask.objects.count() == 1


BIDI_DESCRIPTION = "Surfers from \u202eztirraiB\u202c who \u2066work\u2069 \u202aremotely\u202b\u202d"


def test_a_description_from_the_form_loses_its_bidi_controls_as_names_and_bios_do(client):
    client.force_login(make_user(is_staff=True))
    fields = {"persona_description": BIDI_DESCRIPTION, "bio_language": "English", "number_to_generate": "2",
              "images_per_persona": "4", "submission_token": "7d1f7c59-5b0e-4a2b-9a51-3f6f6d1b2c44"}  # fmt: skip

    assert client.post(reverse("task_new"), fields).status_code == 302
    assert GenerationTask.objects.get().persona_description == "Surfers from ztirraiB who work remotely"

    only_controls = client.post(reverse("task_new"), fields | {"persona_description": "\u202e\u2066 \u2069",
                                                                "submission_token": str(uuid.uuid4())})  # fmt: skip
    assert only_controls.status_code == 200
    assert only_controls.context["form"].errors["persona_description"] == ["Describe the personas to generate."]


def test_a_description_from_the_generate_command_loses_its_bidi_controls():
    owner = make_user(is_staff=True)
    call_command("generate", BIDI_DESCRIPTION, "--count", "1", "--user", owner.email, stdout=io.StringIO())
    assert GenerationTask.objects.get().persona_description == "Surfers from ztirraiB who work remotely"


@pytest.mark.parametrize(
    "url",
    [
        "/admin/generation/generationtask/?status__exact=%00",
        "/admin/generation/generationtask/?images_per_persona__exact=%00",
        "/admin/generation/generationtask/?q=%00",
        "/admin/generation/generationresult/?gender__exact=%00",
        "/admin/generation/pipelineunit/?state__exact=%00",
        "/admin/generation/pipelineunit/?kind__exact=%00",
        "/tasks/?status=%00",
    ],
)
def test_a_nul_in_an_admin_filter_or_a_list_query_gets_a_400_page_not_a_500(client, url):
    client.force_login(make_superuser())
    response = client.get(url)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
