<%
    if not up_revision.isdigit():
        raise ValueError("revision ids are schema versions: alembic revision --rev-id 0004 -m …")
%>\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}


def upgrade() -> None:
% if upgrades:
    ${upgrades}
% endif
    # Releases before migrations read only this marker: keep it equal to SCHEMA_VERSION.
    op.execute(sa.text("UPDATE schema_info SET version = ${int(up_revision)}"))


def downgrade() -> None:
% if downgrades:
    ${downgrades}
% endif
    op.execute(sa.text("UPDATE schema_info SET version = ${int(down_revision)}"))
