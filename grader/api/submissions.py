"""Submission endpoints."""

from __future__ import annotations

from typing import Any

from grader.api import bp
from grader.api.auth import current_user, require
from grader.api.serialize import submission_doc
from grader.domain.roster import is_instructor_of
from grader.domain.submissions import due_date_for, get_submission
from grader.exceptions import NotFound
from grader.extensions import db
from grader.models import utcnow


@bp.get("/submissions/<int:submission_id>", endpoint="get_submission")
@require("results:read")
def get_submission_view(submission_id: int) -> dict[str, Any]:
    """A submission with its current grade and per-part results."""
    submission = get_submission(db.session, submission_id)
    user = current_user()
    assignment = submission.assignment
    if is_instructor_of(db.session, user, assignment.course_id):
        return submission_doc(submission)
    if submission.student_id != user.id:
        raise NotFound(f"no submission {submission_id}")
    due = due_date_for(db.session, assignment, user)
    show = assignment.feedback_before_due or due is None or utcnow() >= due
    return submission_doc(submission, show_feedback=show)
