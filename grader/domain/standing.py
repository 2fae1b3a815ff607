"""Where a student stands on an assignment, and the instructor's grade table."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.domain.accommodations import override_for
from grader.domain.grades import (
    StudentGrade,
    canvas_csv,
    counted,
    gradebook,
    graded_attempts,
    text_cell,
)
from grader.domain.submissions import attempt_limit_for, charged_attempts, due_date_for, late_factor
from grader.models import Assignment, Submission, User, utcnow
from grader.models.accommodations import ScoreOverride


@dataclass(frozen=True)
class Standing:
    """One student's view of an assignment."""

    due_at: datetime | None
    extended: bool
    attempts_used: int
    attempt_limit: int | None
    score: float | None
    submission_id: int | None
    #: Why this score counts, in words.
    reason: str
    override: ScoreOverride | None

    @property
    def attempts_left(self) -> int | None:
        if self.attempt_limit is None:
            return None
        return max(0, self.attempt_limit - self.attempts_used)

    def past_due(self, now: datetime | None = None) -> bool:
        return self.due_at is not None and (now or utcnow()) > self.due_at


def explain(assignment: Assignment, submission: Submission | None, graded: int,
            override: ScoreOverride | None) -> str:
    """Why the counted score is what it is."""
    if override is not None:
        return f"Set by the instructor: {override.comment}"
    if submission is None or submission.score is None:
        return "No graded attempt yet."
    # Read by the student and by instructors alike: no "your".
    rule = ("the best" if assignment.counts == "best" else "the latest") + " graded attempt"
    text = f"{rule[0].upper()}{rule[1:]} counts (attempt {submission.attempt} of {graded} graded)."
    factor = late_factor(assignment, submission.days_late)
    if factor < 1:
        text += (f" It was {submission.days_late:.1f} day(s) late: {submission.score:g} × "
                 f"{factor:.0%} kept = {submission.score * factor:g}.")
    elif submission.late:
        text += " It was late, without penalty."
    return text


def student_standing(session: so.Session, assignment: Assignment, student: User) -> Standing:
    """Due date, attempts and counted score of ``student``."""
    due = due_date_for(session, assignment, student)
    attempts = graded_attempts(session, assignment).get(student.id, [])
    best = counted(assignment, attempts)
    submission = session.get(Submission, best[1].submission_id) if best else None
    override = override_for(session, assignment.id, student.id)
    score = override.score if override else (best[0] if best else None)
    return Standing(
        due_at=due,
        extended=due != assignment.due_at,
        attempts_used=charged_attempts(session, assignment.id, student.id),
        attempt_limit=attempt_limit_for(session, assignment, student),
        score=score,
        submission_id=submission.id if submission else None,
        reason=explain(assignment, submission, len(attempts), override),
        override=override,
    )


@dataclass(frozen=True)
class GradeRow:
    """One line of the instructor's grade table."""

    grade: StudentGrade
    score: float | None
    overridden: bool
    submissions: int
    last_submitted: datetime | None
    latest_submission_id: int | None

    @property
    def student(self) -> User:
        return self.grade.student


def grade_rows(session: so.Session, assignment: Assignment) -> list[GradeRow]:
    """Every enrolled student with counted score (overrides applied), attempts and lateness."""
    book = gradebook(session, assignment)
    stats = {
        sid: (n, last, latest)
        for sid, n, last, latest in session.execute(
            sa.select(Submission.student_id, sa.func.count(), sa.func.max(Submission.created_at),
                      sa.func.max(Submission.id))
            .where(Submission.assignment_id == assignment.id)
            .group_by(Submission.student_id)
        )
    }
    rows = []
    for line in book:
        n, last, latest = stats.get(line.student.id, (0, None, None))
        rows.append(GradeRow(
            grade=line,
            score=line.score,
            overridden=line.overridden,
            submissions=n,
            last_submitted=last,
            latest_submission_id=latest,
        ))
    return rows


def not_submitted(rows: list[GradeRow]) -> list[User]:
    """Enrolled students without any submission."""
    return [row.student for row in rows if row.submissions == 0]


def canvas_export(assignment: Assignment, rows: list[GradeRow]) -> str:
    """Canvas gradebook CSV (the API's layout), with overrides applied."""
    return canvas_csv(assignment, [replace(row.grade, score=row.score) for row in rows])


def moodle_export(assignment: Assignment, rows: list[GradeRow]) -> str:
    """A CSV for Moodle's gradebook import: map "Email address" to the user's email, and the
    assignment column to the grade item."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Email address", "Full name", "ID number", text_cell(assignment.title),
                     "Feedback"])
    for row in rows:
        writer.writerow([
            text_cell(row.student.email),
            text_cell(row.student.name),
            text_cell(row.student.lms_user_id or ""),
            "" if row.score is None else f"{row.score:.2f}".rstrip("0").rstrip("."),
            "Score set by instructor" if row.overridden else "",
        ])
    return out.getvalue()
