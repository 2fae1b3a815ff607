"""An LMS simulated on 127.0.0.1 and autograde served beside it, registered with each other."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from grader.extensions import db
from grader.lti.platform_api import forget_tokens
from grader.lti.registration import register_platform
from tests.grader.lti.platform import Platform, ServedApp


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # Launch cookies are Secure: the test browser speaks https to the app.
    return {**app_config, "PREFERRED_URL_SCHEME": "https", "WTF_CSRF_ENABLED": False}


@pytest.fixture
def tool(app: Flask) -> Iterator[ServedApp]:
    """The app served on a real port, so the platform can read its key set."""
    served = ServedApp(app)
    yield served
    served.stop()


@pytest.fixture
def platform(app: Flask, tool: ServedApp) -> Iterator[Platform]:
    """A running simulated LMS, registered in the app's database."""
    lms = Platform(f"{tool.url}/lti/jwks")
    with app.app_context():
        register_platform(
            db.session, issuer=lms.issuer, client_id=lms.client_id,
            auth_login_url=f"{lms.url}/auth", auth_token_url=f"{lms.url}/token",
            key_set_url=f"{lms.url}/jwks", deployment_ids=[lms.deployment_id], name="Test LMS",
        )
        db.session.commit()
    forget_tokens()
    yield lms
    forget_tokens()
    lms.stop()


def login(client: FlaskClient, lms: Platform, sub: str) -> tuple[str, str, str]:
    """The OIDC login initiation; returns (state, nonce, the redirect to the platform)."""
    response = client.get("/lti/login", query_string={
        "iss": lms.issuer, "login_hint": sub, "client_id": lms.client_id,
        "target_link_uri": "https://localhost/lti/launch",
        "lti_deployment_id": lms.deployment_id,
    })
    if response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/lti/login":
        # Embedding on: the first pass only checked that the browser keeps our cookies.
        response = client.get(response.headers["Location"])
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    return query["state"][0], query["nonce"][0], location


def launch(client: FlaskClient, lms: Platform, sub: str, **overrides: Any) -> TestResponse:
    """A whole launch as a browser does it: login, the platform's form, the post."""
    _, _, location = login(client, lms, sub)
    form = lms.authorize(location, **overrides)
    assert form["action"].endswith("/lti/launch")
    return client.post("/lti/launch", data={"id_token": form["id_token"],
                                            "state": form["state"]})
