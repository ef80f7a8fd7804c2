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
    Numeric,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 15

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
    Column("tags", JSON),
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
    # [{"transaction_id", "matched_by"}]: how each related transaction was joined.
    Column("related_transactions", JSON),
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
# customer's window is one range scan of the (customer_id, created_at) index, or of
# the (customer_email, created_at) one. `record` is the transaction as loaded (JSON);
# the other columns repeat parts of it for lookups and for people querying the store.
transactions = Table(
    "transactions",
    metadata,
    Column("transaction_id", String(128), primary_key=True),
    Column("customer_id", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("record", Text, nullable=False),
    # Normalised (no surrounding spaces, lower case): the record keeps it as written.
    Column("customer_email", String(320)),
    Column("amount_refunded", Numeric(19, 4)),
    Column("dispute_status", String(64)),
    Column("disputed_amount", Numeric(19, 4)),
    Column("references", JSON),
    Index("ix_transactions_customer_created", "customer_id", "created_at"),
    Index("ix_transactions_email_created", "customer_email", "created_at"),
)

# A transaction's quotable references, normalised (no leading "#", lower case): the
# index that finds the payment a ticket quotes.
transaction_references = Table(
    "transaction_references",
    metadata,
    Column("reference", String(256), primary_key=True),
    Column("transaction_id", String(128), primary_key=True),
    Index("ix_transaction_references_transaction", "transaction_id"),
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

# People in the loop (`supporter serve`): who may sign in, which API tokens exist (only
# a hash of each), and every review of a draft.
users = Table(
    "users",
    metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Set by `users disable`: the row stays, so that the name keeps meaning this person in
    # the reviews they made (reviews name their reviewer) and cannot be given to another.
    Column("disabled_at", DateTime(timezone=True)),
    Column("last_sign_in_at", DateTime(timezone=True)),
)

# A revoked token stays too (its name is in the reviews it made), refused like an expired one.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    # Written at most once a minute per token (`SqlAccounts.token_principal`).
    Column("last_used_at", DateTime(timezone=True)),
)

# The audit trail: a row per review, never updated in place.
reviews = Table(
    "reviews",
    metadata,
    Column("review_id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", String(128), nullable=False, index=True),
    Column("draft_version", String(32), nullable=False),
    Column("action", String(16), nullable=False),
    Column("reply", Text),
    Column("draft", Text),
    Column("edit_distance", Integer),
    Column("category", String(128)),
    Column("priority", String(16)),
    Column("reason", Text),
    Column("reviewer", String(64), nullable=False),
    Column("provider", String(128)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# A ticket's latest review, for the queue's filter (the audit rows stay as they were).
review_states = Table(
    "review_states",
    metadata,
    Column("ticket_id", String(128), primary_key=True),
    Column("review_id", Integer, nullable=False),
    Column("action", String(16), nullable=False),
    Column("draft_version", String(32), nullable=False),
)

# Signed-in sessions of the review screen, by the SHA-256 of the id their cookie holds
# (as tokens are kept): signing out, a new password or the end of `expires_at` deletes
# or ends the row, and with it every copy of the cookie, on every replica of `serve`.
sessions = Table(
    "sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

# Values made once and shared by every replica of `serve` (the session-signing key).
service_secrets = Table(
    "service_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)

# Batch API work (`supporter run --batch`): each batch by its input file, and each request
# by its custom_id (a digest of the request), so a rerun resumes instead of paying again.
batches = Table(
    "batches",
    metadata,
    Column("input_file_id", String(128), primary_key=True),
    Column("batch_id", String(128), unique=True),
    Column("endpoint", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("requests", Integer, nullable=False),
    Column("completed", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("collected", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

batch_requests = Table(
    "batch_requests",
    metadata,
    Column("custom_id", String(64), primary_key=True),
    Column("input_file_id", String(128), index=True),
    Column("state", String(16), nullable=False),
    Column("status_code", Integer),
    Column("body", Text),
    Column("error", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The review queue, one row per ticket, kept in step by every write that changes what
# it shows (a ticket received, an outcome stored, a review): the queue page is one
# range scan of an index in its own order, however many tickets the store holds.
# `urgency` sorts ascending: 0 urgent, 1 high, 2 medium, 3 low, 4 none yet.
review_queue = Table(
    "review_queue",
    metadata,
    Column("ticket_id", String(128), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False),
    Column("review", String(16), nullable=False),
    Column("urgency", Integer, nullable=False),
    Column("category", String(128)),
    Column("priority", String(16)),
    Column("needs_human", Boolean),
    Column("language", String(2)),
    Column("grounding_passed", Boolean),
    Column("provider", String(128)),
    Index("ix_review_queue_order", "urgency", "created_at", "ticket_id"),
    Index(
        "ix_review_queue_review_state_order",
        "review",
        "state",
        "urgency",
        "created_at",
        "ticket_id",
    ),
)

# Helpdesks (`supporter serve --helpdesk NAME`): where polling resumes, per helpdesk.
helpdesk_cursors = Table(
    "helpdesk_cursors",
    metadata,
    Column("helpdesk", String(32), primary_key=True),
    Column("cursor", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# What was written into a helpdesk for a ticket, and where (the note's id there): a
# retry, redelivery or rerun of the same draft version writes nothing, and a new version
# updates that note instead of adding one. `status` is `writing` while a worker holds
# the ticket's write-back (until `claimed_until`), `written` once the helpdesk answered.
write_backs = Table(
    "write_backs",
    metadata,
    Column("helpdesk", String(32), primary_key=True),
    Column("ticket_id", String(128), primary_key=True),
    Column("mode", String(16), nullable=False),
    Column("draft_version", String(64)),
    Column("note_id", String(256)),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("claimed_until", DateTime(timezone=True)),
    Column("written_at", DateTime(timezone=True)),
    # When the write-back now pending was first claimed (None once written): a note of
    # it, written before a crash kept its record, cannot be older.
    Column("pending_since", DateTime(timezone=True)),
)

# Webhook deliveries already taken, by the helpdesk's delivery id: a delivery sent
# twice is processed once. Old ids are pruned (a helpdesk retries for hours, not weeks).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("helpdesk", String(32), primary_key=True),
    Column("delivery_id", String(256), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
)

# Tickets received (the API, a helpdesk) and waiting for their result: when each was
# received and last sent into the pipeline, with which message id (a copy sent again
# carries it, so the output stage takes it for a redelivery), and how many times the
# sweep sent it again. A stored result deletes the row: the table holds only the
# unfinished, which the sweep reads whole (`pipeline/resend.py`).
ticket_publishes = Table(
    "ticket_publishes",
    metadata,
    Column("ticket_id", String(128), primary_key=True),
    Column("message_id", String(64)),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True)),
    Column("resent", Integer, nullable=False),
)
