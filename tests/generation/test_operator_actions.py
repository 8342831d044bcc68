"""Operator actions through a real worker: new photos, one new photo, new bios, deleting a persona, and generating
the personas a task is missing. Each runs twice, and after each the bucket holds exactly the files the rows point
to: replaced files got new keys and the old ones are gone."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from generation import services
from generation.integrations import storage
from generation.models import GenerationTask
from tests.conftest import requires_postgresql
from tests.generation.helpers import assert_task_signed, fetch_image, settle, submit, with_thumbnails

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]


def assert_bucket_holds_exactly_the_rows_files(task: GenerationTask, bucket) -> None:
    """Each image the rows point to is there, by its public URL, with its thumbnails, signed; nothing else is, and
    no Content Credentials row is left of a replaced file."""
    referenced = set()
    for result in task.results.all():
        referenced |= {storage.key_from_url(url) for url in [result.base_image_url, *result.images]}
        for url in [result.base_image_url, *result.images]:
            fetch_image(url)
    assert bucket.keys("avatars/") == with_thumbnails(referenced)
    assert_task_signed(task)


def test_every_operator_action_runs_through_a_worker_twice_and_leaves_exactly_the_rows_files(
    start_cluster, fake_openai, s3_bucket, settings
):
    settings.PERSONAS_PER_BATCH = 3
    start_cluster(PERSONAS_PER_BATCH="3")
    task = submit(number_to_generate=3, images_per_persona=4)
    settle(task)
    first, second, third = task.results.order_by("pk")

    for _ in range(2):
        before = (first.base_image_url, first.images)
        services.regenerate_photos(first)
        settle(task)
        first.refresh_from_db()
        assert first.base_image_url != before[0] and not set(first.images) & set(before[1])
        assert_bucket_holds_exactly_the_rows_files(task, s3_bucket)

    for _ in range(2):
        before = list(second.images)
        services.regenerate_image(second, 2)
        settle(task)
        second.refresh_from_db()
        assert second.images[1] != before[1] and second.images[:1] + second.images[2:] == before[:1] + before[2:]
        assert_bucket_holds_exactly_the_rows_files(task, s3_bucket)

    for _ in range(2):
        before = (third.firstname, third.lastname, third.gender, third.bio_x)
        services.regenerate_bios(third)
        settle(task)
        third.refresh_from_db()
        assert (third.firstname, third.lastname, third.gender) == before[:3] and third.bio_x != before[3]

    assert services.delete_persona(third) == 5 * (1 + len(storage.THUMBNAIL_WIDTHS))  # base, 4 photos, thumbnails
    assert services.delete_persona(third) == 0
    assert task.results.count() == 2
    assert_bucket_holds_exactly_the_rows_files(task, s3_bucket)

    assert services.generate_missing(task) == 1
    settle(task)
    assert task.results.count() == 3 and not task.results.filter(images__isnull=True).exists()
    assert services.generate_missing(task) == 0
    assert_bucket_holds_exactly_the_rows_files(task, s3_bucket)


def test_the_regenerate_command_queues_an_action_and_names_what_is_wrong(start_cluster, fake_openai, s3_bucket):
    start_cluster()
    task = submit(number_to_generate=1, images_per_persona=4)
    settle(task)
    result = task.results.get()
    out = io.StringIO()
    call_command("regenerate", task.task_code, "--persona", str(result.pk), "--image", "3", stdout=out)
    assert f"queued for {result.full_name}" in out.getvalue()
    settle(task)
    result.refresh_from_db()
    assert ".v" in result.images[2]
    with pytest.raises(CommandError, match="has no image 9"):
        call_command("regenerate", task.task_code, "--persona", str(result.pk), "--image", "9")
    with pytest.raises(CommandError, match="has no persona 999999"):
        call_command("regenerate", task.task_code, "--persona", "999999", "--photos")
    call_command("regenerate", task.task_code, "--missing", stdout=out)
    assert "no persona is missing" in out.getvalue()
