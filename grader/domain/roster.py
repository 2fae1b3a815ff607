"""Course rosters: upserting students from an LMS and finding enrolled students."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.domain.users import normalize_email
from grader.exceptions import Conflict, InvalidInput, NotEnrolled
from grader.models import Course, Enrollment, User


@dataclass
class RosterEntry:
    """One student as an LMS describes them."""

    email: str
    name: str = ""
    lms_user_id: str | None = None
    section: str = ""

    @classmethod
    def parse(cls, data: Any, index: int) -> RosterEntry:
        """Validate one element of a roster document."""
        if not isinstance(data, Mapping):
            raise InvalidInput(f"students[{index}] must be an object")
        email = data.get("email")
        if not isinstance(email, str) or not email.strip():
            raise InvalidInput(f"students[{index}].email is required")
        values: dict[str, Any] = {"email": normalize_email(email)}
        for key in ("name", "lms_user_id", "section"):
            value = data.get(key)
            if value is None:
                continue
            if isinstance(value, int) and key == "lms_user_id":
                value = str(value)
            if not isinstance(value, str):
                raise InvalidInput(f"students[{index}].{key} must be a string")
            values[key] = value.strip()
        unknown = set(data) - {"email", "name", "lms_user_id", "section"}
        if unknown:
            raise InvalidInput(
                f"students[{index}] has unknown field(s): {', '.join(sorted(unknown))}"
            )
        return cls(**values)


@dataclass
class RosterResult:
    """What an upsert changed."""

    created: list[User] = field(default_factory=list)
    updated: list[User] = field(default_factory=list)
    enrolled: list[User] = field(default_factory=list)
    unchanged: list[User] = field(default_factory=list)


def upsert_roster(
    session: so.Session, course: Course, entries: Iterable[RosterEntry]
) -> RosterResult:
    """Create or update each student and enroll them in ``course``.

    A student is matched by LMS user id first, then by email. Students missing from the
    roster stay enrolled (dropping is an explicit act, not a side effect of a sync). The name,
    email and LMS id of a student who is also enrolled in another course are left as they are.

    Raises:
        InvalidInput: the same student twice in one roster.
        Conflict: an email or LMS id that belongs to an instructor or to another student.
    """
    entries = list(entries)
    _check_duplicates(entries)
    result = RosterResult()
    for entry in entries:
        user = _match(session, entry)
        if user is None:
            user = User(
                email=entry.email, name=entry.name, role="student", lms_user_id=entry.lms_user_id
            )
            session.add(user)
            session.flush()
            result.created.append(user)
        elif _enrolled_elsewhere(session, user, course.id):
            # The account also belongs to other courses: this course's roster may enroll it,
            # not rename it or change the email and LMS id it is known by there.
            result.unchanged.append(user)
        elif _update(user, entry):
            result.updated.append(user)
        else:
            result.unchanged.append(user)
        enrollment = session.scalar(
            sa.select(Enrollment).where(
                Enrollment.course_id == course.id, Enrollment.user_id == user.id
            )
        )
        if enrollment is None:
            session.add(
                Enrollment(
                    course_id=course.id, user_id=user.id, role="student", section=entry.section
                )
            )
            result.enrolled.append(user)
        elif entry.section and enrollment.section != entry.section:
            enrollment.section = entry.section
    session.flush()
    return result


def _check_duplicates(entries: list[RosterEntry]) -> None:
    emails = [e.email for e in entries]
    ids = [e.lms_user_id for e in entries if e.lms_user_id]
    for label, values in (("email", emails), ("lms_user_id", ids)):
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise InvalidInput(f"duplicate {label} in roster: {', '.join(dupes)}")


def _match(session: so.Session, entry: RosterEntry) -> User | None:
    by_id = None
    if entry.lms_user_id:
        by_id = session.scalar(sa.select(User).where(User.lms_user_id == entry.lms_user_id))
    by_email = session.scalar(sa.select(User).where(User.email == entry.email))
    if by_id is not None and by_email is not None and by_id.id != by_email.id:
        raise Conflict(
            f"email {entry.email} belongs to another user than LMS id {entry.lms_user_id}"
        )
    user = by_id or by_email
    if user is not None and user.role != "student":
        raise Conflict(f"{entry.email} is an instructor account, not a student")
    return user


def _enrolled_elsewhere(session: so.Session, user: User, course_id: int) -> bool:
    return session.scalar(sa.select(Enrollment.id).where(
        Enrollment.user_id == user.id, Enrollment.course_id != course_id).limit(1)) is not None


def _update(user: User, entry: RosterEntry) -> bool:
    changed = False
    if user.email != entry.email:
        user.email, changed = entry.email, True
    if entry.name and user.name != entry.name:
        user.name, changed = entry.name, True
    if entry.lms_user_id and user.lms_user_id != entry.lms_user_id:
        user.lms_user_id, changed = entry.lms_user_id, True
    return changed


def enroll(session: so.Session, course: Course, user: User, role: str = "student") -> Enrollment:
    """Enroll ``user`` in ``course`` (idempotent)."""
    enrollment = session.scalar(
        sa.select(Enrollment).where(
            Enrollment.course_id == course.id, Enrollment.user_id == user.id
        )
    )
    if enrollment is None:
        enrollment = Enrollment(course_id=course.id, user_id=user.id, role=role)
        session.add(enrollment)
        session.flush()
    return enrollment


def find_enrolled_student(session: so.Session, course_id: int, key: str) -> User:
    """The student enrolled in the course whose email or LMS user id is ``key``.

    Raises:
        NotEnrolled: nobody enrolled matches.
    """
    key = key.strip()
    condition = User.lms_user_id == key
    if "@" in key:
        condition = sa.or_(condition, User.email == key.lower())
    user = session.scalar(
        sa.select(User)
        .join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.course_id == course_id, Enrollment.role == "student", condition)
    )
    if user is None:
        raise NotEnrolled(f"no student {key!r} is enrolled in course {course_id}")
    return user


def is_instructor_of(session: so.Session, user: User, course_id: int) -> bool:
    """Whether ``user`` teaches the course."""
    if user.role != "instructor":
        return False
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Enrollment)
            .where(
                Enrollment.course_id == course_id,
                Enrollment.user_id == user.id,
                Enrollment.role == "instructor",
            )
        )
        == 1
    )
