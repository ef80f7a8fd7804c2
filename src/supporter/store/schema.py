"""The tables, shared by every SQL database the store runs on."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 5

metadata = MetaData()

schema_info = Table(
    "schema_info",
    metadata,
    Column("version", Integer, primary_key=True),
)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", String(128), primary_key=True),
    Column("customer_id", String(128), nullable=False, index=True),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("customer_email", String(320)),
    Column("channel", String(64)),
    Column("priority", String(16)),
)

results = Table(
    "results",
    metadata,
    Column("ticket_id", String(128), primary_key=True),
    Column("version", String(128), nullable=False),
    # The ticket message the result came from: a redelivered copy has the same one.
    Column("origin_id", String(64)),
    Column("status", String(16), nullable=False),
    Column("provider", String(128)),
    Column("attempts", Integer, nullable=False),
    Column("error", Text),
    Column("record", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_results_version_status", "version", "status"),
)

analyses = Table(
    "analyses",
    metadata,
    Column("ticket_id", String(128), primary_key=True),
    Column("version", String(128), nullable=False),
    Column("category", String(128), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("sentiment", String(16), nullable=False),
    Column("language", String(2), nullable=False),
    Column("summary", Text, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("needs_human", Boolean, nullable=False),
    Column("related_transaction_ids", JSON, nullable=False),
)

replies = Table(
    "replies",
    metadata,
    Column("ticket_id", String(128), primary_key=True),
    Column("version", String(128), nullable=False),
    Column("body", Text, nullable=False),
    Column("cited_transaction_ids", JSON, nullable=False),
    Column("grounding_passed", Boolean, nullable=False),
    Column("grounding_problems", JSON, nullable=False),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", String(128), nullable=False, index=True),
    Column("stage", String(32), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("transient", Boolean, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("ticket_id", String(128), index=True),
    Column("customer_id", String(128)),
    Column("stage", String(32), nullable=False),
    Column("queue", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("error_type", String(128), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("history", JSON, nullable=False),
    Column("original", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
)

# Payment transactions shared by every worker (`supporter transactions load`): a
# customer's window is one range scan of the (customer_id, created_at) index.
transactions = Table(
    "transactions",
    metadata,
    Column("transaction_id", String(128), primary_key=True),
    Column("customer_id", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("record", Text, nullable=False),
    Index("ix_transactions_customer_created", "customer_id", "created_at"),
)

# One row per running worker process, refreshed every few seconds (a heartbeat):
# what `supporter status` shows as in flight per stage, whatever the broker.
workers = Table(
    "workers",
    metadata,
    Column("worker_id", String(64), primary_key=True),
    Column("stage", String(16), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    Column("in_flight", Integer, nullable=False),
    Column("oldest_in_flight_seconds", Float),
    Column("consumed", Integer, nullable=False),
    Column("succeeded", Integer, nullable=False),
    Column("retried", Integer, nullable=False),
    Column("dead_lettered", Integer, nullable=False),
    Column("metrics_port", Integer),
)
