"""The one way an upload becomes a submission, whatever the channel (pages, LMS-launched pages,
API): who it is for, the per-student rate limit, the file-name and encoding rules, then
``create_submission``."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.domain.roster import find_enrolled_student, is_instructor_of
from grader.domain.submissions import create_submission, decode_source
from grader.exceptions import (
    Forbidden,
    InvalidInput,
    InvalidSubmission,
    RateLimited,
)
from grader.models import Assignment, Submission, User, utcnow


def check_rate(session: so.Session, student: User, per_minute: int,
               now: datetime | None = None) -> None:
    """Refuse a student's upload if they made ``per_minute`` in the last minute (0: no limit).

    Raises:
        RateLimited: too many.
    """
    if per_minute <= 0:
        return
    now = now or utcnow()
    recent = session.scalar(
        sa.select(sa.func.count()).select_from(Submission).where(
            Submission.student_id == student.id,
            Submission.created_at > now - timedelta(minutes=1),
        )
    ) or 0
    if recent >= per_minute:
        raise RateLimited(f"you submitted {recent} times in the last minute; wait a moment "
                          "and try again")


def submitting_student(
    session: so.Session, assignment: Assignment, caller: User, key: str = ""
) -> User:
    """Who an upload by ``caller`` is for: an instructor of the course names an enrolled student
    (email or LMS user id); anyone else submits for themselves only.

    Raises:
        InvalidInput: an instructor named nobody.
        Forbidden: a student named someone else.
        NotEnrolled: the student is not enrolled in the assignment's course.
    """
    key = key.strip()
    if is_instructor_of(session, caller, assignment.course_id):
        if not key:
            raise InvalidInput("field 'student' (email or LMS user id) is required")
        return find_enrolled_student(session, assignment.course_id, key)
    if key and key.lower() not in (caller.email, caller.lms_user_id):
        raise Forbidden("students may only submit for themselves")
    return find_enrolled_student(session, assignment.course_id, caller.email)


def submit(
    session: so.Session, assignment: Assignment, student: User, *,
    filename: str, data: bytes, max_bytes: int, per_minute: int,
    submitted_by: User | None = None,
) -> Submission:
    """Validate and store an upload for ``student`` (flushed; graded once the caller commits).

    Raises:
        RateLimited, InvalidSubmission, SubmissionTooLarge, AttemptLimitReached, PastCutoff.
    """
    check_rate(session, student, per_minute)
    filename = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not filename:
        raise InvalidSubmission("choose a .py file or paste your code")
    code = decode_source(filename, data, max_bytes)
    return create_submission(session, assignment, student, filename, code,
                             submitted_by=submitted_by)
