"""Payment transactions shared by every worker (schema version 3).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "transactions",
        sa.Column("transaction_id", sa.String(128), primary_key=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_transactions_customer_created", "transactions", ["customer_id", "created_at"]
    )
    # Releases before migrations read only this marker: keep it equal to SCHEMA_VERSION.
    op.execute(sa.text("UPDATE schema_info SET version = 3"))


def downgrade() -> None:
    op.drop_table("transactions")
    op.execute(sa.text("UPDATE schema_info SET version = 2"))
