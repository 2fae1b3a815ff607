"""Roster import with invitation links, password resets, and per-student exceptions."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from grader.domain.accommodations import (
    audit_trail,
    clear_override,
    grant_attempts,
    override_score,
    set_extension,
)
from grader.domain.course_admin import course_students, import_roster
from grader.domain.invitations import create_password_link
from grader.domain.standing import student_standing
from grader.domain.submissions import extra_attempts, submissions_of
from grader.exceptions import InvalidInput
from grader.extensions import db
from grader.models import User
from grader.web.access import assignment_taught_by, course_taught_by, student_of
from grader.web.auth import login_required, user
from grader.web.context import back
from grader.web.instructor import bp, forms

#: Largest roster CSV accepted.
ROSTER_MAX_BYTES = 2 * 2**20


def _link(target: User, purpose: str) -> str:
    token = create_password_link(db.session, target, purpose, created_by=user())
    url = url_for("auth.set_password", token=token, _external=True)
    # No mail server: the link is shown to the instructor and kept in the server log.
    current_app.logger.info("password %s link for %s: %s", purpose, target.email, url)
    return url


@bp.get("/courses/<int:course_id>/roster")
@login_required("instructor")
def roster(course_id: int) -> str:
    """Students of the course and the CSV import form."""
    found = course_taught_by(user(), course_id)
    return render_template("instructor/roster.html", course=found,
                           students=course_students(db.session, found.id), links=[])


@bp.post("/courses/<int:course_id>/roster")
@login_required("instructor")
def import_csv(course_id: int) -> str | Response:
    """Add or update students from a CSV; new students get an invitation link."""
    back("instructor.roster", course_id=course_id)
    found = course_taught_by(user(), course_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("choose a CSV file")
    data = upload.stream.read(ROSTER_MAX_BYTES + 1)
    if len(data) > ROSTER_MAX_BYTES:
        raise InvalidInput("the CSV is larger than 2 MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV must be UTF-8 text") from None
    result = import_roster(db.session, found, text)
    links = [(student, _link(student, "invite")) for student in result.created]
    db.session.commit()
    flash(f"{len(result.created)} new, {len(result.updated)} updated, "
          f"{len(result.enrolled)} newly enrolled, {len(result.unchanged)} unchanged.", "success")
    return render_template("instructor/roster.html", course=found,
                           students=course_students(db.session, found.id), links=links)


@bp.post("/courses/<int:course_id>/students/<int:student_id>/link")
@login_required("instructor")
def password_link(course_id: int, student_id: int) -> str:
    """A fresh invitation (no password yet) or reset link for one student."""
    back("instructor.roster", course_id=course_id)
    found = course_taught_by(user(), course_id)
    student = db.session.get(User, student_id)
    enrolled = {u.id for u, _ in course_students(db.session, found.id)}
    if student is None or student.id not in enrolled:
        abort(404)
    purpose = "reset" if student.password_hash else "invite"
    links = [(student, _link(student, purpose))]
    db.session.commit()
    return render_template("instructor/roster.html", course=found,
                           students=course_students(db.session, found.id), links=links)


@bp.get("/assignments/<int:assignment_id>/students/<int:student_id>")
@login_required("instructor")
def student(assignment_id: int, student_id: int) -> str:
    """One student on one assignment: submissions, exceptions and their audit trail."""
    assignment = assignment_taught_by(user(), assignment_id)
    target = student_of(assignment, student_id)
    submissions = submissions_of(db.session, assignment.id, target.id)
    standing = student_standing(db.session, assignment, target)
    return render_template(
        "instructor/student.html", assignment=assignment, student=target,
        submissions=submissions, standing=standing,
        extra=extra_attempts(db.session, assignment.id, target.id),
        due_value=forms.as_input(standing.due_at if standing.extended else None),
        trail=audit_trail(db.session, assignment.id, target.id),
    )


@bp.post("/assignments/<int:assignment_id>/students/<int:student_id>/exceptions")
@login_required("instructor")
def exceptions(assignment_id: int, student_id: int) -> Response:
    """Apply one exception: extension, extra attempts, score override or clearing it."""
    back("instructor.student", assignment_id=assignment_id, student_id=student_id)
    assignment = assignment_taught_by(user(), assignment_id)
    target = student_of(assignment, student_id)
    action, comment = forms.text("action"), forms.text("comment")
    if action == "extension":
        set_extension(db.session, assignment, target, forms.when("due_at", "The due date"),
                      user(), comment)
    elif action == "attempts":
        grant_attempts(db.session, assignment, target,
                       forms.integer("extra_attempts", "Extra attempts") or 0, user(), comment)
    elif action == "override":
        override_score(db.session, assignment, target,
                       forms.number("score", "The score") or 0.0, user(), comment)
    elif action == "clear_override":
        clear_override(db.session, assignment, target, user(), comment)
    else:
        raise InvalidInput("unknown action")
    db.session.commit()
    flash("Saved, and recorded in the audit trail.", "success")
    return redirect(url_for("instructor.student", assignment_id=assignment_id,
                            student_id=student_id))
