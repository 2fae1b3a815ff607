"""Courses, who is enrolled in them, and per-student due date extensions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.models.base import Base, utcnow

if TYPE_CHECKING:
    from grader.models.assignments import Assignment
    from grader.models.users import User


class Course(Base):
    """A course offering; assignments and enrollments hang off it."""

    __tablename__ = "courses"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    #: The course id in the LMS, when linked.
    lms_course_id: so.Mapped[str | None] = so.mapped_column(sa.String(255), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    enrollments: so.WriteOnlyMapped[Enrollment] = so.relationship(back_populates="course")
    assignments: so.Mapped[list[Assignment]] = so.relationship(back_populates="course")


class Enrollment(Base):
    """A user's membership of a course, as instructor or student."""

    __tablename__ = "enrollments"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id"))
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    role: so.Mapped[str] = so.mapped_column(sa.String(20), default="student")
    section: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    course: so.Mapped[Course] = so.relationship(back_populates="enrollments")
    user: so.Mapped[User] = so.relationship(back_populates="enrollments")

    __table_args__ = (
        sa.UniqueConstraint("course_id", "user_id"),
        sa.CheckConstraint("role IN ('instructor', 'student')", name="role"),
    )


class Extension(Base):
    """A per-student due date for one assignment, replacing the assignment's."""

    __tablename__ = "extensions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    assignment_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("assignments.id"))
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    due_at: so.Mapped[datetime]

    __table_args__ = (sa.UniqueConstraint("assignment_id", "user_id"),)
