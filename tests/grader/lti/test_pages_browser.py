"""The LTI pages in headless Chromium, as an LMS admin, an instructor and a student meet them:
the refused launch, the link not set up yet, choosing the assignment, the LMS grades page
reached from the assignment's tabs, and the "open in a new window" page. Each shares the
layout of the other pages and passes axe-core (WCAG 2.1 A/AA: no serious or critical
violation); screenshots go beside the other browser tests'."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from flask import Flask

from grader.extensions import db
from grader.lti.handoff import make_link_token
from grader.models import Assignment, LtiResourceLink, User
from grader.tasks import lms as lms_tasks
from tests.browser.conftest import axe_check, shoot
from tests.grader.lti.platform import Platform, ServedApp
from tests.grader.lti.test_embedded_browser import login_url, tool_base
from tests.grader.lti.test_grades import deliver_all, grade, submit

pytestmark = [pytest.mark.browser,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
TITLE = "Softmax and backpropagation through a 2-layer network"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # As in the embedded tests: http on localhost (a secure context for Chromium), CSRF on.
    return {**app_config, "PREFERRED_URL_SCHEME": "http", "WTF_CSRF_ENABLED": True,
            "LTI_EMBED": True}


def _page(browser: Any) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def _check(page: Any, name: str) -> None:
    """The page has the shared layout (stylesheet, top bar), passes axe, is photographed."""
    assert page.locator("link[rel=stylesheet][href$='app.css']").count() == 1
    assert page.locator("header.topbar").count() == 1
    axe_check(page, name)
    shoot(page, name)


def test_lti_pages_share_the_layout_and_pass_axe(app: Flask, tool: ServedApp,
                                                 platform: Platform, browser: Any) -> None:
    """Refusal, not set up yet, choosing, the LMS grades page and the new-window page."""
    platform.add_user("t-1", "Tess Teacher", "tess@uni.example", instructor=True)
    platform.add_user("s-1", "Sam Student", "sam@uni.example")
    base = tool_base(tool)

    context, page = _page(browser)
    page.goto(f"{base}/lti/login?" + urlencode({"iss": "https://unknown.example",
                                                "login_hint": "x", "client_id": "nope"}))
    page.wait_for_selector("h1:has-text('This launch from your LMS was refused')")
    _check(page, "lti-refused")
    context.close()

    # A student follows the link before the instructor has chosen what it opens.
    context, page = _page(browser)
    page.goto(login_url(tool, platform, "s-1"))
    page.wait_for_selector("h1:has-text('is not set up yet')")
    _check(page, "lti-not-ready")
    context.close()

    context, page = _page(browser)
    page.goto(login_url(tool, platform, "t-1"))
    page.wait_for_selector("h1:has-text('Which assignment')")
    assert page.locator("nav.crumbs", has_text="Courses").count() == 1
    _check(page, "lti-choose")
    page.check("input[value='plugin:softmax-backprop']")
    page.click("text=Use this assignment")
    page.wait_for_selector(f"h1:has-text('{TITLE}')")
    with app.app_context():
        link = db.session.scalars(sa.select(LtiResourceLink)).one()
        assert lms_tasks.set_up_link(link.id).startswith("line item")
        assignment = db.session.scalars(sa.select(Assignment)).one()

    # Sam launches, submits, is graded: the LMS grades page then has a row to show.
    student, student_page = _page(browser)
    student_page.goto(login_url(tool, platform, "s-1"))
    student_page.wait_for_selector(f"h1:has-text('{TITLE}')")
    student.close()
    grade(app, submit(app, assignment.id, "sam@uni.example"), 4.0, ["missing_batch_mean"])

    # The reconciliation page is one of the assignment's tabs.
    page.click("nav.tabs >> text=LMS grades")
    page.wait_for_selector("h2:has-text('Scores in autograde and in the LMS')")
    assert page.locator("nav.tabs a[aria-current=page]").inner_text() == "LMS grades"
    assert page.locator("#reconcile-summary").inner_text().startswith("1 score differs")
    assert page.locator("tbody th[scope=row]", has_text="Sam Student").count() == 1
    _check(page, "lti-reconcile")

    # Resent from the page, the score reaches the LMS with the page's plain words.
    page.click("text=Resend every differing or failed score")
    page.wait_for_selector("text=1 score queued for sending to the LMS.")
    deliver_all(app, 120)
    comment = platform.accepted_scores()[-1]["comment"]
    assert "Likely mistake: You forgot the 1/N batch mean" in comment
    assert "missing_batch_mean" not in comment
    context.close()

    with app.app_context():
        sam = db.session.scalars(sa.select(User).where(User.email == "sam@uni.example")).one()
        token = make_link_token("test", sam, f"/assignments/{assignment.id}")
    context, page = _page(browser)
    page.goto(f"{base}/lti/landing/{token}")
    page.wait_for_selector("h1:has-text('Open autograde in a new window')")
    _check(page, "lti-open-window")
    context.close()
