"""The student and instructor pages: blueprints, CSRF, session cookies, security headers."""

from __future__ import annotations

from flask import Flask, Response, send_from_directory


def init_app(app: Flask) -> None:
    """Register the page blueprints and their safety settings on ``app``."""
    from grader.web import auth, instructor, security, student
    from grader.web.context import init_context

    security.init_app(app)
    init_context(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(student.bp)
    app.register_blueprint(instructor.bp)
    app.add_url_rule("/favicon.ico", "favicon", _favicon)


def _favicon() -> Response:
    # Browsers ask for /favicon.ico whatever the page links: answer with our icon, not a 404.
    return send_from_directory("static", "favicon.svg", mimetype="image/svg+xml", max_age=86400)
