"""The whole student flow by keyboard alone, in headless Chromium: log in, open the
assignment, upload a file, hear the status change, read the result and copy the failing case.
No mouse event is sent; every stop on the way shows where the focus is."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PASSWORD, Live, axe_check
from tests.services import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.slow, pytest.mark.sandbox]

WRONG = ROOT / "tests" / "submissions" / "softmax_backprop" / "missing_batch_mean.py"

#: Is the focused element drawn with a visible focus indicator?
_FOCUS_SHOWN = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return "nothing focused";
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
    if (el.matches(":focus-visible") && outline) return "";
    return "no visible focus on " + el.outerHTML.slice(0, 120);
}"""

#: Announcements made by the page's live regions, in order.
_LISTEN = """() => {
    window.__said = [];
    for (const region of document.querySelectorAll("[aria-live]")) {
        new MutationObserver(() => window.__said.push(region.textContent.trim()))
            .observe(region, {childList: true, characterData: true, subtree: true});
    }
}"""


def tab_to(page: Any, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the focus, checking at every
    stop that the focus is visible."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        problem = page.evaluate(_FOCUS_SHOWN)
        assert not problem, problem
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached in {limit} presses of Tab")


def test_student_flow_by_keyboard_alone(browser: Any, live: Live) -> None:
    """Log in, open the assignment, upload, hear the result, read it, copy the failing case:
    keys only, with the focus visible at every step."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.base)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(live.base + "/login")
        # The email field has the focus when the page opens.
        assert page.evaluate("document.activeElement.name") == "email"
        page.keyboard.type("cy@example.com")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_selector("h1:has-text('My assignments')")

        # The first stop is the skip link; it moves the focus to the content.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
        assert page.locator(".skip-link").bounding_box()["y"] >= 0
        page.keyboard.press("Enter")
        tab_to(page, "a.card-link")
        page.keyboard.press("Enter")
        page.wait_for_selector("h2:has-text('Your standing')")

        tab_to(page, "input[type=file]")
        with page.expect_file_chooser() as chooser:
            page.keyboard.press("Space")
        chooser.value.set_files(str(WRONG))
        tab_to(page, "#submit-form button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_url("**/submissions/*")
        page.evaluate(_LISTEN)

        # The live region says the result once it is there.
        page.wait_for_function(
            "() => (window.__said || []).some(t => t.startsWith('Graded:'))", timeout=90_000)
        said = page.evaluate("window.__said")
        assert said[-1].startswith("Graded:") and "of 90 points" in said[-1], said
        assert page.locator(".diagnosis", has_text="You forgot the 1/N batch mean").count() >= 1

        # The failing case: reachable by Tab, its copy button works with Enter.
        tab_to(page, "button.copy")
        target = page.evaluate("document.activeElement.getAttribute('data-copy-target')")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.activeElement.textContent === 'Copied'")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == page.inner_text(f"#{target}") and "import numpy as np" in copied
        assert page.inner_text("#copy-status") == "Copied to the clipboard."
        axe_check(page, "student-results-keyboard")
    finally:
        context.close()
