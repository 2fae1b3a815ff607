"""One JSON error shape for the API: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from grader.api import bp
from grader.exceptions import AutogradeError


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    """The API's error body with ``status``."""
    return jsonify({"error": {"code": code, "message": message}}), status


@bp.errorhandler(AutogradeError)
def _domain_error(exc: AutogradeError) -> tuple[Response, int]:
    return error_response(exc.status, exc.code, exc.message)


@bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[Response, int] | HTTPException:
    # Only API paths answer in JSON; other pages keep their own error pages.
    if not request.path.startswith(bp.url_prefix or "/api/v1"):
        return exc
    code = (exc.name or "error").lower().replace(" ", "_")
    status = exc.code or 500
    message = exc.description or exc.name
    if status == 413:
        limit = current_app.config["MAX_SUBMISSION_BYTES"]
        code, message = (
            "submission_too_large",
            f"request too large; the file limit is {limit} bytes",
        )
    return error_response(status, code, message)
