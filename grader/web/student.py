"""Student pages: dashboard, assignment, handout, upload, submission results and status."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from grader.domain.accommodations import audit_trail
from grader.domain.course_admin import courses_of
from grader.domain.queue import QueueStanding, queue_standing
from grader.domain.standing import student_standing
from grader.domain.submissions import due_date_for, submissions_of, upload_number
from grader.domain.uploads import submit
from grader.engine.registry import UnknownAssignment, get_plugin
from grader.extensions import db
from grader.heartbeat import grading_processes
from grader.models import Assignment, Submission, utcnow
from grader.web import render
from grader.web.access import assignment_for_student, submission_for
from grader.web.auth import login_required, user
from grader.web.context import back, register_error_pages
from grader.web.status import PENDING, status_message

bp = Blueprint("student", __name__)
register_error_pages(bp)

#: Longest captured output shown per part.
OUTPUT_CAP = 4000


@bp.get("/")
@login_required()
def dashboard() -> str | BaseResponse:
    """Courses and assignments with due dates, attempts left and counted scores."""
    me = user()
    if me.role == "instructor":
        return redirect(url_for("instructor.home"))
    courses = []
    for course in courses_of(db.session, me, role="student"):
        items = [(a, student_standing(db.session, a, me))
                 for a in sorted(course.assignments, key=lambda a: a.id)]
        courses.append((course, items))
    return render_template("student/dashboard.html", courses=courses, now=utcnow())


def _plugin(assignment: Assignment) -> Any:
    try:
        return get_plugin(assignment.slug)
    except UnknownAssignment:
        return None


@bp.get("/assignments/<int:assignment_id>")
@login_required("student")
def assignment(assignment_id: int) -> str:
    """One assignment: rules, handout, starter, the upload form and past submissions."""
    me = user()
    found = assignment_for_student(me, assignment_id)
    submissions = submissions_of(db.session, found.id, me.id)
    return render_template(
        "student/assignment.html", assignment=found, plugin=_plugin(found),
        standing=student_standing(db.session, found, me), submissions=submissions,
        max_kib=current_app.config["MAX_SUBMISSION_BYTES"] // 1024, now=utcnow(),
    )


@bp.get("/assignments/<int:assignment_id>/handout")
@login_required("student")
def handout(assignment_id: int) -> str:
    """The assignment's handout, rendered from markdown."""
    found = assignment_for_student(user(), assignment_id)
    plugin = _plugin(found)
    html = render.markdown_file(plugin.handout_path) if plugin and plugin.handout_path else None
    return render_template("student/handout.html", assignment=found, html=html)


@bp.get("/assignments/<int:assignment_id>/starter.py")
@login_required("student")
def starter(assignment_id: int) -> Response:
    """The starter file, as a download."""
    found = assignment_for_student(user(), assignment_id)
    plugin = _plugin(found)
    if plugin is None or plugin.starter_path is None:
        return Response("no starter file", status=404, mimetype="text/plain")
    return Response(plugin.starter_path.read_text(encoding="utf-8"), mimetype="text/x-python",
                    headers={"Content-Disposition": 'attachment; filename="starter.py"'})


@bp.post("/assignments/<int:assignment_id>/submissions")
@login_required("student")
def upload(assignment_id: int) -> BaseResponse:
    """Take an uploaded file (or pasted code), store it, and queue it for grading."""
    me = user()
    back("student.assignment", assignment_id=assignment_id)
    found = assignment_for_student(me, assignment_id)
    limit = current_app.config["MAX_SUBMISSION_BYTES"]
    file = request.files.get("file")
    if file is not None and file.filename:
        filename, data = file.filename, file.stream.read(limit + 1)
    else:
        filename = "submission.py"
        data = request.form.get("code", "").replace("\r\n", "\n").encode()
    submission = submit(db.session, found, me, filename=filename, data=data, max_bytes=limit,
                        per_minute=int(current_app.config["SUBMISSIONS_PER_MINUTE"]))
    db.session.commit()
    return redirect(url_for("student.submission", submission_id=submission.id))


def _show_feedback(submission: Submission, as_instructor: bool) -> bool:
    if as_instructor:
        return True
    assignment = submission.assignment
    due = due_date_for(db.session, assignment, submission.student)
    return assignment.feedback_before_due or due is None or utcnow() >= due


def _max_score(submission: Submission) -> float:
    found = submission.max_score
    return found if found is not None else submission.assignment.max_score


def _results_context(submission: Submission, as_instructor: bool) -> dict[str, Any]:
    return {
        "queue": _queue(submission),
        "submission": submission,
        "standing": student_standing(db.session, submission.assignment, submission.student),
        "run": submission.current_run,
        "show_feedback": _show_feedback(submission, as_instructor),
        "as_instructor": as_instructor,
        "output_cap": OUTPUT_CAP,
        "slug": submission.assignment.slug,
    }


@bp.get("/submissions/<int:submission_id>")
@login_required()
def submission(submission_id: int) -> str:
    """A submission's results; its instructor also sees the code and the audit trail."""
    found, as_instructor = submission_for(user(), submission_id)
    extra: dict[str, Any] = {}
    if as_instructor:
        extra = {"code_html": render.python(found.code),
                 "trail": audit_trail(db.session, found.assignment_id, found.student_id)}
    context = _results_context(found, as_instructor)
    return render_template(
        "submission.html", **context, **extra,
        upload_no=upload_number(db.session, found),
        status_text=_status_text(found, context["queue"]))


@bp.get("/submissions/<int:submission_id>/results")
@login_required()
def results(submission_id: int) -> str:
    """The results part of the submission page, fetched by the status poller when done."""
    found, as_instructor = submission_for(user(), submission_id)
    return render_template("_results.html", **_results_context(found, as_instructor))


@bp.get("/submissions/<int:submission_id>/status.json")
@login_required()
def status(submission_id: int) -> dict[str, Any]:
    """Where grading stands, for the page to poll."""
    found, _ = submission_for(user(), submission_id)
    queue = _queue(found)
    queue_position = queue.position if queue else None
    return {
        "id": found.id,
        "status": found.status,
        "done": found.status not in PENDING,
        "estimated_wait_s": queue.estimated_wait_s if queue else None,
        "grading_delayed": queue.delayed if queue else False,
        "queue_message": queue.message if queue else "",
        "score": found.score,
        "max_score": _max_score(found),
        "attempt": found.attempt,
        "queue_position": queue_position,
        "message": _status_text(found, queue),
    }


def _status_text(submission: Submission, queue: QueueStanding | None) -> str:
    """What the page's live region says: where a waiting submission stands in the queue (or
    that grading is delayed), else how grading ended."""
    if queue is not None:
        return queue.message
    return status_message(submission.status, submission.score, _max_score(submission))


@bp.get("/submissions/<int:submission_id>/download")
@login_required()
def download(submission_id: int) -> Response:
    """The submitted file, as uploaded."""
    found, _ = submission_for(user(), submission_id)
    # The name is the student's: an ASCII fallback without quotes or control characters, and
    # the exact name percent-encoded (RFC 6266), so it can never break out of the header.
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_"
                       for c in found.filename)
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(found.filename)}"
    return Response(found.code, mimetype="text/x-python",
                    headers={"Content-Disposition": disposition})


def _queue(submission: Submission) -> QueueStanding | None:
    """Where a pending submission stands in the grading queue (None once it is done)."""
    if submission.status not in ("queued", "running"):
        return None
    processes = grading_processes(current_app.config["REDIS_URL"])
    return queue_standing(db.session, submission, processes=processes)
