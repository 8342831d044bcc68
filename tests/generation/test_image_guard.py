"""Images from the API are checked before they are stored or used: each bad one below was published as a
persona's base before. Now the call is asked again, and the task stores only good images."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from generation.integrations.image_guard import BadImage, check_image
from generation.models import GenerationTask
from generation.pipeline.stages import run_inline
from testkit import images
from testkit.servers import ROOT
from tests.generation.helpers import assert_task_stored_completely, submit

pytestmark = pytest.mark.django_db

BAD_IMAGES = {
    "a 20000x20000 PNG bomb": lambda: images.blank_png(20000, 20000),
    "a 50 MB file": lambda: images.padded(images.jpeg(), 50 * 1024 * 1024),
    "a 1x1 image": lambda: images.jpeg(1, 1),
    "a PNG with only its header chunk": images.header_only_png,
    "a JPEG header with no image data": images.jpeg_header_only,
    "a PNG when JPEG was asked": lambda: images.blank_png(1024, 1024),
    "not an image": lambda: b"<html>502 Bad Gateway</html>",
}


@pytest.mark.parametrize("kind", BAD_IMAGES)
def test_a_bad_image_is_refused_by_the_check(kind):
    with pytest.raises(BadImage):
        check_image(BAD_IMAGES[kind](), size="1024x1024", output_format="jpeg")


def test_a_good_image_of_about_the_asked_size_passes():
    check_image(images.jpeg(1024, 1024), size="1024x1024", output_format="jpeg")
    check_image(images.jpeg(1024, 1536), size="1024x1536", output_format="jpeg")
    check_image(images.blank_png(1024, 1024), size="auto", output_format="")


@pytest.mark.parametrize("kind", BAD_IMAGES)
def test_a_bad_base_image_is_asked_again_and_never_stored(fake_openai, s3_bucket, kind):
    fake_openai.send_next_image("/images/generations", BAD_IMAGES[kind]())
    task = submit(number_to_generate=2, images_per_persona=4)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)  # every stored file decodes at its right size
    assert len(fake_openai.calls("/images/generations")) == 3


def test_grids_that_stay_bad_end_the_task_with_a_readable_log_and_no_tile_stored(fake_openai, s3_bucket, settings):
    settings.UNIT_MAX_ATTEMPTS = 2
    fake_openai.send_next_image("/images/edits", images.header_only_png(), times=100)
    task = submit(number_to_generate=2, images_per_persona=4)

    run_inline(task)

    task.refresh_from_db()
    assert task.status == GenerationTask.Status.FAILED
    assert task.error_log.count("The API sent an image that does not decode") == 2
    stored = [key.rsplit("/", 1)[-1] for key in s3_bucket.keys("avatars/")]
    assert stored == 2 * ["base.jpg", "base.thumb256.webp", "base.thumb512.webp"]


REFUSE_BOMB = """
import json, sys
import django
django.setup()
from generation.integrations.backends import TransientBackendError, get_backend
base = open(sys.argv[1], "rb").read()
try:
    get_backend().edit_image([base], "a photo grid", shape="square", grid=(2, 2))
    outcome = "accepted"
except TransientBackendError as error:
    outcome = str(error)
# VmHWM: this process's own peak (ru_maxrss would start from the parent's size at the fork).
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"outcome": outcome, "peak_mb": peak_kb / 1024}))
"""


def test_refusing_a_12000x12000_grid_keeps_a_worker_under_300_mb(fake_openai, tmp_path):
    fake_openai.send_next_image("/images/edits", images.blank_png(12000, 12000), times=10)
    base = tmp_path / "base.jpg"
    base.write_bytes(images.jpeg())
    env = {
        "DJANGO_SETTINGS_MODULE": "avatar_project.settings",
        "ENV_FILE": "/nonexistent/.env",
        "SECRET_KEY": "test",
        "GENERATION_BACKEND": "openai",
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_MAX_RETRIES": "1",
        "OPENAI_OUTPUT_FORMAT": "png",  # the format passes: the size must refuse it, from the header alone
        "PYTHONPATH": str(ROOT),
        "PATH": "/usr/bin:/bin",
    }
    run = subprocess.run(
        [sys.executable, "-c", REFUSE_BOMB, str(base)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"peak memory while refusing a 12000x12000 grid: {report['peak_mb']:.0f} MB")
    assert "12000x12000" in report["outcome"]
    assert report["peak_mb"] < 300
