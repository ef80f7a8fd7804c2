"""When the write-back now pending was first claimed, so that after a crash a connector
searches the ticket for an unrecorded note only back to then (schema version 13).
Write-backs pending at the upgrade get the earliest time: searched whole, once.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.add_column("write_backs", sa.Column("pending_since", sa.DateTime(timezone=True)))
    write_backs = sa.table(
        "write_backs",
        sa.column("status", sa.String),
        sa.column("pending_since", sa.DateTime(timezone=True)),
    )
    op.execute(
        sa.update(write_backs)
        .where(write_backs.c.status.in_(("writing", "failed")))
        .values(pending_since=datetime(1970, 1, 1, tzinfo=UTC))
    )
    # Releases before migrations read only this marker: keep it equal to SCHEMA_VERSION.
    op.execute(sa.text("UPDATE schema_info SET version = 13"))


def downgrade() -> None:
    with op.batch_alter_table("write_backs") as table:
        table.drop_column("pending_since")
    op.execute(sa.text("UPDATE schema_info SET version = 12"))
