"""A staff user's day in a real headless Chromium: sign in, submit a task, watch it finish without
reloading, browse the gallery, copy a bio, download the ZIP, sign out. Against a live server, a real
worker cluster, the loopback OpenAI server and moto's S3."""

import re
import time
import zipfile

import pytest
from playwright.sync_api import expect

from generation.models import GenerationTask
from testkit.factories import make_user
from testkit.servers import Cluster
from tests.conftest import requires_postgresql

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]
PASSWORD = "a long enough secret"


@pytest.fixture
def worker(cluster_env, tmp_path, fake_openai):
    fake_openai.image_latency = 0.4  # slow enough to see the progress move
    cluster = Cluster(env=cluster_env, log_path=tmp_path / "qcluster.log").start()
    yield cluster
    cluster.stop()


def show_every_image(page):
    """Scroll through the page so lazy images load, and wait until each one has."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    # Polled from here: the page's Content-Security-Policy forbids the eval that wait_for_function uses.
    loaded = "() => [...document.querySelectorAll('.persona img')].every(img => img.complete && img.naturalWidth > 0)"
    deadline = time.monotonic() + 30
    while not page.evaluate(loaded):
        assert time.monotonic() < deadline, "images did not load"
        page.wait_for_timeout(100)
    page.evaluate("window.scrollTo(0, 0)")


def sign_in(page, base_url, email):
    page.goto(base_url + "/")
    expect(page).to_have_url(f"{base_url}/accounts/login/?next=/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your tasks")).to_be_visible()


def test_a_staff_user_submits_a_task_watches_it_finish_and_takes_the_results(
    browser, live_server, worker, s3_bucket, artifacts
):
    make_user("maya@example.com", password=PASSWORD, is_staff=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    sign_in(page, live_server.url, "maya@example.com")

    page.get_by_role("link", name="New task").first.click()
    page.get_by_label("Persona description").fill("Beekeepers in the Jura who sell honey at weekend markets")
    expect(page.locator("#description-counter")).to_have_text("56 / 4000")
    page.get_by_label("Language of the bios").select_option("French")
    page.get_by_label("Number of personas").fill("3")
    page.get_by_label("8 images").check()
    page.get_by_role("button", name="Generate personas").click()

    task = GenerationTask.objects.get()
    expect(page).to_have_url(f"{live_server.url}/tasks/{task.task_code}/")
    page.evaluate("window.__sameDocument = true")
    # The page follows the task by itself, step by step, with the progress in the tab's title; no reload.
    expect(page.locator(".step-active").first).to_be_visible(timeout=30_000)
    expect(page).to_have_title(re.compile(r"^\d+% · Beekeepers in the Jura"))
    page.screenshot(path=str(artifacts / "task-running-desktop.png"), full_page=True)
    expect(page.locator("#status-bar [data-status-badge]")).to_have_text("Completed", timeout=90_000)
    assert page.evaluate("window.__sameDocument") is True
    expect(page).to_have_title(re.compile(r"^Done · Beekeepers in the Jura"))
    steps = page.locator(".step")
    expect(steps.nth(1)).to_contain_text("Personas3 of 3")
    expect(steps.nth(3)).to_contain_text("Photos3 of 3")
    expect(page.locator(".step-done")).to_have_count(5)  # all but the face checks, which are off here
    expect(page.locator(".persona")).to_have_count(3)
    expect(page.locator("[data-duration]")).not_to_have_text("0m 00s")
    expect(page.locator("[data-genders]")).not_to_have_text("0 / 0")
    expect(page.locator(".photos img")).to_have_count(24)
    show_every_image(page)
    page.screenshot(path=str(artifacts / "task-page-desktop.png"), full_page=True)
    page.locator("#gallery").screenshot(path=str(artifacts / "gallery-desktop.png"))

    # A click on a photo opens a larger view: the full-size image, not the thumbnail the gallery shows.
    first_photo = page.locator(".photos a").first
    assert ".thumb256.webp" in first_photo.locator("img").evaluate("img => img.currentSrc")
    first_photo.click()
    dialog = page.locator("dialog#lightbox")
    expect(dialog).to_be_visible()
    assert dialog.locator("img").get_attribute("src") == first_photo.get_attribute("href")
    assert dialog.locator("img").evaluate("img => img.complete && img.naturalWidth > 400")
    page.screenshot(path=str(artifacts / "lightbox-desktop.png"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # Copy a bio from the persona's drawer, then all of them at once.
    page.locator(".persona").first.get_by_role("button", name="Bios").click()
    drawer = page.locator("dialog.drawer[open]")
    bio = drawer.locator(".bio-text").first.inner_text()
    drawer.locator("button[data-copy]").first.click()
    expect(drawer.locator("button[data-copy]").first).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == bio
    drawer.get_by_role("button", name="Copy all bios").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Facebook:\n") and "\n\nTikTok:\n" in copied
    page.keyboard.press("Escape")

    # Download the ZIP: the worker prepares it, and the page offers the link in place once it is ready.
    page.get_by_role("link", name="ZIP with images").click()
    expect(page.get_by_role("heading", name="Preparing the ZIP")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the ZIP").click(timeout=60_000)
    archive = zipfile.ZipFile(download_info.value.path())
    names = archive.namelist()
    assert {"personas.csv", "personas.json"} <= set(names)
    assert sum(name.endswith("/persona.json") for name in names) == 3
    assert sum(name.endswith("/base.jpg") for name in names) == 3  # as the API sent them: JPEG
    assert sum(name.endswith(".jpg") and not name.endswith("/base.jpg") for name in names) == 24

    # The same page on a phone.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=context.storage_state())
    phone_page = phone.new_page()
    phone_page.goto(f"{live_server.url}/tasks/{task.task_code}/")
    show_every_image(phone_page)
    phone_page.screenshot(path=str(artifacts / "task-page-phone.png"), full_page=True)
    phone_page.goto(f"{live_server.url}/tasks/")
    phone_page.screenshot(path=str(artifacts / "task-list-phone.png"), full_page=True)
    phone.close()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{live_server.url}/tasks/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/tasks/")
    context.close()
