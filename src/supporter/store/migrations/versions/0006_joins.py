"""Joining tickets to payments by e-mail and by reference (schema version 6): the
transactions' e-mail, refund and dispute columns, their references, ticket tags and
how each related transaction was matched.

Rows loaded before this version keep working by customer id; load the file again to
join them by e-mail and reference too.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def _transaction_columns() -> list[sa.Column[object]]:
    # New objects each time: a Column belongs to the one table it was first added to.
    return [
        sa.Column("customer_email", sa.String(320)),
        sa.Column("amount_refunded", sa.Numeric(19, 4)),
        sa.Column("dispute_status", sa.String(64)),
        sa.Column("disputed_amount", sa.Numeric(19, 4)),
        sa.Column("references", sa.JSON),
    ]


def upgrade() -> None:
    with op.batch_alter_table("transactions") as table:
        for column in _transaction_columns():
            table.add_column(column)
    op.create_index(
        "ix_transactions_email_created", "transactions", ["customer_email", "created_at"]
    )
    op.create_table(
        "transaction_references",
        sa.Column("reference", sa.String(256), primary_key=True),
        sa.Column("transaction_id", sa.String(128), primary_key=True),
    )
    op.create_index(
        "ix_transaction_references_transaction", "transaction_references", ["transaction_id"]
    )
    with op.batch_alter_table("tickets") as table:
        table.add_column(sa.Column("tags", sa.JSON))
    with op.batch_alter_table("analyses") as table:
        table.add_column(sa.Column("related_transactions", sa.JSON))
    # Releases before migrations read only this marker: keep it equal to SCHEMA_VERSION.
    op.execute(sa.text("UPDATE schema_info SET version = 6"))


def downgrade() -> None:
    with op.batch_alter_table("analyses") as table:
        table.drop_column("related_transactions")
    with op.batch_alter_table("tickets") as table:
        table.drop_column("tags")
    op.drop_table("transaction_references")
    op.drop_index("ix_transactions_email_created", "transactions")
    with op.batch_alter_table("transactions") as table:
        for column in reversed(_transaction_columns()):
            table.drop_column(column.name)
    op.execute(sa.text("UPDATE schema_info SET version = 5"))
