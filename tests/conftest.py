"""Fixtures shared by the service's tests: databases (SQLite and PostgreSQL), app, client.

PostgreSQL and Redis are servers this test session starts itself (``tests/services.py``) on
free ports with their own data folders; nothing already running on the machine is used.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from grader import create_app
from grader.extensions import db, make_engine
from grader.migrate import upgrade

if TYPE_CHECKING:
    from tests.services import PostgresServer, RedisServer


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashes() -> Iterator[None]:
    """Hash test passwords with a cheap work factor: the product's default (scrypt) costs
    ~75 ms a hash, and the page tests make thousands. Checking works whatever the method."""
    from functools import partial

    from werkzeug.security import generate_password_hash

    import grader.domain.users as users

    original = users.generate_password_hash
    users.generate_password_hash = partial(generate_password_hash, method="pbkdf2:sha256:1000")
    yield
    users.generate_password_hash = original


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """This test session's own PostgreSQL server (started on first use, removed at the end).

    A test may ``stop()`` and ``start()`` it (same port, same data) to see what the service
    does without its database; it must leave the server running.
    """
    from tests.services import PostgresServer

    server = PostgresServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped afterwards."""
    name = f"autograde_test_{uuid.uuid4().hex[:10]}"
    url = postgres_server.create_database(name)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    postgres_server.start()  # a test that stopped it may have failed before starting it again
    postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of each backend: a copied SQLite file, or a truncated PG."""
    if request.param == "sqlite":
        path = tmp_path / "autograde.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    truncate_all(url)
    return url


def truncate_all(url: str) -> None:
    """Empty every table of a PostgreSQL database and restart its ids."""
    from grader.models import Base

    engine = make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """The test config; tests may change it before asking for ``app``."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test",
        "ENQUEUE": False,
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    """The app on a fresh database."""
    app = create_app(app_config)
    yield app
    app.extensions["db"].session.remove()
    app.extensions["db"].engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def session(app: Flask) -> Iterator[sa.orm.Session]:
    """The app's session inside an app context."""
    with app.app_context():
        yield db.session


@dataclass
class World:
    """A small course: one instructor, two students, the softmax-backprop assignment."""

    instructor_id: int
    student_ids: list[int]
    course_id: int
    assignment_id: int
    instructor_token: str
    student_token: str


@pytest.fixture
def world(app: Flask) -> World:
    """A seeded course with tokens, committed."""
    return seed_world(app)


def seed_world(app: Flask) -> World:
    """Seed a course and tokens through the domain, committed."""
    from grader.domain.courses import create_assignment, create_course
    from grader.domain.roster import enroll
    from grader.domain.tokens import create_token
    from grader.domain.users import create_user

    with app.app_context():
        s = db.session
        teacher = create_user(
            s, "teacher@example.com", name="Tea Cher", role="instructor", password="pw"
        )
        course = create_course(s, "Deep Learning 101", teacher)
        students = [
            create_user(s, "ada@example.com", name="Ada", lms_user_id="1001"),
            create_user(s, "bob@example.com", name="Bob", lms_user_id="1002"),
        ]
        for student in students:
            enroll(s, course, student)
        assignment = create_assignment(s, course, "softmax-backprop")
        teacher_token, _ = create_token(
            s,
            teacher,
            [
                "roster:write",
                "submissions:write",
                "results:read",
                "grades:read",
                "regrades:write",
            ],
        )
        student_token, _ = create_token(s, students[0])
        s.commit()
        return World(
            teacher.id,
            [u.id for u in students],
            course.id,
            assignment.id,
            teacher_token,
            student_token,
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private redis-server on a free port for this test session (``stop()``/``start()``
    take it away and bring it back on the same port, empty)."""
    from tests.services import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def runner() -> Iterator[Any]:
    """The real sandbox, shared by the tests that grade sample submissions."""
    from worker.sandbox import SandboxRunner

    with SandboxRunner() as r:
        yield r


#: Debian's Chromium: the browser tests never download one.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


#: The only reason a test may skip: the browser tests without chromium.
NO_CHROMIUM = "Debian's chromium is not installed (apt-get install -y chromium)"
#: Set (to anything) to turn any skipped test into a failed run, as CI does.
FAIL_ON_SKIP = "AUTOGRADE_TEST_FAIL_ON_SKIP"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium, one for the whole session (Playwright's sync API allows one
    driver per thread)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _skipped(config: pytest.Config) -> list[pytest.TestReport]:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return list(reporter.stats.get("skipped", [])) if reporter is not None else []


def pytest_terminal_summary(
    terminalreporter: Any, exitstatus: int, config: pytest.Config
) -> None:
    """Say plainly when the browser tests did not run, and why."""
    browser = [r for r in _skipped(config) if NO_CHROMIUM in str(r.longrepr)]
    if browser:
        terminalreporter.write_line(
            f"{len(browser)} browser tests skipped: {NO_CHROMIUM}", yellow=True, bold=True
        )
    if os.environ.get(FAIL_ON_SKIP) and _skipped(config):
        terminalreporter.write_line(
            f"{FAIL_ON_SKIP} is set and {len(_skipped(config))} tests were skipped: failing",
            red=True, bold=True,
        )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With AUTOGRADE_TEST_FAIL_ON_SKIP set, a run that skipped anything fails."""
    if os.environ.get(FAIL_ON_SKIP) and _skipped(session.config) and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
