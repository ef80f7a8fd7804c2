"""Batch API work: batches and their requests (schema version 8).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("input_file_id", sa.String(128), primary_key=True),
        sa.Column("batch_id", sa.String(128), unique=True),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("completed", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("collected", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "batch_requests",
        sa.Column("custom_id", sa.String(64), primary_key=True),
        sa.Column("input_file_id", sa.String(128)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("body", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_batch_requests_input_file_id", "batch_requests", ["input_file_id"])
    # Releases before migrations read only this marker: keep it equal to SCHEMA_VERSION.
    op.execute(sa.text("UPDATE schema_info SET version = 8"))


def downgrade() -> None:
    op.drop_table("batch_requests")
    op.drop_table("batches")
    op.execute(sa.text("UPDATE schema_info SET version = 7"))
