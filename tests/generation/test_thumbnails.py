"""WebP thumbnails, 256 and 512 px wide, beside every stored image: written by the pipeline with the base, the tiles,
replacement tiles and redone photos; remade from the stored image when a run was cut off before them; replaced and
pruned with their image; deleted with their persona or task; and backfilled by `manage.py make_thumbnails` for
images made before thumbnails existed."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image

from generation import services
from generation.imaging.metadata import read_xmp, with_ai_metadata
from generation.imaging.photos import split_grid_photos, thumbnails_of
from generation.integrations import storage
from generation.models import GenerationResult, GenerationTask, PipelineUnit
from generation.pipeline import lifecycle
from generation.pipeline.stages import run_inline, run_unit
from testkit import faces
from tests.generation.helpers import (
    assert_task_signed,
    assert_task_stored_completely,
    fetch_image,
    run_first_persona,
    submit,
    with_thumbnails,
)

pytestmark = pytest.mark.django_db(transaction=True)

GENERATIONS = "/images/generations"
EDITS = "/images/edits"
State = PipelineUnit.State


def image_urls(result: GenerationResult) -> list[str]:
    return [result.base_image_url, *result.images]


def assert_has_its_thumbnails(url: str) -> dict[int, bytes]:
    """The image's thumbnails, fetched by their public URLs: WebP, each as wide as asked (or as the image, never
    wider), the image's aspect kept, marked as AI-generated."""
    image, _ = fetch_image(url)
    made = {}
    for width in storage.THUMBNAIL_WIDTHS:
        thumbnail, data = fetch_image(storage.thumbnail_url(url, width))
        assert thumbnail.format == "WEBP"
        assert thumbnail.width == min(width, image.width)
        assert abs(thumbnail.height - image.height * thumbnail.width / image.width) <= 1
        assert "trainedAlgorithmicMedia" in read_xmp(data)
        made[width] = data
    return made


def run_waiting_units(task: GenerationTask, ask=None) -> None:
    """Run the task's waiting units in this process, as a worker would; first ask for an operator action."""
    token = lifecycle.inline.set(True)
    try:
        if ask:
            ask()
        for pk in task.units.filter(state__in=[State.PENDING, State.QUEUED]).values_list("pk", flat=True):
            run_unit(pk)
    finally:
        lifecycle.inline.reset(token)


def run_redo(task: GenerationTask, ask) -> None:
    run_waiting_units(task, ask)
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.COMPLETED, task.error_log


def thumbnails_in(bucket, task: GenerationTask) -> list[str]:
    return [key for key in bucket.keys(f"avatars/{task.task_code}/") if storage.is_thumbnail(key)]


def etags(bucket, keys) -> dict[str, str]:
    """Key -> ETag: a file written again shows up as a changed entry."""
    client = bucket.client()
    return {key: client.head_object(Bucket=bucket.name, Key=key)["ETag"] for key in keys}


def delete(bucket, keys) -> None:
    client = bucket.client()
    for key in keys:
        client.delete_object(Bucket=bucket.name, Key=key)


# --- The pipeline writes them -----------------------------------------------------------------------------------


def test_the_base_and_every_tile_have_webp_thumbnails_of_256_and_512_px_after_a_run(fake_openai, s3_bucket):
    task = submit(number_to_generate=2, images_per_persona=8)
    run_inline(task)
    assert_task_stored_completely(task, s3_bucket)  # the bucket holds each image and its thumbnails, nothing else
    for result in task.results.all():
        for url in image_urls(result):
            assert_has_its_thumbnails(url)


def test_real_photos_give_thumbnails_of_a_few_kb_and_the_256_px_one_of_a_1024_photo_is_under_25_kb(
    fake_openai, s3_bucket
):
    a, g = faces.astronaut(), faces.grace_hopper()
    fake_openai.send_next_image(GENERATIONS, faces.portrait(a))
    fake_openai.send_next_image(EDITS, faces.grid([a, g, faces.mirrored(a), faces.darker(g)]))
    task = submit(number_to_generate=1, images_per_persona=4)
    run_inline(task)
    result = task.results.get()
    base = assert_has_its_thumbnails(result.base_image_url)
    assert fetch_image(result.base_image_url)[0].size == (1024, 1024)
    assert 2_000 < len(base[256]) < 25_000
    assert len(base[256]) < len(base[512]) < 60_000
    for url in result.images:
        tile = assert_has_its_thumbnails(url)
        assert 2_000 < len(tile[256]) < 25_000 and len(tile[512]) < 60_000, {w: len(t) for w, t in tile.items()}


