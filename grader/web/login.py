"""Who is logged in: the session cookie names a user and carries a fingerprint of them.

The fingerprint is the end of the password hash and the user's session epoch. A new password
ends every other session; logging out raises the epoch, so a copied session cookie stops
working too (Flask keeps the session in the signed cookie, so it cannot be deleted server-side).
"""

from __future__ import annotations

import hmac

from flask import g, session

from grader.extensions import db
from grader.models import User


def fingerprint(user: User) -> str:
    """What a session of ``user`` must carry to count."""
    return f"{(user.password_hash or '')[-16:]}:{user.session_epoch}"


def log_in(user: User) -> None:
    """Start a fresh session for ``user`` (whatever the old one held is dropped)."""
    session.clear()
    session["uid"], session["pw"] = user.id, fingerprint(user)
    g.pop("user", None)


def log_out(user: User | None) -> None:
    """End this session, and every other session cookie of the user (flushed, not committed)."""
    session.clear()
    g.pop("user", None)
    if user is not None:
        user.session_epoch += 1
        db.session.flush()


def session_user() -> User | None:
    """The user this request's session names, if its fingerprint still matches."""
    uid = session.get("uid")
    if not isinstance(uid, int):
        return None
    user = db.session.get(User, uid)
    carried = session.get("pw", "")
    if user is None or not isinstance(carried, str):
        return None
    return user if hmac.compare_digest(carried, fingerprint(user)) else None
