"""api_tokens.expires_at: tokens that stop working by themselves

Revision ID: 8b3f1d6e2a90
Revises: 5e7a0c2d9f14
Create Date: 2026-11-29 01:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import grader.models.base

revision: str = "8b3f1d6e2a90"
down_revision: str | None = "5e7a0c2d9f14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("expires_at", grader.models.base.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
