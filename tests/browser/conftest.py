"""A live autograde for the browser: the app served on a free port, a real Celery worker with
the sandbox, a private Redis, SQLite; and headless Chromium driven by Playwright."""

from __future__ import annotations

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
PASSWORD = "browser test pw"


@dataclass
class Live:
    """The running service and what was seeded in it."""

    base: str
    assignment_id: int
    course_id: int
    worker: CeleryWorker


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
                            ("cy@example.com", "Cy Young")):
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
        yield Live(f"http://127.0.0.1:{port}", ids[0], ids[1], worker)
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
