"""What instructors change through the pages: assignment rules, and rosters from CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.domain.courses import check_rules
from grader.domain.outbox import note_assignment
from grader.domain.roster import RosterEntry, RosterResult, upsert_roster
from grader.domain.runs import apply_points
from grader.domain.submissions import recompute_lateness
from grader.exceptions import InvalidInput
from grader.models import Assignment, Course, Enrollment, User

_EMAIL_HEADERS = ("email", "email address", "e-mail", "sis login id", "login")
_NAME_HEADERS = ("name", "full name", "student")
_ID_HEADERS = ("lms_user_id", "id", "user id", "id number")
_SECTION_HEADERS = ("section", "group")


def update_assignment(
    session: so.Session, assignment: Assignment, *, title: str, due_at: datetime | None,
    part_points: dict[str, float],
    late_penalty_per_day: float, late_cutoff_days: float | None, attempt_limit: int | None,
    counts: str, feedback_before_due: bool,
) -> None:
    """Change an assignment's rules, and what follows from them (flushed, not committed).

    New points per part rescale every stored result; a new due date measures lateness again;
    counted scores that change reach a linked LMS through the outbox.

    Raises:
        InvalidInput: a rule out of range, or points for parts the plugin lacks.
    """
    if not title.strip():
        raise InvalidInput("the title is required")
    check_rules(counts=counts, late_penalty_per_day=late_penalty_per_day,
                late_cutoff_days=late_cutoff_days, attempt_limit=attempt_limit)
    if set(part_points) != set(assignment.part_points):
        raise InvalidInput("points must be given for exactly the assignment's parts")
    if any(p < 0 for p in part_points.values()):
        raise InvalidInput("points can't be negative")
    old_points, old_due = dict(assignment.part_points), assignment.due_at
    assignment.title = title.strip()
    assignment.due_at = due_at
    assignment.part_points = {name: float(part_points[name]) for name in assignment.part_points}
    assignment.late_penalty_per_day = late_penalty_per_day
    assignment.late_cutoff_days = late_cutoff_days
    assignment.attempt_limit = attempt_limit
    assignment.counts = counts
    assignment.feedback_before_due = feedback_before_due
    session.flush()
    if assignment.part_points != old_points:
        apply_points(session, assignment)
    if assignment.due_at != old_due:
        recompute_lateness(session, assignment)
    note_assignment(session, assignment.id)


def parse_roster_csv(text: str) -> list[RosterEntry]:
    """Students from a CSV with a header row naming at least an email column.

    Recognised headers (any case): email / "email address" / "sis login id"; name / "full
    name"; id / "user id" / lms_user_id; section.

    Raises:
        InvalidInput: no email column, or a bad row (the message names the line).
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InvalidInput("the CSV file is empty") from None

    def column(names: tuple[str, ...]) -> int | None:
        return next((i for i, h in enumerate(header) if h in names), None)

    email_col = column(_EMAIL_HEADERS)
    if email_col is None:
        raise InvalidInput("the CSV needs a header row with an 'email' column")
    cols = {"name": column(_NAME_HEADERS), "lms_user_id": column(_ID_HEADERS),
            "section": column(_SECTION_HEADERS)}
    entries = []
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        data: dict[str, Any] = {"email": row[email_col] if email_col < len(row) else ""}
        for key, index in cols.items():
            if index is not None and index < len(row) and row[index].strip():
                data[key] = row[index]
        try:
            entries.append(RosterEntry.parse(data, line))
        except InvalidInput as exc:
            raise InvalidInput(f"line {line}: {exc.message}") from None
    if not entries:
        raise InvalidInput("the CSV has no students")
    return entries


def import_roster(session: so.Session, course: Course, text: str) -> RosterResult:
    """Upsert the students of a CSV roster into ``course``."""
    return upsert_roster(session, course, parse_roster_csv(text))


def course_students(session: so.Session, course_id: int) -> list[tuple[User, str]]:
    """Enrolled students with their section, by name then email."""
    return list(session.execute(
        sa.select(User, Enrollment.section)
        .join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.course_id == course_id, Enrollment.role == "student")
        .order_by(User.name, User.email)
    ))


def courses_of(session: so.Session, user: User, role: str | None = None) -> list[Course]:
    """Courses the user is enrolled in (as ``role`` if given), newest first."""
    query = (sa.select(Course).join(Enrollment, Enrollment.course_id == Course.id)
             .where(Enrollment.user_id == user.id).order_by(Course.id.desc()))
    if role is not None:
        query = query.where(Enrollment.role == role)
    return list(session.scalars(query))
