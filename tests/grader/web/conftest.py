"""Fixtures for the pages: a seeded course with passwords, logged-in clients, graded results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from grader.domain import runs
from grader.domain.courses import create_assignment, create_course
from grader.domain.roster import enroll
from grader.domain.submissions import create_submission
from grader.domain.users import create_user
from grader.engine.result import GradeResult, PartResult
from grader.extensions import db
from grader.models import Assignment, GradingRun, User

PASSWORD = "correct horse"
#: A string only Ada's code contains, to prove it never leaks to anyone else.
ADA_MARKER = "ADA_PRIVATE_MARKER_7f3a"


@dataclass
class Site:
    """The seeded course: ids of everything the tests refer to."""

    teacher: int
    ada: int
    bob: int
    outsider: int
    other_teacher: int
    course: int
    assignment: int
    other_course: int
    other_assignment: int
    ada_submission: int


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Pages tested without CSRF tokens (a dedicated test turns it back on)."""
    return {**app_config, "WTF_CSRF_ENABLED": False, "SUBMISSIONS_PER_MINUTE": 0}


def graded_result(score_missing: bool = True) -> GradeResult:
    """A result as a worker records it: grad_z3 failed with the missing batch mean."""
    parts = [
        PartResult(name="softmax", score=10.0, max_score=10.0, status="passed",
                   cases_passed=4, cases_total=4),
        PartResult(name="grad_z3", score=0.0 if score_missing else 10.0, max_score=10.0,
                   status="failed" if score_missing else "passed",
                   diagnoses=["missing_batch_mean"] if score_missing else [],
                   feedback="3 of 4 cases differ.",
                   counterexample="import numpy as np\na3 = np.array([[0.5], [0.5]])\n",
                   output="debug print\n", cases_passed=1, cases_total=4),
    ]
    score = sum(p.score for p in parts)
    return GradeResult(assignment="softmax-backprop", seed=1, score=score, max_score=20.0,
                       status="graded", feedback=f"{score:g} of 20 points.", parts=parts,
                       sandbox_level="full", output="", timings={"total": 120.0})


def record(submission_id: int, result: GradeResult) -> None:
    """Grade a submission's initial run with ``result`` (inside an app context)."""
    run_id = runs.pending_run_id(db.session, submission_id)
    assert run_id is not None
    token = runs.claim_run(db.session, run_id, "test", 30)
    assert token is not None
    assert runs.record_result(db.session, run_id, token, result)
    db.session.commit()


def submit_as(student: User, assignment: Assignment, code: str) -> int:
    submission = create_submission(db.session, assignment, student, "solution.py", code)
    db.session.commit()
    return submission.id


@pytest.fixture
def site(app: Flask) -> Site:
    """Two courses; Ada and Bob in the first, an outsider in the second; Ada has a graded
    submission."""
    with app.app_context():
        s = db.session
        teacher = create_user(s, "teacher@example.com", name="Tea Cher", role="instructor",
                              password=PASSWORD)
        other_teacher = create_user(s, "other@example.com", name="O. Ther", role="instructor",
                                    password=PASSWORD)
        ada = create_user(s, "ada@example.com", name="Ada", password=PASSWORD)
        bob = create_user(s, "bob@example.com", name="Bob", password=PASSWORD)
        outsider = create_user(s, "eve@example.com", name="Eve", password=PASSWORD)
        course = create_course(s, "Deep Learning 101", teacher)
        other = create_course(s, "Other course", other_teacher)
        for student in (ada, bob):
            enroll(s, course, student)
        enroll(s, other, outsider)
        assignment = create_assignment(s, course, "softmax-backprop")
        other_assignment = create_assignment(s, other, "softmax-backprop")
        s.commit()
        sid = submit_as(ada, assignment, f"# {ADA_MARKER}\nimport numpy as np\n")
        record(sid, graded_result())
        return Site(teacher.id, ada.id, bob.id, outsider.id, other_teacher.id, course.id,
                    assignment.id, other.id, other_assignment.id, sid)


def login(client: FlaskClient, email: str) -> FlaskClient:
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.data
    return client


@pytest.fixture
def ada(app: Flask, site: Site) -> FlaskClient:
    return login(app.test_client(), "ada@example.com")


@pytest.fixture
def bob(app: Flask, site: Site) -> FlaskClient:
    return login(app.test_client(), "bob@example.com")


@pytest.fixture
def teacher(app: Flask, site: Site) -> FlaskClient:
    return login(app.test_client(), "teacher@example.com")


def run_of(submission_id: int) -> GradingRun | None:
    from grader.models import Submission

    return db.session.get_one(Submission, submission_id).current_run
