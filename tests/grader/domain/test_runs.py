"""The lease lifecycle of a grading run, on the database alone (no broker, no worker):
claim, renew, record, release for a retry, and the sweep that re-enqueues what was lost.

What the domain asks a worker to do is registered on the session and sent only after commit;
these tests read it from there.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from grader.domain import jobs, runs
from grader.domain.submissions import create_submission
from grader.engine.result import GRADER_ERROR_FEEDBACK, GradeResult, PartResult
from grader.extensions import db
from grader.models import Assignment, GradingRun, PartResultRow, Submission, User, utcnow
from tests.conftest import World


def upload(world: World) -> tuple[int, int]:
    """A stored submission and its queued run, with the enqueue request taken off the session."""
    assignment = db.session.get_one(Assignment, world.assignment_id)
    student = db.session.get_one(User, world.student_ids[0])
    submission = create_submission(db.session, assignment, student, "hw.py", "x = 1\n")
    (registered,) = jobs.take(db.session).runs
    assert registered[0] == submission.id
    db.session.commit()
    return registered


def result(score: float = 10.0) -> GradeResult:
    part = PartResult(name="softmax", score=score, max_score=10.0,
                      status="passed" if score == 10.0 else "failed", cases_passed=int(score),
                      cases_total=10, diagnoses=[] if score == 10.0 else ["wrong_axis"])
    return GradeResult(assignment="softmax-backprop", seed=7, score=score, max_score=10.0,
                       status="graded", feedback="fine", parts=[part], timings={"run": 3.0})


@pytest.fixture
def ctx(app: Flask) -> object:
    with app.app_context() as context:
        yield context


@pytest.mark.usefixtures("ctx")
class TestLease:
    def test_upload_registers_its_run_for_after_commit(self, world: World) -> None:
        """Creating a submission asks for its run to be graded, once, and nothing else."""
        submission_id, run_id = upload(world)
        run = db.session.get_one(GradingRun, run_id)
        assert run.submission_id == submission_id and run.status == "queued"
        assert not jobs.take(db.session)

    def test_rollback_drops_what_was_registered(self, world: World) -> None:
        assignment = db.session.get_one(Assignment, world.assignment_id)
        student = db.session.get_one(User, world.student_ids[0])
        create_submission(db.session, assignment, student, "hw.py", "x = 1\n")
        db.session.rollback()
        assert not jobs.take(db.session)

    def test_claim_is_exclusive(self, world: World) -> None:
        submission_id, run_id = upload(world)
        token = runs.claim_run(db.session, run_id, "w1", 30)
        db.session.commit()
        assert token is not None
        assert runs.claim_run(db.session, run_id, "w2", 30) is None
        run = db.session.get_one(GradingRun, run_id)
        assert (run.status, run.claims, run.lease_owner) == ("running", 1, "w1")
        assert db.session.get_one(Submission, submission_id).status == "running"

    def test_record_writes_the_typed_result_once(self, world: World) -> None:
        submission_id, run_id = upload(world)
        token = runs.claim_run(db.session, run_id, "w1", 30)
        assert token
        assert runs.record_result(db.session, run_id, token, result(4.0))
        db.session.commit()
        assert not runs.record_result(db.session, run_id, token, result(10.0))
        submission = db.session.get_one(Submission, submission_id)
        assert (submission.status, submission.score, submission.attempt) == ("graded", 4.0, 1)
        run = db.session.get_one(GradingRun, run_id)
        assert run.timings["run"] == 3.0 and "queue" in run.timings
        (part,) = db.session.scalars(sa.select(PartResultRow).where(PartResultRow.run_id == run_id))
        assert (part.name, part.diagnoses, part.cases_passed) == ("softmax", ["wrong_axis"], 4)

    def test_expired_lease_passes_to_the_next_worker(self, world: World) -> None:
        """A worker whose lease expired can neither renew nor record; the next one can."""
        _, run_id = upload(world)
        past = utcnow() - timedelta(seconds=120)
        old = runs.claim_run(db.session, run_id, "dead", 1, now=past)
        new = runs.claim_run(db.session, run_id, "alive", 30)
        db.session.commit()
        assert old and new and old != new
        assert not runs.renew_lease(db.session, run_id, old, 30)
        assert not runs.record_result(db.session, run_id, old, result())
        assert runs.renew_lease(db.session, run_id, new, 30)
        assert runs.record_result(db.session, run_id, new, result())
        assert db.session.get_one(GradingRun, run_id).claims == 2

    def test_release_for_retry_requeues_with_the_error(self, world: World) -> None:
        _, run_id = upload(world)
        token = runs.claim_run(db.session, run_id, "w1", 30)
        assert token and runs.release_for_retry(db.session, run_id, token, "boom")
        db.session.commit()
        run = db.session.get_one(GradingRun, run_id)
        assert (run.status, run.retries, run.error, run.lease_token) == ("queued", 1, "boom", None)
        assert not runs.record_result(db.session, run_id, token, result())

    def test_grader_error_is_recorded_with_one_message_and_no_attempt(self, world: World) -> None:
        submission_id, run_id = upload(world)
        token = runs.claim_run(db.session, run_id, "w1", 30)
        failed = GradeResult.grader_error("softmax-backprop", 7, 10.0)
        assert token and runs.record_result(db.session, run_id, token, failed, error="Trace")
        db.session.commit()
        submission = db.session.get_one(Submission, submission_id)
        assert (submission.status, submission.score, submission.attempt) == (
            "grader_error", None, None)
        run = db.session.get_one(GradingRun, run_id)
        assert (run.feedback, run.error) == (GRADER_ERROR_FEEDBACK, "Trace")


@pytest.mark.usefixtures("ctx")
class TestSweep:
    def test_finds_expired_leases_and_lost_messages_only(self, world: World) -> None:
        expired = upload(world)
        lost = upload(world)
        fresh = upload(world)
        held = upload(world)
        now = utcnow()
        assert runs.claim_run(db.session, expired[1], "dead", 1, now=now - timedelta(seconds=60))
        assert runs.claim_run(db.session, held[1], "alive", 300, now=now)
        db.session.get_one(GradingRun, lost[1]).enqueued_at = now - timedelta(seconds=600)
        db.session.get_one(GradingRun, fresh[1]).enqueued_at = now
        db.session.commit()

        found = runs.sweep(db.session, queued_stale_seconds=120, now=now)
        assert sorted(found) == sorted([expired, lost])
        assert sorted(jobs.take(db.session).runs) == sorted(found)
        db.session.commit()
        statuses = {r: db.session.get_one(GradingRun, r).status for _, r in (expired, held)}
        assert statuses == {expired[1]: "queued", held[1]: "running"}
        # Swept once, a run is not found again until it is stale again.
        assert runs.sweep(db.session, queued_stale_seconds=120, now=now) == []
