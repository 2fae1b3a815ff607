"""Calls to a platform: its key set, OAuth2 client credentials, AGS and NRPS.

Every call has a timeout and turns any failure into a ``PlatformError`` that names the URL,
the status and the start of the platform's answer, for the logs and the reconciliation page.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
import requests

from grader.lti.errors import PlatformError
from grader.models import LtiKey, LtiPlatform

TIMEOUT = 10.0
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_RESULT = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"

LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE = "application/vnd.ims.lis.v1.score+json"
RESULTS = "application/vnd.ims.lis.v2.resultcontainer+json"
MEMBERSHIPS = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"

_lock = threading.Lock()
_key_sets: dict[str, tuple[float, dict[str, Any]]] = {}
_tokens: dict[tuple[int, str], tuple[float, str]] = {}
KEY_SET_TTL = 600.0


def _request(method: str, url: str, **kwargs: Any) -> requests.Response:
    # Redirects are not followed: a platform's service answers where the launch said it is,
    # and a redirect (to an internal address, say) is an error like any other.
    kwargs.setdefault("allow_redirects", False)
    try:
        response = requests.request(method, url, timeout=TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        raise PlatformError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
    if response.status_code >= 300:
        raise PlatformError(
            f"{method} {url}: HTTP {response.status_code}: {response.text[:500]}",
            status=response.status_code,
        )
    return response


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise PlatformError(
            f"{response.request.method} {response.url}: not JSON: {response.text[:200]}"
        ) from None


def platform_key(platform: LtiPlatform, kid: str) -> jwt.PyJWK:
    """The platform's public key ``kid``, from its key set (cached, fetched again once when
    the key is unknown: the platform may have rotated)."""
    for refresh in (False, True):
        keys = _key_set(platform.key_set_url, refresh)
        for data in keys.get("keys", []):
            if isinstance(data, dict) and data.get("kid") == kid:
                if data.get("kty") != "RSA" or data.get("alg", "RS256") != "RS256":
                    raise PlatformError(f"key {kid} of {platform.key_set_url} is not an RS256 key")
                return jwt.PyJWK(data, algorithm="RS256")
    raise PlatformError(f"no key {kid!r} in the platform's key set {platform.key_set_url}")


def _key_set(url: str, refresh: bool) -> dict[str, Any]:
    now = time.monotonic()
    with _lock:
        cached = _key_sets.get(url)
    if cached and not refresh and now - cached[0] < KEY_SET_TTL:
        return cached[1]
    data = _json(_request("GET", url, headers={"Accept": "application/json"}))
    if not isinstance(data, dict):
        raise PlatformError(f"GET {url}: not a key set")
    with _lock:
        _key_sets[url] = (now, data)
    return data


def client_assertion(platform: LtiPlatform, key: LtiKey) -> str:
    """Our signed JWT proving we are the tool registered as ``platform.client_id``."""
    now = int(time.time())
    claims = {
        "iss": platform.client_id,
        "sub": platform.client_id,
        "aud": platform.auth_audience or platform.auth_token_url,
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})


def access_token(platform: LtiPlatform, key: LtiKey, scopes: list[str]) -> str:
    """An OAuth2 bearer token for ``scopes`` (client credentials grant), cached until it is
    about to expire."""
    scope = " ".join(sorted(scopes))
    cache_key = (platform.id, scope)
    with _lock:
        cached = _tokens.get(cache_key)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    response = _request(
        "POST",
        platform.auth_token_url,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": client_assertion(platform, key),
            "scope": scope,
        },
        headers={"Accept": "application/json"},
    )
    data = _json(response)
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise PlatformError(f"POST {platform.auth_token_url}: no access_token in the answer")
    lifetime = float(data.get("expires_in") or 3600)
    with _lock:
        _tokens[cache_key] = (time.monotonic() + max(0.0, lifetime - 60), token)
    return token


def forget_tokens() -> None:
    """Drop cached tokens and key sets (a platform revoked them; tests)."""
    with _lock:
        _tokens.clear()
        _key_sets.clear()


class Client:
    """The AGS and NRPS calls of one platform, authorised with our current key."""

    def __init__(self, platform: LtiPlatform, key: LtiKey) -> None:
        self.platform, self.key = platform, key

    def _auth(self, scope: str, accept: str, content_type: str | None = None) -> dict[str, str]:
        token = access_token(self.platform, self.key, [scope])
        headers = {"Authorization": f"Bearer {token}", "Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def find_line_item(self, lineitems_url: str, resource_link_id: str, tag: str) -> str | None:
        """The URL of the line item for this resource link and tag, if the platform has one."""
        params = {"resource_link_id": resource_link_id, "tag": tag}
        for item in self._pages(lineitems_url, SCOPE_LINEITEM, LINEITEMS, params):
            if item.get("resourceLinkId") == resource_link_id and item.get("tag") == tag:
                return str(item["id"])
        return None

    def create_line_item(self, lineitems_url: str, item: dict[str, Any]) -> str:
        """POST a new line item; returns its URL."""
        response = _request(
            "POST",
            lineitems_url,
            json=item,
            headers=self._auth(SCOPE_LINEITEM, LINEITEM, LINEITEM),
        )
        data = _json(response)
        if not isinstance(data, dict) or not data.get("id"):
            raise PlatformError(f"POST {lineitems_url}: the new line item has no id")
        return str(data["id"])

    def post_score(self, lineitem_url: str, score: dict[str, Any]) -> None:
        """POST a score to the line item's ``/scores`` endpoint."""
        _request(
            "POST",
            _child(lineitem_url, "scores"),
            json=score,
            headers=self._auth(SCOPE_SCORE, "application/json", SCORE),
        )

    def results(self, lineitem_url: str) -> list[dict[str, Any]]:
        """The line item's results (what the platform's gradebook holds)."""
        return list(self._pages(_child(lineitem_url, "results"), SCOPE_RESULT, RESULTS, None))

    def members(self, memberships_url: str) -> list[dict[str, Any]]:
        """The context's members, every page."""
        return list(self._pages(memberships_url, SCOPE_NRPS, MEMBERSHIPS, None, key="members"))

    def _pages(
        self,
        url: str,
        scope: str,
        accept: str,
        params: dict[str, str] | None,
        key: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        next_url: str | None = url
        for _ in range(1000):
            if next_url is None:
                return
            response = _request("GET", next_url, params=params, headers=self._auth(scope, accept))
            params = None
            data = _json(response)
            items = data.get(key) if key and isinstance(data, dict) else data
            if not isinstance(items, list):
                raise PlatformError(f"GET {next_url}: unexpected answer {str(data)[:200]}")
            yield from (i for i in items if isinstance(i, dict))
            next_url = response.links.get("next", {}).get("url")


def _child(lineitem_url: str, leaf: str) -> str:
    """``.../lineitems/7?x=1`` -> ``.../lineitems/7/scores?x=1`` (AGS keeps the query)."""
    parts = urlsplit(lineitem_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + leaf))
