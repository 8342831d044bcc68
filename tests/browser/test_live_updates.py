"""The task page's live updates in a real Chromium: what the user is doing survives them. The test plays the worker
by writing rows, as the pipeline would, while the page polls the live server; the page is never reloaded."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_q.models import Task as QueueTask
from playwright.sync_api import expect

from generation.models import GenerationTask, PipelineUnit, TaskRun
from generation.pipeline import lifecycle
from testkit.factories import make_result, make_task, make_user
from tests.browser.helpers import PASSWORD, look_at_both_widths, signed_in_context
from tests.conftest import requires_postgresql

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]
EMAIL = "watcher@example.com"
# Counts the persona cards the page removes: a morph patches cards in place and removes none.
WATCH_CARDS = """() => {
    window.__removedCards = 0;
    new MutationObserver(records => records.forEach(record => record.removedNodes.forEach(node => {
        if (node.nodeType === 1 && node.matches('li.persona')) window.__removedCards += 1;
    }))).observe(document.getElementById('live'), { childList: true, subtree: true });
}"""


def until(page, script: str, expected, timeout: float = 15):
    """Polls a page expression from here (the page's CSP forbids the eval Playwright's wait_for_function uses)."""
    deadline = time.monotonic() + timeout
    while (value := page.evaluate(script)) != expected:
        assert time.monotonic() < deadline, f"{script} stayed {value!r}, expected {expected!r}"
        page.wait_for_timeout(50)
    return value


@pytest.fixture
def running_task():
    user = make_user(EMAIL, password=PASSWORD, is_staff=True)
    task = make_task(user=user, number_to_generate=3, status="generating-images")
    TaskRun.objects.create(task=task, started_at=timezone.now())
    for _ in range(2):
        make_result(task, images=None)
    return task


def grow(task: GenerationTask) -> None:
    """What a worker's progress looks like from the page: a persona gets photos, another one arrives."""
    first = task.results.order_by("id").first()
    first.images = [f"https://cdn.example.com/{task.task_code}/{first.pk}/{n}.jpg" for n in range(1, 5)]
    first.save(update_fields=["images"])
    make_result(task, images=None)
    task.save(update_fields=["updated_at"])


