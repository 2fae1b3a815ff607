"""The grade book: which attempt counts (best or latest, late penalty applied), one row per
enrolled student with instructors' overrides, and its CSV exports for Canvas and Moodle."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.domain.submissions import late_factor
from grader.models import Assignment, Enrollment, Submission, User
from grader.models.accommodations import ScoreOverride


@dataclass(frozen=True)
class Attempt:
    """What counting needs to know of one graded submission."""

    submission_id: int
    created_at: datetime
    score: float
    days_late: float


@dataclass(frozen=True)
class StudentGrade:
    """One student's line in the grade book."""

    student: User
    section: str
    score: float | None
    submission_id: int | None
    attempts: int
    late: bool
    #: The score was set by an instructor (it replaces the computed one).
    overridden: bool = False
    #: Uploads of any status, the last one's time and id.
    submissions: int = 0
    last_submitted: datetime | None = None
    latest_submission_id: int | None = None


def counted(assignment: Assignment, attempts: Iterable[Attempt]) -> tuple[float, Attempt] | None:
    """The score that counts among ``attempts`` (graded ones), or None if there are none."""
    scored = [(round(a.score * late_factor(assignment, a.days_late), 6), a) for a in attempts]
    if not scored:
        return None
    if assignment.counts == "latest":
        return max(scored, key=lambda s: (s[1].created_at, s[1].submission_id))
    return max(scored, key=lambda s: (s[0], -s[1].submission_id))


def graded_attempts(
    session: so.Session, assignment: Assignment, scores: Mapping[int, float | None] | None = None
) -> dict[int, list[Attempt]]:
    """Graded submissions per student id.

    Args:
        scores: Scores to use instead of the current ones, by submission id (None: not graded);
            used to count a regrade's results.
    """
    rows = session.execute(
        sa.select(
            Submission.id,
            Submission.student_id,
            Submission.created_at,
            Submission.score,
            Submission.status,
            Submission.days_late,
        )
        .where(Submission.assignment_id == assignment.id)
        .order_by(Submission.id)
    ).all()
    found: dict[int, list[Attempt]] = {}
    for sid, student_id, created_at, score, status, days_late in rows:
        if scores is not None and sid in scores:
            score = scores[sid]
        elif status != "graded":
            score = None
        if score is not None:
            found.setdefault(student_id, []).append(Attempt(sid, created_at, score, days_late))
    return found


def counted_scores(
    session: so.Session, assignment: Assignment, scores: Mapping[int, float | None] | None = None
) -> dict[int, float | None]:
    """Counted score per student id (None: nothing graded yet)."""
    result: dict[int, float | None] = {}
    for student_id, attempts in graded_attempts(session, assignment, scores).items():
        best = counted(assignment, attempts)
        result[student_id] = best[0] if best else None
    return result


def overridden_scores(session: so.Session, assignment_id: int) -> dict[int, float]:
    """Scores instructors set by hand, per student id: they replace the computed ones."""
    rows = session.execute(sa.select(ScoreOverride.user_id, ScoreOverride.score).where(
        ScoreOverride.assignment_id == assignment_id))
    return {user_id: score for user_id, score in rows}


def gradebook(session: so.Session, assignment: Assignment) -> list[StudentGrade]:
    """Every enrolled student with their counted score (instructors' overrides applied),
    attempts, uploads and lateness, ordered by name then email."""
    attempts = graded_attempts(session, assignment)
    manual = overridden_scores(session, assignment.id)
    stats = {
        student_id: (uploads, charged, last, latest)
        for student_id, uploads, charged, last, latest in session.execute(
            sa.select(Submission.student_id, sa.func.count(), sa.func.count(Submission.attempt),
                      sa.func.max(Submission.created_at), sa.func.max(Submission.id))
            .where(Submission.assignment_id == assignment.id)
            .group_by(Submission.student_id)
        )
    }
    students = session.execute(
        sa.select(User, Enrollment.section)
        .join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.course_id == assignment.course_id, Enrollment.role == "student")
        .order_by(User.name, User.email)
    ).all()
    book = []
    for user, section in students:
        best = counted(assignment, attempts.get(user.id, []))
        computed = best[0] if best else None
        uploads, charged, last, latest = stats.get(user.id, (0, 0, None, None))
        book.append(
            StudentGrade(
                student=user,
                section=section,
                score=manual.get(user.id, computed),
                overridden=user.id in manual,
                submission_id=best[1].submission_id if best else None,
                attempts=charged,
                late=bool(best and best[1].days_late > 0),
                submissions=uploads,
                last_submitted=last,
                latest_submission_id=latest,
            )
        )
    return book


def not_submitted(book: list[StudentGrade]) -> list[User]:
    """Enrolled students without any submission."""
    return [line.student for line in book if line.submissions == 0]


#: What makes a spreadsheet read a cell as a formula (OWASP's list for CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """A text cell of an exported CSV, neutralised so a spreadsheet shows it, never runs it.

    Names, emails and sections come from students, rosters and LMS claims; one starting like a
    formula gets a leading single quote. Scores are written as numbers and never pass here.
    """
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def canvas_csv(assignment: Assignment, book: list[StudentGrade]) -> str:
    """The grade book in the layout Canvas's gradebook import accepts.

    Columns Student, ID, SIS User ID, SIS Login ID, Section, then one assignment column titled
    ``Title (id)`` (the Canvas assignment id when linked, so Canvas matches the column), with
    a "Points Possible" row first. ID is the LMS user id; SIS Login ID the email.
    """
    column = f"{assignment.title} ({assignment.lms_assignment_id or assignment.id})"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", text_cell(column)])
    writer.writerow(["Points Possible", "", "", "", "", _number(assignment.max_score)])
    for line in book:
        writer.writerow(
            [
                text_cell(line.student.name or line.student.email),
                text_cell(line.student.lms_user_id or ""),
                "",
                text_cell(line.student.email),
                text_cell(line.section),
                "" if line.score is None else _number(line.score),
            ]
        )
    return out.getvalue()


def moodle_csv(assignment: Assignment, book: list[StudentGrade]) -> str:
    """A CSV for Moodle's gradebook import: map "Email address" to the user's email, and the
    assignment column to the grade item."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Email address", "Full name", "ID number", text_cell(assignment.title),
                     "Feedback"])
    for line in book:
        writer.writerow([
            text_cell(line.student.email),
            text_cell(line.student.name),
            text_cell(line.student.lms_user_id or ""),
            "" if line.score is None else _number(line.score),
            "Score set by instructor" if line.overridden else "",
        ])
    return out.getvalue()


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
