"""Logging in and out, invitation and reset links."""

from __future__ import annotations

import re

from flask import Flask

from grader.domain.invitations import create_password_link
from grader.extensions import db
from grader.models import User
from tests.grader.web.conftest import PASSWORD, Site, login


class TestLogin:
    def test_right_password_logs_in(self, app: Flask, site: Site) -> None:
        """The right password starts a session and lands on the dashboard."""
        client = app.test_client()
        response = client.post("/login", data={"email": "ADA@example.com ", "password": PASSWORD})
        assert response.status_code == 302
        assert client.get("/").status_code == 200

    def test_wrong_password_is_refused(self, app: Flask, site: Site) -> None:
        """A wrong password answers 401 with one message for unknown and known emails."""
        client = app.test_client()
        wrong = client.post("/login", data={"email": "ada@example.com", "password": "nope"})
        unknown = client.post("/login", data={"email": "zed@example.com", "password": "nope"})
        assert wrong.status_code == unknown.status_code == 401
        assert b"wrong email or password" in wrong.data
        assert b"wrong email or password" in unknown.data

    def test_anonymous_visitors_are_sent_to_login(self, app: Flask, site: Site) -> None:
        """Pages need a login; the login page remembers where to go back."""
        response = app.test_client().get(f"/assignments/{site.assignment}")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")

    def test_next_must_be_a_local_path(self, app: Flask, site: Site) -> None:
        """?next= never redirects to another site."""
        client = app.test_client()
        response = client.post("/login?next=//evil.example/x",
                               data={"email": "ada@example.com", "password": PASSWORD})
        assert response.headers["Location"] == "/"

    def test_logout_ends_the_session(self, app: Flask, site: Site) -> None:
        """After logging out the dashboard asks for a login again."""
        client = login(app.test_client(), "ada@example.com")
        client.post("/logout")
        assert client.get("/").status_code == 302


class TestPasswordLinks:
    def _link(self, app: Flask, email: str, purpose: str = "invite") -> str:
        with app.app_context():
            user = db.session.query(User).filter_by(email=email).one()
            token = create_password_link(db.session, user, purpose)
            db.session.commit()
        return f"/password/{token}"

    def test_invitation_sets_a_password_once(self, app: Flask, site: Site) -> None:
        """An invitation link sets the password, logs in, and can't be used twice."""
        url = self._link(app, "bob@example.com")
        client = app.test_client()
        assert b"Welcome" in client.get(url).data
        response = client.post(url, data={"password": "a new secret", "confirm": "a new secret"})
        assert response.status_code == 302
        assert client.get("/").status_code == 200
        assert app.test_client().get(url).status_code == 404
        login_again = app.test_client().post(
            "/login", data={"email": "bob@example.com", "password": "a new secret"})
        assert login_again.status_code == 302

    def test_short_or_mismatched_passwords_are_refused(self, app: Flask, site: Site) -> None:
        """The link stays usable after a refused password."""
        url = self._link(app, "bob@example.com")
        client = app.test_client()
        short = client.post(url, data={"password": "short", "confirm": "short"})
        assert b"at least 8" in short.data
        differ = client.post(url, data={"password": "long enough", "confirm": "long enougH"})
        assert b"differ" in differ.data
        assert client.get(url).status_code == 200

    def test_reset_ends_other_sessions(self, app: Flask, site: Site) -> None:
        """A session opened with the old password ends when the password is reset."""
        old = login(app.test_client(), "ada@example.com")
        url = self._link(app, "ada@example.com", "reset")
        app.test_client().post(url, data={"password": "brand new pw", "confirm": "brand new pw"})
        assert old.get("/").status_code == 302

    def test_new_link_revokes_older_ones(self, app: Flask, site: Site) -> None:
        """Only the latest link of a user works."""
        first = self._link(app, "bob@example.com")
        self._link(app, "bob@example.com")
        assert app.test_client().get(first).status_code == 404

    def test_unknown_token_is_404(self, app: Flask, site: Site) -> None:
        """A made-up token shows the invalid-link page."""
        response = app.test_client().get("/password/not-a-token")
        assert response.status_code == 404
        assert re.search(rb"invalid, used or expired", response.data)
