"""Per-assignment analytics: queries over submissions, runs, part results and diagnoses."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.domain.gradebook import StudentGrade
from grader.models import Assignment, GradingRun, PartResultRow, Submission


@dataclass(frozen=True)
class Analytics:
    """Everything the analytics page charts."""

    students: int
    submitted: int
    #: Counted score of each student with one.
    scores: list[float]
    #: part name -> (students whose counted attempt passed it, students with a counted attempt)
    part_pass: dict[str, tuple[int, int]]
    #: diagnosis code -> students who got it at least once; most frequent first
    diagnoses: list[tuple[str, int]]
    #: submission times (to chart against the due date)
    submitted_at: list[datetime]
    #: seconds from upload to result, per graded initial run
    latencies: list[float]


def _current_parts(
    session: so.Session, submission_ids: list[int]
) -> dict[int, list[PartResultRow]]:
    if not submission_ids:
        return {}
    rows = session.execute(
        sa.select(Submission.id, PartResultRow)
        .join(PartResultRow, PartResultRow.run_id == Submission.current_run_id)
        .where(Submission.id.in_(submission_ids))
    )
    found: dict[int, list[PartResultRow]] = {}
    for sid, part in rows:
        found.setdefault(sid, []).append(part)
    return found


def assignment_analytics(session: so.Session, assignment: Assignment,
                         rows: list[StudentGrade]) -> Analytics:
    """Analytics of ``assignment`` given its grade table ``rows``."""
    counted_ids = [r.submission_id for r in rows if r.submission_id is not None]
    parts = _current_parts(session, counted_ids)
    part_pass: dict[str, tuple[int, int]] = {}
    for name in assignment.part_points:
        results = [p for sid in counted_ids for p in parts.get(sid, []) if p.name == name]
        part_pass[name] = (sum(p.status == "passed" for p in results), len(results))

    diag_rows = session.execute(
        sa.select(Submission.student_id, PartResultRow.diagnoses)
        .join(PartResultRow, PartResultRow.run_id == Submission.current_run_id)
        .where(Submission.assignment_id == assignment.id)
    )
    seen: set[tuple[int, str]] = set()
    for student_id, codes in diag_rows:
        seen.update((student_id, code) for code in codes or [])
    diagnoses = Counter(code for _, code in seen).most_common()

    submitted_at = list(session.scalars(
        sa.select(Submission.created_at).where(Submission.assignment_id == assignment.id)
    ))
    timing = session.execute(
        sa.select(GradingRun.created_at, GradingRun.finished_at)
        .join(Submission, Submission.id == GradingRun.submission_id)
        .where(Submission.assignment_id == assignment.id, GradingRun.kind == "initial",
               GradingRun.finished_at.is_not(None))
    )
    latencies = [(done - start).total_seconds() for start, done in timing if done and start]
    return Analytics(
        students=len(rows),
        submitted=sum(1 for r in rows if r.submissions),
        scores=[r.score for r in rows if r.score is not None],
        part_pass=part_pass,
        diagnoses=diagnoses,
        submitted_at=submitted_at,
        latencies=latencies,
    )
