"""The student and instructor pages: blueprints, CSRF, session cookies, security headers."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the page blueprints and their safety settings on ``app``."""
    from grader.web import auth, instructor, security, student
    from grader.web.context import init_context

    security.init_app(app)
    init_context(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(student.bp)
    app.register_blueprint(instructor.bp)
