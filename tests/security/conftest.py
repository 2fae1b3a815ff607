"""Fixtures of the attack suite: the pages' seeded site (two courses) and API tokens for it.

Attacks run on SQLite only: they test our checks, not the database, and the suite stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from grader.domain.tokens import create_token
from grader.extensions import db
from grader.models import User
from tests.grader.web.conftest import (  # noqa: F401  (fixtures used by the tests here)
    ada,
    app_config,
    bob,
    site,
    teacher,
)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A copied, migrated SQLite file."""
    import shutil

    path = tmp_path / "autograde.sqlite3"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@dataclass
class Tokens:
    """API tokens of the site's users (every scope they may have)."""

    ada: str
    bob: str
    eve: str
    teacher: str
    other_teacher: str


STAFF_SCOPES = ["roster:write", "submissions:write", "results:read", "grades:read",
                "regrades:write", "assignments:read"]


@pytest.fixture
def tokens(app: Flask, site: object) -> Tokens:  # noqa: F811
    """One token per user of the site, committed."""
    with app.app_context():
        def make(email: str) -> str:
            user = db.session.query(User).filter_by(email=email).one()
            scopes = STAFF_SCOPES if user.role == "instructor" else None
            return create_token(db.session, user, scopes)[0]

        found = Tokens(make("ada@example.com"), make("bob@example.com"),
                       make("eve@example.com"), make("teacher@example.com"),
                       make("other@example.com"))
        db.session.commit()
        return found


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
