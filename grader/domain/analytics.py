"""Per-assignment analytics: queries over submissions, runs, part results and diagnoses.

The pass rate of each part and the frequency of each mistake are counted on one **basis** at a
time, so that the two charts, read side by side, never contradict each other:

- ``counted``: each student's counted attempt (the one their grade comes from); the
  denominator is the students with a counted attempt.
- ``any``: every graded submission of each student; a student passed a part if any of their
  submissions passed it, and made a mistake if any of them was diagnosed with it; the
  denominator is the students with at least one graded submission.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.domain.gradebook import StudentGrade
from grader.models import Assignment, GradingRun, PartResultRow, Submission

BasisKey = Literal["counted", "any"]
BASES: tuple[BasisKey, ...] = ("counted", "any")


@dataclass(frozen=True)
class PartBasis:
    """Pass rates and mistakes of the parts, counted over one set of submissions."""

    key: BasisKey
    #: Students whose submissions the counts are over (the denominator of every share).
    students: int
    #: part name -> students who passed it
    passed: dict[str, int]
    #: diagnosis code -> students who got it; most frequent first
    diagnoses: list[tuple[str, int]]

    def share(self, count: int) -> float:
        """``count`` students as a fraction of the basis (0 when it is empty)."""
        return count / self.students if self.students else 0.0


@dataclass(frozen=True)
class Analytics:
    """Everything the analytics page charts."""

    students: int
    submitted: int
    #: Counted score of each student with one.
    scores: list[float]
    #: Pass rates and mistakes on the basis asked for.
    parts: PartBasis
    #: submission times (to chart against the due date)
    submitted_at: list[datetime]
    #: seconds from upload to result, per graded initial run
    latencies: list[float]


def _parts_by_student(
    session: so.Session, assignment_id: int, submission_ids: list[int] | None
) -> dict[int, list[PartResultRow]]:
    """Part results of the current run of graded submissions, per student.

    Args:
        submission_ids: Only these submissions; None: every graded one of the assignment.
    """
    query = (
        sa.select(Submission.student_id, PartResultRow)
        .join(PartResultRow, PartResultRow.run_id == Submission.current_run_id)
        .where(Submission.assignment_id == assignment_id, Submission.status == "graded")
    )
    if submission_ids is not None:
        if not submission_ids:
            return {}
        query = query.where(Submission.id.in_(submission_ids))
    found: dict[int, list[PartResultRow]] = {}
    for student_id, part in session.execute(query):
        found.setdefault(student_id, []).append(part)
    return found


def part_basis(session: so.Session, assignment: Assignment, rows: list[StudentGrade],
               key: BasisKey) -> PartBasis:
    """Pass rate per part and mistakes per student, over the submissions of basis ``key``."""
    if key == "counted":
        counted = [r.submission_id for r in rows if r.submission_id is not None]
        by_student = _parts_by_student(session, assignment.id, counted)
    else:
        by_student = _parts_by_student(session, assignment.id, None)
    passed: dict[str, int] = dict.fromkeys(assignment.part_points, 0)
    mistakes: Counter[str] = Counter()
    for parts in by_student.values():
        for name in {p.name for p in parts if p.status == "passed"}:
            passed[name] = passed.get(name, 0) + 1
        mistakes.update({code for p in parts for code in p.diagnoses or []})
    return PartBasis(key, len(by_student), passed, mistakes.most_common())


def assignment_analytics(session: so.Session, assignment: Assignment,
                         rows: list[StudentGrade], basis: BasisKey = "counted") -> Analytics:
    """Analytics of ``assignment`` given its grade table ``rows``."""
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
        parts=part_basis(session, assignment, rows, basis),
        submitted_at=submitted_at,
        latencies=latencies,
    )
