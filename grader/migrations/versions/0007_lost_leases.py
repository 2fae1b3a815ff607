"""grading_runs.lost_leases: how often a run's lease expired without a result

A run whose worker dies or hangs every time (a poison submission) is given up after
MAX_LOST_LEASES expired leases instead of being re-enqueued forever.

Revision ID: 3c9a7e51d2b8
Revises: 8b3f1d6e2a90
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c9a7e51d2b8"
down_revision: str | None = "8b3f1d6e2a90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("grading_runs") as batch:
        batch.add_column(
            sa.Column("lost_leases", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("grading_runs") as batch:
        batch.drop_column("lost_leases")
