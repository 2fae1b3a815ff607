"""What every page template sees, and how page errors are shown."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, flash, g, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from grader.domain.diagnoses import feedback_details
from grader.domain.diagnoses import message as diagnosis_message
from grader.exceptions import AutogradeError, Forbidden, NotFound
from grader.extensions import db
from grader.models import GradingRun, LtiResourceLink
from grader.web import render
from grader.web.auth import current_user


def sandbox_level() -> str | None:
    """The isolation of the most recent grading, when it was weaker than "full"."""
    level = db.session.scalar(
        sa.select(GradingRun.sandbox_level)
        .where(GradingRun.finished_at.is_not(None), GradingRun.sandbox_level != "")
        .order_by(GradingRun.finished_at.desc(), GradingRun.id.desc()).limit(1)
    )
    return level if level and level != "full" else None


def linked_to_lms(assignment_id: int) -> bool:
    """Whether an LMS link opens the assignment (then its LMS grades page is worth a tab)."""
    return db.session.scalar(
        sa.select(LtiResourceLink.id).where(LtiResourceLink.assignment_id == assignment_id)
        .limit(1)) is not None


def init_context(app: Flask) -> None:
    """Template globals and filters."""
    app.jinja_env.filters["when"] = render.when
    app.jinja_env.filters["points"] = render.points
    app.jinja_env.filters["plural"] = render.plural

    @app.context_processor
    def _globals() -> dict[str, Any]:
        if request.blueprint not in ("auth", "student", "instructor", "lti"):
            return {}
        user = current_user()
        return {
            "me": user,
            "weak_sandbox": sandbox_level() if user is not None else None,
            "diagnosis_message": diagnosis_message,
            "feedback_details": feedback_details,
            "linked_to_lms": linked_to_lms,
        }


def back(endpoint: str, **values: Any) -> None:
    """Where an error during this request sends the user (with the message flashed)."""
    g.back = url_for(endpoint, **values)


def register_error_pages(bp: Blueprint) -> None:
    """Page errors for one blueprint: domain errors are flashed, HTTP errors get a page."""

    @bp.errorhandler(AutogradeError)
    def _domain(exc: AutogradeError) -> Response | tuple[str, int]:
        if isinstance(exc, NotFound | Forbidden):
            return render_template("error.html", code=404, message="Not found."), 404
        flash(exc.message, "error")
        return redirect(g.get("back") or url_for("student.dashboard"))

    @bp.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[str, int]:
        message = "The form expired or came from elsewhere. Go back, reload and try again."
        return render_template("error.html", code=400, message=message), 400

    @bp.errorhandler(413)
    def _too_large(exc: HTTPException) -> Response:
        flash("That upload is too large.", "error")
        return redirect(g.get("back") or url_for("student.dashboard"))

    @bp.errorhandler(404)
    def _not_found(exc: HTTPException) -> tuple[str, int]:
        return render_template("error.html", code=404, message="Not found."), 404
