"""API tokens: created once and shown once, stored as sha256, scoped, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.exceptions import InvalidInput, NotFound, Unauthorized
from grader.models import ApiToken, User, utcnow

#: Every scope a token can carry.
SCOPES = (
    "assignments:read",
    "roster:write",
    "submissions:write",
    "results:read",
    "grades:read",
    "regrades:write",
)
#: What an LMS integration needs; the default for an instructor's token.
INSTRUCTOR_DEFAULT_SCOPES = ("roster:write", "submissions:write", "results:read", "grades:read")
STUDENT_DEFAULT_SCOPES = ("submissions:write", "results:read")
TOKEN_PREFIX = "ag_"
#: last_used_at is written at most this often per token, so reads stay reads.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: so.Session, user: User, scopes: list[str] | None = None, name: str = "",
    expires_in: timedelta | None = None,
) -> tuple[str, ApiToken]:
    """Create a token for ``user``, valid until revoked or for ``expires_in``.

    Returns:
        The token itself (the only time it exists in clear) and its stored row.

    Raises:
        InvalidInput: an unknown scope, an instructor-only scope for a student, or a
            lifetime that is not positive.
    """
    if expires_in is not None and expires_in <= timedelta(0):
        raise InvalidInput("a token's lifetime must be positive")
    if scopes is None:
        scopes = list(
            INSTRUCTOR_DEFAULT_SCOPES if user.role == "instructor" else STUDENT_DEFAULT_SCOPES
        )
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidInput(f"unknown scope(s): {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    if user.role != "instructor":
        staff_only = sorted(set(scopes) - set(STUDENT_DEFAULT_SCOPES) - {"assignments:read"})
        if staff_only:
            raise InvalidInput(f"scope(s) for instructors only: {', '.join(staff_only)}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user=user,
        token_hash=hash_token(token),
        prefix=token[:10],
        name=name,
        scopes=sorted(set(scopes)),
        expires_at=utcnow() + expires_in if expires_in is not None else None,
    )
    session.add(row)
    session.flush()
    return token, row


def authenticate(session: so.Session, token: str) -> ApiToken:
    """The live token row for ``token``; records when it was last used.

    Raises:
        Unauthorized: unknown, revoked or expired token.
    """
    row = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        raise Unauthorized("invalid or revoked API token")
    now = utcnow()
    if row.expires_at is not None and now >= row.expires_at:
        raise Unauthorized("this API token has expired: create a new one")
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row


def revoke_token(session: so.Session, token_id: int) -> ApiToken:
    """Revoke a token by id; revoking twice is harmless.

    Raises:
        NotFound: no such token.
    """
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row
