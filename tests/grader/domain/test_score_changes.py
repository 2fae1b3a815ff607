"""Everything that changes a counted score after grading: points, due dates, overrides.

Results come from the real engine and sandbox; the changes go through the domain, and their
effect is read back from the grade book and the API.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from grader.domain import runs
from grader.domain.accommodations import clear_override, override_score, set_extension
from grader.domain.course_admin import update_assignment
from grader.domain.gradebook import gradebook
from grader.domain.submissions import create_submission
from grader.engine import grade
from grader.extensions import db
from grader.models import Assignment, Submission, User, utcnow
from tests.conftest import World, bearer

SUBMISSIONS = Path(__file__).parents[2] / "submissions" / "softmax_backprop"

pytestmark = pytest.mark.sandbox


def graded_submission(app: Flask, world: World, runner: Any, name: str,
                      when: Any = None) -> int:
    """Upload a sample submission for the first student and grade it for real."""
    with app.app_context():
        assignment = db.session.get_one(Assignment, world.assignment_id)
        student = db.session.get_one(User, world.student_ids[0])
        code = (SUBMISSIONS / f"{name}.py").read_text()
        sub = create_submission(db.session, assignment, student, f"{name}.py", code, now=when)
        db.session.commit()
        result = grade(code, assignment.slug, seed=sub.seed, runner=runner,
                       points=assignment.part_points)
        run_id = runs.pending_run_id(db.session, sub.id)
        assert run_id is not None
        token = runs.claim_run(db.session, run_id, "test", 30)
        assert token and runs.record_result(db.session, run_id, token, result)
        db.session.commit()
        return sub.id


def rules(assignment: Assignment, **changes: Any) -> dict[str, Any]:
    current = dict(
        title=assignment.title, due_at=assignment.due_at, part_points=dict(assignment.part_points),
        late_penalty_per_day=assignment.late_penalty_per_day,
        late_cutoff_days=assignment.late_cutoff_days, attempt_limit=assignment.attempt_limit,
        counts=assignment.counts, feedback_before_due=assignment.feedback_before_due,
    )
    return {**current, **changes}


class TestPoints:
    def test_course_points_are_used_when_grading(self, app: Flask, world: World,
                                                 runner: Any) -> None:
        """An assignment's own points per part decide the grade, not the plugin's defaults."""
        with app.app_context():
            a = db.session.get_one(Assignment, world.assignment_id)
            a.part_points = {**a.part_points, "softmax": 30.0}
            db.session.commit()
        sid = graded_submission(app, world, runner, "correct")
        with app.app_context():
            s = db.session.get_one(Submission, sid)
            assert s.score == s.max_score == 110.0

    def test_new_points_rescale_stored_results(self, app: Flask, world: World,
                                               runner: Any) -> None:
        """Changing points keeps each part's fraction of cases and updates the total."""
        sid = graded_submission(app, world, runner, "missing_batch_mean")
        with app.app_context():
            s = db.session.get_one(Submission, sid)
            z3 = next(p for p in s.current_run.parts if p.name == "grad_z3")
            fraction = z3.cases_passed / z3.cases_total
            before = s.score
            a = db.session.get_one(Assignment, world.assignment_id)
            update_assignment(db.session, a, **rules(
                a, part_points={**a.part_points, "grad_z3": 20.0}))
            db.session.commit()
            s = db.session.get_one(Submission, sid)
            z3 = next(p for p in s.current_run.parts if p.name == "grad_z3")
            assert z3.max_score == 20.0 and z3.score == pytest.approx(20.0 * fraction)
            assert s.max_score == 100.0
            assert s.score == pytest.approx(before + 10.0 * fraction)


class TestLateness:
    def test_extension_lifts_the_late_penalty(self, app: Flask, world: World,
                                              runner: Any) -> None:
        """An extension granted after a late upload makes it on time, and the score counts."""
        with app.app_context():
            a = db.session.get_one(Assignment, world.assignment_id)
            a.due_at = utcnow() - timedelta(days=2)
            a.late_penalty_per_day = 25.0
            db.session.commit()
        sid = graded_submission(app, world, runner, "correct")
        with app.app_context():
            a = db.session.get_one(Assignment, world.assignment_id)
            assert gradebook(db.session, a)[0].score == pytest.approx(90 * 0.25)
            student = db.session.get_one(User, world.student_ids[0])
            set_extension(db.session, a, student, utcnow() + timedelta(days=1), None, "ill")
            db.session.commit()
            assert db.session.get_one(Submission, sid).late is False
            line = next(g for g in gradebook(db.session, a) if g.student.id == student.id)
            assert line.score == 90 and not line.late

    def test_moved_due_date_measures_lateness_again(self, app: Flask, world: World,
                                                    runner: Any) -> None:
        """Moving the due date later turns late uploads into on-time ones."""
        with app.app_context():
            a = db.session.get_one(Assignment, world.assignment_id)
            a.due_at = utcnow() - timedelta(days=1)
            db.session.commit()
        sid = graded_submission(app, world, runner, "correct")
        with app.app_context():
            assert db.session.get_one(Submission, sid).late is True
            a = db.session.get_one(Assignment, world.assignment_id)
            update_assignment(db.session, a, **rules(a, due_at=utcnow() + timedelta(days=3)))
            db.session.commit()
            assert db.session.get_one(Submission, sid).late is False


class TestOverrides:
    def test_override_counts_in_grade_book_and_api(self, app: Flask, world: World,
                                                   runner: Any) -> None:
        """An instructor's override replaces the counted score everywhere, until cleared."""
        graded_submission(app, world, runner, "missing_batch_mean")
        with app.app_context():
            a = db.session.get_one(Assignment, world.assignment_id)
            student = db.session.get_one(User, world.student_ids[0])
            override_score(db.session, a, student, 88.0, None, "oral exam")
            db.session.commit()
        client = app.test_client()
        url = f"/api/v1/assignments/{world.assignment_id}/grades"
        doc = client.get(url, headers=bearer(world.instructor_token)).json
        line = next(i for i in doc["items"] if i["student"]["id"] == world.student_ids[0])
        assert line["score"] == 88.0 and line["overridden"] is True
        csv = client.get(url + "?format=csv", headers=bearer(world.instructor_token)).text
        assert ",88\r\n" in csv
        with app.app_context():
            a = db.session.get_one(Assignment, world.assignment_id)
            student = db.session.get_one(User, world.student_ids[0])
            clear_override(db.session, a, student, None)
            db.session.commit()
        doc = client.get(url, headers=bearer(world.instructor_token)).json
        line = next(i for i in doc["items"] if i["student"]["id"] == world.student_ids[0])
        assert line["score"] < 88.0 and line["overridden"] is False
