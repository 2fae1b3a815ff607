"""Accepting a submission: validation, attempt limit, lateness, seed, and its first run."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.domain import jobs
from grader.engine.grade import draw_seed
from grader.exceptions import (
    AttemptLimitReached,
    InvalidSubmission,
    NotFound,
    PastCutoff,
    SubmissionTooLarge,
)
from grader.models import Assignment, Enrollment, Extension, GradingRun, Submission, User, utcnow

#: Statuses that charge (or may yet charge) an attempt.
CHARGED_STATUSES = ("queued", "running", "graded")


def decode_source(filename: str, data: bytes, max_bytes: int) -> str:
    """The text of an uploaded Python file.

    Raises:
        InvalidSubmission: not a .py file, empty, not UTF-8, or containing NUL bytes.
        SubmissionTooLarge: over ``max_bytes``.
    """
    if not filename.lower().endswith(".py"):
        raise InvalidSubmission(f"expected a .py file, got {filename!r}")
    if len(data) > max_bytes:
        raise SubmissionTooLarge(
            f"file is {len(data)} bytes; the limit is {max_bytes} bytes ({max_bytes // 1024} KiB)"
        )
    if not data.strip():
        raise InvalidSubmission("the file is empty")
    try:
        code = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidSubmission(f"the file is not UTF-8 text (byte {exc.start})") from None
    if "\x00" in code:
        raise InvalidSubmission("the file contains NUL bytes")
    return code


def clean_filename(filename: str) -> str:
    """The file's own name as the student's browser or script gave it: no folders, no control
    characters (it ends up in a download's Content-Disposition header and on pages)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[-255:] or "submission.py"


def due_date_for(session: so.Session, assignment: Assignment, student: User) -> datetime | None:
    """The student's due date: their extension if they have one, else the assignment's."""
    extension = session.scalar(
        sa.select(Extension.due_at).where(
            Extension.assignment_id == assignment.id, Extension.user_id == student.id
        )
    )
    return extension or assignment.due_at


def charged_attempts(session: so.Session, assignment_id: int, student_id: int) -> int:
    """Submissions that count against the attempt limit (pending ones included)."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Submission)
            .where(
                Submission.assignment_id == assignment_id,
                Submission.student_id == student_id,
                Submission.status.in_(CHARGED_STATUSES),
            )
        )
        or 0
    )


def upload_number(session: so.Session, submission: Submission) -> int:
    """Which of the student's uploads to the assignment this is (1 for the first): fixed from
    the upload on, unlike the attempt number, which is given only once it is graded."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Submission)
            .where(
                Submission.assignment_id == submission.assignment_id,
                Submission.student_id == submission.student_id,
                Submission.id <= submission.id,
            )
        )
        or 0
    )


def extra_attempts(session: so.Session, assignment_id: int, student_id: int) -> int:
    """Attempts granted to the student on top of the assignment's limit."""
    from grader.models.accommodations import AttemptGrant

    return session.scalar(sa.select(AttemptGrant.extra_attempts).where(
        AttemptGrant.assignment_id == assignment_id, AttemptGrant.user_id == student_id)) or 0


def attempt_limit_for(session: so.Session, assignment: Assignment, student: User) -> int | None:
    """The student's attempt limit: the assignment's plus any extra attempts (None: unlimited)."""
    if assignment.attempt_limit is None:
        return None
    return assignment.attempt_limit + extra_attempts(session, assignment.id, student.id)


def create_submission(
    session: so.Session,
    assignment: Assignment,
    student: User,
    filename: str,
    code: str,
    *,
    submitted_by: User | None = None,
    now: datetime | None = None,
) -> Submission:
    """Store a submission and its queued initial grading run (flushed, not committed).

    The run is graded once the caller commits (see :mod:`grader.domain.jobs`).

    Raises:
        AttemptLimitReached: the student used every attempt.
        PastCutoff: later than the late cutoff.
    """
    now = now or utcnow()
    # Serialise a student's uploads so two at once can't both pass the attempt limit. A no-op
    # UPDATE of the enrollment row locks it on PostgreSQL and, on SQLite (where FOR UPDATE
    # does nothing), takes the database's write lock before the attempts are counted.
    session.execute(
        sa.update(Enrollment)
        .where(Enrollment.course_id == assignment.course_id, Enrollment.user_id == student.id)
        .values(id=Enrollment.id)
        .execution_options(synchronize_session=False)
    )
    limit = attempt_limit_for(session, assignment, student)
    if limit is not None:
        used = charged_attempts(session, assignment.id, student.id)
        if used >= limit:
            raise AttemptLimitReached(
                f"{student.email} has used all {limit} attempt(s) of assignment {assignment.id}"
            )
    due = due_date_for(session, assignment, student)
    late_by = days_late(now, due)
    if assignment.late_cutoff_days is not None and late_by > assignment.late_cutoff_days:
        raise PastCutoff(
            f"assignment {assignment.id} stopped accepting submissions "
            f"{assignment.late_cutoff_days:g} day(s) after the due date"
        )
    submission = Submission(
        assignment_id=assignment.id,
        student_id=student.id,
        submitted_by_id=(submitted_by or student).id,
        filename=clean_filename(filename),
        code=code,
        sha256=hashlib.sha256(code.encode()).hexdigest(),
        created_at=now,
        seed=draw_seed(),
        late=late_by > 0,
        days_late=late_by,
        status="queued",
    )
    session.add(submission)
    session.flush()
    run = GradingRun(
        submission_id=submission.id,
        kind="initial",
        status="queued",
        created_at=now,
        enqueued_at=now,
    )
    session.add(run)
    session.flush()
    jobs.grade_after_commit(session, submission.id, run.id)
    return submission


def recompute_lateness(
    session: so.Session, assignment: Assignment, student: User | None = None
) -> None:
    """Measure lateness again against the current due dates (after an extension or a new due
    date), for one student or all; flushed, not committed."""
    query = sa.select(Submission).where(Submission.assignment_id == assignment.id)
    if student is not None:
        query = query.where(Submission.student_id == student.id)
    due_by_student: dict[int, datetime | None] = {}
    for submission in session.scalars(query):
        if submission.student_id not in due_by_student:
            due_by_student[submission.student_id] = due_date_for(
                session, assignment, submission.student)
        due = due_by_student[submission.student_id]
        late_by = days_late(submission.created_at, due)
        submission.days_late, submission.late = late_by, late_by > 0
    session.flush()


def days_late(submitted_at: datetime, due: datetime | None) -> float:
    """How many days (fractional) after the due date a submission came; 0 if on time."""
    return max(0.0, (submitted_at - due).total_seconds() / 86400) if due else 0.0


def late_factor(assignment: Assignment, days_late: float) -> float:
    """The share of the score kept: the penalty applies per started day late."""
    if days_late <= 0 or assignment.late_penalty_per_day <= 0:
        return 1.0
    return max(0.0, 1.0 - math.ceil(days_late) * assignment.late_penalty_per_day / 100)


def submissions_of(session: so.Session, assignment_id: int, student_id: int) -> list[Submission]:
    """A student's submissions of an assignment, newest first."""
    return list(session.scalars(
        sa.select(Submission)
        .where(Submission.assignment_id == assignment_id, Submission.student_id == student_id)
        .order_by(Submission.id.desc())
    ))


def get_submission(session: so.Session, submission_id: int) -> Submission:
    """The submission ``submission_id``.

    Raises:
        NotFound: no such submission.
    """
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound(f"no submission {submission_id}")
    return submission
