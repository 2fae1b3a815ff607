"""Regrades: grade every submission of an assignment again, keep the old results, report."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.domain import jobs
from grader.domain.gradebook import counted_scores
from grader.engine.result import FINAL_STATUSES
from grader.exceptions import NotFound
from grader.models import Assignment, GradingRun, Regrade, Submission, User, utcnow


def start_regrade(
    session: so.Session,
    assignment: Assignment,
    requested_by: User | None,
    *,
    preview: bool = False,
    reason: str = "",
) -> tuple[Regrade, list[tuple[int, int]]]:
    """Open a regrade: one queued run per finished submission of the assignment.

    Returns:
        The regrade and its (submission id, run id) pairs, graded once the caller commits.
    """
    now = utcnow()
    before = counted_scores(session, assignment)
    regrade = Regrade(
        assignment_id=assignment.id,
        requested_by_id=requested_by.id if requested_by else None,
        created_at=now,
        preview=preview,
        reason=reason,
        scores_before={str(k): v for k, v in before.items()},
    )
    session.add(regrade)
    session.flush()
    submission_ids = session.scalars(
        sa.select(Submission.id)
        .where(Submission.assignment_id == assignment.id, Submission.status.in_(FINAL_STATUSES))
        .order_by(Submission.id)
    ).all()
    kind = "preview" if preview else "regrade"
    runs = [
        GradingRun(
            submission_id=sid,
            kind=kind,
            regrade_id=regrade.id,
            status="queued",
            created_at=now,
            enqueued_at=now,
        )
        for sid in submission_ids
    ]
    session.add_all(runs)
    session.flush()
    for run in runs:
        jobs.grade_after_commit(session, run.submission_id, run.id)
    return regrade, [(r.submission_id, r.id) for r in runs]


@dataclass(frozen=True)
class RegradeLine:
    """One student's counted score before and after the regrade."""

    student: User
    before: float | None
    after: float | None
    #: Some of the student's submissions are still being graded again: "after" is not final.
    pending: bool = False

    @property
    def changed(self) -> bool:
        return not self.pending and self.before != self.after


@dataclass(frozen=True)
class RegradeReport:
    """Where a regrade stands and what it changed."""

    regrade: Regrade
    runs_total: int
    runs_pending: int
    lines: list[RegradeLine]

    @property
    def done(self) -> bool:
        return self.runs_pending == 0


def regrade_report(session: so.Session, regrade_id: int) -> RegradeReport:
    """Before -> after per student; "after" counts the regrade's finished runs.

    Raises:
        NotFound: no such regrade.
    """
    regrade = session.get(Regrade, regrade_id)
    if regrade is None:
        raise NotFound(f"no regrade {regrade_id}")
    assignment = session.get_one(Assignment, regrade.assignment_id)
    runs = session.execute(
        sa.select(GradingRun.submission_id, GradingRun.status, GradingRun.score,
                  Submission.student_id)
        .join(Submission, Submission.id == GradingRun.submission_id)
        .where(GradingRun.regrade_id == regrade.id)
    ).all()
    finished = {
        sid: (score if status == "graded" else None)
        for sid, status, score, _ in runs
        if status in FINAL_STATUSES
    }
    waiting = {student for _, status, _, student in runs if status not in FINAL_STATUSES}
    after = counted_scores(session, assignment, finished)
    before = {int(k): v for k, v in regrade.scores_before.items()}
    ids = sorted(set(before) | set(after))
    users = {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_(ids)))}
    lines = [RegradeLine(users[i], before.get(i), after.get(i), i in waiting) for i in ids]
    lines.sort(key=lambda line: line.student.email)
    return RegradeReport(regrade, len(runs), len(runs) - len(finished), lines)
