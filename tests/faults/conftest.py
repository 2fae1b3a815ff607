"""What the fault tests share: a stack of real parts (a database of each backend, a redis-server
of the module's own, Celery workers with the sweeper on beat), a course whose scores go to a
simulated LMS, uploads through the API, and the checks each fault test ends with: nothing lost,
nothing graded twice, at most one LMS send per score change.

Sizes are small by default so that CI runs every fault test; ``AUTOGRADE_FAULT_SUBMISSIONS``
makes them larger by hand (e.g. 200 submissions and 50 kills for the worker test).
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from grader import create_app
from grader.engine.result import FINAL_STATUSES
from grader.extensions import db, make_engine
from grader.migrate import upgrade
from grader.models import GradingRun, LtiScoreOutbox, PartResultRow, Submission
from tests.conftest import BACKENDS, bearer
from tests.services import ROOT, RedisServer, empty_database, wait_until

SAMPLES = ROOT / "tests" / "submissions" / "softmax_backprop"
#: The submission mix: correct, a known mistake, and a file that does not import.
MIX = [
    (SAMPLES / "correct.py").read_bytes(),
    (SAMPLES / "missing_batch_mean.py").read_bytes(),
    b"def softmax(z:\n",
]

#: How many submissions a fault test streams (CI's default is small).
SUBMISSIONS = int(os.environ.get("AUTOGRADE_FAULT_SUBMISSIONS", "36"))

#: Short leases and a fast sweeper, so lost work comes back within seconds.
FAST = {
    "LEASE_SECONDS": 2,
    "LEASE_RENEW_SECONDS": 0.5,
    "SWEEP_INTERVAL_SECONDS": 0.5,
    "QUEUED_STALE_SECONDS": 600,
    "GRADE_RETRY_BACKOFF_SECONDS": 0.1,
    "SUBMISSIONS_PER_MINUTE": 0,
    "LTI_RETRY_BACKOFF_SECONDS": 0.2,
    "LTI_SWEEP_INTERVAL_SECONDS": 1,
}


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'autograde.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return url
    url = str(request.getfixturevalue("postgres_database"))
    empty_database(url)
    return url


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server for this test alone (a test may stop and start it)."""
    server = RedisServer(tmp_path / "redis")
    yield server
    server.close()


@dataclass
class Course:
    """A course of ``students`` students on the softmax-backprop assignment."""

    assignment_id: int
    instructor_token: str
    students: list[str]
    student_ids: list[int]


def make_course(app: Flask, students: int) -> Course:
    from grader.domain.courses import create_assignment, create_course
    from grader.domain.roster import enroll
    from grader.domain.tokens import create_token
    from grader.domain.users import create_user

    with app.app_context():
        s = db.session
        teacher = create_user(s, "teacher@example.com", name="T", role="instructor",
                              password="pw")
        course = create_course(s, "Faults 101", teacher)
        people = [create_user(s, f"s{i}@example.com", name=f"S{i}", password="pw")
                  for i in range(students)]
        for person in people:
            enroll(s, course, person)
        assignment = create_assignment(s, course, "softmax-backprop", attempt_limit=None)
        token, _ = create_token(s, teacher, ["submissions:write", "results:read"])
        s.commit()
        return Course(assignment.id, token, [p.email for p in people], [p.id for p in people])


def upload(client: FlaskClient, course: Course, code: bytes, student: str) -> Any:
    """POST one file for ``student`` through the API; the response."""
    return client.post(
        f"/api/v1/assignments/{course.assignment_id}/submissions",
        data={"file": (io.BytesIO(code), "hw.py"), "student": student},
        headers=bearer(course.instructor_token),
    )


def stream(client: FlaskClient, course: Course, n: int) -> list[int]:
    """Upload ``n`` files of the mix, round-robin over the students; their ids."""
    ids = []
    for i in range(n):
        student = course.students[i % len(course.students)]
        response = upload(client, course, MIX[i % len(MIX)], student)
        assert response.status_code == 202, response.get_data(as_text=True)
        ids.append(int(response.get_json()["id"]))
    return ids


def statuses(app: Flask, ids: list[int]) -> Counter[str]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Submission.status).where(Submission.id.in_(ids))).scalars().all()
        db.session.rollback()
    return Counter(rows)


def wait_all_final(app: Flask, ids: list[int], timeout: float) -> Counter[str]:
    """Wait until every submission has a final status; how many of each."""

    def done() -> Counter[str] | None:
        found = statuses(app, ids)
        return found if sum(found[s] for s in FINAL_STATUSES) == len(ids) else None

    try:
        result: Counter[str] = wait_until(done, timeout, interval=0.25)
    except TimeoutError:
        raise AssertionError(f"not all graded in {timeout:.0f} s: {statuses(app, ids)}") from None
    return result


@dataclass
class Outcome:
    """What the checks found."""

    statuses: Counter[str]
    given_up: list[int] = field(default_factory=list)


