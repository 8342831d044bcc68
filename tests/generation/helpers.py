"""Checks and steps shared by the pipeline tests: fetch what a task stored, by its public URLs; run part of a task
in this process; see which indexes a query's plan reads; race one step against itself."""

from __future__ import annotations

import io
import json
import threading
import urllib.request
from collections.abc import Callable, Iterable

from django.db import connection
from PIL import Image

from generation.imaging.metadata import read_xmp
from generation.integrations import provenance, storage
from generation.models import ExportBuild, GenerationTask, ImageCredential, PipelineUnit
from generation.services import jobs, submit_task
from testkit.factories import make_user
from testkit.servers import wait_until


def submit(**fields) -> GenerationTask:
    values = {
        "persona_description": "Night-shift nurses in Manchester who run half-marathons",
        "bio_language": "English",
        "number_to_generate": 3,
        "images_per_persona": 4,
    } | fields
    return submit_task(user=values.pop("user", None) or make_user(), **values)


def fetch_image(url: str) -> tuple[Image.Image, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        data = response.read()
    image = Image.open(io.BytesIO(data))
    image.load()
    return image, data


def with_thumbnails(keys: Iterable[str]) -> list[str]:
    """The keys of these images and of their thumbnails, sorted: what the bucket holds for them."""
    return sorted({stored for key in keys for stored in (key, *storage.thumbnail_keys(key))})


BASE_ACTIONS = ["c2pa.created"]
TILE_ACTIONS = (["c2pa.opened", "c2pa.cropped"], ["c2pa.opened", "c2pa.resized", "c2pa.cropped"])  # cut, fitted
THUMBNAIL_ACTIONS = ["c2pa.created", "c2pa.resized"]


def assert_signed(data: bytes, task: GenerationTask, persona_id: int, key: str) -> provenance.Reading:
    """The file's Content Credentials validate, say trainedAlgorithmicMedia and our product, name its task and
    persona, and record what made it: the model (a base), a cut or fit of the model's image as parent (a photo), or
    a resize of its image (a thumbnail)."""
    reading = provenance.read(data)
    assert reading.problems == [], (key, reading.problems)
    assert reading.state in ("Valid", "Trusted")
    assert reading.claim_generator == provenance.PRODUCT
    assert reading.source_types == {provenance.TRAINED_ALGORITHMIC_MEDIA}
    assert (reading.ours["task"], reading.ours["persona"]) == (task.task_code, persona_id)
    if storage.is_thumbnail(key):
        assert reading.actions == THUMBNAIL_ACTIONS, key
        assert storage.thumbnail_key(reading.ours["of"], int(key.rsplit("thumb", 1)[1].split(".")[0])) == key
    elif "/base" in key:
        assert reading.actions == BASE_ACTIONS, key
        assert all(ingredient["relationship"] == "componentOf" for ingredient in reading.ingredients)
    elif reading.ours.get("parent_credentials") == "unreadable":  # the model's image had a broken manifest
        assert reading.actions in ([BASE_ACTIONS[0], *actions[1:]] for actions in TILE_ACTIONS), reading.actions
        assert reading.ingredients == []
    else:
        assert reading.actions in TILE_ACTIONS, (key, reading.actions)
        (parent,) = reading.ingredients
        assert parent["relationship"] == "parentOf"
        assert parent["title"] == ("photo grid" if reading.actions == TILE_ACTIONS[0] else "photo")
    return reading


def assert_task_signed(task: GenerationTask, results=None) -> None:
    """Every file of the task, fetched back by its public URL (thumbnails too), is signed as assert_signed says,
    and has its one ImageCredential row, verified."""
    keys = []
    for result in results or task.results.order_by("id"):
        for url in filter(None, [result.base_image_url, *(result.images or [])]):
            for file_url in [url, *(storage.thumbnail_url(url, width) for width in storage.THUMBNAIL_WIDTHS)]:
                key = storage.key_from_url(file_url)
                assert_signed(fetch_image(file_url)[1], task, result.pk, key)
                keys.append(key)
    rows = dict(ImageCredential.objects.filter(task=task).values_list("key", "verdict"))
    assert rows == dict.fromkeys(keys, "verified")


def assert_task_stored_completely(task: GenerationTask, bucket) -> None:
    """Every persona has its bios, a base selfie and its tiles, each fetched back by URL as an
    AI-labelled image of the right size, and the bucket holds exactly those files and their thumbnails."""
    task.refresh_from_db()
    assert task.status == "completed", task.error_log
    assert task.completed_at is not None and task.completed_at >= task.created_at
    results = list(task.results.order_by("id"))
    assert len(results) == task.number_to_generate
    expected_keys = []
    for result in results:
        for field in ("bio_facebook", "bio_instagram", "bio_x", "bio_tiktok"):
            assert getattr(result, field).strip(), field
        assert result.gender in ("f", "m")
        base, data = fetch_image(result.base_image_url)
        assert base.size == (1024, 1024)
        assert "trainedAlgorithmicMedia" in read_xmp(data)
        assert len(result.images) == task.images_per_persona
        for url in result.images:
            tile, data = fetch_image(url)
            assert tile.format == "JPEG"
            assert 400 <= tile.width <= 512 and 400 <= tile.height <= 512, tile.size
            assert "trainedAlgorithmicMedia" in read_xmp(data)
            assert not tile.getexif()
        prefix = f"avatars/{task.task_code}/{result.pk}/"
        base_name = "base.jpg" if base.format == "JPEG" else "base.png"  # as the API sent it
        expected_keys += [prefix + base_name] + [f"{prefix}{n}.jpg" for n in range(1, task.images_per_persona + 1)]
    assert bucket.keys("avatars/") == with_thumbnails(expected_keys)
    assert_task_signed(task, results)


def settled(task: GenerationTask) -> bool:
    task.refresh_from_db()
    return task.is_finished and not task.units.filter(state__in=PipelineUnit.OPEN_STATES).exists()


def settle(task: GenerationTask) -> None:
    wait_until(lambda: settled(task), timeout=60, message="the action to be run")
    assert task.status == GenerationTask.Status.COMPLETED, task.error_log


def used_indexes(queryset) -> set[str]:
    """The indexes PostgreSQL's plan for `queryset` reads, with sequential scans priced out of the question (the
    test tables are tiny, where a scan would win on cost)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = json.loads(queryset.explain(format="json"))
    found = set()

    def walk(node):
        if "Index Name" in node:
            found.add(node["Index Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def run_first_persona(task: GenerationTask) -> tuple[PipelineUnit, PipelineUnit]:
    """Start a two-persona task in this process and run its batch and the first persona's images unit; the other
    persona's unit waits, so the task still runs. Returns (that unit, the waiting one)."""
    from generation.pipeline import lifecycle
    from generation.pipeline.stages import run_unit

    token = lifecycle.inline.set(True)
    try:
        lifecycle.start(task.pk)
        run_unit(task.units.get(kind=PipelineUnit.Kind.BATCH).pk)
        first, waiting = task.units.filter(kind=PipelineUnit.Kind.PERSONA_IMAGES).order_by("pk")
        run_unit(first.pk)
    finally:
        lifecycle.inline.reset(token)
    return first, waiting


def prepared_zip(client, task_code: str):
    """GET the task's export.zip as a browser does: a 202 while it is prepared, then the ZIP. The build it queues
    is run here, in this process, as a worker would run it."""
    url = f"/tasks/{task_code}/export.zip"
    response = client.get(url)
    if response.status_code == 202:
        build = ExportBuild.objects.get(task__task_code=task_code)
        jobs.build_export(build.pk, build.token)
        response = client.get(url)
    return response


def at_the_same_moment(step: Callable[[], None], times: int = 6, timeout: float = 30) -> None:
    """Run `step` in `times` threads released together, each on a database connection of its own (closed after)."""
    start = threading.Barrier(times)

    def run() -> None:
        start.wait()
        try:
            step()
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
