"""LTI 1.3: registered platforms, our signing keys, launches' one-time values, the links
between the platform's contexts, resource links and users and ours, and the score outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.models.base import Base, utcnow


class LtiPlatform(Base):
    """A platform (an LMS instance) that registered autograde as a tool."""

    __tablename__ = "lti_platforms"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    issuer: so.Mapped[str] = so.mapped_column(sa.String(500))
    client_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    auth_login_url: so.Mapped[str] = so.mapped_column(sa.String(1000))
    auth_token_url: so.Mapped[str] = so.mapped_column(sa.String(1000))
    key_set_url: so.Mapped[str] = so.mapped_column(sa.String(1000))
    #: The ``aud`` of our client assertions when the platform wants another than the token URL.
    auth_audience: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    deployments: so.Mapped[list[LtiDeployment]] = so.relationship(
        back_populates="platform", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.UniqueConstraint("issuer", "client_id"),)


class LtiDeployment(Base):
    """One deployment of the tool on a platform (a Canvas account or course, a Moodle site)."""

    __tablename__ = "lti_deployments"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    platform_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    deployment_id: so.Mapped[str] = so.mapped_column(sa.String(255))

    platform: so.Mapped[LtiPlatform] = so.relationship(back_populates="deployments")

    __table_args__ = (sa.UniqueConstraint("platform_id", "deployment_id"),)


class LtiKey(Base):
    """One of our RSA key pairs. The newest active key signs; a rotated-out key stays
    published at /lti/jwks until ``expires_at``."""

    __tablename__ = "lti_keys"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kid: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    private_pem: so.Mapped[str] = so.mapped_column(sa.Text)
    public_jwk: so.Mapped[dict[str, Any]] = so.mapped_column()
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    retired_at: so.Mapped[datetime | None]
    expires_at: so.Mapped[datetime | None]


class LtiLoginState(Base):
    """The state and nonce of one OIDC login, consumed by the launch that follows it."""

    __tablename__ = "lti_login_states"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    state: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    nonce: so.Mapped[str] = so.mapped_column(sa.String(64))
    platform_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    target_link_uri: so.Mapped[str] = so.mapped_column(sa.String(1000), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    expires_at: so.Mapped[datetime] = so.mapped_column(index=True)
    used_at: so.Mapped[datetime | None]


class LtiUsedNonce(Base):
    """A nonce of an accepted id_token: a second launch with it is a replay."""

    __tablename__ = "lti_used_nonces"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    issuer: so.Mapped[str] = so.mapped_column(sa.String(500))
    nonce: so.Mapped[str] = so.mapped_column(sa.String(255))
    expires_at: so.Mapped[datetime] = so.mapped_column(index=True)

    __table_args__ = (sa.UniqueConstraint("issuer", "nonce"),)


class LtiUserLink(Base):
    """A platform's user (the ``sub`` claim, unique per platform) is one of our users."""

    __tablename__ = "lti_user_links"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    platform_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    sub: so.Mapped[str] = so.mapped_column(sa.String(255))
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )

    __table_args__ = (
        sa.UniqueConstraint("platform_id", "sub"),
        sa.UniqueConstraint("platform_id", "user_id"),
    )


class LtiContext(Base):
    """A platform's context (a course) is one of our courses; holds its NRPS endpoint."""

    __tablename__ = "lti_contexts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    platform_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    context_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    course_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    deployment_id: so.Mapped[str] = so.mapped_column(sa.String(255), default="")
    title: so.Mapped[str] = so.mapped_column(sa.String(255), default="")
    memberships_url: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    lineitems_url: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    roster_synced_at: so.Mapped[datetime | None]
    roster_error: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    platform: so.Mapped[LtiPlatform] = so.relationship()

    __table_args__ = (sa.UniqueConstraint("platform_id", "context_id"),)


class LtiResourceLink(Base):
    """A placement of the tool in a platform's course; the instructor picks its assignment
    once, on the first launch."""

    __tablename__ = "lti_resource_links"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    context_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("lti_contexts.id", ondelete="CASCADE"), index=True
    )
    resource_link_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    title: so.Mapped[str] = so.mapped_column(sa.String(255), default="")
    assignment_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("assignments.id", ondelete="SET NULL"), index=True
    )
    #: From the AGS claim: the line item the platform made for this link, if any.
    claim_lineitem_url: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    ags_scopes: so.Mapped[list[str]] = so.mapped_column(default=list)
    line_item_error: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    context: so.Mapped[LtiContext] = so.relationship()

    __table_args__ = (sa.UniqueConstraint("context_id", "resource_link_id"),)


class LtiLineItem(Base):
    """The gradebook column of one resource link on its platform; made once, then reused."""

    __tablename__ = "lti_line_items"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    resource_link_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("lti_resource_links.id", ondelete="CASCADE"), unique=True
    )
    assignment_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    platform_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    url: so.Mapped[str] = so.mapped_column(sa.String(1000))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


#: States of an outbox row, for pages: derived from versions and failures.
OUTBOX_STATES = ("pending", "delivered", "failed")


class LtiScoreOutbox(Base):
    """The latest counted score of one student for one line item, and how far it got.

    One row per (line item, student). Every change of the counted score bumps ``version`` (in
    the grade's own transaction); a delivery sends the version it read, and
    ``delivered_version`` only ever grows, so an older score never overwrites a newer one.
    """

    __tablename__ = "lti_score_outbox"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    line_item_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("lti_line_items.id", ondelete="CASCADE")
    )
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    #: The platform's id of the student (``sub``), the AGS ``userId``.
    lti_user_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    submission_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("submissions.id", ondelete="SET NULL")
    )
    version: so.Mapped[int] = so.mapped_column(default=1)
    score_given: so.Mapped[float | None]
    score_maximum: so.Mapped[float]
    comment: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    #: When the score changed: the AGS timestamp, strictly increasing per row.
    changed_at: so.Mapped[datetime]
    delivered_version: so.Mapped[int] = so.mapped_column(default=0)
    delivered_at: so.Mapped[datetime | None]
    #: Failed deliveries of the current version; reset by a success.
    failures: so.Mapped[int] = so.mapped_column(default=0)
    last_error: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    next_attempt_at: so.Mapped[datetime | None] = so.mapped_column(index=True)
    lease_until: so.Mapped[datetime | None]

    __table_args__ = (
        sa.UniqueConstraint("line_item_id", "user_id"),
        sa.Index("ix_lti_score_outbox_pending", "delivered_version", "version"),
    )

    @property
    def state(self) -> str:
        """delivered, failed (the last try failed) or pending."""
        if self.delivered_version >= self.version:
            return "delivered"
        return "failed" if self.failures else "pending"
