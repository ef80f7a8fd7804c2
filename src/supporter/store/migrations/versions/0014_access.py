"""Access that can be taken away: users can be disabled and their last sign-in is kept;
tokens can be revoked, can expire, and keep when they were last used (schema version 14).
Users and tokens there at the upgrade stay enabled and never expire.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    for column in ("disabled_at", "last_sign_in_at"):
        op.add_column("users", sa.Column(column, sa.DateTime(timezone=True)))
    for column in ("expires_at", "revoked_at", "last_used_at"):
        op.add_column("api_tokens", sa.Column(column, sa.DateTime(timezone=True)))
    # Releases before migrations read only this marker: keep it equal to SCHEMA_VERSION.
    op.execute(sa.text("UPDATE schema_info SET version = 14"))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as table:
        for column in ("expires_at", "revoked_at", "last_used_at"):
            table.drop_column(column)
    with op.batch_alter_table("users") as table:
        for column in ("disabled_at", "last_sign_in_at"):
            table.drop_column(column)
    op.execute(sa.text("UPDATE schema_info SET version = 13"))
