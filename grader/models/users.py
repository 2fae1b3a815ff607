"""People and their API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.models.base import Base, utcnow

if TYPE_CHECKING:
    from grader.models.courses import Enrollment

Role = Literal["instructor", "student"]


class User(Base):
    """An instructor or a student; students are usually created by a roster upsert."""

    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(320), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    role: so.Mapped[str] = so.mapped_column(sa.String(20), default="student")
    #: The user's id in the LMS (Canvas user id, LTI ``sub``), unique when set.
    lms_user_id: so.Mapped[str | None] = so.mapped_column(sa.String(255), unique=True)
    #: werkzeug.security hash; None for accounts that only exist through the LMS.
    password_hash: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    #: Raised at logout: every session cookie issued before stops working, copies included.
    session_epoch: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    enrollments: so.Mapped[list[Enrollment]] = so.relationship(back_populates="user")
    tokens: so.WriteOnlyMapped[ApiToken] = so.relationship(back_populates="user")

    __table_args__ = (sa.CheckConstraint("role IN ('instructor', 'student')", name="role"),)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class ApiToken(Base):
    """A bearer token; only its sha256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    #: The first characters of the token, to tell tokens apart in listings.
    prefix: so.Mapped[str] = so.mapped_column(sa.String(16))
    name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    scopes: so.Mapped[list[str]] = so.mapped_column(default=list)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    last_used_at: so.Mapped[datetime | None]
    revoked_at: so.Mapped[datetime | None]
    #: After this the token no longer works (None: until revoked).
    expires_at: so.Mapped[datetime | None]

    user: so.Mapped[User] = so.relationship(back_populates="tokens")
