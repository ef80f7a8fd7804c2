"""Helpdesks: poll cursors, write-backs (what was written where) and webhook delivery
ids (schema version 10).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "helpdesk_cursors",
        sa.Column("helpdesk", sa.String(32), primary_key=True),
        sa.Column("cursor", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "write_backs",
        sa.Column("helpdesk", sa.String(32), primary_key=True),
        sa.Column("ticket_id", sa.String(128), primary_key=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("draft_version", sa.String(64)),
        sa.Column("note_id", sa.String(256)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True)),
        sa.Column("written_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("helpdesk", sa.String(32), primary_key=True),
        sa.Column("delivery_id", sa.String(256), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_webhook_deliveries_received_at", "webhook_deliveries", ["received_at"])
    # Releases before migrations read only this marker: keep it equal to SCHEMA_VERSION.
    op.execute(sa.text("UPDATE schema_info SET version = 10"))


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("write_backs")
    op.drop_table("helpdesk_cursors")
    op.execute(sa.text("UPDATE schema_info SET version = 9"))
