"""Results remember the ticket message they came from (schema version 2).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # Nullable: results stored before this have no origin, and count as new.
    op.add_column("results", sa.Column("origin_id", sa.String(64)))
    # Releases before migrations read only this marker: keep it equal to SCHEMA_VERSION.
    op.execute(sa.text("UPDATE schema_info SET version = 2"))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.drop_column("origin_id")
    op.execute(sa.text("UPDATE schema_info SET version = 1"))
