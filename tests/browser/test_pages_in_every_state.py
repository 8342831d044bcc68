"""Every page in every state a task can be in, in a real Chromium at 1440 and 390 px wide: each one screenshotted
into test-artifacts/ and checked with axe-core, which fails the test on any accessibility violation. The states are
built with the services and factories; no worker is needed to look at them."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from generation import services
from generation.models import GenerationTask, ImageCredential, PersonaDetails, PipelineUnit, TaskRequest, TaskRun
from generation.pipeline import lifecycle
from testkit.faces import astronaut, grace_hopper
from testkit.factories import PhotoSet, make_result, make_stored_result, make_task, make_user
from tests.browser.helpers import PASSWORD, WIDTHS, look_at, look_at_both_widths, signed_in_context
from tests.conftest import requires_postgresql

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]
EMAIL = "reviewer@example.com"
LONG_DESCRIPTION = ("Retired lighthouse keepers from the Breton coast who now run small guest houses. " * 50)[:4000]


@pytest.fixture
def reviewer(db):
    return make_user(EMAIL, password=PASSWORD, is_staff=True)


@pytest.fixture(scope="module")
def photos():
    return PhotoSet.of(astronaut()), PhotoSet.of(grace_hopper())


def finished_task(user, photos, count=6, **fields) -> GenerationTask:
    fields = {"number_to_generate": count} | fields
    task = make_task(user=user, status="completed", completed_at=timezone.now(), **fields)
    for n in range(count):
        make_stored_result(task, photos[n % 2], gender="mf"[n % 2])
    TaskRun.objects.create(task=task, started_at=timezone.now() - timedelta(seconds=75), ended_at=timezone.now())
    return task


def test_the_task_list_and_new_task_form_pass_axe_at_both_widths(
    browser, live_server, reviewer, s3_bucket, artifacts, photos
):
    finished_task(reviewer, photos, count=2)
    make_task(user=reviewer, status="generating-images", persona_description="Night-shift nurses in Glasgow")
    make_task(user=reviewer, status="cancelled", completed_at=timezone.now(), error_log="Cancelled by x@example.com.")
    make_task(user=reviewer, status="failed", completed_at=timezone.now(), error_log="No usable persona came out.")
    look_at_both_widths(browser, live_server.url, EMAIL, "/tasks/", artifacts, "task-list")
    look_at_both_widths(browser, live_server.url, EMAIL, "/tasks/new/", artifacts, "task-new")

    def with_errors(page):
        page.get_by_label("Number of personas").fill("0")
        page.get_by_role("button", name="Generate personas").click()
        expect(page.locator(".field-error").first).to_be_visible()

    look_at_both_widths(browser, live_server.url, EMAIL, "/tasks/new/", artifacts, "task-new-errors", then=with_errors)


def test_a_phone_user_taps_anywhere_on_a_task_row_and_every_target_is_44_px(browser, live_server, reviewer):
    task = make_task(user=reviewer, persona_description="Ferry captains on Lake Geneva")
    context = signed_in_context(browser, live_server.url, EMAIL, "phone")
    page = context.new_page()
    page.goto(live_server.url + "/tasks/")
    row = page.locator(f"#task-{task.task_code}")
    box = row.bounding_box()
    assert box["height"] < 200  # was about 330 px a task
    page.mouse.click(box["x"] + box["width"] - 20, box["y"] + box["height"] - 10)  # far from the title
    expect(page).to_have_url(f"{live_server.url}/tasks/{task.task_code}/")
    small = page.evaluate(
        """() => [...document.querySelectorAll('button, .button, .filters a, .choice, .pagination a')]
            .filter(el => el.offsetParent !== null)
            .map(el => [el.textContent.trim(), el.getBoundingClientRect().height])
            .filter(([, height]) => height < 44)"""
    )
    assert small == []
    page.goto(live_server.url + "/tasks/new/")
    radio_label = page.locator(".choice").first.bounding_box()
    assert radio_label["height"] >= 44
    context.close()


def test_a_finished_task_page_its_drawer_menu_lightbox_and_filters_pass_axe(
    browser, live_server, reviewer, s3_bucket, artifacts, photos
):
    task = finished_task(reviewer, photos, count=6)
    TaskRequest.objects.create(task=task, age_min=30, age_max=45, gender="mixed", country="PT", seed=7)
    path = f"/tasks/{task.task_code}/"
    # The first persona with a whole profile, its look, interests and photo ideas; the others have none.
    first = task.results.order_by("id").first()
    PersonaDetails.objects.create(
        result=first, slot=0, look="Cropped grey hair, wiry build, a weathered navy jacket",
        interests=["sailing", "fado"], photo_ideas=[f"On the pilot boat at dawn, shot {n}" for n in range(1, 5)],
    )  # fmt: skip
    task.results.filter(pk=first.pk).update(
        age=34, ethnicity="Portuguese", job_title="Harbour pilot", workplace="Port of Leixões",
        edu_establishment="Escola Náutica Infante D. Henrique", edu_study="Nautical science", current_city="Matosinhos",
        current_state="Porto District", prev_city="Aveiro", prev_state="Aveiro District",
        about="Brings the container ships in through the breakwater, day or night, in any weather.",
    )  # fmt: skip

    def says_verified(page):
        expect(page.locator("[data-credentials]")).to_have_text(
            "Content Credentials: verified (90 files signed, AI-generated)"
        )
        expect(page.locator(".persona").first.locator(".headline")).to_have_text("34 · Harbour pilot · Matosinhos")
        expect(page.locator("#request")).to_contain_text("30–45")
        expect(page.locator("#request")).to_contain_text("Portugal")
        expect(page.locator("#people")).to_contain_text("34 to 34, median 34")
        expect(page.locator("#people")).to_contain_text("Matosinhos (1)")

    look_at_both_widths(browser, live_server.url, EMAIL, path, artifacts, "task-completed", then=says_verified)
    look_at_both_widths(browser, live_server.url, EMAIL, path + "?view=faces", artifacts, "task-faces-view")
    look_at_both_widths(browser, live_server.url, EMAIL, path + "?gender=m", artifacts, "task-filtered-men")

    def open_drawer(page):
        page.locator(".persona").first.get_by_role("button", name="Bios").click()
        expect(page.locator("dialog.drawer[open]")).to_be_visible()
        expect(page.locator("dialog.drawer[open] dl.profile")).to_contain_text("Harbour pilot")
        expect(page.locator("dialog.drawer[open] dl.profile dt").first).to_have_text("Age")
        expect(page.locator("dialog.drawer[open] dl.profile")).to_contain_text("sailing, fado")
        expect(page.locator("dialog.drawer[open] dl.profile")).to_contain_text("weathered navy jacket")
        expect(page.locator("dialog.drawer[open] ol.photo-ideas li")).to_have_count(4)

    def open_menu(page):
        page.locator(".persona").first.locator("summary").click()
        expect(page.locator("details.menu[open] .menu-items")).to_be_visible()

    def open_lightbox(page):
        page.locator(".photos a").first.click()
        expect(page.locator("dialog#lightbox")).to_be_visible()

    look_at_both_widths(browser, live_server.url, EMAIL, path, artifacts, "task-bios-drawer", then=open_drawer)
    look_at_both_widths(browser, live_server.url, EMAIL, path, artifacts, "task-menu", then=open_menu)
    look_at_both_widths(browser, live_server.url, EMAIL, path, artifacts, "task-lightbox", then=open_lightbox)
    look_at_both_widths(browser, live_server.url, EMAIL, path + "delete/", artifacts, "task-delete")

    ImageCredential.objects.filter(pk=ImageCredential.objects.filter(task=task).first().pk).update(
        verdict="invalid", problem="validation failed: assertion.dataHash.mismatch", checked_by="verify_provenance"
    )

    def says_failed(page):
        expect(page.locator("[data-credentials]")).to_contain_text("1 of 90 files failed verification")

    look_at_both_widths(browser, live_server.url, EMAIL, path, artifacts, "task-credentials-failed", then=says_failed)


def test_each_card_says_verified_needs_a_look_or_not_checked_and_the_summary_agrees(
    browser, live_server, reviewer, s3_bucket, artifacts, photos
):
    """The face model checks three personas' stored files: one person throughout (verified), another person in
    the photos than in the base (needs a look), and drawn pictures with no face (not checked); a fourth, made with
    the checks off, has no check at all."""
    same, other = photos
    task = make_task(user=reviewer, number_to_generate=4, status="completed", completed_at=timezone.now())
    verified = make_stored_result(task, same, firstname="Ada")
    flagged = make_stored_result(task, replace(same, tile=other.tile, tile_thumbnails=other.tile_thumbnails),
                                 firstname="Bea")  # fmt: skip
    no_face = make_stored_result(task, PhotoSet.of(Image.radial_gradient("L").convert("RGB")), firstname="Cleo")
    services.check_faces(task)
    unchecked = make_stored_result(task, same, firstname="Dan")
    expected = {verified: "Verified", flagged: "Needs a look", no_face: "Not checked", unchecked: "Not checked"}
    path = f"/tasks/{task.task_code}/"

    def says_each_state(page):
        for result, label in expected.items():
            expect(page.locator(f"#persona-{result.pk} .verdict")).to_have_text(label)
        expect(page.locator(f"#persona-{verified.pk} .verdict")).to_have_class(re.compile("verdict-ok"))
        expect(page.locator("#progress")).to_contain_text("1 of 4 personas verified; 2 not checked")
        expect(page.locator("#progress")).not_to_contain_text("consistent")

    look_at_both_widths(browser, live_server.url, EMAIL, path, artifacts, "task-face-states", then=says_each_state)

    def only_not_checked(page):
        page.get_by_role("link", name="Not checked").click()
        expect(page.locator(".persona")).to_have_count(2)
        expect(page.locator(".persona .verdict")).to_have_text(["Not checked", "Not checked"])

    look_at_both_widths(browser, live_server.url, EMAIL, path, artifacts, "task-not-checked", then=only_not_checked)


def test_a_cancelled_task_is_grey_says_who_cancelled_it_and_offers_resume(
    browser, live_server, reviewer, artifacts, photos, s3_bucket
):
    task = make_task(user=reviewer, number_to_generate=6, status="generating-images")
    for n in range(2):
        make_stored_result(task, photos[n % 2])
    PipelineUnit.objects.create(task=task, kind="batch", number=2, size=4)
    lifecycle.cancel(task, by=reviewer)
    context = signed_in_context(browser, live_server.url, EMAIL)
    page = context.new_page()
    page.goto(f"{live_server.url}/tasks/{task.task_code}/")
    badge = page.locator("#status-bar [data-status-badge]")
    expect(badge).to_have_text("Cancelled")
    assert badge.evaluate("b => getComputedStyle(b).color") == "rgb(74, 81, 96)"  # grey, not the failed red
    expect(page.locator("#problems")).to_contain_text("Someone cancelled the task.")
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    assert "Failed units" not in page.content()
    look_at(page, artifacts, "task-cancelled-desktop")
    context.close()
    look_at_both_widths(browser, live_server.url, EMAIL, f"/tasks/{task.task_code}/", artifacts, "task-cancelled")


def test_a_short_task_says_how_many_came_out_and_offers_the_missing_ones(
    browser, live_server, reviewer, artifacts, photos, s3_bucket
):
    task = finished_task(reviewer, photos, count=3, number_to_generate=5)
    PipelineUnit.objects.create(
        task=task, kind="batch", number=1, size=5, state="done", note="batch 1 came back with 3 of 5"
    )
    context = signed_in_context(browser, live_server.url, EMAIL)
    page = context.new_page()
    page.goto(f"{live_server.url}/tasks/{task.task_code}/")
    expect(page.locator("#status-bar [data-status-badge]")).to_have_text("Completed — 3 of 5")
    expect(page.get_by_role("button", name="Generate the missing 2")).to_be_visible()
    context.close()
    look_at_both_widths(browser, live_server.url, EMAIL, f"/tasks/{task.task_code}/", artifacts, "task-short")
    page_list = signed_in_context(browser, live_server.url, EMAIL).new_page()
    page_list.goto(live_server.url + "/tasks/")
    expect(page_list.locator(f"#task-{task.task_code} [data-status-badge]")).to_have_text("Completed — 3 of 5")


def test_a_failed_task_shows_a_plain_cause_and_next_step_with_the_detail_collapsed(
    browser, live_server, reviewer, artifacts, photos, s3_bucket
):
    task = make_task(user=reviewer, number_to_generate=4, status="generating-images")
    result = make_stored_result(task, photos[0])
    PipelineUnit.objects.create(task=task, kind="images", number=result.pk, result=result, state="failed",
                                note="failed 3 times; last: OperationalError: database is locked")  # fmt: skip
    lifecycle.fail(task.pk, "Stopped: the API refused the key (401 invalid_api_key). Check OPENAI_API_KEY.")
    context = signed_in_context(browser, live_server.url, EMAIL)
    page = context.new_page()
    page.goto(f"{live_server.url}/tasks/{task.task_code}/")
    banner = page.locator("#problems")
    expect(banner).to_contain_text("The OpenAI key was refused.")
    expect(banner).to_contain_text("another process held SQLite's write lock")
    expect(banner.locator("pre.log").first).to_be_hidden()  # the technical text is there, collapsed
    assert "OperationalError" in banner.inner_html()
    context.close()
    look_at_both_widths(browser, live_server.url, EMAIL, f"/tasks/{task.task_code}/", artifacts, "task-failed")


def test_a_retried_task_that_came_out_clean_shows_no_failure_and_only_its_running_time(
    browser, live_server, reviewer, photos, s3_bucket
):
    task = make_task(user=reviewer, number_to_generate=1, status="generating-images")
    TaskRun.objects.create(task=task, started_at=timezone.now())
    result = make_result(task, images=None)
    unit = PipelineUnit.objects.create(task=task, kind="images", number=result.pk, result=result, state="failed",
                                       note="failed 3 times; last: TransientBackendError: 503")  # fmt: skip
    lifecycle.fail(task.pk, "Stopped: no quota left (insufficient_quota).")
    two_hours_ago = timezone.now() - timedelta(hours=2)
    task.runs.update(started_at=two_hours_ago, ended_at=two_hours_ago + timedelta(seconds=40))
    assert lifecycle.retry(task, by=reviewer) == 1
    # What a worker does when the unit succeeds:
    PipelineUnit.objects.filter(pk=unit.pk).update(state="done")
    result.images = ["https://cdn.example.com/1.jpg"] * 4
    result.save(update_fields=["images"])
    lifecycle.advance(task.pk)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    task.runs.filter(started_at__gt=two_hours_ago).update(
        started_at=an_hour_ago, ended_at=an_hour_ago + timedelta(seconds=20)
    )
    task.refresh_from_db()
    assert task.status == "completed" and not task.error_log
    page = signed_in_context(browser, live_server.url, EMAIL).new_page()
    page.goto(f"{live_server.url}/tasks/{task.task_code}/")
    expect(page.locator("#status-bar [data-status-badge]")).to_have_text("Completed")
    expect(page.locator("#problems")).to_have_count(0)
    # 40 s before the failure and 20 s after the retry: not the two hours the task sat failed.
    expect(page.locator("[data-duration]")).to_have_text("1m 00s in 2 runs")


def test_arabic_bios_are_right_to_left_and_a_long_description_is_clamped(
    browser, live_server, reviewer, artifacts, photos, s3_bucket
):
    task = finished_task(reviewer, photos, count=2, bio_language="Arabic", persona_description=LONG_DESCRIPTION)
    task.results.update(bio_instagram="مصورة من القاهرة، أحب القهوة والكتب! #القاهرة", firstname="ليلى", lastname="حسن")
    context = signed_in_context(browser, live_server.url, EMAIL, "phone")
    page = context.new_page()
    page.goto(f"{live_server.url}/tasks/{task.task_code}/")
    name = page.locator(".persona h3").first
    assert name.get_attribute("dir") == "auto" and name.get_attribute("lang") == "ar"
    assert name.evaluate("el => getComputedStyle(el).direction") == "rtl"  # decided from the Arabic text
    page.locator(".persona").first.get_by_role("button", name="Bios").click()
    bios = page.locator("dialog.drawer[open] dl.bios")
    assert bios.get_attribute("lang") == "ar" and bios.get_attribute("dir") == "rtl"
    bio = page.locator("dialog.drawer[open] .bio-text").nth(1)
    assert bio.evaluate("el => getComputedStyle(el).direction") == "rtl"
    assert bio.evaluate("el => getComputedStyle(el).textAlign") in ("start", "right")
    page.keyboard.press("Escape")
    box = page.locator("#description-box").bounding_box()
    assert box["height"] < 200
    gallery_top = page.locator("#gallery").bounding_box()["y"]
    page.get_by_role("button", name="Show more").click()
    assert page.locator("#description-box").bounding_box()["height"] > 1000
    assert gallery_top < 2400
    context.close()
    look_at_both_widths(browser, live_server.url, EMAIL, f"/tasks/{task.task_code}/", artifacts, "task-arabic")


def test_a_pending_task_with_no_worker_says_so_plainly(browser, live_server, reviewer, artifacts):
    task = make_task(user=reviewer, status="pending")
    page = signed_in_context(browser, live_server.url, EMAIL).new_page()
    page.goto(f"{live_server.url}/tasks/{task.task_code}/")
    expect(page.locator("#worker-banner")).to_contain_text("No worker is running")
    expect(page.locator(".step").first).to_contain_text("No worker is running")
    look_at_both_widths(
        browser, live_server.url, EMAIL, f"/tasks/{task.task_code}/", artifacts, "task-pending-no-worker"
    )


def test_many_personas_get_numbered_pages_at_top_and_bottom(browser, live_server, reviewer, artifacts):
    task = make_task(user=reviewer, number_to_generate=130, status="completed", completed_at=timezone.now())
    for n in range(130):
        make_result(task, gender="mf"[n % 2], base_image_url=None, images=None)
    page = signed_in_context(browser, live_server.url, EMAIL).new_page()
    page.goto(f"{live_server.url}/tasks/{task.task_code}/?page=3")
    navs = page.get_by_role("navigation", name="Persona pages", exact=False)
    expect(navs).to_have_count(2)
    expect(navs.first.get_by_role("link", name="3", exact=True)).to_have_attribute("aria-current", "page")
    expect(navs.first.get_by_role("link", name="6", exact=True)).to_be_visible()
    look_at_both_widths(browser, live_server.url, EMAIL, f"/tasks/{task.task_code}/?page=3", artifacts, "task-pages")


def test_sign_in_and_the_error_pages_pass_axe_at_both_widths(browser, live_server, reviewer, artifacts):
    for width, (w, h) in WIDTHS.items():
        context = browser.new_context(viewport={"width": w, "height": h})
        page = context.new_page()
        page.goto(live_server.url + "/accounts/login/")
        look_at(page, artifacts, f"sign-in-{width}")
        context.close()
    look_at_both_widths(browser, live_server.url, EMAIL, "/tasks/nosuchtask/", artifacts, "not-found")
    outsider = make_user("outsider@example.com", password=PASSWORD)
    for width, (w, h) in WIDTHS.items():
        context = browser.new_context(viewport={"width": w, "height": h})
        page = context.new_page()
        page.goto(live_server.url + "/accounts/login/")
        page.get_by_label("Email").fill(outsider.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("This app is for staff accounts")).to_be_visible()
        look_at(page, artifacts, f"forbidden-{width}")
        context.close()


def test_the_admin_pages_operators_use_pass_axe_at_both_widths(browser, live_server, artifacts, photos, s3_bucket):
    admin = make_user("boss@example.com", password=PASSWORD, is_staff=True, is_superuser=True)
    task = finished_task(admin, photos, count=2)
    result = task.results.first()
    unit = PipelineUnit.objects.create(task=task, kind="batch", number=1, size=2, state="done")
    credential = ImageCredential.objects.filter(task=task).first()
    ImageCredential.objects.filter(pk=credential.pk).update(  # a failure, for its badge and its problems
        verdict="invalid", problem="the signature does not match the file; the claim's hash differs"
    )
    pages = {
        "admin-index": "/admin/",
        "admin-tasks": "/admin/generation/generationtask/",
        "admin-task": f"/admin/generation/generationtask/{task.pk}/change/",
        "admin-results": "/admin/generation/generationresult/",
        "admin-result": f"/admin/generation/generationresult/{result.pk}/change/",
        "admin-unit": f"/admin/generation/pipelineunit/{unit.pk}/change/",
        "admin-credentials": "/admin/generation/imagecredential/",
        "admin-credential": f"/admin/generation/imagecredential/{credential.pk}/change/",
        "admin-prompts": "/admin/siteconfig/settings/",
        "admin-flags": "/admin/siteconfig/config/",
    }
    for name, path in pages.items():
        look_at_both_widths(browser, live_server.url, admin.email, path, artifacts, name)
