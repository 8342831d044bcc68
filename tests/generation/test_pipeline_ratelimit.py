"""The API call caps: slots reserved in the database, spaced at the configured rate, shared by every
thread and process, and in a whole task enough to keep a rate-limited server from answering 429."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from generation.integrations.openai import ratelimit
from generation.models import RateLimitSlot
from generation.pipeline.stages import run_inline
from tests.generation.helpers import assert_task_stored_completely, submit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def caps(settings):
    """No cap unless the test sets one, and slots spaced at exactly the cap (no headroom), so that they read
    plainly."""
    settings.OPENAI_IMAGES_PER_MINUTE = None
    settings.OPENAI_REQUESTS_PER_MINUTE = None
    settings.OPENAI_RATE_HEADROOM = 0
    return settings


def test_slots_are_spaced_the_headroom_wider_than_the_cap(caps):
    caps.OPENAI_IMAGES_PER_MINUTE = 120  # one every 0.5 s at the cap
    caps.OPENAI_RATE_HEADROOM = 0.05  # the default: paced at 95 % of it

    next_free = []
    for _ in range(3):
        ratelimit.reserve("image")
        next_free.append(RateLimitSlot.objects.get(name="images").next_at)

    gaps = [later - earlier for earlier, later in zip(next_free, next_free[1:], strict=False)]
    assert gaps == pytest.approx([0.5 / 0.95] * 2, abs=1e-6)


def test_image_slots_are_spaced_by_the_images_per_minute_cap(caps):
    caps.OPENAI_IMAGES_PER_MINUTE = 120  # one every 0.5 s

    waits, next_free = [], []
    for _ in range(4):
        waits.append(ratelimit.reserve("image"))
        next_free.append(RateLimitSlot.objects.get(name="images").next_at)

    assert waits[0] == 0  # the first call does not wait
    for n, wait in enumerate(waits[1:], 1):
        assert n * 0.5 - 0.2 < wait <= n * 0.5, waits  # less only the time the calls themselves took
    gaps = [later - earlier for earlier, later in zip(next_free, next_free[1:], strict=False)]
    assert gaps == pytest.approx([0.5, 0.5, 0.5], abs=1e-6)
    assert not RateLimitSlot.objects.filter(name="requests").exists()


def test_wait_for_slot_really_waits_for_the_reserved_moment(caps):
    caps.OPENAI_IMAGES_PER_MINUTE = 240  # one every 0.25 s
    started = time.monotonic()
    for _ in range(3):
        ratelimit.wait_for_slot("image")
    assert 0.45 <= time.monotonic() - started < 1.0


def test_text_calls_are_not_held_back_by_the_images_cap(caps):
    caps.OPENAI_IMAGES_PER_MINUTE = 1  # one image a minute
    assert ratelimit.reserve("image") == 0
    assert ratelimit.reserve("image") > 55

    assert [ratelimit.reserve("text") for _ in range(3)] == [0, 0, 0]
    assert list(RateLimitSlot.objects.values_list("name", flat=True)) == ["images"]


def test_the_requests_cap_counts_text_and_image_calls_alike(caps):
    caps.OPENAI_REQUESTS_PER_MINUTE = 60  # one call a second, whatever its kind
    assert ratelimit.reserve("text") == 0
    assert 0.8 < ratelimit.reserve("image") <= 1.0
    assert 1.8 < ratelimit.reserve("text") <= 2.0
    assert list(RateLimitSlot.objects.values_list("name", flat=True)) == ["requests"]


def test_with_no_cap_nothing_waits_and_nothing_is_written(caps):
    assert [ratelimit.reserve(kind) for kind in ("image", "text", "image")] == [0, 0, 0]
    started = time.monotonic()
    ratelimit.wait_for_slot("image")
    assert time.monotonic() - started < 0.05
    assert RateLimitSlot.objects.count() == 0


def test_threads_reserving_at_once_share_the_slot_row_and_never_get_the_same_slot(caps):
    """A 60 s interval makes each wait name its slot: round(wait / 60) is the slot's position."""
    caps.OPENAI_IMAGES_PER_MINUTE = 1
    threads_count, each = 4, 5
    barrier = threading.Barrier(threads_count)
    waits: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def reserve_some() -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(each):
                wait = ratelimit.reserve("image")
                with lock:
                    waits.append(wait)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=reserve_some) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors, errors
    total = threads_count * each
    assert sorted(round(wait / 60) for wait in waits) == list(range(total))
    assert RateLimitSlot.objects.count() == 1


def test_a_task_under_the_images_cap_gets_no_429_from_a_rate_limited_server(fake_openai, s3_bucket, caps):
    caps.OPENAI_IMAGES_PER_MINUTE = 240  # one image call every 0.25 s
    fake_openai.images_per_minute = 240
    task = submit(number_to_generate=3, images_per_persona=4)

    run_inline(task)

    assert_task_stored_completely(task, s3_bucket)
    assert fake_openai.rate_limited == 0
    image_calls = sorted(c.at for c in fake_openai.requests if "/images/" in c.path)
    assert len(image_calls) == 6
    gaps = [later - earlier for earlier, later in zip(image_calls, image_calls[1:], strict=False)]
    assert min(gaps) >= 0.2, gaps  # spread at the cap's pace, never in a burst
