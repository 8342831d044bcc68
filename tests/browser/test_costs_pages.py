"""Costs in a real Chromium: the new-task form's estimate follows the numbers as they are typed, and the dashboard
at 1440 and 390 px wide, screenshotted and checked with axe-core."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from generation.costs import budgets as costs
from generation.costs import calls, usage
from generation.models import ApiCall
from testkit.factories import make_task, make_user
from testkit.prices import PRICES
from tests.browser.helpers import PASSWORD, look_at, look_at_both_widths, signed_in_context
from tests.conftest import requires_postgresql

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]
EMAIL = "spender@example.com"


@pytest.fixture
def priced(settings):
    settings.GENERATION_BACKEND = "openai"
    settings.OPENAI_PRICES = json.dumps(PRICES)
    settings.FACE_CHECK = False
    return make_user(EMAIL, password=PASSWORD, is_staff=True, is_superuser=True)


def test_the_form_shows_the_estimate_as_the_numbers_change(browser, live_server, priced, artifacts):
    page = signed_in_context(browser, live_server.url, EMAIL).new_page()
    page.goto(live_server.url + "/tasks/new/")
    page.evaluate("window.__sameDocument = true")
    estimate = page.locator("#estimate")
    expect(estimate).to_contain_text(f"About ${costs.estimate(10, 4).usd:.2f}")
    page.get_by_label("Number of personas").fill("200")
    expect(estimate).to_contain_text(f"About ${costs.estimate(200, 4).usd:.2f}")
    page.get_by_label("16 images").check()
    expect(estimate).to_contain_text(f"About ${costs.estimate(200, 16).usd:.2f}")
    expect(estimate).to_contain_text("200 × base selfie")
    assert page.evaluate("window.__sameDocument") is True
    look_at(page, artifacts, "task-new-estimate-desktop")


def test_the_dashboard_at_both_widths(browser, live_server, priced, artifacts):
    owner = priced
    other = make_user("other@example.com")
    now = timezone.now()
    for day in range(0, 30, 3):
        user = owner if day % 2 else other
        task = make_task(user=user, status="completed", completed_at=now)
        type(task).objects.filter(pk=task.pk).update(created_at=now - timezone.timedelta(days=day))
        # What submit, the stored photos and the recorded calls add to the day (generation/costs/usage.py):
        when = timezone.localdate() - timezone.timedelta(days=day)
        usage.add(user.pk, day=when, tasks=1, personas=2 + day % 5, images=4 * (2 + day % 5), calls=4,
                  cost_usd=Decimal("0.40") + Decimal(day) / 100)  # fmt: skip
        calls.write([
            ApiCall(task=task, user=user, kind=kind, model="gpt-image-2", outcome="ok",
                    latency_ms=800 + 300 * n + day * 10, cost_usd=Decimal("0.1"))
            for n, kind in enumerate(("personas", "base", "grid", "grid"))
        ])  # fmt: skip
    look_at_both_widths(browser, live_server.url, EMAIL, "/dashboard/", artifacts, "dashboard")
    page = signed_in_context(browser, live_server.url, EMAIL).new_page()
    page.goto(live_server.url + "/dashboard/")
    expect(page.locator(".chart svg")).to_have_count(4)
    assert page.locator(".chart").nth(3).locator("rect").count() == 30
    expect(page.get_by_text("other@example.com")).to_be_visible()
