"""Accounts: creating instructors and students, finding them by email or LMS id."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from werkzeug.security import generate_password_hash

from grader.exceptions import InvalidInput, NotFound
from grader.models import User


def normalize_email(email: str) -> str:
    """Emails are compared case-insensitively; store them lowercased and trimmed."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 320 or any(c.isspace() for c in email):
        raise InvalidInput(f"invalid email address: {email!r}")
    return email


def create_user(
    session: so.Session,
    email: str,
    *,
    name: str = "",
    role: str = "student",
    password: str | None = None,
    lms_user_id: str | None = None,
) -> User:
    """Add a user; the password, if any, is stored as a werkzeug hash."""
    if role not in ("instructor", "student"):
        raise InvalidInput(f"role must be instructor or student, not {role!r}")
    user = User(
        email=normalize_email(email),
        name=name,
        role=role,
        lms_user_id=lms_user_id,
        password_hash=generate_password_hash(password) if password else None,
    )
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Replace a user's password."""
    user.password_hash = generate_password_hash(password)


def get_user_by_email(session: so.Session, email: str) -> User:
    """The user with this email.

    Raises:
        NotFound: nobody has it.
    """
    user = session.scalar(sa.select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise NotFound(f"no user with email {email!r}")
    return user
