"""autograde behind the docker-compose HTTPS front: Debian's caddy runs the repository's own
Caddyfile with ``tls internal`` (certificates from Caddy's local CA; a public CA's cannot be
fetched in a test) in front of the app. With the one proxy trusted, the redirect_uri the tool
sends the LMS is https; with the default (no proxy trusted) it is http, which no LMS would
accept; plain http is redirected to https; and a client cannot forge its address through
the proxy to dodge the login throttle."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
import sqlalchemy as sa
from flask import Flask

from grader.extensions import db
from grader.lti.registration import register_platform
from grader.models import LoginFailure
from tests.grader.lti.platform import ServedApp
from tests.services import ROOT, free_port

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

ISSUER = "https://lms.example.edu"


@pytest.fixture
def proxies() -> int:
    """How many proxies the app trusts (the compose file's value unless a test says)."""
    return 1


@pytest.fixture
def app_config(app_config: dict[str, Any], proxies: int) -> dict[str, Any]:
    # The compose file's web settings; the URL scheme is left at Flask's default (http), so
    # an https URL can only come from what the proxy forwarded.
    config = {**app_config, "TRUSTED_PROXIES": proxies, "SESSION_COOKIE_SECURE": True,
              "LOGIN_FAILURES_PER_IP": 3, "LOGIN_FAILURES_PER_ACCOUNT": 0}
    config.pop("PREFERRED_URL_SCHEME", None)
    return config


@dataclass
class Front:
    """Caddy in front of the app: its https origin, its plain-http port, its root CA."""

    origin: str
    http_port: int
    ca: Path


@pytest.fixture(scope="module")
def caddy_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Caddy's data (its local CA, the certificate for localhost), shared by the tests here."""
    return tmp_path_factory.mktemp("caddy")


def _start_caddy(caddy: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [caddy, "run", "--config", str(ROOT / "deploy" / "Caddyfile"),
             "--adapter", "caddyfile"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _answers(origin: str, ca: Path) -> bool:
    try:
        return ca.exists() and requests.get(origin + "/api/v1/health", verify=str(ca),
                                            timeout=5).ok
    except requests.exceptions.RequestException:
        return False


@pytest.fixture
def front(tool: ServedApp, caddy_home: Path) -> Iterator[Front]:
    """deploy/Caddyfile run by Debian's caddy, on free ports, in front of the app."""
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("Debian's caddy is not installed (apt-get install -y caddy)")
    https_port, http_port = free_port(), free_port()
    env = {**os.environ, "HOME": str(caddy_home), "XDG_DATA_HOME": str(caddy_home / "data"),
           "XDG_CONFIG_HOME": str(caddy_home / "config"),
           "AUTOGRADE_DOMAIN": "localhost", "AUTOGRADE_TLS": "internal",
           "AUTOGRADE_HTTPS_PORT": str(https_port), "AUTOGRADE_HTTP_PORT": str(http_port),
           "AUTOGRADE_CADDY_ADMIN": "off",
           "AUTOGRADE_UPSTREAM": tool.url.removeprefix("http://")}
    ca = caddy_home / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    origin = f"https://localhost:{https_port}"
    log = caddy_home / "caddy.log"
    process = None
    try:
        # Caddy 2.6 can lose the very first certificate it issues to its own storage clean-up
        # running at the same moment, and then waits a minute before trying again: start it
        # afresh instead (the CA and any certificate already made are kept).
        for _ in range(3):
            process = _start_caddy(caddy, env, log)
            deadline = time.monotonic() + 15
            while not _answers(origin, ca) and time.monotonic() < deadline:
                if process.poll() is not None:
                    break
                time.sleep(0.2)
            if _answers(origin, ca):
                break
            process.terminate()
            process.wait(10)
        else:
            raise AssertionError(log.read_text()[-3000:])
        yield Front(origin, http_port, ca)
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(10)


def _register(app: Flask) -> None:
    with app.app_context():
        register_platform(db.session, issuer=ISSUER, client_id="tool-1",
                          auth_login_url=f"{ISSUER}/auth", auth_token_url=f"{ISSUER}/token",
                          key_set_url=f"{ISSUER}/jwks", deployment_ids=["d-1"], name="LMS")
        db.session.commit()


def _redirect_uri(front: Front) -> str:
    """Start an LTI login through the proxy, as the LMS makes the browser do, and return the
    redirect_uri the tool sends the browser back to the LMS with."""
    browser = requests.Session()
    url = f"{front.origin}/lti/login"
    params = {"iss": ISSUER, "login_hint": "s-1", "client_id": "tool-1",
              "target_link_uri": f"{front.origin}/lti/launch", "lti_deployment_id": "d-1"}
    response = browser.get(url, params=params, allow_redirects=False, verify=str(front.ca))
    for _ in range(3):
        location = urljoin(response.url, response.headers["Location"])
        if urlsplit(location).netloc != urlsplit(front.origin).netloc:
            break
        # The tool's own cookie check (the app serves embedded, over HTTPS) comes first.
        response = browser.get(location, allow_redirects=False, verify=str(front.ca))
    assert location.startswith(f"{ISSUER}/auth?"), location
    (redirect_uri,) = parse_qs(urlsplit(location).query)["redirect_uri"]
    return redirect_uri


def test_redirect_uri_is_https_behind_the_tls_proxy(app: Flask, front: Front) -> None:
    """With the compose file's TRUSTED_PROXIES=1, the launch URL sent to the LMS is https."""
    _register(app)
    assert _redirect_uri(front) == f"{front.origin}/lti/launch"


@pytest.mark.parametrize("proxies", [0])
def test_without_trusting_the_proxy_the_redirect_uri_is_http(app: Flask, front: Front) -> None:
    """The default (no proxy trusted) sends http://…, which would not match the https URL
    registered in the LMS: why the compose file sets the count."""
    _register(app)
    assert _redirect_uri(front) == f"{front.origin.replace('https', 'http')}/lti/launch"


def test_plain_http_is_sent_to_https(app: Flask, front: Front) -> None:
    """A request on the http port is redirected to the same host and path over https (on
    https's standard port, which is the one the compose file publishes)."""
    response = requests.get(f"http://localhost:{front.http_port}/login?next=/x",
                            allow_redirects=False, timeout=10)
    assert response.status_code in (301, 308)
    assert response.headers["Location"] == "https://localhost/login?next=/x"


def test_forged_forwarded_for_does_not_dodge_the_login_throttle(app: Flask,
                                                                front: Front) -> None:
    """Attack: each failed login claims another address in X-Forwarded-For. Caddy replaces
    the header, the app sees the real client, and the fourth try is refused."""
    statuses = []
    for i in range(4):
        response = requests.post(
            f"{front.origin}/login", verify=str(front.ca), timeout=10,
            data={"email": f"nobody{i}@example.com", "password": "wrong"},
            headers={"X-Forwarded-For": f"203.0.113.{i + 1}"})
        statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 429]
    with app.app_context():
        addresses = set(db.session.scalars(sa.select(LoginFailure.ip)))
    assert addresses and addresses <= {"127.0.0.1", "::1"}, addresses
