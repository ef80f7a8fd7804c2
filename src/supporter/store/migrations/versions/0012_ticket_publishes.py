"""Tickets received and waiting for their result, for the sweep that sends again those
stuck in `received` (schema version 12). Tickets already stuck are taken in, as
received now.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    publishes = op.create_table(
        "ticket_publishes",
        sa.Column("ticket_id", sa.String(128), primary_key=True),
        sa.Column("message_id", sa.String(64)),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("resent", sa.Integer, nullable=False),
    )
    tickets = sa.table("tickets", sa.column("ticket_id"))
    results = sa.table("results", sa.column("ticket_id"))
    stuck = sa.select(
        tickets.c.ticket_id,
        sa.literal(datetime.now(UTC), sa.DateTime(timezone=True)),
        sa.literal(0),
    ).where(tickets.c.ticket_id.not_in(sa.select(results.c.ticket_id)))
    op.execute(sa.insert(publishes).from_select(["ticket_id", "received_at", "resent"], stuck))
    # Releases before migrations read only this marker: keep it equal to SCHEMA_VERSION.
    op.execute(sa.text("UPDATE schema_info SET version = 12"))


def downgrade() -> None:
    op.drop_table("ticket_publishes")
    op.execute(sa.text("UPDATE schema_info SET version = 11"))
