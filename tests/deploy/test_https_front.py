"""docker-compose serves HTTPS through Caddy, and only through it (checked by parsing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return dict(document["services"])


class TestHttpsFront:
    def test_caddy_publishes_the_https_ports(self, services: dict[str, Any]) -> None:
        """Caddy answers on 80 (redirect, ACME) and 443 (HTTPS, HTTP/3) with our Caddyfile."""
        caddy = services["caddy"]
        assert set(caddy["ports"]) == {"80:80", "443:443", "443:443/udp"}
        assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
        assert "caddy-data:/data" in caddy["volumes"]
        assert caddy["depends_on"]["web"]["condition"] == "service_healthy"

    def test_web_is_reachable_only_through_caddy(self, services: dict[str, Any]) -> None:
        """No service but caddy publishes a port: a client reaching gunicorn directly could
        forge X-Forwarded-For and dodge the per-address login throttle."""
        published = {name for name, service in services.items()
                     if any(not str(port).startswith("127.0.0.1:")
                            for port in service.get("ports", []))}
        assert published == {"caddy"}
        # Flower (optional) listens on the host's loopback only.
        assert services["flower"]["ports"] == ["127.0.0.1:5555:5555"]
        assert services["web"]["expose"] == ["8000"]

    def test_web_trusts_exactly_one_proxy_and_sets_secure_cookies(
        self, services: dict[str, Any]
    ) -> None:
        """The trusted-proxy count matches the one proxy in front; cookies are Secure."""
        env = services["web"]["environment"]
        assert env["AUTOGRADE_TRUSTED_PROXIES"] == "1"
        assert env["AUTOGRADE_SESSION_COOKIE_SECURE"] == "true"
        # The database and broker still come from the shared settings.
        assert env["AUTOGRADE_REDIS_URL"] == "redis://redis:6379/0"

    def test_caddyfile_proxies_to_web_with_a_configured_domain(self) -> None:
        """The site is AUTOGRADE_DOMAIN (localhost by default, with Caddy's own CA) and its
        requests go to web:8000."""
        text = (ROOT / "deploy" / "Caddyfile").read_text()
        assert "{$AUTOGRADE_DOMAIN:localhost} {" in text
        assert "tls {$AUTOGRADE_TLS:internal}" in text
        assert "reverse_proxy {$AUTOGRADE_UPSTREAM:web:8000}" in text
        assert "skip_install_trust" in text
