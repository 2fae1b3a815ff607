"""Regrade reports."""

from __future__ import annotations

from typing import Any

from grader.api import bp
from grader.api.auth import check_instructor, require
from grader.api.serialize import iso, user_doc
from grader.domain.regrades import regrade_report
from grader.extensions import db
from grader.models import Assignment


@bp.get("/regrades/<int:regrade_id>")
@require("grades:read")
def get_regrade(regrade_id: int) -> dict[str, Any]:
    """Progress of a regrade and each student's counted score before and after it."""
    report = regrade_report(db.session, regrade_id)
    regrade = report.regrade
    course_id = db.session.get_one(Assignment, regrade.assignment_id).course_id
    check_instructor(course_id, f"regrade {regrade_id}")
    return {
        "id": regrade.id,
        "assignment_id": regrade.assignment_id,
        "preview": regrade.preview,
        "reason": regrade.reason,
        "requested_by": regrade.requested_by_id,
        "created_at": iso(regrade.created_at),
        "runs_total": report.runs_total,
        "runs_pending": report.runs_pending,
        "done": report.done,
        "students": [
            {
                "student": user_doc(line.student),
                "before": line.before,
                "after": line.after,
                "changed": line.changed,
            }
            for line in report.lines
        ],
    }
