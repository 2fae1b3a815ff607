"""grade_submission and sweep, run by a real Celery worker against a real Redis."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from grader import create_app
from grader.extensions import db, make_engine
from grader.migrate import upgrade
from grader.models import GradingRun, PartResultRow, Submission, utcnow
from tests.conftest import BACKENDS, World, bearer, seed_world
from tests.services import REDIS_DBS, CeleryWorker, empty_database, wait_until

pytestmark = [pytest.mark.redis, pytest.mark.slow]

SUBMISSIONS = Path(__file__).resolve().parents[2] / "submissions" / "softmax_backprop"
CORRECT = (SUBMISSIONS / "correct.py").read_bytes()
SETTINGS = {
    "RUNNER_FACTORY": "tests.grader.tasks.faulty:FlakySandboxRunner",
    "LEASE_SECONDS": 2,
    "LEASE_RENEW_SECONDS": 0.5,
    "QUEUED_STALE_SECONDS": 600,
    "GRADE_RETRY_BACKOFF_SECONDS": 0.05,
    "GRADE_MAX_RETRIES": 2,
}


@pytest.fixture(scope="module", params=BACKENDS)
def stack(
    request: pytest.FixtureRequest, redis_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A migrated database of each backend, and a prefork worker (2 processes) on it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('tasks') / 'db.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        redis_db = REDIS_DBS["tasks-sqlite"]
    else:
        url = request.getfixturevalue("postgres_database")
        redis_db = REDIS_DBS["tasks-postgresql"]
    config = {**SETTINGS, "DATABASE_URL": url, "REDIS_URL": redis_server.url_of(redis_db)}
    log = tmp_path_factory.mktemp("worker") / f"{request.param}.log"
    worker = CeleryWorker(config, concurrency=2, log=log)
    yield config
    worker.stop()
    print(worker.output()[-3000:])


@pytest.fixture
def live_app(stack: dict[str, Any]) -> Iterator[Flask]:
    """An app that enqueues to the worker, on an emptied database."""
    empty_database(stack["DATABASE_URL"])
    app = create_app({**stack, "TESTING": True})
    yield app
    app.extensions["db"].session.remove()
    app.extensions["db"].engine.dispose()


@pytest.fixture
def live_world(live_app: Flask) -> World:
    return seed_world(live_app)


def submit(app: Flask, world: World, code: bytes, student: str = "ada@example.com") -> int:
    client = app.test_client()
    response = client.post(
        f"/api/v1/assignments/{world.assignment_id}/submissions",
        data={"file": (io.BytesIO(code), "hw.py"), "student": student},
        headers=bearer(world.instructor_token),
    )
    assert response.status_code == 202, response.json
    return int(response.json["id"])


def final(app: Flask, submission_id: int, timeout: float = 30.0) -> Submission:
    """Wait until the submission has a final status; return it."""

    def check() -> Submission | None:
        with app.app_context():
            s = db.session.get_one(Submission, submission_id)
            return s if s.status in ("graded", "not_gradable", "grader_error") else None

    return wait_until(check, timeout)  # type: ignore[no-any-return]


def runs_of(app: Flask, submission_id: int) -> list[GradingRun]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(GradingRun).where(GradingRun.submission_id == submission_id)
            )
        )


class TestGradeSubmission:
    def test_correct_submission_gets_full_marks(self, live_app: Flask, live_world: World) -> None:
        """A correct file is graded by the worker with every point and one run."""
        sid = submit(live_app, live_world, CORRECT)
        sub = final(live_app, sid)
        assert sub.status == "graded"
        assert sub.score == pytest.approx(sub.max_score)
        assert sub.attempt == 1
        (run,) = runs_of(live_app, sid)
        assert run.claims == 1 and run.lease_token is None
        assert run.timings["queue"] >= 0

    def test_wrong_submission_is_diagnosed(self, live_app: Flask, live_world: World) -> None:
        """A known mistake loses points and its diagnosis is stored per part."""
        sid = submit(live_app, live_world, (SUBMISSIONS / "missing_batch_mean.py").read_bytes())
        sub = final(live_app, sid)
        assert sub.status == "graded" and sub.score is not None
        assert sub.score < (sub.max_score or 0)
        with live_app.app_context():
            diagnoses = db.session.scalars(sa.select(PartResultRow.diagnoses)).all()
        assert any(d for d in diagnoses)

    def test_syntax_error_is_not_gradable_and_free(
        self, live_app: Flask, live_world: World
    ) -> None:
        """A syntax error is not gradable and charges no attempt."""
        sid = submit(live_app, live_world, b"def softmax(:\n")
        sub = final(live_app, sid)
        assert sub.status == "not_gradable"
        assert sub.attempt is None

    def test_duplicate_messages_grade_once(self, live_app: Flask, live_world: World) -> None:
        """Delivering the same message several times grades once and counts one attempt."""
        from grader.tasks.grading import grade_submission

        sid = submit(live_app, live_world, CORRECT)
        with live_app.app_context():
            for _ in range(3):
                grade_submission.delay(sid)
        final(live_app, sid)
        with live_app.app_context():
            for _ in range(2):
                grade_submission.delay(sid)
        sid2 = submit(live_app, live_world, CORRECT)  # a marker: processed after the dupes
        final(live_app, sid2)
        (run,) = runs_of(live_app, sid)
        assert run.claims == 1
        with live_app.app_context():
            parts = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(PartResultRow)
                .where(PartResultRow.run_id == run.id)
            )
            assert db.session.get_one(Submission, sid).attempt == 1
            assert db.session.get_one(Submission, sid2).attempt == 2
        assert parts == len(
            live_app.extensions["db"].session().get_one(Submission, sid).assignment.part_points
        )


class TestRetries:
    def test_grader_error_is_retried(self, live_app: Flask, live_world: World) -> None:
        """A runner failure is retried with backoff and then graded normally."""
        code = CORRECT + b"\n# RUNNER_FAILS 1\n"
        sub = final(live_app, submit(live_app, live_world, code))
        assert sub.status == "graded"
        (run,) = runs_of(live_app, sub.id)
        assert run.retries >= 1

    def test_persistent_error_is_grader_error(self, live_app: Flask, live_world: World) -> None:
        """A runner that keeps failing ends as grader_error, with the error kept, no attempt."""
        code = CORRECT + b"\n# RUNNER_FAILS 99\n"
        sub = final(live_app, submit(live_app, live_world, code))
        assert sub.status == "grader_error"
        assert sub.attempt is None and sub.score is None
        (run,) = runs_of(live_app, sub.id)
        assert "deliberate failure" in run.error


class TestSweeper:
    def test_expired_lease_is_graded_again(self, live_app: Flask, live_world: World) -> None:
        """A run held by a dead worker (expired lease) is re-enqueued by sweep and graded."""
        from grader.domain.runs import claim_run
        from grader.tasks.sweeper import sweep

        live_app.config["ENQUEUE"] = False
        sid = submit(live_app, live_world, CORRECT)
        live_app.config["ENQUEUE"] = True
        with live_app.app_context():
            (run,) = db.session.get_one(Submission, sid).runs
            past = utcnow() - timedelta(seconds=60)
            assert claim_run(db.session, run.id, "dead-worker", 1, now=past)
            db.session.commit()
            sweep.delay()
        sub = final(live_app, sid)
        assert sub.status == "graded"
        (run,) = runs_of(live_app, sid)
        assert run.claims == 2
