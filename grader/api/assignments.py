"""Assignment endpoints: listing, uploading submissions, grade books, regrades."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response, current_app, request, url_for

from grader.api import bp
from grader.api.auth import check_instructor, check_member, current_user, require
from grader.api.pagination import paginate
from grader.api.serialize import assignment_doc, queue_doc, submission_doc, user_doc
from grader.domain.courses import get_assignment_row
from grader.domain.gradebook import StudentGrade, canvas_csv, gradebook
from grader.domain.regrades import start_regrade
from grader.domain.roster import find_enrolled_student, is_instructor_of
from grader.domain.uploads import submit, submitting_student
from grader.exceptions import InvalidInput, SubmissionTooLarge
from grader.extensions import db
from grader.models import Assignment, Enrollment, Submission


@bp.get("/assignments")
@require()
def list_assignments() -> dict[str, Any]:
    """Assignments of the courses the caller is enrolled in."""
    query = (
        sa.select(Assignment)
        .join(Enrollment, Enrollment.course_id == Assignment.course_id)
        .where(Enrollment.user_id == current_user().id)
        .order_by(Assignment.id)
    )
    return paginate(query, assignment_doc)


@bp.get("/assignments/<int:assignment_id>")
@require()
def show_assignment(assignment_id: int) -> dict[str, Any]:
    """One assignment."""
    assignment = get_assignment_row(db.session, assignment_id)
    check_member(assignment.course_id, f"assignment {assignment_id}")
    return assignment_doc(assignment)


@bp.post("/assignments/<int:assignment_id>/submissions")
@require("submissions:write")
def post_submission(assignment_id: int) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Upload a .py file for a student; grading happens in the background."""
    assignment = get_assignment_row(db.session, assignment_id)
    check_member(assignment.course_id, f"assignment {assignment_id}")
    limit = current_app.config["MAX_SUBMISSION_BYTES"]
    if (request.content_length or 0) > current_app.config["MAX_CONTENT_LENGTH"]:
        raise SubmissionTooLarge(f"request too large; the file limit is {limit} bytes")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("send the submission as multipart/form-data field 'file'")
    user = current_user()
    student = submitting_student(db.session, assignment, user, request.form.get("student", ""))
    data = upload.stream.read(limit + 1)
    upload.close()
    submission = submit(
        db.session, assignment, student, filename=upload.filename, data=data, max_bytes=limit,
        per_minute=int(current_app.config["SUBMISSIONS_PER_MINUTE"]), submitted_by=user,
    )
    db.session.commit()
    url = url_for("api.get_submission", submission_id=submission.id, _external=True)
    body = {"id": submission.id, "url": url, "status": "queued", **queue_doc(submission)}
    return body, 202, {"Location": url}


@bp.get("/assignments/<int:assignment_id>/submissions")
@require("results:read")
def list_submissions(assignment_id: int) -> dict[str, Any]:
    """Submissions of the assignment, newest first (a student sees their own)."""
    assignment = get_assignment_row(db.session, assignment_id)
    check_member(assignment.course_id, f"assignment {assignment_id}")
    query = (
        sa.select(Submission)
        .where(Submission.assignment_id == assignment.id)
        .order_by(Submission.id.desc())
    )
    user = current_user()
    if not is_instructor_of(db.session, user, assignment.course_id):
        query = query.where(Submission.student_id == user.id)
    elif "student" in request.args:
        student = find_enrolled_student(db.session, assignment.course_id, request.args["student"])
        query = query.where(Submission.student_id == student.id)
    return paginate(query, lambda s: submission_doc(s, show_feedback=False))


@bp.get("/assignments/<int:assignment_id>/grades")
@require("grades:read")
def get_grades(assignment_id: int) -> Response | dict[str, Any]:
    """Counted score per enrolled student, as JSON pages or a Canvas gradebook CSV."""
    assignment = get_assignment_row(db.session, assignment_id)
    check_instructor(assignment.course_id, f"assignment {assignment_id}")
    book = gradebook(db.session, assignment)
    fmt = request.args.get("format", "json")
    if fmt == "csv":
        filename = f"grades-assignment-{assignment.id}.csv"
        return Response(
            canvas_csv(assignment, book),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    if fmt != "json":
        raise InvalidInput("format must be 'json' or 'csv'")
    from grader.api.pagination import page, page_params

    limit, offset = page_params()
    doc = page(book[offset : offset + limit + 1], limit, offset, _grade_doc)
    doc["max_score"] = assignment.max_score
    return doc


def _grade_doc(line: StudentGrade) -> dict[str, Any]:
    return {
        "student": user_doc(line.student),
        "section": line.section,
        "score": line.score,
        "submission_id": line.submission_id,
        "attempts": line.attempts,
        "late": line.late,
        "overridden": line.overridden,
    }


@bp.post("/assignments/<int:assignment_id>/regrades")
@require("regrades:write")
def post_regrade(assignment_id: int) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Grade every submission again; ``preview`` grades without changing what counts."""
    assignment = get_assignment_row(db.session, assignment_id)
    check_instructor(assignment.course_id, f"assignment {assignment_id}")
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        raise InvalidInput("send a JSON object")
    preview = body.get("preview", False)
    reason = body.get("reason", "")
    if not isinstance(preview, bool) or not isinstance(reason, str):
        raise InvalidInput("preview must be a boolean and reason a string")
    regrade, pairs = start_regrade(
        db.session, assignment, current_user(), preview=preview, reason=reason
    )
    db.session.commit()
    url = url_for("api.get_regrade", regrade_id=regrade.id, _external=True)
    return (
        {"id": regrade.id, "url": url, "runs": len(pairs), "preview": preview},
        202,
        {"Location": url},
    )
