"""The tables of the first release (schema version 1).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    # Column for column what that release's `metadata.create_all` made, so that a
    # store it made and one made here are the same and can share this history.
    schema_info = op.create_table(
        "schema_info",
        sa.Column("version", sa.Integer, primary_key=True),
    )
    op.create_table(
        "tickets",
        sa.Column("ticket_id", sa.String(128), primary_key=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_email", sa.String(320)),
        sa.Column("channel", sa.String(64)),
        sa.Column("priority", sa.String(16)),
    )
    op.create_index("ix_tickets_customer_id", "tickets", ["customer_id"])
    op.create_table(
        "results",
        sa.Column("ticket_id", sa.String(128), primary_key=True),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(128)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_results_version_status", "results", ["version", "status"])
    op.create_table(
        "analyses",
        sa.Column("ticket_id", sa.String(128), primary_key=True),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("category", sa.String(128), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("sentiment", sa.String(16), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("needs_human", sa.Boolean, nullable=False),
        sa.Column("related_transaction_ids", sa.JSON, nullable=False),
    )
    op.create_table(
        "replies",
        sa.Column("ticket_id", sa.String(128), primary_key=True),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("cited_transaction_ids", sa.JSON, nullable=False),
        sa.Column("grounding_passed", sa.Boolean, nullable=False),
        sa.Column("grounding_problems", sa.JSON, nullable=False),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.String(128), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("transient", sa.Boolean, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_attempts_ticket_id", "attempts", ["ticket_id"])
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(64), nullable=False, unique=True),
        sa.Column("ticket_id", sa.String(128)),
        sa.Column("customer_id", sa.String(128)),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("queue", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("error_type", sa.String(128), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("history", sa.JSON, nullable=False),
        sa.Column("original", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_dead_letters_ticket_id", "dead_letters", ["ticket_id"])
    op.bulk_insert(schema_info, [{"version": 1}])


def downgrade() -> None:
    for name in ("dead_letters", "attempts", "replies", "analyses", "results", "tickets"):
        op.drop_table(name)
    op.drop_table("schema_info")
