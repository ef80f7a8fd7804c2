"""Draft versions name the ticket and what the reviewer decides on (schema version 15):
the versions `review_states` keeps are rewritten the new way, so a draft reviewed before
the upgrade stays reviewed (and is decided once) instead of looking redrafted. A state
whose draft changed since is deleted and the ticket's `review_queue.review` set back to
pending, as storing a new draft does: the ticket waits for review again. The `reviews`
audit trail keeps the versions as they were.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"

# Frozen here: the functions of the releases before and after (supporter.store.sql may
# change again, a migration must not).


def reply_version(ticket_id: str, record: str) -> str:
    """Schema 14 and before: a digest of the stored result's reply alone."""
    reply = json.loads(record).get("reply") if record else None
    return hashlib.sha256(json.dumps(reply, sort_keys=True).encode()).hexdigest()[:16]


def ticket_version(ticket_id: str, record: str) -> str:
    """Schema 15: the ticket's id, the reply, the analysis and the grounding check."""
    result = json.loads(record) if record else {}
    named = {
        "ticket_id": ticket_id,
        **{key: result.get(key) for key in ("reply", "analysis", "grounding")},
    }
    return hashlib.sha256(json.dumps(named, sort_keys=True).encode()).hexdigest()[:16]


def _rewrite(old: Callable[[str, str], str], new: Callable[[str, str], str]) -> None:
    states = sa.table(
        "review_states", sa.column("ticket_id", sa.String), sa.column("draft_version", sa.String)
    )
    results = sa.table("results", sa.column("ticket_id", sa.String), sa.column("record", sa.Text))
    queue = sa.table(
        "review_queue", sa.column("ticket_id", sa.String), sa.column("review", sa.String)
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(states.c.ticket_id, states.c.draft_version, results.c.record).select_from(
            states.join(results, results.c.ticket_id == states.c.ticket_id)
        )
    ).all()
    for ticket_id, version, record in rows:
        if old(ticket_id, str(record)) == version:
            connection.execute(
                sa.update(states)
                .where(states.c.ticket_id == ticket_id)
                .values(draft_version=new(ticket_id, str(record)))
            )
        else:
            connection.execute(sa.delete(states).where(states.c.ticket_id == ticket_id))
            connection.execute(
                sa.update(queue).where(queue.c.ticket_id == ticket_id).values(review="pending")
            )


def upgrade() -> None:
    _rewrite(reply_version, ticket_version)
    # Releases before migrations read only this marker: keep it equal to SCHEMA_VERSION.
    op.execute(sa.text("UPDATE schema_info SET version = 15"))


def downgrade() -> None:
    _rewrite(ticket_version, reply_version)
    op.execute(sa.text("UPDATE schema_info SET version = 14"))
