"""The JSON API at /api/v1, for LMS integrations and scripts."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from grader.api import (  # noqa: E402  (views register themselves on bp)
    assignments,
    courses,
    errors,
    meta,
    regrades,
    submissions,
)

__all__ = ["assignments", "bp", "courses", "errors", "meta", "regrades", "submissions"]
