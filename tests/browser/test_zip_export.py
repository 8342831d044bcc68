"""The task's ZIP in a real Chromium at 1440 and 390 px wide: "ZIP with images" opens a page that says it is being
prepared, which then offers the link in place, without reloading (focus and a screen reader's place are kept), and
passes axe-core in both states. The build is the worker's job, run here in the test's process."""

from __future__ import annotations

import zipfile

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from generation.models import ExportBuild
from generation.services import jobs
from testkit.faces import astronaut
from testkit.factories import PhotoSet, make_stored_result, make_task, make_user
from tests.browser.helpers import PASSWORD, WIDTHS, look_at, signed_in_context
from tests.conftest import requires_postgresql

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]
EMAIL = "zip-reviewer@example.com"


def test_zip_with_images_shows_it_being_prepared_then_a_ready_link_in_place(browser, live_server, artifacts):
    user = make_user(EMAIL, password=PASSWORD, is_staff=True)
    photos = PhotoSet.of(astronaut())
    for width in WIDTHS:
        task = make_task(user=user, status="completed", completed_at=timezone.now(), number_to_generate=2)
        for _ in range(2):
            make_stored_result(task, photos)
        context = signed_in_context(browser, live_server.url, EMAIL, width, accept_downloads=True)
        page = context.new_page()
        page.goto(f"{live_server.url}/tasks/{task.task_code}/")
        page.get_by_role("link", name="ZIP with images").click()
        expect(page.get_by_role("heading", name="Preparing the ZIP")).to_be_visible()
        expect(page.get_by_text("is being put together")).to_be_visible()
        look_at(page, artifacts, f"zip-preparing-{width}")
        back = page.get_by_role("link", name="Back to the task")
        back.focus()
        page.evaluate("window.stillTheSamePage = true")

        build = ExportBuild.objects.get(task=task)
        jobs.build_export(build.pk, build.token)
        download = page.get_by_role("link", name="Download the ZIP")
        expect(download).to_be_visible(timeout=15_000)
        expect(page.locator("#export-status")).to_contain_text("Ready")
        expect(page.get_by_role("link", name="Check now")).to_have_count(0)
        assert page.evaluate("window.stillTheSamePage === true")  # swapped in, not reloaded
        expect(back).to_be_focused()
        look_at(page, artifacts, f"zip-ready-{width}")

        with page.expect_download() as downloaded:
            download.click()
        archive = zipfile.ZipFile(downloaded.value.path())
        assert archive.testzip() is None
        assert sum(name.endswith("/persona.json") for name in archive.namelist()) == 2
        context.close()
