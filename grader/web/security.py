"""CSRF on every form, hardened session cookies, and security headers on every response.

Framing: the pages may be shown in an iframe only by the registered LMSs (the origins of
their issuer and authorization URLs) and the origins of ``FRAME_ANCESTORS``, and only while
embedding (``LTI_EMBED``) is on; otherwise ``frame-ancestors 'none'`` and
``X-Frame-Options: DENY``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, Response, current_app
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
log = logging.getLogger(__name__)

#: No inline script or style anywhere: everything comes from /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
_CACHE_KEY = "autograde.frame_ancestors"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
#: A DNS name or an IP literal: nothing a CSP source list would read as a wildcard or keyword.
_HOST = re.compile(rf"^(?:{_LABEL}(?:\.{_LABEL})*|[0-9a-f:.]+)$")


def init_app(app: Flask) -> None:
    """CSRF for the pages (the bearer-token API is exempt), cookie flags, headers."""
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("LTI_EMBED") is None:
        app.config["LTI_EMBED"] = bool(app.config.get("SESSION_COOKIE_SECURE"))
    if app.config["LTI_EMBED"]:
        # Inside an LMS's iframe every request to us is cross-site: only SameSite=None cookies
        # are sent, and Partitioned (CHIPS) keeps them once third-party cookies are phased out.
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["SESSION_COOKIE_SAMESITE"] = "None"
        app.config["SESSION_COOKIE_PARTITIONED"] = True
    elif not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Fail at start, not on the first page, when an extra origin is malformed.
    app.config["FRAME_ANCESTORS"] = extra_origins(app.config.get("FRAME_ANCESTORS"))
    # AUTOGRADE_SESSION_COOKIE_SECURE=true behind HTTPS; the CSRF check then also wants a
    # same-origin Referer, which browsers send under our Referrer-Policy.
    csrf.init_app(app)
    api = app.blueprints.get("api")
    if api is not None:
        # The API authenticates with bearer tokens, never cookies: CSRF can't apply.
        csrf.exempt(api)

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        ancestors = frame_ancestors_directive()
        headers.setdefault(
            "Content-Security-Policy",
            CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'",
                                            f"frame-ancestors {ancestors}"),
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        if ancestors == "'none'":
            headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL (default ports left out), or None when the
    URL has no such origin or its host could be read as a CSP wildcard or keyword."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or parts.username or parts.password:
        return None
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host or not _HOST.match(host):
        return None
    if ":" in host:
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def extra_origins(value: str | Iterable[str] | None) -> list[str]:
    """The origins of the ``FRAME_ANCESTORS`` setting: a string of origins separated by
    spaces or commas, or a list.

    Raises:
        ValueError: an entry that is not an http(s) origin (``*`` and wildcards included).
    """
    if not value:
        return []
    entries = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    origins = []
    for entry in entries:
        origin = origin_of(str(entry))
        if origin is None or urlsplit(str(entry)).path.strip("/") or "?" in str(entry):
            raise ValueError(f"FRAME_ANCESTORS: {entry!r} is not an http(s) origin")
        origins.append(origin)
    return origins


def frame_ancestors(app: Flask | None = None) -> list[str]:
    """The origins allowed to frame the pages now: none unless embedding is on; else the
    registered platforms' and the extra ones (read from the database at most every
    ``FRAME_ANCESTORS_CACHE_SECONDS``)."""
    app = app or current_app
    if not app.config["LTI_EMBED"]:
        return []
    cached = app.extensions.get(_CACHE_KEY)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return list(cached[1])
    try:
        platforms = _platform_origins(app)
    except sa.exc.SQLAlchemyError as exc:
        # Fail closed: no framing while the database cannot say who may frame us.
        log.warning("frame-ancestors: could not read the registered platforms: %s", exc)
        return []
    origins = list(dict.fromkeys(platforms + app.config["FRAME_ANCESTORS"]))
    app.extensions[_CACHE_KEY] = (now + float(app.config["FRAME_ANCESTORS_CACHE_SECONDS"]),
                                  tuple(origins))
    return origins


def forget_frame_ancestors(app: Flask) -> None:
    """Drop the cached origins (after registering a platform in this process)."""
    app.extensions.pop(_CACHE_KEY, None)


def frame_ancestors_directive() -> str:
    """The value of CSP ``frame-ancestors`` for this request."""
    return " ".join(frame_ancestors()) or "'none'"


def _platform_origins(app: Flask) -> list[str]:
    from grader.extensions import db
    from grader.models import LtiPlatform

    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(LtiPlatform.issuer, LtiPlatform.auth_login_url)).all()
    found = []
    for issuer, login_url in rows:
        for url in (issuer, login_url):
            origin = origin_of(url)
            if origin is None:
                log.warning("frame-ancestors: ignoring %r, not an http(s) origin", url)
            else:
                found.append(origin)
    return found
