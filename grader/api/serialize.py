"""Rows to JSON documents (the shapes the OpenAPI document describes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, url_for

from grader.domain.queue import queue_standing
from grader.extensions import db
from grader.heartbeat import grading_processes
from grader.models import Assignment, PartResultRow, Submission, User


def iso(value: datetime | None) -> str | None:
    """An ISO 8601 timestamp in UTC with a Z, or None."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def user_doc(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name, "lms_user_id": user.lms_user_id}


def assignment_doc(assignment: Assignment) -> dict[str, Any]:
    return {
        "id": assignment.id,
        "slug": assignment.slug,
        "title": assignment.title,
        "course_id": assignment.course_id,
        "due_at": iso(assignment.due_at),
        "max_score": assignment.max_score,
        "part_points": assignment.part_points,
        "attempt_limit": assignment.attempt_limit,
        "counts": assignment.counts,
        "late_penalty_per_day": assignment.late_penalty_per_day,
        "late_cutoff_days": assignment.late_cutoff_days,
        "feedback_before_due": assignment.feedback_before_due,
        "url": url_for("api.show_assignment", assignment_id=assignment.id, _external=True),
    }


def part_doc(part: PartResultRow) -> dict[str, Any]:
    """One part, in the shape of ``GradeResult.to_dict()["parts"][i]``."""
    return {
        "name": part.name,
        "score": part.score,
        "max_score": part.max_score,
        "status": part.status,
        "diagnoses": list(part.diagnoses),
        "feedback": part.feedback,
        "counterexample": part.counterexample,
        "output": part.output,
        "cases_passed": part.cases_passed,
        "cases_total": part.cases_total,
    }


def submission_doc(submission: Submission, *, show_feedback: bool = True) -> dict[str, Any]:
    run = submission.current_run
    parts = [part_doc(p) for p in run.parts] if run is not None and show_feedback else []
    max_score = submission.max_score
    if max_score is None:
        max_score = submission.assignment.max_score
    return {
        "id": submission.id,
        "url": url_for("api.get_submission", submission_id=submission.id, _external=True),
        "assignment_id": submission.assignment_id,
        "student": user_doc(submission.student),
        "status": submission.status,
        "score": submission.score,
        "max_score": max_score,
        "parts": parts,
        "feedback": (run.feedback if run is not None and show_feedback else ""),
        "feedback_hidden": not show_feedback,
        "attempt": submission.attempt,
        "late": submission.late,
        "days_late": round(submission.days_late, 4),
        "seed": submission.seed,
        "sha256": submission.sha256,
        "filename": submission.filename,
        "created_at": iso(submission.created_at),
        "graded_at": iso(submission.graded_at),
        "sandbox_level": run.sandbox_level if run is not None else None,
        "timings": run.timings if run is not None else {},
        **queue_doc(submission),
    }


def queue_doc(submission: Submission) -> dict[str, Any]:
    """Where a pending submission stands in the grading queue (all None once it is done):
    ``queue_position`` (0 while being graded), ``estimated_wait_s``, ``grading_delayed``."""
    standing = None
    if submission.status in ("queued", "running"):
        processes = grading_processes(current_app.config["REDIS_URL"])
        standing = queue_standing(db.session, submission, processes=processes)
    return {
        "queue_position": standing.position if standing else None,
        "estimated_wait_s": standing.estimated_wait_s if standing else None,
        "grading_delayed": standing.delayed if standing else False,
    }
