"""Courses and their assignments."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy.orm as so

from grader.domain.roster import enroll
from grader.exceptions import InvalidInput, NotFound
from grader.models import Assignment, Course, User


def create_course(session: so.Session, title: str, instructor: User | None = None) -> Course:
    """A new course, taught by ``instructor`` if given."""
    course = Course(title=title)
    session.add(course)
    session.flush()
    if instructor is not None:
        if instructor.role != "instructor":
            raise InvalidInput(f"{instructor.email} is not an instructor")
        enroll(session, course, instructor, role="instructor")
    return course


def check_rules(
    *, counts: str, late_penalty_per_day: float, late_cutoff_days: float | None,
    attempt_limit: int | None,
) -> None:
    """The rules an assignment may have, whether it is being created or edited.

    Raises:
        InvalidInput: a rule out of range.
    """
    if counts not in ("best", "latest"):
        raise InvalidInput("choose whether the best or the latest attempt counts")
    if not 0 <= late_penalty_per_day <= 100:
        raise InvalidInput("the late penalty must be between 0 and 100 % per day")
    if late_cutoff_days is not None and late_cutoff_days < 0:
        raise InvalidInput("the late cutoff can't be negative")
    if attempt_limit is not None and attempt_limit < 1:
        raise InvalidInput("the attempt limit must be at least 1 (or empty for unlimited)")


def create_assignment(
    session: so.Session,
    course: Course,
    slug: str,
    *,
    title: str | None = None,
    due_at: datetime | None = None,
    late_penalty_per_day: float = 0.0,
    late_cutoff_days: float | None = None,
    attempt_limit: int | None = None,
    counts: str = "best",
    feedback_before_due: bool = True,
) -> Assignment:
    """Give the installed assignment plugin ``slug`` in ``course``; points come from the plugin.

    Raises:
        InvalidInput: unknown slug or invalid rule.
    """
    from grader.engine.registry import UnknownAssignment, get_plugin

    try:
        plugin = get_plugin(slug)
    except UnknownAssignment as exc:
        raise InvalidInput(str(exc)) from None
    check_rules(counts=counts, late_penalty_per_day=late_penalty_per_day,
                late_cutoff_days=late_cutoff_days, attempt_limit=attempt_limit)
    assignment = Assignment(
        course=course,
        slug=slug,
        title=title or plugin.title,
        part_points={p.name: float(p.points) for p in plugin.parts},
        due_at=due_at,
        late_penalty_per_day=late_penalty_per_day,
        late_cutoff_days=late_cutoff_days,
        attempt_limit=attempt_limit,
        counts=counts,
        feedback_before_due=feedback_before_due,
    )
    session.add(assignment)
    session.flush()
    return assignment


def get_assignment_row(session: so.Session, assignment_id: int) -> Assignment:
    """The assignment row ``assignment_id``.

    Raises:
        NotFound: no such assignment.
    """
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound(f"no assignment {assignment_id}")
    return assignment
