"""What signing in keeps: one-time password links and failed logins (for the throttle)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.models.base import Base, utcnow
from grader.models.users import User

#: Why a password link was made.
LINK_PURPOSES = ("invite", "reset")


class PasswordLink(Base):
    """A one-time link to set a password (an invitation, or a reset); only its sha256 is kept."""

    __tablename__ = "password_links"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    purpose: so.Mapped[str] = so.mapped_column(sa.String(10), default="invite")
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    expires_at: so.Mapped[datetime]
    used_at: so.Mapped[datetime | None]

    user: so.Mapped[User] = so.relationship(foreign_keys=[user_id])

    __table_args__ = (sa.CheckConstraint("purpose IN ('invite', 'reset')", name="purpose"),)


class LoginFailure(Base):
    """A failed password login, kept for a short while to slow down password guessing."""

    __tablename__ = "login_failures"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: The email as typed (lowercased), known or not: unknown ones are limited alike.
    email: so.Mapped[str] = so.mapped_column(sa.String(320), index=True)
    ip: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, index=True)
