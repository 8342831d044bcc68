"""What the browser tests share: signing in, and looking at a page the way a reviewer does: at desktop and phone
width, with a screenshot of each and axe-core's accessibility rules, which fail the test on any violation."""

from __future__ import annotations

import time
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

PASSWORD = "a long enough secret"
WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}
AXE = Axe()


def sign_in(page, base_url: str, email: str) -> None:
    page.goto(base_url + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(
        page.get_by_role("heading", name="Your tasks").or_(page.get_by_role("heading", name="All tasks"))
    ).to_be_visible()


def signed_in_context(browser, base_url: str, email: str, width: str = "desktop", **options):
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h}, **options)
    sign_in(context.new_page(), base_url, email)
    return context


def accessibility_violations(page) -> list[str]:
    results = AXE.run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}× e.g. {v['nodes'][0]['target']})"
        for v in results.response["violations"]
    ]


def wait_for_images(page, selector: str = "#gallery img", timeout: float = 30) -> None:
    """Until every image the page has asked for so far has loaded (lazy ones below the fold are not asked for)."""
    script = f"""() => [...document.querySelectorAll({selector!r})]
        .filter(img => img.loading !== 'lazy' || img.getBoundingClientRect().top < innerHeight)
        .every(img => img.complete && img.naturalWidth > 0)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        assert time.monotonic() < deadline, "images did not load"
        page.wait_for_timeout(100)


def look_at(page, artifacts: Path, name: str) -> None:
    """A full-page screenshot, then axe: the page must have no accessibility violation."""
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    violations = accessibility_violations(page)
    assert violations == [], f"{name}: " + "; ".join(violations)


def look_at_both_widths(browser, base_url: str, email: str, path: str, artifacts: Path, name: str, then=None) -> None:
    """The page at 1440 and at 390 px wide, each screenshotted and checked with axe; `then(page)` runs before."""
    for width in WIDTHS:
        context = signed_in_context(browser, base_url, email, width)
        page = context.new_page()
        page.goto(base_url + path)
        if then:
            then(page)
        look_at(page, artifacts, f"{name}-{width}")
        context.close()
