"""Instructor pages under /teach: courses, assignments, roster, grades, analytics, regrades."""

from flask import Blueprint

from grader.web.context import register_error_pages

bp = Blueprint("instructor", __name__, url_prefix="/teach")
register_error_pages(bp)

from grader.web.instructor import (  # noqa: E402  (views register themselves on bp)
    courses,
    grades,
    insights,
    people,
)

__all__ = ["bp", "courses", "grades", "insights", "people"]
