"""Two uploads by one student at the same moment cannot both pass the attempt limit."""

from __future__ import annotations

import threading

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask

from grader.domain.submissions import create_submission
from grader.exceptions import AttemptLimitReached
from grader.extensions import db
from grader.models import Assignment, Submission, User
from tests.conftest import World


class TestAttemptLimitRace:
    def test_simultaneous_uploads_charge_one_attempt(self, app: Flask, world: World) -> None:
        """With one attempt left, of several simultaneous uploads exactly one is stored."""
        with app.app_context():
            db.session.get_one(Assignment, world.assignment_id).attempt_limit = 1
            db.session.commit()
            engine = db.engine
        uploads = 4
        barrier = threading.Barrier(uploads)
        outcomes: list[str] = []

        def upload() -> None:
            with so.Session(engine) as session:
                assignment = session.get_one(Assignment, world.assignment_id)
                student = session.get_one(User, world.student_ids[0])
                barrier.wait()
                try:
                    create_submission(session, assignment, student, "hw.py", "x = 1\n")
                    session.commit()
                    outcomes.append("stored")
                except AttemptLimitReached:
                    session.rollback()
                    outcomes.append("refused")

        threads = [threading.Thread(target=upload) for _ in range(uploads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcomes) == ["refused"] * (uploads - 1) + ["stored"]
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 1
