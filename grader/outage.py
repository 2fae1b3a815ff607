"""Telling an outage of the database from a bug, and answering requests during one: a clean
503 (JSON for the API, a short page for people) instead of a traceback.

Workers wait an outage out (:mod:`grader.tasks.grading`); the web process cannot wait, so it
says plainly that nothing was stored and when to try again.
"""

from __future__ import annotations

import logging

import sqlalchemy.exc as sa_exc
from flask import Flask, Response, current_app, jsonify, request

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait before trying again.
RETRY_AFTER = 5


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached or dropped the connection (a
    restart, a full disk, a lock held too long), rather than that a statement was wrong."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)


def describe(exc: BaseException) -> str:
    """What to tell a user, without the database's own words (they name hosts and files)."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "disk is full" in text or "no space left" in text:
        return ("The server's disk is full, so nothing could be stored: your request was not "
                "saved. Reading still works; please try again later.")
    return ("The database is not reachable right now (it may be restarting), so nothing was "
            f"stored. Please try again in {RETRY_AFTER} seconds.")


def init_app(app: Flask) -> None:
    """Answer requests that meet a database outage with a 503."""
    app.register_error_handler(sa_exc.OperationalError, _unavailable)
    app.register_error_handler(sa_exc.InterfaceError, _unavailable)


def _unavailable(exc: sa_exc.DBAPIError) -> tuple[Response, int]:
    log.warning("database unavailable during %s %s: %s", request.method, request.path,
                type(getattr(exc, "orig", exc)).__name__)
    message = describe(exc)
    headers = {"Retry-After": str(RETRY_AFTER)}
    if request.path.startswith("/api/"):
        response = jsonify({"error": {"code": "database_unavailable", "message": message}})
    else:
        # Rendered without the pages' context processors: they read the database.
        page = current_app.jinja_env.get_template("unavailable.html").render(message=message)
        response = Response(page, mimetype="text/html")
    response.headers.update(headers)
    return response, 503
