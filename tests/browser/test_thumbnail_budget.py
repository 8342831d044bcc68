"""The gallery's weight, measured in Chromium: a page of 24 personas whose photos are real-size JPEGs of a real
face loads at most 1.5 MB of images before the user scrolls, because it shows their WebP thumbnails. The full-size
files load only in the lightbox."""

from __future__ import annotations

import pytest
from django.utils import timezone

from testkit.faces import astronaut
from testkit.factories import PhotoSet, make_stored_result, make_task, make_user
from tests.browser.helpers import PASSWORD, WIDTHS, signed_in_context
from tests.conftest import requires_postgresql

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]
EMAIL = "budget@example.com"
BUDGET = 1_500_000


def image_bytes_loaded(browser, base_url: str, path: str, width: str) -> tuple[int, list[str]]:
    """The bytes of every image response the page received by the time its network went quiet, and their URLs."""
    context = signed_in_context(browser, base_url, EMAIL, width)
    page = context.new_page()
    loaded = []
    page.on("requestfinished", lambda request: loaded.append(request) if request.resource_type == "image" else None)
    page.goto(base_url + path)
    page.wait_for_load_state("networkidle")
    total = sum(request.sizes()["responseBodySize"] for request in loaded)
    urls = [request.url for request in loaded]
    context.close()
    return total, urls


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_page_of_24_real_size_personas_loads_under_1_5_mb_of_images(browser, live_server, s3_bucket, width):
    user = make_user(EMAIL, password=PASSWORD, is_staff=True)
    task = make_task(user=user, number_to_generate=24, status="completed", completed_at=timezone.now())
    photos = PhotoSet.of(astronaut())
    for _ in range(24):
        make_stored_result(task, photos)
    full_size = 24 * (len(photos.base) + 4 * len(photos.tile))
    assert full_size > 10_000_000  # what the page would fetch without thumbnails

    total, urls = image_bytes_loaded(browser, live_server.url, f"/tasks/{task.task_code}/", width)
    assert urls and all(".thumb" in url and url.endswith(".webp") for url in urls)
    assert total <= BUDGET, f"{total} bytes of images before scrolling, over {BUDGET}"