def test_focus_scroll_the_copied_state_and_an_open_dialog_survive_an_update(
    browser, live_server, running_task, artifacts
):
    task = running_task
    context = signed_in_context(browser, live_server.url, EMAIL)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.goto(f"{live_server.url}/tasks/{task.task_code}/")
    page.evaluate("window.__sameDocument = true")
    page.evaluate(WATCH_CARDS)
    expect(page.locator(".step").nth(1)).to_contain_text("2 of 3")

    # Keyboard focus on a card's button, the page scrolled: an update changes neither.
    bios_button = page.locator(".persona").first.get_by_role("button", name="Bios")
    bios_button.focus()
    page.evaluate("document.activeElement.__mine = true; window.scrollTo(0, 300)")
    scrolled = page.evaluate("scrollY")
    grow(task)
    until(page, "document.querySelectorAll('li.persona').length", 3)
    expect(page.locator(".step").nth(1)).to_contain_text("3 of 3")
    expect(page.locator(".persona").first.locator(".photos img")).to_have_count(4)
    assert page.evaluate("document.activeElement.__mine === true")
    assert page.evaluate("scrollY") == scrolled
    assert page.evaluate("window.__removedCards") == 0

    # A drawer open with a "Copied" button: the next update keeps both.
    bios_button.click()
    drawer = page.locator("dialog.drawer[open]")
    copy = drawer.locator("button[data-copy]").first
    copy.click()
    expect(copy).to_have_text("Copied")
    second = task.results.order_by("id")[1]
    second.images = [f"https://cdn.example.com/{task.task_code}/{second.pk}/{n}.jpg" for n in range(1, 5)]
    second.save(update_fields=["images"])
    until(page, "document.querySelectorAll('li.persona')[1].querySelectorAll('.photos img').length", 4)
    assert copy.inner_text() == "Copied"
    expect(drawer).to_be_visible()
    assert page.evaluate("document.activeElement.dataset.copy") == copy.get_attribute("data-copy")
    page.keyboard.press("Escape")

    # The lightbox stays open across an update.
    page.locator(".photos a").first.click()
    expect(page.locator("dialog#lightbox")).to_be_visible()
    make_result(task, images=None)
    until(page, "document.querySelectorAll('li.persona').length", 4)
    expect(page.locator("dialog#lightbox")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True
    assert page.evaluate("window.__removedCards") == 0
    context.close()


def test_a_stall_banner_with_retry_appears_without_a_reload_and_the_tab_title_shows_progress(
    browser, live_server, running_task, artifacts
):
    task = running_task
    page = signed_in_context(browser, live_server.url, EMAIL).new_page()
    page.goto(f"{live_server.url}/tasks/{task.task_code}/")
    page.evaluate("window.__sameDocument = true")
    assert page.title().startswith("13% · ")  # two of three with data, none with photos
    expect(page.locator("[data-last-progress]")).to_contain_text("Last progress")
    expect(page.locator("#stall-banner")).to_have_count(0)
    # No unit has ended for longer than STALL_MINUTES and no worker holds a lease: stalled.
    quiet = timezone.now() - timedelta(minutes=settings.STALL_MINUTES + 1)
    GenerationTask.objects.filter(pk=task.pk).update(updated_at=quiet)
    expect(page.locator("#stall-banner")).to_be_visible(timeout=10_000)
    expect(page.locator("#stall-banner")).to_contain_text(f"No progress for {settings.STALL_MINUTES + 1} minutes")
    expect(page.locator("#stall-banner").get_by_role("button", name="Retry now")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True
    look_at_both_widths(browser, live_server.url, EMAIL, f"/tasks/{task.task_code}/", artifacts, "task-stalled")

    # When the task ends the page says so, stops asking, and the notification the user asked for is shown.
    page.evaluate(
        """() => {
            window.__notes = [];
            window.Notification = function (title, options) { window.__notes.push(title + ': ' + options.body); };
            window.Notification.requestPermission = () => Promise.resolve('granted');
        }"""
    )
    page.get_by_role("button", name="Notify me when it ends").click()
    expect(page.get_by_role("button", name="You will be notified")).to_be_visible()
    GenerationTask.objects.filter(pk=task.pk).update(status="completed", completed_at=timezone.now())
    expect(page.locator("#status-bar [data-status-badge]")).to_have_text("Completed — 0 of 3", timeout=10_000)
    until(page, "window.__notes.length", 1)
    assert page.evaluate("window.__notes[0]").startswith("Task Completed")
    assert page.locator("#poller").get_attribute("hx-get") is None
    assert page.title().startswith("Done · ")


def test_a_running_task_whose_workers_died_shows_the_no_worker_banner_and_loses_it_when_one_is_back(
    browser, live_server, running_task, artifacts
):
    """Every worker killed mid-task: its unit's lease has run out and no cluster has swept for over 90 s."""
    task = running_task
    unit = PipelineUnit.objects.create(task=task, kind="images", number=1, result=task.results.first(),
                                       state="running", lease_until=timezone.now() - timedelta(seconds=5))  # fmt: skip
    last_sweep = timezone.now() - timedelta(seconds=100)
    QueueTask.objects.create(id="b" * 32, name="sweep", func=lifecycle.SWEEP_JOB, started=last_sweep,
                             stopped=last_sweep, success=True)  # fmt: skip
    page = signed_in_context(browser, live_server.url, EMAIL).new_page()
    page.goto(f"{live_server.url}/tasks/{task.task_code}/")
    page.evaluate("window.__sameDocument = true")
    expect(page.locator("#worker-banner")).to_contain_text("No worker is running")
    expect(page.locator("#worker-banner")).to_contain_text("none is working on this task")
    look_at_both_widths(browser, live_server.url, EMAIL, f"/tasks/{task.task_code}/", artifacts, "task-no-worker")

    # A worker is back: it takes the unit under a new lease, and the banner goes without a reload.
    PipelineUnit.objects.filter(pk=unit.pk).update(lease_until=timezone.now() + timedelta(minutes=5))
    expect(page.locator("#worker-banner")).to_have_count(0, timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True


def test_the_task_list_updates_its_progress_bars_by_itself(browser, live_server, running_task):
    task = running_task
    page = signed_in_context(browser, live_server.url, EMAIL).new_page()
    page.goto(f"{live_server.url}/tasks/")
    row = page.locator(f"#task-{task.task_code}")
    expect(row).to_contain_text("French")
    assert row.locator("progress").evaluate("bar => bar.value") == 13
    grow(task)
    until(page, f"document.querySelector('#task-{task.task_code} progress').value", 47)
    expect(row).to_contain_text("1 / 3 with photos")
    GenerationTask.objects.filter(pk=task.pk).update(status="completed", completed_at=timezone.now())
    expect(row.locator("[data-status-badge]")).to_have_text("Completed — 1 of 3", timeout=10_000)
    until(
        page,
        "document.getElementById('list-poller') && document.getElementById('list-poller').hasAttribute('hx-get')",
        False,
    )
