"""Health check and the OpenAPI document."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app

from grader.api import bp
from grader.api.openapi import openapi_document
from grader.extensions import db
from grader.heartbeat import liveness


@bp.get("/health")
def health() -> dict[str, Any]:
    """Always 200 while the web process answers (a readiness probe); the body says whether the
    database and the broker answer and whether any worker is alive ("degraded" if not)."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        database = True
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        database = False
    state = liveness(current_app.config["REDIS_URL"], max_age=1.0)
    ok = database and state.broker and bool(state.worker_alive)
    return {
        "status": "ok" if ok else "degraded",
        "database": {"ok": database},
        "broker": {"ok": state.broker},
        "workers": {"alive": state.worker_alive, "processes": state.processes},
    }


@bp.get("/openapi.json")
def openapi() -> dict[str, Any]:
    """The OpenAPI 3 description of this API."""
    return openapi_document()
