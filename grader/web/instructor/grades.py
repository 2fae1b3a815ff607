"""The grade table (sortable, filterable) and gradebook exports for Canvas and Moodle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, render_template, request

from grader.domain.gradebook import (
    StudentGrade,
    canvas_csv,
    gradebook,
    moodle_csv,
    not_submitted,
)
from grader.exceptions import InvalidInput
from grader.extensions import db
from grader.web.access import assignment_taught_by
from grader.web.auth import login_required, user
from grader.web.context import back
from grader.web.instructor import bp

SORTS: dict[str, Callable[[StudentGrade], Any]] = {
    "name": lambda r: (r.student.name or r.student.email).lower(),
    "email": lambda r: r.student.email,
    "section": lambda r: r.section,
    "score": lambda r: (r.score is not None, r.score or 0.0),
    "attempts": lambda r: r.attempts,
    "last": lambda r: (r.last_submitted is not None, r.last_submitted.timestamp()
                       if r.last_submitted else 0.0),
}
SHOWS: dict[str, Callable[[StudentGrade], bool]] = {
    "all": lambda r: True,
    "late": lambda r: r.late,
    "missing": lambda r: r.submissions == 0,
    "ungraded": lambda r: r.score is None,
    "overridden": lambda r: r.overridden,
}


@bp.get("/assignments/<int:assignment_id>")
@login_required("instructor")
def grades(assignment_id: int) -> str:
    """One row per student: counted score, attempts, late flag, link to the submission."""
    assignment = assignment_taught_by(user(), assignment_id)
    rows = gradebook(db.session, assignment)
    sort = request.args.get("sort", "name")
    order = request.args.get("dir", "asc")
    show = request.args.get("show", "all")
    q = request.args.get("q", "").strip().lower()
    shown = [r for r in rows if SHOWS.get(show, SHOWS["all"])(r)
             and (not q or q in r.student.email or q in r.student.name.lower()
                  or q in r.section.lower())]
    shown.sort(key=SORTS.get(sort, SORTS["name"]), reverse=order == "desc")
    graded = [r.score for r in rows if r.score is not None]
    return render_template(
        "instructor/grades.html", assignment=assignment, rows=shown, total=len(rows),
        sort=sort, order=order, show=show, q=q, missing=not_submitted(rows),
        mean=(sum(graded) / len(graded)) if graded else None,
    )


@bp.get("/assignments/<int:assignment_id>/grades.csv")
@login_required("instructor")
def export(assignment_id: int) -> Response:
    """Counted grades as CSV for Canvas (``?format=canvas``) or Moodle (``?format=moodle``)."""
    back("instructor.grades", assignment_id=assignment_id)
    assignment = assignment_taught_by(user(), assignment_id)
    fmt = request.args.get("format", "canvas")
    rows = gradebook(db.session, assignment)
    if fmt == "canvas":
        body = canvas_csv(assignment, rows)
    elif fmt == "moodle":
        body = moodle_csv(assignment, rows)
    else:
        raise InvalidInput("export format must be canvas or moodle")
    name = f"grades-{fmt}-assignment-{assignment.id}.csv"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
