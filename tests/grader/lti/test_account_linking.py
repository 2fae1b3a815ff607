"""Which existing account a launch may link by email, and linking one on purpose."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask

from grader.cli import main
from grader.domain.roster import RosterEntry, upsert_roster
from grader.domain.users import create_user
from grader.extensions import db
from grader.models import Course, LtiPlatform, LtiUserLink, User
from tests.grader.lti.conftest import launch
from tests.grader.lti.platform import Platform


def users(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(User)) or 0


def logged_in_as(client: Any) -> int | None:
    with client.session_transaction() as sess:
        uid = sess.get("uid")
    return uid if isinstance(uid, int) else None


class TestEmailMatching:
    def test_roster_student_is_linked_by_email(self, app: Flask, platform: Platform) -> None:
        """A student made from a roster (no password, no LMS link) is the one who launches."""
        with app.app_context():
            course = Course(title="Deep Learning")
            db.session.add(course)
            db.session.flush()
            upsert_roster(db.session, course, [RosterEntry("ann@uni.example", "Ann", None, "")])
            db.session.commit()
            ann = db.session.scalars(sa.select(User).where(User.email == "ann@uni.example")).one()
            ann_id = ann.id
        platform.add_user("s-ann", "Ann A.", "ann@uni.example")
        client = app.test_client()
        assert launch(client, platform, "s-ann").status_code in (200, 302, 303)
        assert logged_in_as(client) == ann_id

    @pytest.mark.parametrize("kind", ["password", "instructor"])
    def test_protected_account_is_refused_and_nothing_created(
        self, app: Flask, platform: Platform, kind: str
    ) -> None:
        """An account with a password, or an instructor, is never linked by an email claim."""
        with app.app_context():
            create_user(db.session, "ada@uni.example", name="Ada",
                        role="instructor" if kind == "instructor" else "student",
                        password="correct horse" if kind == "password" else None)
            db.session.commit()
        before = users(app)
        platform.add_user("s-x", "Someone", "ada@uni.example")
        client = app.test_client()
        refused = launch(client, platform, "s-x")
        assert refused.status_code in (400, 403)
        assert "autograde lti link-user" in refused.get_data(as_text=True)
        assert logged_in_as(client) is None and users(app) == before
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(LtiUserLink)) == 0

    def test_admin_links_then_launch_logs_in(
        self, app: Flask, app_config: dict[str, Any], platform: Platform,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """After `autograde lti link-user`, the LMS user's launches land in that account."""
        with app.app_context():
            ada = create_user(db.session, "ada@uni.example", name="Ada", password="pw-123456")
            db.session.commit()
            ada_id = ada.id
            platform_id = db.session.scalars(sa.select(LtiPlatform.id)).one()
        monkeypatch.setenv("AUTOGRADE_DATABASE_URL", app_config["DATABASE_URL"])
        result = CliRunner().invoke(main, ["lti", "link-user", "--platform", str(platform_id),
                                           "--sub", "s-ada", "--email", "ADA@uni.example"])
        assert result.exit_code == 0, result.output
        again = CliRunner().invoke(main, ["lti", "link-user", "--platform", str(platform_id),
                                          "--sub", "s-ada", "--email", "nobody@uni.example"])
        assert again.exit_code != 0 and "no user" in again.output
        platform.add_user("s-ada", "Ada", "ada@uni.example")
        client = app.test_client()
        assert launch(client, platform, "s-ada").status_code in (200, 302, 303)
        assert logged_in_as(client) == ada_id
