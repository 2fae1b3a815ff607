"""Per-student exceptions: extended due dates, extra attempts, score overrides; all audited."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.domain.outbox import note_score_change
from grader.domain.submissions import due_date_for
from grader.exceptions import InvalidInput
from grader.models import Assignment, Extension, User, utcnow
from grader.models.accommodations import AttemptGrant, AuditEvent, ScoreOverride


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "none"


def _audit(session: so.Session, assignment: Assignment, student: User, actor: User | None,
           kind: str, detail: str, comment: str) -> AuditEvent:
    event = AuditEvent(assignment_id=assignment.id, student_id=student.id,
                       actor_id=actor.id if actor else None, kind=kind, detail=detail,
                       comment=comment.strip(), created_at=utcnow())
    session.add(event)
    return event


def _recount(session: so.Session, assignment: Assignment, student: User) -> None:
    """A new due date changes which attempts are late: recompute them, then tell the LMS."""
    from grader.domain.submissions import recompute_lateness

    recompute_lateness(session, assignment, student)
    note_score_change(session, assignment.id, student.id)


def set_extension(session: so.Session, assignment: Assignment, student: User,
                  due_at: datetime | None, actor: User | None, comment: str = "") -> None:
    """Give ``student`` their own due date (None removes it)."""
    before = due_date_for(session, assignment, student)
    row = session.scalar(sa.select(Extension).where(
        Extension.assignment_id == assignment.id, Extension.user_id == student.id))
    if due_at is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(Extension(assignment_id=assignment.id, user_id=student.id, due_at=due_at))
    else:
        row.due_at = due_at
    after = due_at or assignment.due_at
    _audit(session, assignment, student, actor, "extension",
           f"due date {_when(before)} → {_when(after)}", comment)
    session.flush()
    _recount(session, assignment, student)


def grant_attempts(session: so.Session, assignment: Assignment, student: User, extra: int,
                   actor: User | None, comment: str = "") -> None:
    """Set the number of extra attempts the student has (0 removes the exception)."""
    if extra < 0 or extra > 1000:
        raise InvalidInput("extra attempts must be between 0 and 1000")
    row = session.scalar(sa.select(AttemptGrant).where(
        AttemptGrant.assignment_id == assignment.id, AttemptGrant.user_id == student.id))
    before = row.extra_attempts if row else 0
    if row is None:
        row = AttemptGrant(assignment_id=assignment.id, user_id=student.id)
        session.add(row)
    row.extra_attempts = extra
    _audit(session, assignment, student, actor, "extra_attempts",
           f"extra attempts {before} → {extra}", comment)
    session.flush()


def override_for(session: so.Session, assignment_id: int, student_id: int) -> ScoreOverride | None:
    """The instructor's score for the student, if one was set."""
    return session.scalar(sa.select(ScoreOverride).where(
        ScoreOverride.assignment_id == assignment_id, ScoreOverride.user_id == student_id))


def override_score(session: so.Session, assignment: Assignment, student: User, score: float,
                   actor: User | None, comment: str) -> ScoreOverride:
    """Replace the student's counted score by ``score``; a comment saying why is required."""
    if not comment.strip():
        raise InvalidInput("say why the score is overridden (the comment is required)")
    if not 0 <= score <= assignment.max_score:
        raise InvalidInput(f"the score must be between 0 and {assignment.max_score:g}")
    row = override_for(session, assignment.id, student.id)
    before = f"{row.score:g}" if row else "computed"
    if row is None:
        row = ScoreOverride(assignment_id=assignment.id, user_id=student.id, score=score)
        session.add(row)
    row.score, row.comment = score, comment.strip()
    row.created_by_id, row.created_at = (actor.id if actor else None), utcnow()
    _audit(session, assignment, student, actor, "override", f"score {before} → {score:g}",
           comment)
    session.flush()
    note_score_change(session, assignment.id, student.id)
    return row


def clear_override(session: so.Session, assignment: Assignment, student: User,
                   actor: User | None, comment: str = "") -> None:
    """Go back to the computed score."""
    row = override_for(session, assignment.id, student.id)
    if row is None:
        return
    _audit(session, assignment, student, actor, "override_cleared",
           f"score {row.score:g} → computed", comment)
    session.delete(row)
    session.flush()
    note_score_change(session, assignment.id, student.id)


def audit_trail(session: so.Session, assignment_id: int, student_id: int) -> list[AuditEvent]:
    """Every exception made for the student on the assignment, newest first."""
    return list(session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.assignment_id == assignment_id, AuditEvent.student_id == student_id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    ))
