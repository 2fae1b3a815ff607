"""The score outbox: every change of a student's counted score on an assignment linked to an
LMS line item, written in the grade's own transaction, and its delivery bookkeeping.

One row per (line item, student) holds the latest score and a version that grows with each
change. A delivery reads a version, sends it, and records ``delivered_version`` only upward,
so deliveries can fail, repeat or overlap and the platform still ends with the newest score
(AGS platforms also ignore a score whose timestamp is older than the one they hold).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
import sqlalchemy.orm as so

from grader.domain import jobs
from grader.domain.gradebook import Attempt, counted, overridden_scores
from grader.domain.score_comment import score_comment
from grader.models import (
    Assignment,
    LtiLineItem,
    LtiScoreOutbox,
    LtiUserLink,
    Submission,
    utcnow,
)

#: Session.info key: outbox ids to enqueue once the transaction commits.
#: A new row is left to its own message this long before the sweep sends it again.
FIRST_SWEEP_DELAY = timedelta(seconds=60)


@dataclass(frozen=True)
class Counted:
    """A student's counted score, where it comes from, and whether an instructor set it."""

    score: float
    #: The graded submission behind it (None for an override with no graded submission).
    submission_id: int | None
    overridden: bool


def counted_submission(
    session: so.Session, assignment: Assignment, student_id: int
) -> Counted | None:
    """The student's counted score (None: nothing graded and no override)."""
    manual = overridden_scores(session, assignment.id).get(student_id)
    rows = session.execute(
        sa.select(Submission.id, Submission.created_at, Submission.score, Submission.days_late)
        .where(
            Submission.assignment_id == assignment.id,
            Submission.student_id == student_id,
            Submission.status == "graded",
            Submission.score.is_not(None),
        )
        .order_by(Submission.id)
    ).all()
    best = counted(assignment, [Attempt(i, c, s, d) for i, c, s, d in rows if s is not None])
    submission_id = best[1].submission_id if best else None
    if manual is not None:
        return Counted(manual, submission_id, True)
    return Counted(best[0], submission_id, False) if best else None


def describe(session: so.Session, submission_id: int) -> str:
    """The comment sent with a score: the submission's result in plain words."""
    return score_comment(session, submission_id)


def note_score_change(
    session: so.Session, assignment_id: int, student_id: int, now: datetime | None = None
) -> list[LtiScoreOutbox]:
    """Record the student's counted score in the outbox of each line item of the assignment,
    if it changed (flushed in the caller's transaction). A no-op for unlinked assignments.

    Returns:
        The rows whose version grew (their ids are also queued for after the commit).
    """
    items = session.scalars(
        sa.select(LtiLineItem).where(LtiLineItem.assignment_id == assignment_id)
    ).all()
    changed = []
    for item in items:
        row = _note(session, item, student_id, now or utcnow())
        if row is not None:
            changed.append(row)
    return changed