def test_a_split_makes_each_tile_s_thumbnails_from_the_same_crop():
    photos = split_grid_photos(faces.grid([faces.astronaut()] * 4), 2, 2, thumbnail_widths=(256, 512))
    assert len(photos) == 4
    for photo in photos:
        with Image.open(io.BytesIO(photo.data)) as tile, Image.open(io.BytesIO(photo.thumbnails[256])) as small:
            assert small.size == (256, round(tile.height * 256 / tile.width))
            assert small.format == "WEBP"
        assert photo.thumbnails.keys() == {256, 512}


def test_a_run_cut_off_between_the_images_and_their_thumbnails_makes_them_from_the_stored_images(
    fake_openai, s3_bucket
):
    """A worker died after storing the base and tiles, before their thumbnails: the next run writes exactly the
    missing thumbnails, from the stored files, with no API call and without writing an image again."""
    task = submit(number_to_generate=2, images_per_persona=4)
    unit, _ = run_first_persona(task)
    result = GenerationResult.objects.get(pk=unit.result_id)
    urls = image_urls(result)
    images = etags(s3_bucket, map(storage.key_from_url, urls))
    lost = thumbnails_in(s3_bucket, task)
    assert len(lost) == 10
    delete(s3_bucket, lost)
    calls = len(fake_openai.requests)
    GenerationResult.objects.filter(pk=result.pk).update(images=None)
    PipelineUnit.objects.filter(pk=unit.pk).update(
        state=State.RUNNING, lease_until=timezone.now() - timedelta(seconds=1)
    )

    run_unit(unit.pk)

    result.refresh_from_db()
    assert image_urls(result) == urls
    assert len(fake_openai.requests) == calls
    assert thumbnails_in(s3_bucket, task) == lost
    assert etags(s3_bucket, images) == images
    for url in urls:
        assert_has_its_thumbnails(url)
    run_waiting_units(task)
    assert_task_stored_completely(task, s3_bucket)


# --- Redone photos, deletes -------------------------------------------------------------------------------------


def test_new_photos_come_with_new_thumbnails_and_the_old_ones_are_pruned(fake_openai, s3_bucket):
    task = submit(number_to_generate=1, images_per_persona=4)
    run_inline(task)
    result = task.results.get()
    old = thumbnails_in(s3_bucket, task)

    run_redo(task, lambda: services.regenerate_photos(result))

    result.refresh_from_db()
    assert ".v" in result.base_image_url
    new = thumbnails_in(s3_bucket, task)
    assert not set(new) & set(old) and len(new) == len(old) == 10
    assert s3_bucket.keys("avatars/") == with_thumbnails(map(storage.key_from_url, image_urls(result)))
    for url in image_urls(result):
        assert_has_its_thumbnails(url)


def test_one_new_photo_replaces_that_photo_s_thumbnails_only(fake_openai, s3_bucket):
    task = submit(number_to_generate=1, images_per_persona=4)
    run_inline(task)
    result = task.results.get()
    before = list(result.images)
    kept = [storage.thumbnail_url(url, 256) for url in image_urls(result)]

    run_redo(task, lambda: services.regenerate_image(result, 3))

    result.refresh_from_db()
    assert result.images[2] != before[2] and "/3.v" in result.images[2]
    assert result.images[:2] + result.images[3:] == before[:2] + before[3:]
    assert_has_its_thumbnails(result.images[2])
    assert storage.thumbnail_url(result.images[2], 256) not in kept
    # The old photo 3 went with its thumbnails; every other image kept its own.
    assert s3_bucket.keys("avatars/") == with_thumbnails(map(storage.key_from_url, image_urls(result)))


