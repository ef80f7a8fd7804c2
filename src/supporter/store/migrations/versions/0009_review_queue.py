"""The review queue as a table of its own, filled from what the store holds (schema version 9).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"

_FILL = """
INSERT INTO review_queue (ticket_id, created_at, state, review, urgency, category, priority,
                          needs_human, language, grounding_passed, provider)
SELECT t.ticket_id, t.created_at,
       COALESCE(r.status, 'received'),
       CASE s.action WHEN 'approve' THEN 'approved' WHEN 'reject' THEN 'rejected'
            ELSE 'pending' END,
       CASE COALESCE(a.priority, t.priority) WHEN 'urgent' THEN 0 WHEN 'high' THEN 1
            WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END,
       a.category, COALESCE(a.priority, t.priority), a.needs_human, a.language,
       p.grounding_passed, r.provider
FROM tickets t
LEFT JOIN results r ON r.ticket_id = t.ticket_id
LEFT JOIN analyses a ON a.ticket_id = t.ticket_id
LEFT JOIN replies p ON p.ticket_id = t.ticket_id
LEFT JOIN review_states s ON s.ticket_id = t.ticket_id
"""


def upgrade() -> None:
    op.create_table(
        "review_queue",
        sa.Column("ticket_id", sa.String(128), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("review", sa.String(16), nullable=False),
        sa.Column("urgency", sa.Integer, nullable=False),
        sa.Column("category", sa.String(128)),
        sa.Column("priority", sa.String(16)),
        sa.Column("needs_human", sa.Boolean),
        sa.Column("language", sa.String(2)),
        sa.Column("grounding_passed", sa.Boolean),
        sa.Column("provider", sa.String(128)),
    )
    op.create_index("ix_review_queue_order", "review_queue", ["urgency", "created_at", "ticket_id"])
    op.create_index(
        "ix_review_queue_review_state_order",
        "review_queue",
        ["review", "state", "urgency", "created_at", "ticket_id"],
    )
    op.execute(sa.text(_FILL))
    # Releases before migrations read only this marker: keep it equal to SCHEMA_VERSION.
    op.execute(sa.text("UPDATE schema_info SET version = 9"))


def downgrade() -> None:
    op.drop_table("review_queue")
    op.execute(sa.text("UPDATE schema_info SET version = 8"))
