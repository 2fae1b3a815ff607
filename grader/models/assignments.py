"""An assignment: one plugin (by slug) given in one course, with its rules."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.models.base import Base, utcnow

if TYPE_CHECKING:
    from grader.models.courses import Course
    from grader.models.submissions import Submission


class Assignment(Base):
    """Rules for one assignment in one course."""

    __tablename__ = "assignments"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"), index=True)
    #: The assignment plugin, e.g. "softmax-backprop".
    slug: so.Mapped[str] = so.mapped_column(sa.String(100))
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    #: Points per part, ``{"softmax": 2.0, ...}``; copied from the plugin, editable.
    part_points: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    due_at: so.Mapped[datetime | None]
    #: Percent of the score taken off per started day late.
    late_penalty_per_day: so.Mapped[float] = so.mapped_column(default=0.0)
    #: Submissions more than this many days late are refused; None accepts any lateness.
    late_cutoff_days: so.Mapped[float | None]
    #: Most attempts a student may be charged; None is unlimited.
    attempt_limit: so.Mapped[int | None]
    #: Which attempt counts: "best" or "latest".
    counts: so.Mapped[str] = so.mapped_column(sa.String(10), default="best")
    #: Whether students see per-part feedback before the due date.
    feedback_before_due: so.Mapped[bool] = so.mapped_column(default=True)
    #: The assignment's id in the LMS gradebook (the Canvas column id), when linked.
    lms_assignment_id: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    course: so.Mapped[Course] = so.relationship(back_populates="assignments")
    submissions: so.WriteOnlyMapped[Submission] = so.relationship(
        back_populates="assignment", passive_deletes=True
    )

    __table_args__ = (
        sa.CheckConstraint("counts IN ('best', 'latest')", name="counts"),
        sa.CheckConstraint(
            "late_penalty_per_day >= 0 AND late_penalty_per_day <= 100", name="late_penalty"
        ),
    )

    @property
    def max_score(self) -> float:
        """Total points of all parts."""
        return float(sum(self.part_points.values()))
