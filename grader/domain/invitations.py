"""Password links (invitations and resets) and logging in with a password.

There is no mail server: the instructor is shown the link (and it is logged) to pass on.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from werkzeug.security import check_password_hash

from grader.domain.users import normalize_email, set_password
from grader.exceptions import Conflict, InvalidInput, NotFound, Unauthorized
from grader.models import Enrollment, User, utcnow
from grader.models.logins import LINK_PURPOSES, PasswordLink

LIFETIMES = {"invite": timedelta(days=14), "reset": timedelta(days=2)}
MIN_PASSWORD_LENGTH = 8
# A hash to compare against when the email is unknown, so both cases take as long.
_DUMMY_HASH = "scrypt:32768:8:1$dummysaltdummys$" + "0" * 128


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_password_link(
    session: so.Session, user: User, purpose: str = "invite", *,
    created_by: User | None = None, now: datetime | None = None,
) -> str:
    """A new one-time token for ``user``; earlier unused links of the user stop working.

    Returns:
        The token itself (only its hash is stored); the caller builds the URL.
    """
    if purpose not in LINK_PURPOSES:
        raise InvalidInput(f"purpose must be one of {', '.join(LINK_PURPOSES)}")
    if created_by is not None:
        _check_may_link(session, created_by, user)
    now = now or utcnow()
    session.execute(
        sa.update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    session.add(PasswordLink(
        user_id=user.id, token_hash=_hash(token), purpose=purpose,
        created_by_id=created_by.id if created_by else None, created_at=now,
        expires_at=now + LIFETIMES[purpose],
    ))
    session.flush()
    return token


def _check_may_link(session: so.Session, creator: User, user: User) -> None:
    # A link sets the account's password, so it is an account takeover for whoever makes it:
    # an instructor may make one only for a student none of whose courses they don't teach
    # (otherwise adding anyone's email to one's own roster would hand over their account).
    if user.role != "student":
        raise Conflict(f"{user.email} is an instructor account; only an administrator can "
                       "reset its password")
    courses = set(session.scalars(sa.select(Enrollment.course_id).where(
        Enrollment.user_id == user.id)))
    taught = set(session.scalars(sa.select(Enrollment.course_id).where(
        Enrollment.user_id == creator.id, Enrollment.role == "instructor")))
    if creator.role != "instructor" or not courses <= taught:
        raise Conflict(f"{user.email} is also enrolled in a course you don't teach; ask an "
                       "instructor of every course of theirs, or an administrator")


def find_password_link(
    session: so.Session, token: str, now: datetime | None = None
) -> PasswordLink:
    """The live link for ``token``.

    Raises:
        NotFound: unknown, used or expired.
    """
    now = now or utcnow()
    link = session.scalar(sa.select(PasswordLink).where(PasswordLink.token_hash == _hash(token)))
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise NotFound("this link is invalid, used or expired; ask your instructor for a new one")
    return link


def redeem_password_link(session: so.Session, token: str, password: str, confirm: str) -> User:
    """Set the password of the link's user and use the link up.

    Raises:
        NotFound: the link is not live.
        InvalidInput: the password is too short or the two don't match.
    """
    link = find_password_link(session, token)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"choose a password of at least {MIN_PASSWORD_LENGTH} characters")
    if password != confirm:
        raise InvalidInput("the two passwords differ")
    set_password(link.user, password)
    link.used_at = utcnow()
    session.flush()
    return link.user


def check_login(session: so.Session, email: str, password: str) -> User:
    """The user with this email and password.

    Raises:
        Unauthorized: unknown email, no password set, or a wrong password (one message for all).
    """
    try:
        email = normalize_email(email)
    except InvalidInput:
        email = ""
    user = session.scalar(sa.select(User).where(User.email == email)) if email else None
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        ok = check_password_hash(stored, password)
    except ValueError:
        ok = False
    if user is None or user.password_hash is None or not ok:
        raise Unauthorized("wrong email or password")
    return user