def test_deleting_a_persona_and_then_its_task_deletes_their_thumbnails(fake_openai, s3_bucket):
    task = submit(number_to_generate=2, images_per_persona=4)
    run_inline(task)
    doomed, other = task.results.order_by("pk")
    assert services.delete_persona(doomed) == 15
    assert s3_bucket.keys("avatars/") == with_thumbnails(map(storage.key_from_url, image_urls(other)))
    assert services.delete_task(task) == 15
    assert s3_bucket.keys("avatars/") == []


# --- make_thumbnails --------------------------------------------------------------------------------------------


def make_thumbnails(*task_codes: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("make_thumbnails", *task_codes, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_make_thumbnails_writes_the_missing_ones_of_older_images_and_a_second_run_writes_none(fake_openai, s3_bucket):
    first, second = submit(number_to_generate=1), submit(number_to_generate=1)
    run_inline(first)
    run_inline(second)
    # All of the first task's thumbnails are missing, as for images made before thumbnails; 3 of the second's.
    delete(s3_bucket, thumbnails_in(s3_bucket, first) + thumbnails_in(s3_bucket, second)[:3])
    untouched = etags(s3_bucket, thumbnails_in(s3_bucket, second))

    out, err = make_thumbnails()

    assert "13 thumbnail(s) written; 3 image(s) already had theirs; 0 problem(s)." in out and err == ""
    results = [first.results.get(), second.results.get()]
    assert s3_bucket.keys("avatars/") == with_thumbnails(
        storage.key_from_url(url) for result in results for url in image_urls(result)
    )
    for result in results:
        for url in image_urls(result):
            assert_has_its_thumbnails(url)
    assert etags(s3_bucket, untouched) == untouched
    assert_task_signed(first)  # the new thumbnails carry Content Credentials, and their rows say so
    assert_task_signed(second)

    out, _ = make_thumbnails(first.task_code, second.task_code)
    assert "0 thumbnail(s) written; 10 image(s) already had theirs; 0 problem(s)." in out


def test_make_thumbnails_names_a_missing_file_a_broken_one_and_an_unknown_task_and_does_the_rest(
    fake_openai, s3_bucket
):
    task = submit(number_to_generate=1)
    run_inline(task)
    result = task.results.get()
    delete(s3_bucket, thumbnails_in(s3_bucket, task))
    gone, broken = storage.key_from_url(result.images[0]), storage.key_from_url(result.images[1])
    delete(s3_bucket, [gone])
    storage.save(broken, b"what a failed upload left: no image at all")

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match=r"3 image\(s\) or task\(s\) could not be given thumbnails"):
        call_command("make_thumbnails", task.task_code, "nosuch00", stdout=out, stderr=err)

    problems = err.getvalue()
    assert f"{gone} is missing from the storage; no thumbnails made" in problems
    assert f"{broken} is not a readable image (not an image file); no thumbnails made" in problems
    assert "task nosuch00: no such task" in problems
    assert "Traceback" not in problems + out.getvalue()
    assert "6 thumbnail(s) written" in out.getvalue()  # the base and the two good tiles
    for url in [result.base_image_url, *result.images[2:]]:
        assert_has_its_thumbnails(url)


def test_make_thumbnails_leaves_a_task_still_running_to_its_workers(db):
    task = submit(number_to_generate=1)  # pending: no worker has run it
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("make_thumbnails", task.task_code, stdout=io.StringIO(), stderr=err)
    assert f"task {task.task_code}: still running (pending); run again once it ends" in err.getvalue()


def test_thumbnails_made_from_a_stored_image_carry_its_own_xmp():
    data, _ = with_ai_metadata(faces.portrait(faces.astronaut()), description="Ada Example, 34, Lyon")
    made = thumbnails_of(data, storage.THUMBNAIL_WIDTHS)
    assert made.keys() == {256, 512}
    for width, thumbnail in made.items():
        with Image.open(io.BytesIO(thumbnail)) as small:
            assert small.size == (width, width) and small.format == "WEBP"
        assert "Ada Example, 34, Lyon" in read_xmp(thumbnail)
