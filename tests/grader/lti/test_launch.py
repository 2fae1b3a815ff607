"""Launches from the simulated LMS: who lands where, and every forged launch refused."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from grader.extensions import db
from grader.models import (
    Assignment,
    Course,
    Enrollment,
    LtiContext,
    LtiResourceLink,
    LtiUserLink,
    User,
)
from tests.grader.lti.conftest import launch, login
from tests.grader.lti.platform import LTI, Platform


def counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) or 0
            for m in (User, Course, Enrollment, LtiContext, LtiResourceLink, LtiUserLink)
        }


def choose_plugin(app: Flask, lms: Platform) -> int:
    """An instructor launches and picks the softmax-backprop plugin; returns the assignment."""
    lms.add_user("t-1", "Tess Teacher", "tess@uni.example", instructor=True)
    client = app.test_client()
    response = launch(client, lms, "t-1")
    if response.headers.get("Location", "").startswith("/lti/landing/"):
        response = client.get(response.headers["Location"])  # embedding on: session checked
    assert response.status_code == 303 and "/choose" in response.headers["Location"]
    chosen = client.post(response.headers["Location"], data={"choice": "plugin:softmax-backprop"})
    assert chosen.status_code == 303
    with app.app_context():
        link = db.session.scalars(sa.select(LtiResourceLink)).one()
        assert link.assignment_id is not None
        return link.assignment_id


class TestLaunch:
    def test_instructor_launch_chooses_the_assignment_once(
        self, app: Flask, platform: Platform
    ) -> None:
        """The first instructor launch creates the course and asks which assignment; the next
        launches go straight to it."""
        assignment_id = choose_plugin(app, platform)
        with app.app_context():
            assignment = db.session.get_one(Assignment, assignment_id)
            assert assignment.slug == "softmax-backprop"
            assert assignment.course.title == "Numerical Methods"
            teacher = db.session.scalars(sa.select(User)).one()
            assert teacher.role == "instructor" and teacher.email == "tess@uni.example"
        again = launch(app.test_client(), platform, "t-1")
        assert again.status_code == 303
        assert f"/{assignment_id}" in again.headers["Location"]
        assert "choose" not in again.headers["Location"]

    def test_student_launch_lands_logged_in_on_the_assignment(
        self, app: Flask, platform: Platform
    ) -> None:
        """A learner's launch creates the student and enrollment and logs them in."""
        assignment_id = choose_plugin(app, platform)
        platform.add_user("s-1", "Sam Student", "sam@uni.example")
        client = app.test_client()
        response = launch(client, platform, "s-1")
        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/assignments/{assignment_id}")
        with client.session_transaction() as cookie:
            uid = cookie["uid"]
        with app.app_context():
            sam = db.session.get_one(User, uid)
            assert (sam.name, sam.email, sam.role) == ("Sam Student", "sam@uni.example", "student")
            enrollment = db.session.scalars(
                sa.select(Enrollment).where(Enrollment.user_id == sam.id)).one()
            assert enrollment.role == "student"
        page = client.get(response.headers["Location"])
        assert page.status_code == 200

    def test_student_before_setup_sees_a_notice(self, app: Flask, platform: Platform) -> None:
        """A learner launching a link no instructor set up is told so, not sent to a chooser."""
        platform.add_user("s-1", "Sam", "sam@uni.example")
        response = launch(app.test_client(), platform, "s-1")
        assert response.status_code == 200
        assert b"not set up yet" in response.data

    def test_jwks_publishes_our_key(self, client: Any, platform: Platform) -> None:
        """/lti/jwks serves an RS256 public key with a kid and no private part."""
        keys = client.get("/lti/jwks").json["keys"]
        assert keys and keys[0]["alg"] == "RS256" and keys[0]["kid"]
        assert "d" not in keys[0]


