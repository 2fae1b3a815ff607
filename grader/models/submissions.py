"""Submissions, the grading runs over them, and each run's per-part results."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.engine.result import FINAL_STATUSES
from grader.models.base import Base, utcnow

if TYPE_CHECKING:
    from grader.models.assignments import Assignment
    from grader.models.users import User

#: Where a submission or run stands: waiting, being graded, or one of the engine's outcomes.
STATUSES = ("queued", "running", *FINAL_STATUSES)
RUN_KINDS = ("initial", "regrade", "preview")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Submission(Base):
    """One uploaded file of one student for one assignment.

    ``status``, ``score`` and ``max_score`` mirror the submission's current grading run, so
    listings and grade books read one table.
    """

    __tablename__ = "submissions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    assignment_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("assignments.id", ondelete="CASCADE")
    )
    student_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    #: Who uploaded it: the student, or the instructor/LMS acting for them.
    submitted_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    filename: so.Mapped[str] = so.mapped_column(sa.String(255), default="submission.py")
    code: so.Mapped[str] = so.mapped_column(sa.Text)
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    #: The seed of the generated cases; grading again with it gives the same inputs.
    seed: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    #: Which charged attempt this is; set when graded (not-gradable attempts are free).
    attempt: so.Mapped[int | None]
    late: so.Mapped[bool] = so.mapped_column(default=False)
    #: Days past the (possibly extended) due date at upload, 0 when on time.
    days_late: so.Mapped[float] = so.mapped_column(default=0.0)
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="queued")
    score: so.Mapped[float | None]
    max_score: so.Mapped[float | None]
    graded_at: so.Mapped[datetime | None]
    current_run_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("grading_runs.id", use_alter=True, ondelete="SET NULL")
    )

    assignment: so.Mapped[Assignment] = so.relationship(back_populates="submissions")
    student: so.Mapped[User] = so.relationship(foreign_keys=[student_id])
    runs: so.Mapped[list[GradingRun]] = so.relationship(
        back_populates="submission",
        foreign_keys="GradingRun.submission_id",
        order_by="GradingRun.id",
        passive_deletes=True,
    )
    current_run: so.Mapped[GradingRun | None] = so.relationship(
        foreign_keys=[current_run_id], post_update=True
    )

    __table_args__ = (
        sa.Index("ix_submissions_assignment_student", "assignment_id", "student_id"),
        sa.CheckConstraint(_in("status", STATUSES), name="status"),
    )


class GradingRun(Base):
    """One grading of one submission: the initial one, a regrade, or a preview.

    A run is the unit of work of a worker: it is claimed with a lease
    (``status='running'``, ``lease_token``, ``lease_expires_at``) that the worker renews while it
    grades; a run whose lease expired is re-enqueued by the sweeper.
    """

    __tablename__ = "grading_runs"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    submission_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[str] = so.mapped_column(sa.String(20), default="initial")
    regrade_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("regrades.id", ondelete="SET NULL"), index=True
    )
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="queued")
    score: so.Mapped[float | None]
    max_score: so.Mapped[float | None]
    feedback: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    output: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    sandbox_level: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    #: Milliseconds per phase, from ``GradeResult.timings``, plus "queue" (upload to claim).
    timings: so.Mapped[dict[str, Any]] = so.mapped_column(default=dict)
    #: Our own fault, when status is grader_error (never shown to students).
    error: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    lease_token: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    lease_owner: so.Mapped[str] = so.mapped_column(sa.String(255), default="")
    lease_expires_at: so.Mapped[datetime | None] = so.mapped_column(index=True)
    #: How often a worker claimed this run (more than one after a worker died).
    claims: so.Mapped[int] = so.mapped_column(default=0)
    #: How often grading raised our own error and was retried.
    retries: so.Mapped[int] = so.mapped_column(default=0)
    #: How often a lease on this run expired without a result (its worker died or hung).
    lost_leases: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    enqueued_at: so.Mapped[datetime | None]
    started_at: so.Mapped[datetime | None]
    finished_at: so.Mapped[datetime | None]

    submission: so.Mapped[Submission] = so.relationship(
        back_populates="runs", foreign_keys=[submission_id]
    )
    parts: so.Mapped[list[PartResultRow]] = so.relationship(
        back_populates="run", order_by="PartResultRow.position", passive_deletes=True
    )

    __table_args__ = (
        sa.Index("ix_grading_runs_status", "status"),
        sa.CheckConstraint(_in("status", STATUSES), name="status"),
        sa.CheckConstraint(_in("kind", RUN_KINDS), name="kind"),
    )


class PartResultRow(Base):
    """The grade of one part in one grading run (``PartResult`` stored)."""

    __tablename__ = "part_results"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    run_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("grading_runs.id", ondelete="CASCADE"), index=True
    )
    position: so.Mapped[int]
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    score: so.Mapped[float]
    max_score: so.Mapped[float]
    status: so.Mapped[str] = so.mapped_column(sa.String(20))
    diagnoses: so.Mapped[list[str]] = so.mapped_column(default=list)
    feedback: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    counterexample: so.Mapped[str | None] = so.mapped_column(sa.Text)
    output: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    cases_passed: so.Mapped[int] = so.mapped_column(default=0)
    cases_total: so.Mapped[int] = so.mapped_column(default=0)

    run: so.Mapped[GradingRun] = so.relationship(back_populates="parts")

    __table_args__ = (sa.UniqueConstraint("run_id", "position"),)
