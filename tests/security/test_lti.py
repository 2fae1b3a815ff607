"""Attacks on the LTI 1.3 tool from a malicious or impersonated platform."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient

from grader.domain.users import create_user
from grader.extensions import db
from grader.lti.registration import register_platform
from grader.models import Course, LtiContext, User
from tests.grader.lti.conftest import launch, login
from tests.grader.lti.conftest import platform as platform  # noqa: F401  (fixture)
from tests.grader.lti.conftest import tool as tool  # noqa: F401  (fixture)
from tests.grader.lti.platform import Platform, ServedApp

XSS = '<script>alert("lti")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # Launch cookies are Secure: the test browser speaks https to the app.
    return {**app_config, "PREFERRED_URL_SCHEME": "https"}


@pytest.fixture
def second(app: Flask, tool: ServedApp) -> Iterator[Platform]:  # noqa: F811
    """Another registered LMS with keys of its own."""
    lms = Platform(f"{tool.url}/lti/jwks")
    lms.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    lms.client_id = "autograde-client-2"
    with app.app_context():
        register_platform(
            db.session, issuer=lms.issuer, client_id=lms.client_id,
            auth_login_url=f"{lms.url}/auth", auth_token_url=f"{lms.url}/token",
            key_set_url=f"{lms.url}/jwks", deployment_ids=[lms.deployment_id], name="Other LMS",
        )
        db.session.commit()
    yield lms
    lms.stop()


def _users(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(User)) or 0


def _refused(app: Flask, response: Any, users_before: int) -> None:
    assert response.status_code in (400, 403), response.text
    assert _users(app) == users_before
    assert "session=" not in response.headers.get("Set-Cookie", "")


def _forge(client: FlaskClient, victim: Platform, sub: str) -> tuple[str, dict[str, Any]]:
    victim.add_user(sub, "Sam", "sam@uni.example")
    state, nonce, _ = login(client, victim, sub)
    return state, victim.claims(victim.users[sub], nonce)


class TestForgedLaunches:
    def test_other_platform_cannot_sign_for_a_platforms_issuer(
        self, app: Flask, platform: Platform, second: Platform  # noqa: F811
    ) -> None:
        """A token signed by platform B's key but claiming platform A's issuer (and A's key
        id) is refused: A's key set decides."""
        before = _users(app)
        client = app.test_client()
        state, claims = _forge(client, platform, "s-1")
        token = platform.sign(claims, key=second.private_key)
        response = client.post("/lti/launch", data={"id_token": token, "state": state})
        _refused(app, response, before)
        assert "signature does not verify" in response.get_data(as_text=True)

    def test_platform_cannot_claim_anothers_issuer_in_its_own_login(
        self, app: Flask, platform: Platform, second: Platform  # noqa: F811
    ) -> None:
        """Platform B, in a login it started itself, can't launch users as platform A."""
        before = _users(app)
        client = app.test_client()
        second.add_user("s-9", "Mallory", "mallory@uni.example")
        state, nonce, _ = login(client, second, "s-9")
        claims = {**second.claims(second.users["s-9"], nonce), "iss": platform.issuer}
        response = client.post("/lti/launch", data={"id_token": second.sign(claims),
                                                    "state": state})
        _refused(app, response, before)

    @pytest.mark.parametrize("alg", ["HS256", "none"])
    def test_symmetric_or_unsigned_tokens_are_refused(
        self, app: Flask, platform: Platform, alg: str  # noqa: F811
    ) -> None:
        """A token 'signed' with HS256 using the platform's public key as the secret, or not
        signed at all, is refused (only RS256 is accepted)."""
        before = _users(app)
        client = app.test_client()
        state, claims = _forge(client, platform, "s-2")
        header = {"alg": alg, "kid": platform.kid, "typ": "JWT"}
        if alg == "HS256":
            public = platform.private_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            signing_input = ".".join(_b64(part) for part in (header, claims))
            import hashlib
            import hmac

            sig = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
            token = signing_input + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()
        else:
            token = ".".join(_b64(part) for part in (header, claims)) + "."
        response = client.post("/lti/launch", data={"id_token": token, "state": state})
        _refused(app, response, before)
        assert "not RS256" in response.get_data(as_text=True)

    def test_token_with_a_foreign_key_id_is_refused(
        self, app: Flask, platform: Platform  # noqa: F811
    ) -> None:
        """A token naming a key the platform's key set doesn't have is refused."""
        before = _users(app)
        client = app.test_client()
        state, claims = _forge(client, platform, "s-3")
        token = jwt.encode(claims, platform.private_key, algorithm="RS256",
                           headers={"kid": "../../../etc/passwd"})
        response = client.post("/lti/launch", data={"id_token": token, "state": state})
        _refused(app, response, before)

    def test_refusal_page_escapes_what_the_token_says(
        self, app: Flask, platform: Platform  # noqa: F811
    ) -> None:
        """A refusal reason quoting the token's own values (here the message type) shows
        them escaped."""
        client = app.test_client()
        state, claims = _forge(client, platform, "s-4")
        claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] = XSS
        response = client.post("/lti/launch", data={"id_token": platform.sign(claims),
                                                    "state": state})
        assert response.status_code == 403
        body = response.get_data(as_text=True)
        assert "<script>alert" not in body and "&lt;script&gt;" in body


class TestClaimsAsText:
    def test_html_in_names_and_titles_is_escaped(
        self, app: Flask, platform: Platform  # noqa: F811
    ) -> None:
        """HTML in a launch's name, course title and link title is stored as text and shown
        escaped on the pages."""
        platform.add_user("t-1", XSS, "tess@uni.example", instructor=True)
        platform.add_user("s-1", XSS, "sam@uni.example")
        context = {"id": platform.context_id, "title": XSS}
        link = {"id": "link-1", "title": XSS}
        lti = "https://purl.imsglobal.org/spec/lti/claim/"
        extra = {lti + "context": context, lti + "resource_link": link}
        teacher = app.test_client()
        launched = launch(teacher, platform, "t-1", **extra)
        assert launched.status_code in (302, 303)
        student = app.test_client()
        seen = launch(student, platform, "s-1", **extra)
        _no_raw_html(seen.get_data(as_text=True))
        with app.app_context():
            course_id = db.session.scalars(sa.select(LtiContext.course_id)).one()
            assert db.session.get_one(Course, course_id).title == XSS
        for path in ("/teach/", f"/teach/courses/{course_id}",
                     f"/teach/courses/{course_id}/roster"):
            page = teacher.get(path)
            if page.status_code in (302, 303):  # an embedding step in between
                page = teacher.get(page.headers["Location"])
            assert page.status_code == 200, path
            _no_raw_html(page.get_data(as_text=True))


class TestAccountLinking:
    def test_platform_email_claim_does_not_take_over_an_account(
        self, app: Flask, platform: Platform, second: Platform  # noqa: F811
    ) -> None:
        """A launch from platform B whose email claim is an existing account's (made with a
        password, or by platform A) does not log in as that account."""
        with app.app_context():
            teacher = create_user(db.session, "teacher@example.com", role="instructor",
                                  password="correct horse")
            db.session.commit()
            teacher_id = teacher.id
        second.add_user("evil-1", "Mallory", "teacher@example.com")
        client = app.test_client()
        launch(client, second, "evil-1")
        with client.session_transaction() as sess:
            assert sess.get("uid") != teacher_id


def _no_raw_html(body: str) -> None:
    assert "<script>alert" not in body and "<img src=x" not in body


def _b64(part: dict[str, Any]) -> str:
    raw = json.dumps(part, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
