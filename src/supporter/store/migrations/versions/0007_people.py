"""Users, API tokens, reviews and the session secret for `supporter serve` (schema version 7).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "reviews",
        sa.Column("review_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.String(128), nullable=False),
        sa.Column("draft_version", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reply", sa.Text),
        sa.Column("draft", sa.Text),
        sa.Column("edit_distance", sa.Integer),
        sa.Column("category", sa.String(128)),
        sa.Column("priority", sa.String(16)),
        sa.Column("reason", sa.Text),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(128)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_reviews_ticket_id", "reviews", ["ticket_id"])
    op.create_table(
        "review_states",
        sa.Column("ticket_id", sa.String(128), primary_key=True),
        sa.Column("review_id", sa.Integer, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("draft_version", sa.String(32), nullable=False),
    )
    op.create_table(
        "service_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    # Releases before migrations read only this marker: keep it equal to SCHEMA_VERSION.
    op.execute(sa.text("UPDATE schema_info SET version = 7"))


def downgrade() -> None:
    for name in ("service_secrets", "review_states", "reviews", "api_tokens", "users"):
        op.drop_table(name)
    op.execute(sa.text("UPDATE schema_info SET version = 6"))
