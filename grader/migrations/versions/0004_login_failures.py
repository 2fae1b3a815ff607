"""login failures, to slow down password guessing

Revision ID: 9d2f6c1b7e35
Revises: c4e1a8f0d3b2
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import grader.models.base

revision: str = "9d2f6c1b7e35"
down_revision: str | None = "c4e1a8f0d3b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("created_at", grader.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_email"), "login_failures", ["email"], unique=False)
    op.create_index(op.f("ix_login_failures_ip"), "login_failures", ["ip"], unique=False)
    op.create_index(
        op.f("ix_login_failures_created_at"), "login_failures", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_login_failures_created_at"), table_name="login_failures")
    op.drop_index(op.f("ix_login_failures_ip"), table_name="login_failures")
    op.drop_index(op.f("ix_login_failures_email"), table_name="login_failures")
    op.drop_table("login_failures")
