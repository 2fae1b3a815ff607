"""Our RSA key pairs: the newest signs, rotated-out keys stay published until they expire."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from grader.models import LtiKey, utcnow


def _new_key(now: datetime) -> LtiKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    kid = uuid.uuid4().hex
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return LtiKey(kid=kid, private_pem=pem, public_jwk=jwk, created_at=now)


def signing_key(session: so.Session) -> LtiKey:
    """The key we sign with: the newest one not rotated out (made on first use, flushed)."""
    key = session.scalar(
        sa.select(LtiKey).where(LtiKey.retired_at.is_(None)).order_by(LtiKey.id.desc()).limit(1)
    )
    if key is None:
        key = _new_key(utcnow())
        session.add(key)
        session.flush()
    return key


def rotate(session: so.Session, keep_old_for: timedelta, now: datetime | None = None) -> LtiKey:
    """Start signing with a new key; the previous ones stay published for ``keep_old_for``.

    Platforms cache our key set, so a retired key must outlive both their cache and the tokens
    signed with it.
    """
    now = now or utcnow()
    for old in session.scalars(sa.select(LtiKey).where(LtiKey.retired_at.is_(None))):
        old.retired_at = now
        old.expires_at = now + keep_old_for
    key = _new_key(now)
    session.add(key)
    session.flush()
    return key


def jwks(session: so.Session, now: datetime | None = None) -> dict[str, Any]:
    """The public key set we publish: active keys and retired ones not yet expired."""
    now = now or utcnow()
    signing_key(session)
    keys = session.scalars(
        sa.select(LtiKey)
        .where(sa.or_(LtiKey.expires_at.is_(None), LtiKey.expires_at > now))
        .order_by(LtiKey.id.desc())
    ).all()
    return {"keys": [dict(k.public_jwk) for k in keys]}
