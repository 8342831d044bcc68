"""Each review action of the gallery, clicked in a real Chromium and run by a real worker cluster against the
loopback OpenAI server and moto's S3: the card says the work is on its way, then shows the outcome, without a
reload."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from playwright.sync_api import expect

from generation.models import GenerationResult
from testkit.factories import make_user
from testkit.servers import wait_until
from tests.browser.helpers import PASSWORD, look_at, signed_in_context
from tests.conftest import requires_postgresql
from tests.generation.helpers import settle, submit

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]
EMAIL = "editor@example.com"


def card(page, result: GenerationResult):
    return page.locator(f"#persona-{result.pk}")


def test_every_review_action_runs_through_a_worker_and_shows_its_progress_live(
    browser, live_server, start_cluster, fake_openai, s3_bucket, settings, artifacts
):
    settings.PERSONAS_PER_BATCH = 3
    # Long enough to see "on its way": the photos wait for their image calls, the bios for their chat call, which
    # would otherwise answer at once and let a worker finish before the page that says so has loaded.
    fake_openai.image_latency = 1.0
    fake_openai.chat_latency = 1.0
    start_cluster(PERSONAS_PER_BATCH="3")
    user = make_user(EMAIL, password=PASSWORD, is_staff=True)
    task = submit(number_to_generate=3, images_per_persona=4, user=user)
    settle(task)
    first, second, third = task.results.order_by("pk")
    context = signed_in_context(browser, live_server.url, EMAIL, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/tasks/{task.task_code}/")

    # One photo, from the lightbox: it opens on that photo, the arrow keys move, the form regenerates it.
    before = list(second.images)
    card(page, second).locator(".photos a").nth(1).click()
    lightbox = page.locator("dialog#lightbox")
    expect(lightbox.locator(".lightbox-caption")).to_have_text(f"{second.full_name}, photo 2")
    page.keyboard.press("ArrowRight")
    expect(lightbox.locator(".lightbox-caption")).to_have_text(f"{second.full_name}, photo 3")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(lightbox.locator(".lightbox-caption")).to_have_text(f"{second.full_name}, photo 1")
    page.keyboard.press("ArrowRight")
    assert lightbox.locator("[data-lightbox-download]").get_attribute("href") == before[1]
    lightbox.get_by_role("button", name="Regenerate this photo").click()
    expect(page.locator(".message-success")).to_contain_text(f"A new photo 2 of {second.full_name}")
    expect(card(page, second).locator(".busy")).to_have_text("A new photo on its way…")
    expect(card(page, second).locator(".busy")).to_have_count(0, timeout=60_000)
    second.refresh_from_db()
    assert second.images[1] != before[1] and second.images[0] == before[0]
    expect(card(page, second).locator(".photos a").nth(1)).to_have_attribute("href", second.images[1])

    # New photos of a persona, from its menu.
    old_base = first.base_image_url
    card(page, first).locator("summary").click()
    card(page, first).get_by_role("button", name="Regenerate photos").click()
    expect(card(page, first).locator(".busy")).to_have_text("New photos on their way…")
    page.screenshot(path=str(artifacts / "task-action-running-desktop.png"), full_page=True)
    expect(card(page, first).locator(".busy")).to_have_count(0, timeout=60_000)
    first.refresh_from_db()
    assert first.base_image_url != old_base
    expect(card(page, first).locator("a.base")).to_have_attribute("href", first.base_image_url)

    # New bios.
    old_bio = third.bio_x
    card(page, third).locator("summary").click()
    card(page, third).get_by_role("button", name="Regenerate bios").click()
    expect(card(page, third).locator(".busy")).to_have_text("New bios on their way…")
    expect(card(page, third).locator(".busy")).to_have_count(0, timeout=60_000)
    third.refresh_from_db()
    assert third.bio_x != old_bio
    card(page, third).get_by_role("button", name="Bios").click()
    expect(page.locator("dialog.drawer[open]")).to_contain_text(third.bio_x)
    page.keyboard.press("Escape")

    # One persona's ZIP.
    card(page, third).locator("summary").click()
    with page.expect_download() as download:
        card(page, third).get_by_role("link", name="Download (ZIP)").click()
    archive = zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes()))
    names = archive.namelist()
    assert len(names) == 6 and any(name.endswith("/base.jpg") for name in names)
    persona = json.loads(archive.read(next(name for name in names if name.endswith("persona.json"))))
    assert persona["bios"]["x"] == third.bio_x

    # Delete, after the confirmation.
    page.on("dialog", lambda dialog: dialog.accept())
    card(page, third).locator("summary").click()
    card(page, third).get_by_role("button", name="Delete persona").click()
    expect(page.locator(".message-success")).to_contain_text(f"Deleted {third.full_name}")
    expect(page.locator(".persona")).to_have_count(2)
    wait_until(lambda: not GenerationResult.objects.filter(pk=third.pk).exists(), timeout=5, message="the delete")
    look_at(page, artifacts, "task-after-review-desktop")
    context.close()
