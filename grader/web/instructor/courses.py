"""Courses and assignments: list, create, edit rules."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from grader.domain.course_admin import course_students, courses_of, update_assignment
from grader.domain.courses import create_assignment, create_course
from grader.engine.registry import list_plugins
from grader.exceptions import InvalidInput
from grader.extensions import db
from grader.web.access import assignment_taught_by, course_taught_by
from grader.web.auth import login_required, user
from grader.web.context import back
from grader.web.instructor import bp, forms


@bp.get("/")
@login_required("instructor")
def home() -> str:
    """The courses this instructor teaches."""
    return render_template("instructor/home.html",
                           courses=courses_of(db.session, user(), role="instructor"))


@bp.post("/courses")
@login_required("instructor")
def new_course() -> Response:
    """Create a course taught by the current instructor."""
    back("instructor.home")
    title = forms.text("title")
    if not title:
        raise InvalidInput("give the course a title")
    course = create_course(db.session, title, user())
    db.session.commit()
    flash(f"Course “{course.title}” created.", "success")
    return redirect(url_for("instructor.course", course_id=course.id))


@bp.get("/courses/<int:course_id>")
@login_required("instructor")
def course(course_id: int) -> str:
    """A course: its assignments and students."""
    found = course_taught_by(user(), course_id)
    return render_template("instructor/course.html", course=found,
                           students=course_students(db.session, found.id),
                           plugins=list_plugins())


@bp.post("/courses/<int:course_id>/assignments")
@login_required("instructor")
def new_assignment(course_id: int) -> Response:
    """Give an installed assignment in this course, with the plugin's points."""
    back("instructor.course", course_id=course_id)
    found = course_taught_by(user(), course_id)
    assignment = create_assignment(db.session, found, forms.text("slug"),
                                   title=forms.text("title") or None,
                                   due_at=forms.when("due_at", "The due date"))
    db.session.commit()
    flash("Assignment created. Check its rules below.", "success")
    return redirect(url_for("instructor.edit_assignment", assignment_id=assignment.id))


@bp.route("/assignments/<int:assignment_id>/edit", methods=["GET", "POST"])
@login_required("instructor")
def edit_assignment(assignment_id: int) -> str | Response:
    """Change due date, points per part, late policy, attempts, counting and feedback."""
    found = assignment_taught_by(user(), assignment_id)
    back("instructor.edit_assignment", assignment_id=assignment_id)
    if request.method == "POST":
        points = {name: forms.number(f"points-{name}", f"Points of {name}") or 0.0
                  for name in found.part_points}
        update_assignment(
            db.session,
            found,
            title=forms.text("title"),
            due_at=forms.when("due_at", "The due date"),
            part_points=points,
            late_penalty_per_day=forms.number("late_penalty_per_day", "The late penalty") or 0.0,
            late_cutoff_days=forms.number("late_cutoff_days", "The late cutoff", optional=True),
            attempt_limit=forms.integer("attempt_limit", "The attempt limit", optional=True),
            counts=forms.text("counts"),
            feedback_before_due=request.form.get("feedback_before_due") == "on",
        )
        db.session.commit()
        flash("Assignment saved.", "success")
        return redirect(url_for("instructor.grades", assignment_id=found.id))
    return render_template("instructor/edit_assignment.html", assignment=found,
                           due_value=forms.as_input(found.due_at))
