"""Where a waiting submission stands: its place in the queue, an estimated wait from the recent
grading times and the live grading processes, and 'delayed' when nothing can grade it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask

from grader.domain import jobs, runs
from grader.domain.queue import DEFAULT_GRADING_SECONDS, QueueStanding, queue_standing
from grader.domain.submissions import create_submission
from grader.engine.result import GradeResult
from grader.extensions import db
from grader.models import Assignment, Submission, User, utcnow
from tests.conftest import World


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


def uploads(world: World, n: int) -> list[Submission]:
    assignment = db.session.get_one(Assignment, world.assignment_id)
    student = db.session.get_one(User, world.student_ids[0])
    made = [create_submission(db.session, assignment, student, "hw.py", "x = 1\n")
            for _ in range(n)]
    jobs.take(db.session)
    db.session.commit()
    return made


def grade(submission: Submission, seconds: float) -> None:
    """Record a result for the submission that took ``seconds`` from claim to result."""
    (run,) = submission.runs
    start = utcnow() - timedelta(seconds=seconds)
    token = runs.claim_run(db.session, run.id, "w", 60, now=start)
    assert token
    result = GradeResult("softmax-backprop", 1, 1.0, 1.0, "graded", "ok")
    assert runs.record_result(db.session, run.id, token, result, now=start + timedelta(
        seconds=seconds))
    db.session.commit()


@pytest.mark.usefixtures("ctx")
class TestQueueStanding:
    def test_positions_follow_upload_order(self, world: World) -> None:
        """The n-th waiting upload is number n; the estimate grows with the place."""
        subs = uploads(world, 3)
        found = [queue_standing(db.session, s, processes=1) for s in subs]
        assert [f.position for f in found if f] == [1, 2, 3]
        waits = [f.estimated_wait_s for f in found if f]
        assert waits == [DEFAULT_GRADING_SECONDS * k for k in (1, 2, 3)]

    def test_estimate_uses_recent_grading_times_and_processes(self, world: World) -> None:
        """Median of recent runs (here 4 s) times the rounds the live processes need."""
        done = uploads(world, 3)
        for sub, seconds in zip(done, (3.0, 4.0, 30.0), strict=True):
            grade(sub, seconds)
        waiting = uploads(world, 4)
        assert queue_standing(db.session, waiting[3], processes=1) == QueueStanding(4, 16.0, False)
        assert queue_standing(db.session, waiting[3], processes=2) == QueueStanding(4, 8.0, False)
        assert queue_standing(db.session, waiting[0], processes=4) == QueueStanding(1, 4.0, False)

    def test_runs_being_graded_come_first(self, world: World) -> None:
        """A run being graded is position 0, and it delays the ones behind it."""
        first, second = uploads(world, 2)
        (run,) = first.runs
        assert runs.claim_run(db.session, run.id, "w", 60)
        db.session.commit()
        db.session.refresh(first)
        running = queue_standing(db.session, first, processes=1)
        assert running is not None and running.position == 0 and running.estimated_wait_s
        assert queue_standing(db.session, second, processes=1) == QueueStanding(
            1, 2 * DEFAULT_GRADING_SECONDS, False)

    def test_delayed_without_a_worker_or_when_never_sent(self, world: World) -> None:
        """No live grading process, or a run the queue never got: delayed, no estimate."""
        first, second = uploads(world, 2)
        assert queue_standing(db.session, first, processes=0) == QueueStanding(1, None, True)
        runs.mark_unsent(db.session, [second.runs[0].id])
        db.session.commit()
        db.session.expire_all()
        assert queue_standing(db.session, second, processes=2) == QueueStanding(2, None, True)

    def test_done_submissions_have_no_place(self, world: World) -> None:
        (sub,) = uploads(world, 1)
        grade(sub, 1.0)
        db.session.refresh(sub)
        assert queue_standing(db.session, sub, processes=1) is None


class TestMessages:
    def test_sentences(self) -> None:
        """What the student reads for each case."""
        assert QueueStanding(0, 3.2, False).message == "Being graded now; results in about 3 s."
        assert QueueStanding(1, 0.4, False).message == "Next in the queue; results in about 1 s."
        assert QueueStanding(5, 130, False).message == (
            "Number 5 in the queue (4 ahead of you); results in about 3 min.")
        assert QueueStanding(2, None, True).message.startswith("Grading is delayed")
