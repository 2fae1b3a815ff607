"""A live autograde for the browser: the app served on a free port, a real Celery worker with
the sandbox, a private Redis, SQLite; and headless Chromium driven by Playwright.

Every page the tests open can be checked with axe-core (``axe_check``): a serious or critical
violation of WCAG 2.1 A/AA fails the test; every finding is written to
``artifacts/accessibility/`` beside the screenshots, whose folder the run prints at the end.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from werkzeug.serving import make_server

from grader import create_app
from grader.domain.courses import create_assignment, create_course
from grader.domain.roster import enroll
from grader.domain.users import create_user
from grader.extensions import db, make_engine
from grader.migrate import upgrade
from grader.models import utcnow
from tests.services import REDIS_DBS, ROOT, CeleryWorker, free_port

SCREENSHOTS = ROOT / "artifacts" / "screenshots"
AXE_REPORTS = ROOT / "artifacts" / "accessibility"
PASSWORD = "browser test pw"
#: The rules axe runs: WCAG 2.0 and 2.1, levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: Impacts that fail a test; moderate and minor findings are written to the report only.
AXE_FAILING = ("serious", "critical")


@dataclass
class Live:
    """The running service and what was seeded in it."""

    base: str
    assignment_id: int
    course_id: int
    worker: CeleryWorker
    #: The same database through an app that never enqueues: submissions seeded with it stay
    #: in the state the test leaves them in (waiting, or a grader error).
    seeder: Any


@pytest.fixture(scope="session")
def live(redis_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The whole stack on SQLite, seeded with a course, an instructor and two students."""
    workdir = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{workdir / 'autograde.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    config = {"DATABASE_URL": url, "REDIS_URL": redis_server.url_of(REDIS_DBS["browser"]),
              "SECRET_KEY": "browser", "SUBMISSIONS_PER_MINUTE": 20}
    worker = CeleryWorker(config, concurrency=1, log=workdir / "worker.log")
    app = create_app(config)
    with app.app_context():
        s = db.session
        teacher = create_user(s, "teacher@example.com", name="Grace Hopper", role="instructor",
                              password=PASSWORD)
        course = create_course(s, "Deep Learning 101", teacher)
        for email, name in (("ada@example.com", "Ada Lovelace"), ("bob@example.com", "Bob Ross"),
                            ("cy@example.com", "Cy Young"), ("di@example.com", "Di Kim")):
            enroll(s, course, create_user(s, email, name=name, password=PASSWORD))
        assignment = create_assignment(s, course, "softmax-backprop",
                                       due_at=utcnow() + timedelta(days=3), attempt_limit=5,
                                       late_penalty_per_day=10)
        s.commit()
        ids = assignment.id, course.id
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        seeder = create_app({**config, "ENQUEUE": False})
        yield Live(f"http://127.0.0.1:{port}", ids[0], ids[1], worker, seeder)
        seeder.extensions["db"].engine.dispose()
    finally:
        server.shutdown()
        thread.join(10)
        worker.stop()
        app.extensions["db"].engine.dispose()


@pytest.fixture
def page(browser: Any, live: Live) -> Iterator[Any]:
    """A fresh browser context; Content-Security-Policy violations fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert not violations, violations


def shoot(page: Any, name: str) -> None:
    """Full-page screenshots at desktop width and at phone width (390 px)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert width <= 392, f"{name} scrolls sideways at phone width ({width} px)"


def log_in(page: Any, live: Live, email: str) -> None:
    page.goto(live.base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def axe_check(page: Any, name: str) -> dict[str, Any]:
    """Run axe-core on the page as it is now; fail on serious or critical violations.

    Returns:
        The axe results (violations only), also written to ``AXE_REPORTS/<name>.json``.
    """
    from axe_playwright_python.sync_playwright import Axe

    results: dict[str, Any] = Axe().run(page, options={
        "runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}).response
    AXE_REPORTS.mkdir(parents=True, exist_ok=True)
    found = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
              "nodes": [n["target"] for n in v["nodes"]]} for v in results["violations"]]
    (AXE_REPORTS / f"{name}.json").write_text(json.dumps(
        {"url": page.url, "violations": found}, indent=2))
    failing = [v for v in found if v["impact"] in AXE_FAILING]
    assert not failing, f"{name}: {json.dumps(failing, indent=2)}"
    return results


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where the screenshots and accessibility reports went."""
    if SCREENSHOTS.exists() or AXE_REPORTS.exists():
        terminalreporter.write_line(f"browser screenshots: {SCREENSHOTS}")
        terminalreporter.write_line(f"accessibility reports (axe-core): {AXE_REPORTS}")
