"""Worker heartbeats for `supporter status` (schema version 4).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("worker_id", sa.String(64), primary_key=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_flight", sa.Integer, nullable=False),
        sa.Column("oldest_in_flight_seconds", sa.Float),
        sa.Column("consumed", sa.Integer, nullable=False),
        sa.Column("succeeded", sa.Integer, nullable=False),
        sa.Column("retried", sa.Integer, nullable=False),
        sa.Column("dead_lettered", sa.Integer, nullable=False),
    )
    # Releases before migrations read only this marker: keep it equal to SCHEMA_VERSION.
    op.execute(sa.text("UPDATE schema_info SET version = 4"))


def downgrade() -> None:
    op.drop_table("workers")
    op.execute(sa.text("UPDATE schema_info SET version = 3"))
