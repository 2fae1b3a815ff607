"""In headless Chromium: the simulated LMS on http://127.0.0.1 shows autograde, served on
http://localhost (another site), in an iframe; launches run inside the frame and the pages
render there, logged in. Chromium treats localhost as a secure context, so the Secure,
SameSite=None, Partitioned cookies behave as they do over HTTPS."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from flask import Flask

from grader.extensions import db
from grader.lti.handoff import make_link_token
from grader.models import Assignment, User
from tests.grader.lti.platform import Platform, ServedApp

pytestmark = [pytest.mark.browser,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
TITLE = "Softmax and backpropagation through a 2-layer network"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # Plain http on localhost, CSRF on: the frame's forms must pass it as they would live.
    return {**app_config, "PREFERRED_URL_SCHEME": "http", "WTF_CSRF_ENABLED": True,
            "LTI_EMBED": True}


def tool_base(tool: ServedApp) -> str:
    # The same server under the name localhost: a different site from 127.0.0.1.
    return tool.url.replace("127.0.0.1", "localhost")


def course_page(lms: Platform, frame_src: str) -> str:
    return f"{lms.url}/course?" + urlencode({"src": frame_src})


def login_url(tool: ServedApp, lms: Platform, sub: str) -> str:
    """The OIDC login initiation the LMS loads into its iframe."""
    base = tool_base(tool)
    return f"{base}/lti/login?" + urlencode({
        "iss": lms.issuer, "login_hint": sub, "client_id": lms.client_id,
        "target_link_uri": f"{base}/lti/launch", "lti_deployment_id": lms.deployment_id})


def new_page(browser: Any) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    return context, page, console


def test_launch_inside_the_lms_iframe(app: Flask, tool: ServedApp, platform: Platform,
                                      browser: Any) -> None:
    """An instructor launches inside the LMS's iframe, picks the assignment through the
    framed (CSRF-protected) form and sees the grade page in the frame; then a student's
    launch shows the assignment page in the frame, logged in."""
    platform.add_user("t-1", "Tess Teacher", "tess@uni.example", instructor=True)
    platform.add_user("s-1", "Sam Student", "sam@uni.example")

    context, page, console = new_page(browser)
    page.goto(course_page(platform, login_url(tool, platform, "t-1")))
    frame = page.frame_locator("#tool")
    frame.locator("input[value='plugin:softmax-backprop']").check()
    frame.locator("button", has_text="Use this assignment").click()
    frame.locator("h1", has_text=TITLE).wait_for()
    inner = page.frame_locator("#tool").locator("body").inner_text()
    assert "Your courses" not in inner and "Log in" not in inner
    context.close()
    assert not [m for m in console if "Refused to frame" in m or "Content Security" in m]

    context, page, console = new_page(browser)
    page.goto(course_page(platform, login_url(tool, platform, "s-1")))
    heading = page.frame_locator("#tool").locator("h1", has_text=TITLE)
    heading.wait_for()
    (frame_obj,) = [f for f in page.frames if f.url.startswith(tool_base(tool))]
    with app.app_context():
        assignment = db.session.scalars(sa.select(Assignment)).one()
    assert frame_obj.url == f"{tool_base(tool)}/assignments/{assignment.id}"
    cookies = {c["name"]: c for c in context.cookies(tool_base(tool))}
    assert cookies["session"]["sameSite"] == "None" and cookies["session"]["secure"]
    context.close()
    assert not [m for m in console if "Refused to frame" in m or "Content Security" in m]


def test_blocked_session_continues_in_a_new_window(app: Flask, tool: ServedApp,
                                                  platform: Platform, browser: Any) -> None:
    """A landing whose session cookie did not come back offers a button; it opens a new
    top-level window that signs the student in once and shows the assignment."""
    platform.add_user("t-1", "Tess Teacher", "tess@uni.example", instructor=True)
    platform.add_user("s-1", "Sam Student", "sam@uni.example")
    context, page, _ = new_page(browser)
    page.goto(course_page(platform, login_url(tool, platform, "t-1")))
    frame = page.frame_locator("#tool")
    frame.locator("input[value='plugin:softmax-backprop']").check()
    frame.locator("button", has_text="Use this assignment").click()
    frame.locator("h1", has_text=TITLE).wait_for()
    context.close()
    context, page, _ = new_page(browser)
    page.goto(course_page(platform, login_url(tool, platform, "s-1")))
    page.frame_locator("#tool").locator("h1", has_text=TITLE).wait_for()
    context.close()

    with app.app_context():
        sam = db.session.scalars(sa.select(User).where(User.email == "sam@uni.example")).one()
        assignment = db.session.scalars(sa.select(Assignment)).one()
        token = make_link_token("test", sam, f"/assignments/{assignment.id}")
    # A browser holding no session for the tool: as if the launch's cookie had been dropped.
    context, page, _ = new_page(browser)
    page.goto(course_page(platform, f"{tool_base(tool)}/lti/landing/{token}"))
    button = page.frame_locator("#tool").locator("a", has_text="Open autograde in a new window")
    with page.expect_popup() as popup_info:
        button.click()
    popup = popup_info.value
    popup.locator("h1", has_text=TITLE).wait_for()
    assert popup.url == f"{tool_base(tool)}/assignments/{assignment.id}"
    assert "Sam Student" in popup.locator("body").inner_text()
    # The link was used up: opening it again signs nobody in.
    again = browser.new_context().new_page()
    response = again.goto(f"{tool_base(tool)}/lti/enter/{token}")
    assert response is not None and response.status in (400, 403)
    again.context.close()
    context.close()


def test_session_cookie_refused_in_the_frame(app: Flask, tool: ServedApp, platform: Platform,
                                             browser: Any) -> None:
    """When the browser does not send the session back inside the frame (here: a SameSite=Lax
    session cookie, which a cross-site frame never gets), the landing notices and the new
    window it opens shows the student's assignment."""
    platform.add_user("t-1", "Tess Teacher", "tess@uni.example", instructor=True)
    platform.add_user("s-1", "Sam Student", "sam@uni.example")
    context, page, _ = new_page(browser)
    page.goto(course_page(platform, login_url(tool, platform, "t-1")))
    frame = page.frame_locator("#tool")
    frame.locator("input[value='plugin:softmax-backprop']").check()
    frame.locator("button", has_text="Use this assignment").click()
    frame.locator("h1", has_text=TITLE).wait_for()
    context.close()

    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    context, page, _ = new_page(browser)
    page.goto(course_page(platform, login_url(tool, platform, "s-1")))
    button = page.frame_locator("#tool").locator("a", has_text="Open autograde in a new window")
    with page.expect_popup() as popup_info:
        button.click()
    popup = popup_info.value
    popup.locator("h1", has_text=TITLE).wait_for()
    assert "/assignments/" in popup.url and "Sam Student" in popup.locator("body").inner_text()
    context.close()
