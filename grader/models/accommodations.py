"""Per-student exceptions to an assignment's rules (extra attempts, score overrides) and their
audit trail."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.models.base import Base, utcnow
from grader.models.users import User


class AttemptGrant(Base):
    """Extra attempts for one student on one assignment, on top of the assignment's limit."""

    __tablename__ = "attempt_grants"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    assignment_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("assignments.id", ondelete="CASCADE")
    )
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    extra_attempts: so.Mapped[int] = so.mapped_column(default=0)

    __table_args__ = (
        sa.UniqueConstraint("assignment_id", "user_id"),
        sa.CheckConstraint("extra_attempts >= 0", name="extra_attempts"),
    )


class ScoreOverride(Base):
    """An instructor's score for one student on one assignment, replacing the counted one."""

    __tablename__ = "score_overrides"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    assignment_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("assignments.id", ondelete="CASCADE")
    )
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    score: so.Mapped[float]
    comment: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("assignment_id", "user_id"),)


class AuditEvent(Base):
    """Who changed what for a student on an assignment: extensions, attempts, overrides."""

    __tablename__ = "audit_events"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    assignment_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("assignments.id", ondelete="CASCADE")
    )
    student_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    #: "extension", "extra_attempts", "override" or "override_cleared".
    kind: so.Mapped[str] = so.mapped_column(sa.String(30))
    #: What changed, in words: "due date 2025-03-01 12:00 UTC -> 2025-03-04 12:00 UTC".
    detail: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    comment: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    actor: so.Mapped[User | None] = so.relationship(foreign_keys=[actor_id])

    __table_args__ = (
        sa.Index("ix_audit_events_assignment_student", "assignment_id", "student_id"),
    )
