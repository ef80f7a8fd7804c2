"""Stores as releases before migrations made them, for the tests of upgrading them."""

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


def release_metadata(version: int) -> MetaData:
    """The tables as releases before migrations made them with `create_all`, frozen."""
    metadata = MetaData()
    Table("schema_info", metadata, Column("version", Integer, primary_key=True))
    Table(
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
    origin = [Column("origin_id", String(64))] if version >= 2 else []
    Table(
        "results",
        metadata,
        Column("ticket_id", String(128), primary_key=True),
        Column("version", String(128), nullable=False),
        *origin,
        Column("status", String(16), nullable=False),
        Column("provider", String(128)),
        Column("attempts", Integer, nullable=False),
        Column("error", Text),
        Column("record", Text, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        Index("ix_results_version_status", "version", "status"),
    )
    Table(
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
    Table(
        "replies",
        metadata,
        Column("ticket_id", String(128), primary_key=True),
        Column("version", String(128), nullable=False),
        Column("body", Text, nullable=False),
        Column("cited_transaction_ids", JSON, nullable=False),
        Column("grounding_passed", Boolean, nullable=False),
        Column("grounding_problems", JSON, nullable=False),
    )
    Table(
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
    Table(
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
    return metadata
