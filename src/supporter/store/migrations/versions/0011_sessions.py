"""Sessions of the review screen, ended on the server at sign-out, at a new password and
at their max age (schema version 11).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    # Releases before migrations read only this marker: keep it equal to SCHEMA_VERSION.
    op.execute(sa.text("UPDATE schema_info SET version = 11"))


def downgrade() -> None:
    op.drop_table("sessions")
    op.execute(sa.text("UPDATE schema_info SET version = 10"))