class TestRefused:
    """Each forged launch is refused with a reason and leaves nothing behind."""

    def _post(self, app: Flask, lms: Platform, claims: dict[str, Any] | None = None,
              **kwargs: Any) -> Any:
        lms.add_user("s-1", "Sam", "sam@uni.example")
        client = app.test_client()
        state, nonce, _ = login(client, lms, "s-1")
        token = lms.sign({**lms.claims(lms.users["s-1"], nonce), **(claims or {})}, **kwargs)
        return client, state, token

    def _refused(self, app: Flask, response: Any, before: dict[str, int], reason: str) -> None:
        assert response.status_code in (400, 403), response.text
        assert reason in response.get_data(as_text=True)
        assert counts(app) == before
        assert "uid" not in response.headers.get("Set-Cookie", "")

    def test_forged_state(self, app: Flask, platform: Platform) -> None:
        """A state we never issued is refused."""
        before = counts(app)
        client, _, token = self._post(app, platform)
        response = client.post("/lti/launch", data={"id_token": token, "state": "forged"})
        self._refused(app, response, before, "not one we issued")

    def test_state_from_another_browser(self, app: Flask, platform: Platform) -> None:
        """A real state posted by a browser that did not start the login is refused."""
        before = counts(app)
        _, state, token = self._post(app, platform)
        response = app.test_client().post("/lti/launch", data={"id_token": token, "state": state})
        self._refused(app, response, before, "another browser")

    def test_wrong_audience(self, app: Flask, platform: Platform) -> None:
        """A token meant for another tool is refused."""
        before = counts(app)
        client, state, token = self._post(app, platform, {"aud": "some-other-tool"})
        response = client.post("/lti/launch", data={"id_token": token, "state": state})
        self._refused(app, response, before, "another tool")

    def test_wrong_azp(self, app: Flask, platform: Platform) -> None:
        """Several audiences with an azp that is not us are refused."""
        before = counts(app)
        client, state, token = self._post(
            app, platform, {"aud": [platform.client_id, "x"], "azp": "x"})
        response = client.post("/lti/launch", data={"id_token": token, "state": state})
        self._refused(app, response, before, "azp")

    def test_expired_token(self, app: Flask, platform: Platform) -> None:
        """A token past its exp (beyond the leeway) is refused."""
        before = counts(app)
        now = int(time.time())
        client, state, token = self._post(app, platform, {"iat": now - 900, "exp": now - 600})
        response = client.post("/lti/launch", data={"id_token": token, "state": state})
        self._refused(app, response, before, "expired")

    def test_bad_signature(self, app: Flask, platform: Platform) -> None:
        """A token signed by another key under the platform's kid is refused."""
        before = counts(app)
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        client, state, token = self._post(app, platform, key=other)
        response = client.post("/lti/launch", data={"id_token": token, "state": state})
        self._refused(app, response, before, "signature")

    def test_replayed_launch(self, app: Flask, platform: Platform) -> None:
        """Posting an accepted launch again is refused, and so is its token with a new
        login (the nonce is single use and bound to its login)."""
        client, state, token = self._post(app, platform)
        first = client.post("/lti/launch", data={"id_token": token, "state": state})
        assert first.status_code in (200, 303)
        before = counts(app)
        again = client.post("/lti/launch", data={"id_token": token, "state": state})
        self._refused(app, again, before, "already used")
        fresh_state, _, _ = login(client, platform, "s-1")
        replay = client.post("/lti/launch", data={"id_token": token, "state": fresh_state})
        self._refused(app, replay, before, "nonce")

    def test_unknown_deployment(self, app: Flask, platform: Platform) -> None:
        """A deployment id that is not registered is refused (at login and at launch)."""
        before = counts(app)
        client, state, token = self._post(app, platform, {LTI + "deployment_id": "elsewhere"})
        response = client.post("/lti/launch", data={"id_token": token, "state": state})
        self._refused(app, response, before, "deployment")
        at_login = client.get("/lti/login", query_string={
            "iss": platform.issuer, "login_hint": "s-1", "target_link_uri": "x",
            "lti_deployment_id": "elsewhere"})
        assert at_login.status_code == 400

    @pytest.mark.parametrize("claim, value, reason", [
        (LTI + "version", "1.1", "version"),
        (LTI + "message_type", "LtiSubmissionReviewRequest", "message type"),
        (LTI + "roles", None, "Roles"),
    ])
    def test_bad_message(self, app: Flask, platform: Platform, claim: str, value: Any,
                         reason: str) -> None:
        """Wrong version, unsupported message type or missing roles are refused."""
        before = counts(app)
        client, state, token = self._post(app, platform, {claim: value})
        response = client.post("/lti/launch", data={"id_token": token, "state": state})
        self._refused(app, response, before, reason)

    def test_unknown_issuer_at_login(self, client: Any, platform: Platform) -> None:
        """A login from an unregistered issuer is refused with a page."""
        response = client.get("/lti/login", query_string={
            "iss": "https://evil.example", "login_hint": "x", "target_link_uri": "y"})
        assert response.status_code == 400
        assert b"no platform is registered" in response.data
