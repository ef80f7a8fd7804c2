"""Where each worker serves its metrics, for `supporter status` (schema version 5).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column("workers", sa.Column("metrics_port", sa.Integer))
    # Releases before migrations read only this marker: keep it equal to SCHEMA_VERSION.
    op.execute(sa.text("UPDATE schema_info SET version = 5"))


def downgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("metrics_port")
    op.execute(sa.text("UPDATE schema_info SET version = 4"))