def check_nothing_lost(app: Flask, ids: list[int], max_lost_leases: int = 3) -> Outcome:
    """Every submission exists and ended with exactly one recorded result: one finished run,
    its parts stored once, the submission pointing at it; graded attempts numbered 1..n per
    student without a gap or a repeat; a grader_error only after K lost leases or retries."""
    with app.app_context():
        s = db.session
        subs = s.scalars(sa.select(Submission).where(Submission.id.in_(ids))).all()
        assert sorted(x.id for x in subs) == sorted(ids), "a submission was lost"
        outcome = Outcome(Counter(x.status for x in subs))
        attempts: dict[int, list[int]] = {}
        for sub in subs:
            (run,) = s.scalars(sa.select(GradingRun).where(GradingRun.submission_id == sub.id))
            assert sub.status in FINAL_STATUSES and run.status == sub.status
            assert sub.current_run_id == run.id and run.lease_token is None
            parts = s.scalars(sa.select(PartResultRow.position)
                              .where(PartResultRow.run_id == run.id)).all()
            assert len(parts) == len(set(parts))
            if sub.status == "graded":
                assert sub.attempt is not None and len(parts) > 0
                attempts.setdefault(sub.student_id, []).append(sub.attempt)
            else:
                assert sub.attempt is None
            if sub.status == "grader_error":
                assert run.lost_leases >= max_lost_leases or run.retries > 0, run.error
                if run.lost_leases >= max_lost_leases:
                    assert "MAX_LOST_LEASES" in run.error
                    outcome.given_up.append(sub.id)
        for student, numbers in attempts.items():
            assert sorted(numbers) == list(range(1, len(numbers) + 1)), (student, numbers)
        s.rollback()
    return outcome


class Lms:
    """The simulated LMS with the course's assignment linked to one of its line items and every
    student known to it, and our app served so that the LMS can read our key set."""

    def __init__(self, app: Flask, course: Course) -> None:
        from grader.lti.platform_api import forget_tokens
        from grader.lti.registration import register_platform
        from grader.models import LtiContext, LtiLineItem, LtiResourceLink, LtiUserLink
        from tests.grader.lti.platform import LineItem, Platform, ServedApp

        self.tool = ServedApp(app)
        self.platform = Platform(f"{self.tool.url}/lti/jwks")
        lms = self.platform
        item_url = f"{lms.url}/contexts/{lms.context_id}/lineitems/1"
        lms.line_items[item_url] = LineItem(item_url, {"id": item_url, "scoreMaximum": 100})
        with app.app_context():
            s = db.session
            platform = register_platform(
                s, issuer=lms.issuer, client_id=lms.client_id,
                auth_login_url=f"{lms.url}/auth", auth_token_url=f"{lms.url}/token",
                key_set_url=f"{lms.url}/jwks", deployment_ids=[lms.deployment_id])
            s.flush()
            context = LtiContext(platform_id=platform.id, context_id=lms.context_id,
                                 course_id=_course_of(course.assignment_id))
            s.add(context)
            s.flush()
            link = LtiResourceLink(context_id=context.id, resource_link_id="link-1",
                                   assignment_id=course.assignment_id)
            s.add(link)
            s.flush()
            s.add(LtiLineItem(resource_link_id=link.id, assignment_id=course.assignment_id,
                              platform_id=platform.id, url=item_url))
            for i, user_id in enumerate(course.student_ids):
                s.add(LtiUserLink(platform_id=platform.id, sub=f"lms-{i}", user_id=user_id))
            s.commit()
        forget_tokens()

    def stop(self) -> None:
        self.platform.stop()
        self.tool.stop()

    def check_sent_once_per_change(self, app: Flask, timeout: float = 60) -> None:
        """Every score change reached the LMS exactly once (no version sent twice), and the
        LMS holds each student's counted score."""

        def delivered() -> bool:
            with app.app_context():
                pending = db.session.scalar(
                    sa.select(sa.func.count()).select_from(LtiScoreOutbox)
                    .where(LtiScoreOutbox.delivered_version < LtiScoreOutbox.version))
                db.session.rollback()
            return pending == 0

        wait_until(delivered, timeout, interval=0.25)
        sent = Counter((doc["userId"], doc["timestamp"])
                       for doc in self.platform.accepted_scores())
        assert sent and max(sent.values()) == 1, [k for k, v in sent.items() if v > 1]
        with app.app_context():
            rows = db.session.scalars(sa.select(LtiScoreOutbox)).all()
            expected = {row.lti_user_id: row.score_given for row in rows}
            # Versions that changed again before being sent are sent once, as the newest.
            assert len(sent) <= sum(row.version for row in rows)
            db.session.rollback()
        assert self.platform.gradebook() == expected


def _course_of(assignment_id: int) -> int:
    from grader.models import Assignment

    return db.session.get_one(Assignment, assignment_id).course_id


def fault_app(config: dict[str, Any]) -> Flask:
    return create_app({**config, "TESTING": True, "PREFERRED_URL_SCHEME": "https",
                       "WTF_CSRF_ENABLED": False})


def close_app(app: Flask) -> None:
    app.extensions["db"].session.remove()
    app.extensions["db"].engine.dispose()
