"""Loading objects for a page only when the logged-in user may see them.

Every lookup by id goes through here; a user who may not see an object gets the same 404 as
for an id that does not exist, so ids can't be probed.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from grader.domain.roster import is_instructor_of
from grader.extensions import db
from grader.models import Assignment, Course, Enrollment, Submission, User


def is_student_in(user: User, course_id: int) -> bool:
    """Whether ``user`` is enrolled as a student in the course."""
    return db.session.scalar(sa.select(Enrollment.id).where(
        Enrollment.course_id == course_id, Enrollment.user_id == user.id,
        Enrollment.role == "student")) is not None


def course_taught_by(user: User, course_id: int) -> Course:
    """The course, if ``user`` teaches it."""
    course = db.session.get(Course, course_id)
    if course is None or not is_instructor_of(db.session, user, course.id):
        abort(404)
    return course


def assignment_taught_by(user: User, assignment_id: int) -> Assignment:
    """The assignment, if ``user`` teaches its course."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or not is_instructor_of(db.session, user, assignment.course_id):
        abort(404)
    return assignment


def assignment_for_student(user: User, assignment_id: int) -> Assignment:
    """The assignment, if ``user`` is a student of its course."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or not is_student_in(user, assignment.course_id):
        abort(404)
    return assignment


def student_of(assignment: Assignment, student_id: int) -> User:
    """A student enrolled in the assignment's course."""
    student = db.session.get(User, student_id)
    if student is None or not is_student_in(student, assignment.course_id):
        abort(404)
    return student


def submission_for(user: User, submission_id: int) -> tuple[Submission, bool]:
    """The submission, if it is ``user``'s own or ``user`` teaches its course.

    Returns:
        The submission and whether ``user`` sees it as its instructor.
    """
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        abort(404)
    if is_instructor_of(db.session, user, submission.assignment.course_id):
        return submission, True
    if submission.student_id != user.id:
        abort(404)
    return submission, False