def _note(
    session: so.Session, item: LtiLineItem, student_id: int, now: datetime
) -> LtiScoreOutbox | None:
    sub = session.scalar(
        sa.select(LtiUserLink.sub).where(
            LtiUserLink.platform_id == item.platform_id, LtiUserLink.user_id == student_id
        )
    )
    if sub is None:
        return None  # the platform doesn't know this student: nothing to send
    row = _locked_row(session, item.id, student_id)
    # Read the score after taking the row lock: a concurrent change is serialised behind it.
    assignment = session.get_one(Assignment, item.assignment_id)
    found = counted_submission(session, assignment, student_id)
    score = found.score if found else None
    submission_id = found.submission_id if found else None
    comment = describe(session, submission_id) if submission_id else ""
    if found is not None and found.overridden:
        comment = ("Score set by the instructor. " + comment).strip()
    maximum = assignment.max_score
    if row is None:
        if score is None:
            return None
        row = LtiScoreOutbox(
            line_item_id=item.id,
            user_id=student_id,
            lti_user_id=sub,
            version=0,
            score_maximum=maximum,
            changed_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except sa_exc.IntegrityError:  # created concurrently: take that one
            row = _locked_row(session, item.id, student_id)
            assert row is not None
    elif (row.score_given, row.score_maximum, row.comment, row.lti_user_id) == (
        score,
        maximum,
        comment,
        sub,
    ):
        return None
    bump(row, now)
    row.score_given, row.score_maximum, row.comment = score, maximum, comment
    row.submission_id, row.lti_user_id = submission_id, sub
    session.flush()
    jobs.deliver_after_commit(session, row.id)
    return row


def bump(row: LtiScoreOutbox, now: datetime) -> None:
    """A new version to deliver, timestamped strictly after the previous one."""
    row.version += 1
    row.changed_at = max(now, row.changed_at + timedelta(milliseconds=1)) if row.id else now
    row.failures = 0
    row.last_error = ""
    row.next_attempt_at = now + FIRST_SWEEP_DELAY


def _locked_row(session: so.Session, item_id: int, student_id: int) -> LtiScoreOutbox | None:
    return session.scalar(
        sa.select(LtiScoreOutbox)
        .where(LtiScoreOutbox.line_item_id == item_id, LtiScoreOutbox.user_id == student_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def note_assignment(session: so.Session, assignment_id: int) -> int:
    """Note every student's counted score (a line item just got linked); returns changes."""
    students = session.scalars(
        sa.select(Submission.student_id)
        .where(Submission.assignment_id == assignment_id, Submission.status == "graded")
        .distinct()
    ).all()
    return sum(len(note_score_change(session, assignment_id, s)) for s in students)


@dataclass(frozen=True)
class Delivery:
    """A claimed version of a row, to send."""

    outbox_id: int
    version: int
    platform_id: int
    lineitem_url: str
    payload: dict[str, object]


def claim_delivery(
    session: so.Session, outbox_id: int, lease_seconds: float, now: datetime | None = None
) -> Delivery | None:
    """Take the row for delivery if it has an undelivered version and nobody holds it."""
    now = now or utcnow()
    claimed = session.execute(
        sa.update(LtiScoreOutbox)
        .where(
            LtiScoreOutbox.id == outbox_id,
            LtiScoreOutbox.delivered_version < LtiScoreOutbox.version,
            sa.or_(LtiScoreOutbox.lease_until.is_(None), LtiScoreOutbox.lease_until < now),
        )
        .values(lease_until=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult
        return None
    row = session.get_one(LtiScoreOutbox, outbox_id, populate_existing=True)
    item = session.get_one(LtiLineItem, row.line_item_id)
    return Delivery(row.id, row.version, item.platform_id, item.url, score_payload(row))


def score_payload(row: LtiScoreOutbox) -> dict[str, object]:
    """The AGS score document of the row's current version."""
    payload: dict[str, object] = {
        "userId": row.lti_user_id,
        "timestamp": row.changed_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "comment": row.comment,
    }
    if row.score_given is not None:
        payload["scoreGiven"] = row.score_given
        payload["scoreMaximum"] = row.score_maximum
    else:
        payload["activityProgress"] = "Initialized"
        payload["gradingProgress"] = "NotReady"
    return payload


def record_delivery(session: so.Session, delivery: Delivery, now: datetime | None = None) -> bool:
    """Mark ``delivery.version`` delivered (never lowers what was delivered).

    Returns:
        Whether a newer version is waiting (it is delivered again once the caller commits).
    """
    now = now or utcnow()
    session.execute(
        sa.update(LtiScoreOutbox)
        .where(LtiScoreOutbox.id == delivery.outbox_id)
        .values(
            delivered_version=sa.case(
                (LtiScoreOutbox.delivered_version < delivery.version, delivery.version),
                else_=LtiScoreOutbox.delivered_version,
            ),
            delivered_at=now,
            lease_until=None,
            failures=sa.case(
                (LtiScoreOutbox.version <= delivery.version, 0), else_=LtiScoreOutbox.failures
            ),
            last_error=sa.case(
                (LtiScoreOutbox.version <= delivery.version, ""), else_=LtiScoreOutbox.last_error
            ),
        )
        .execution_options(synchronize_session=False)
    )
    row = session.get_one(LtiScoreOutbox, delivery.outbox_id, populate_existing=True)
    newer = row.delivered_version < row.version
    if newer:
        jobs.deliver_after_commit(session, row.id)
    return newer


def record_failure(
    session: so.Session,
    delivery: Delivery,
    error: str,
    backoff_seconds: float,
    max_backoff_seconds: float,
    now: datetime | None = None,
) -> float:
    """Keep the platform's error and when to try again (exponential backoff, capped).

    Returns:
        Seconds until the next attempt.
    """
    now = now or utcnow()
    row = session.get_one(LtiScoreOutbox, delivery.outbox_id, populate_existing=True)
    row.failures += 1
    delay = min(max_backoff_seconds, backoff_seconds * 2 ** (row.failures - 1))
    row.last_error = error[-4000:]
    row.next_attempt_at = now + timedelta(seconds=delay)
    row.lease_until = None
    session.flush()
    return delay


def due_for_delivery(session: so.Session, now: datetime | None = None) -> list[int]:
    """Undelivered rows whose next attempt is due and that nobody holds (for the sweep); each
    is delivered once the caller commits."""
    now = now or utcnow()
    due = list(
        session.scalars(
            sa.select(LtiScoreOutbox.id)
            .where(
                LtiScoreOutbox.delivered_version < LtiScoreOutbox.version,
                sa.or_(
                    LtiScoreOutbox.next_attempt_at.is_(None),
                    LtiScoreOutbox.next_attempt_at <= now,
                ),
                sa.or_(LtiScoreOutbox.lease_until.is_(None), LtiScoreOutbox.lease_until < now),
            )
            .order_by(LtiScoreOutbox.id)
        )
    )
    for outbox_id in due:
        jobs.deliver_after_commit(session, outbox_id)
    return due


def resend(session: so.Session, outbox_ids: list[int], now: datetime | None = None) -> int:
    """Send these rows again as a new version (an instructor's resend); returns how many."""
    now = now or utcnow()
    rows = session.scalars(
        sa.select(LtiScoreOutbox).where(LtiScoreOutbox.id.in_(outbox_ids)).with_for_update()
    ).all()
    for row in rows:
        bump(row, now)
        jobs.deliver_after_commit(session, row.id)
    session.flush()
    return len(rows)
