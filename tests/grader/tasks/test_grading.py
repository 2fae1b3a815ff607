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


#: Makes storing a graded result whose import output names RECORD_FAILS fail inside the
#: database (RECORD_FAILS_ONCE: only before the first retry): a real fault, no mock.
SQLITE_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS record_fails BEFORE UPDATE ON grading_runs
WHEN NEW.status = 'graded' AND NEW.output LIKE '%RECORD_FAILS%'
     AND (NEW.output NOT LIKE '%RECORD_FAILS_ONCE%' OR OLD.retries = 0)
BEGIN SELECT RAISE(ABORT, 'deliberate failure to store'); END
"""
POSTGRES_TRIGGER = [
    """
    CREATE OR REPLACE FUNCTION record_fails() RETURNS trigger AS $$ BEGIN
      IF NEW.status = 'graded' AND NEW.output LIKE '%RECORD_FAILS%'
         AND (NEW.output NOT LIKE '%RECORD_FAILS_ONCE%' OR OLD.retries = 0) THEN
        RAISE EXCEPTION 'deliberate failure to store';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS record_fails ON grading_runs",
    "CREATE TRIGGER record_fails BEFORE UPDATE ON grading_runs FOR EACH ROW "
    "EXECUTE FUNCTION record_fails()",
]


@pytest.fixture
def failing_store(stack: dict[str, Any]) -> None:
    engine = make_engine(stack["DATABASE_URL"])
    statements = POSTGRES_TRIGGER if engine.dialect.name == "postgresql" else [SQLITE_TRIGGER]
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


class TestPoison:
    def test_unstorable_text_is_graded_once(self, live_app: Flask, live_world: World) -> None:
        """A lone surrogate in an exception message and NUL in the output end graded, with
        U+FFFD in their place, claimed once and charged one attempt (it used to loop)."""
        poison = CORRECT + (
            b'\nprint("before \\x00 after")\n'
            b"def softmax(z):\n"
            b'    raise ValueError("bad \\ud800 \\x00 value")\n'
        )
        sub = final(live_app, submit(live_app, live_world, poison))
        assert sub.status == "graded" and sub.attempt == 1
        (run,) = runs_of(live_app, sub.id)
        assert (run.claims, run.retries, run.lost_leases) == (1, 0, 0)
        assert "before \ufffd after" in run.output
        with live_app.app_context():
            feedback = db.session.scalar(
                sa.select(PartResultRow.feedback).where(
                    PartResultRow.run_id == run.id, PartResultRow.name == "softmax"))
        assert feedback is not None and "bad \ufffd \ufffd value" in feedback

    @pytest.mark.usefixtures("failing_store")
    def test_a_store_that_fails_once_is_retried(
        self, live_app: Flask, live_world: World
    ) -> None:
        """Storing the result failed for a reason of ours: retried, then graded once."""
        code = CORRECT + b'\nprint("RECORD_FAILS_ONCE")\n'
        sub = final(live_app, submit(live_app, live_world, code))
        assert sub.status == "graded" and sub.attempt == 1
        (run,) = runs_of(live_app, sub.id)
        assert run.retries == 1 and run.lost_leases == 0

    @pytest.mark.usefixtures("failing_store")
    def test_a_store_that_always_fails_is_a_grader_error(
        self, live_app: Flask, live_world: World
    ) -> None:
        """Storing keeps failing: grader_error (never the student's zero, no attempt), the
        database's message kept for staff, and the run does not loop."""
        code = CORRECT + b'\nprint("RECORD_FAILS")\n'
        sub = final(live_app, submit(live_app, live_world, code))
        assert sub.status == "grader_error"
        assert sub.attempt is None and sub.score is None
        (run,) = runs_of(live_app, sub.id)
        assert "deliberate failure to store" in run.error
        assert run.retries == SETTINGS["GRADE_MAX_RETRIES"] and run.lost_leases == 0


class TestHeartbeat:
    def test_the_live_worker_is_seen(self, stack: dict[str, Any]) -> None:
        """The worker's heartbeat counts its two grading processes."""
        from grader.heartbeat import liveness

        assert wait_until(lambda: liveness(stack["REDIS_URL"], max_age=0).processes, 30) == 2
