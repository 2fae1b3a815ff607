"""Health check and the OpenAPI document."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from grader.api import bp
from grader.api.openapi import openapi_document
from grader.extensions import db


@bp.get("/health")
def health() -> dict[str, Any]:
    """200 when the database answers (used by container health checks)."""
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}


@bp.get("/openapi.json")
def openapi() -> dict[str, Any]:
    """The OpenAPI 3 description of this API."""
    return openapi_document()
