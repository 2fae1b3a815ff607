"""Submitting from the web pages: the per-student rate limit on top of ``create_submission``."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.domain.submissions import create_submission, decode_source
from grader.exceptions import AutogradeError, InvalidSubmission
from grader.models import Assignment, Submission, User, utcnow


class RateLimited(AutogradeError):
    """The student submitted too often in the last minute."""

    code = "rate_limited"
    status = 429


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


def submit(
    session: so.Session, assignment: Assignment, student: User, *,
    filename: str, data: bytes, max_bytes: int, per_minute: int,
) -> Submission:
    """Validate and store a student's upload (flushed; the caller commits, then enqueues).

    Raises:
        RateLimited, InvalidSubmission, SubmissionTooLarge, AttemptLimitReached, PastCutoff.
    """
    check_rate(session, student, per_minute)
    filename = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not filename:
        raise InvalidSubmission("choose a .py file or paste your code")
    code = decode_source(filename, data, max_bytes)
    return create_submission(session, assignment, student, filename, code)
