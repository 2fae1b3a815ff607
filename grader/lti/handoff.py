"""One-time login links: how a launch inside an iframe whose cookies the browser blocks
continues in a new top-level window.

A link carries the user, a fingerprint of their password hash, the local page to open and a
random id, signed with the app's secret key. It is valid ``LTI_HANDOFF_SECONDS`` (2 minutes)
and only once: redeeming it records its id among the used nonces, whose unique constraint
refuses a second use even from two requests at the same moment.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy.exc as sa_exc
import sqlalchemy.orm as so
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from grader.lti.errors import LaunchRefused
from grader.models import LtiUsedNonce, User, utcnow
from grader.web.login import fingerprint

#: The "issuer" under which redeemed links are stored among the used nonces.
USED_KEY = "autograde:handoff"
_SALT = "autograde.lti.handoff"


@dataclass(frozen=True)
class Handoff:
    """What a valid link says: who, and which local page to open."""

    user_id: int
    target: str
    link_id: str


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def make_link_token(secret_key: str, user: User, target: str) -> str:
    """A signed token for ``user`` opening the local path ``target``."""
    if not target.startswith("/") or target.startswith("//"):
        raise ValueError(f"not a local path: {target!r}")
    payload = {"u": user.id, "pw": fingerprint(user), "to": target, "j": secrets.token_urlsafe(16)}
    return _serializer(secret_key).dumps(payload)


def read_link_token(
    session: so.Session, secret_key: str, token: str, max_age: float
) -> tuple[Handoff, User]:
    """Check a token's signature, age and user, without using it up.

    Raises:
        LaunchRefused: forged, expired, or its user is gone or changed their password.
    """
    try:
        payload: Any = _serializer(secret_key).loads(token, max_age=int(max_age))
    except SignatureExpired:
        raise LaunchRefused("this sign-in link has expired: launch again from the LMS") from None
    except BadSignature:
        raise LaunchRefused("this sign-in link is not valid") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        raise LaunchRefused("this sign-in link is not valid")
    user = session.get(User, payload["u"])
    if user is None or not hmac.compare_digest(str(payload.get("pw", "")), fingerprint(user)):
        raise LaunchRefused("this sign-in link is no longer valid")
    return Handoff(user.id, str(payload["to"]), str(payload["j"])), user


def redeem_link_token(
    session: so.Session, secret_key: str, token: str, max_age: float
) -> tuple[Handoff, User]:
    """Check a token and use it up (flushed; the caller commits).

    Raises:
        LaunchRefused: as ``read_link_token``, or the link was already used.
    """
    handoff, user = read_link_token(session, secret_key, token, max_age)
    try:
        with session.begin_nested():
            session.add(LtiUsedNonce(
                issuer=USED_KEY, nonce=handoff.link_id,
                # Kept past the token's own expiry, then swept with the launch nonces.
                expires_at=utcnow() + timedelta(seconds=2 * max_age + 60),
            ))
    except sa_exc.IntegrityError:
        raise LaunchRefused("this sign-in link was already used: launch again from the LMS") \
            from None
    return handoff, user
