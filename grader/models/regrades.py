"""The regrade log: who asked to grade an assignment again, and when."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.models.base import Base, utcnow


class Regrade(Base):
    """A request to grade every submission of an assignment again.

    Each submission gets a new grading run pointing here; the before/after report per student
    is computed from those runs and the runs that were current when the regrade was made.
    A preview regrade's runs never become current.
    """

    __tablename__ = "regrades"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    assignment_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    requested_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    preview: so.Mapped[bool] = so.mapped_column(default=False)
    reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    #: Counted score per student id (as string) when the regrade was made.
    scores_before: so.Mapped[dict[str, float | None]] = so.mapped_column(sa.JSON, default=dict)
