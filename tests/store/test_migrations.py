"""The store's migrations: empty databases, stores made by releases before them, newer
stores, and workers that open one store at the same time."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from argon2 import PasswordHasher
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from tests.store.releases import release_metadata

from supporter.domain.models import Reply, Ticket, TicketResult
from supporter.store import migrations, schema, sql
from supporter.store.accounts import SqlAccounts, token_hash
from supporter.store.base import StoreError
from supporter.store.sql import SqlStore, async_url, sqlite_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def url(database_url: str) -> str:
    """An empty database of each kind."""
    return database_url


async def on(url: str, work: Any) -> Any:
    """`work(connection)` on a plain connection of its own, committed."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def differences(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), schema.metadata))


def state(connection: Connection) -> tuple[str | None, int]:
    heads = MigrationContext.configure(connection).get_current_heads()
    version = connection.execute(text("SELECT version FROM schema_info")).scalar_one()
    return ",".join(heads), int(version)


def test_revision_ids_are_the_schema_versions_in_order() -> None:
    assert migrations.revisions() == [
        migrations.revision_of(n) for n in range(1, schema.SCHEMA_VERSION + 1)
    ]
    assert migrations.head() == migrations.revision_of(schema.SCHEMA_VERSION)


async def test_upgrading_an_empty_database_gives_exactly_the_schema(url: str) -> None:
    assert await sql.revision(url) is None
    upgraded = await sql.upgrade(url)
    assert upgraded == migrations.Upgrade(before=None, after=migrations.head())
    assert await on(url, differences) == []
    assert await on(url, state) == (migrations.head(), schema.SCHEMA_VERSION)
    assert await sql.upgrade(url) == migrations.Upgrade(migrations.head(), migrations.head())


async def test_every_migration_goes_down_and_up_again(url: str) -> None:
    await sql.upgrade(url)

    def down_to_nothing(connection: Connection) -> list[str]:
        command.downgrade(migrations._config(connection), "base")
        return sorted(inspect(connection).get_table_names())

    assert await on(url, down_to_nothing) == ["alembic_version"]
    await sql.upgrade(url)
    assert await on(url, differences) == []


async def test_tickets_stuck_in_received_are_taken_in_for_the_sweep(url: str) -> None:
    def at_sessions_with_one_ticket_done(connection: Connection) -> None:
        command.upgrade(migrations._config(connection), "0011")
        for ticket_id in ("T1", "T2"):
            row = TICKET.model_copy(update={"ticket_id": ticket_id}).model_dump()
            connection.execute(schema.tickets.insert().values(row))
        connection.execute(
            schema.results.insert().values(
                ticket_id="T1",
                version="v1",
                status="failed",
                attempts=2,
                record=RESULT.model_dump_json(),
                updated_at=datetime.now(UTC),
            )
        )

    await on(url, at_sessions_with_one_ticket_done)
    await sql.upgrade(url)

    def waiting(connection: Connection) -> list[Any]:
        table = schema.ticket_publishes
        query = table.select().with_only_columns(
            table.c.ticket_id, table.c.published_at, table.c.resent
        )
        return [tuple(row) for row in connection.execute(query)]

    assert await on(url, waiting) == [("T2", None, 0)]


async def test_write_backs_pending_at_the_upgrade_are_searched_whole(url: str) -> None:
    """0013: a write-back still pending (writing, failed) gets the earliest claim time, so a
    connector looks through the whole ticket once; a written one keeps none."""

    def at_0012_with_write_backs(connection: Connection) -> None:
        command.upgrade(migrations._config(connection), "0012")
        for ticket_id, status in (("T1", "writing"), ("T2", "failed"), ("T3", "written")):
            connection.execute(
                text(
                    "INSERT INTO write_backs (helpdesk, ticket_id, mode, status, attempts)"
                    " VALUES ('zendesk', :ticket_id, 'note', :status, 1)"
                ),
                {"ticket_id": ticket_id, "status": status},
            )

    await on(url, at_0012_with_write_backs)
    await sql.upgrade(url)

    def pending_since(connection: Connection) -> dict[str, Any]:
        table = schema.write_backs
        query = table.select().with_only_columns(table.c.ticket_id, table.c.pending_since)
        return {row.ticket_id: row.pending_since for row in connection.execute(query)}

    since = await on(url, pending_since)
    assert since["T3"] is None
    for ticket_id in ("T1", "T2"):
        assert since[ticket_id].replace(tzinfo=UTC) == datetime(1970, 1, 1, tzinfo=UTC)


async def test_users_and_tokens_there_at_the_upgrade_keep_their_access(url: str) -> None:
    """0014: a user stays enabled and a token never expires, so an upgrade locks no one out."""
    token = "sup_made-before-0014"

    def at_0013_with_accounts(connection: Connection) -> None:
        command.upgrade(migrations._config(connection), "0013")
        now = datetime.now(UTC)
        connection.execute(
            text(
                "INSERT INTO users (name, password_hash, role, created_at)"
                " VALUES ('ana', :hash, 'admin', :now)"
            ),
            {"hash": PasswordHasher().hash("correct horse battery"), "now": now},
        )
        connection.execute(
            text(
                "INSERT INTO api_tokens (name, role, token_hash, created_at)"
                " VALUES ('helpdesk', 'ingest', :hash, :now)"
            ),
            {"hash": token_hash(token), "now": now},
        )

    await on(url, at_0013_with_accounts)
    store = await SqlStore.open(url)
    try:
        accounts = SqlAccounts(store.engine)
        assert await accounts.sign_in("ana", "correct horse battery") is not None
        assert await accounts.token_principal(token) is not None
        [user], [listed] = await accounts.users(), await accounts.tokens()
        assert (user.disabled_at, listed.revoked_at, listed.expires_at) == (None, None, None)
    finally:
        await store.close()


async def test_review_states_take_the_per_ticket_draft_versions(url: str) -> None:
    """0015: a reviewed draft stays reviewed under the new versions (one that changed since
    its review loses its state and waits in the queue again); the audit trail is left as it
    was; going down gives the old versions back."""
    reply = {"body": "We refunded you.", "cited_transaction_ids": []}
    record = RESULT.model_copy(
        update={"status": "responded", "reply": Reply.model_validate(reply)}
    ).model_dump_json()
    old = hashlib.sha256(json.dumps(json.loads(record)["reply"], sort_keys=True).encode())
    reviewed = old.hexdigest()[:16]

    def at_0014_with_reviews(connection: Connection) -> None:
        command.upgrade(migrations._config(connection), "0014")
        for ticket_id, version in (("T1", reviewed), ("T2", "0" * 16)):
            row = TICKET.model_copy(update={"ticket_id": ticket_id}).model_dump()
            connection.execute(schema.tickets.insert().values(row))
            connection.execute(
                schema.results.insert().values(
                    ticket_id=ticket_id,
                    version="v1",
                    status="responded",
                    attempts=1,
                    record=record,
                    updated_at=datetime.now(UTC),
                )
            )
            connection.execute(
                text(
                    "INSERT INTO review_states (ticket_id, review_id, action, draft_version)"
                    " VALUES (:ticket_id, 1, 'approve', :version)"
                ),
                {"ticket_id": ticket_id, "version": version},
            )
            connection.execute(
                text(
                    "INSERT INTO review_queue (ticket_id, created_at, state, review, urgency)"
                    " VALUES (:ticket_id, :now, 'responded', 'approved', 0)"
                ),
                {"ticket_id": ticket_id, "now": datetime.now(UTC)},
            )

    def versions(connection: Connection) -> dict[str, str]:
        table = schema.review_states
        query = table.select().with_only_columns(table.c.ticket_id, table.c.draft_version)
        return {row.ticket_id: row.draft_version for row in connection.execute(query)}

    def queue(connection: Connection) -> dict[str, str]:
        table = schema.review_queue
        query = table.select().with_only_columns(table.c.ticket_id, table.c.review)
        return {row.ticket_id: row.review for row in connection.execute(query)}

    def down_to_0014(connection: Connection) -> None:
        command.downgrade(migrations._config(connection), "0014")

    await on(url, at_0014_with_reviews)
    await sql.upgrade(url)
    assert await on(url, versions) == {"T1": sql.draft_version("T1", record)}
    assert await on(url, queue) == {"T1": "approved", "T2": "pending"}
    await on(url, down_to_0014)
    assert await on(url, versions) == {"T1": reviewed}
    assert await on(url, queue) == {"T1": "approved", "T2": "pending"}


TICKET = Ticket(
    ticket_id="T1",
    customer_id="C1",
    subject="Refund",
    body="Please refund",
    status="open",
    created_at=datetime(2024, 5, 1, tzinfo=UTC),
)
RESULT = TicketResult(ticket_id="T1", customer_id="C1", status="failed", attempts=2, error="x")


@pytest.mark.parametrize("version", [1, 2])
async def test_a_store_made_before_migrations_is_upgraded_in_place(url: str, version: int) -> None:
    metadata = release_metadata(version)
    tables = metadata.tables

    def made_by_that_release(connection: Connection) -> None:
        metadata.create_all(connection)
        now = datetime.now(UTC)
        connection.execute(tables["schema_info"].insert().values(version=version))
        # Tags came with version 6.
        old_ticket = TICKET.model_dump(exclude={"tags"})
        connection.execute(tables["tickets"].insert().values(old_ticket))
        connection.execute(
            tables["results"]
            .insert()
            .values(
                ticket_id="T1",
                version="v1",
                status="failed",
                attempts=2,
                error="x",
                record=RESULT.model_dump_json(),
                updated_at=now,
            )
        )
        connection.execute(
            tables["dead_letters"]
            .insert()
            .values(
                message_id="m1",
                ticket_id="T1",
                stage="analyze",
                queue="tickets",
                reason="gave up",
                error_type="TransientError",
                attempts=2,
                history=[],
                original="{}",
                created_at=now,
            )
        )

    await on(url, made_by_that_release)
    assert await sql.revision(url) == migrations.revision_of(version)

    store = await SqlStore.open(url)
    try:
        assert await store.results(["T1"]) == [RESULT]
        assert await store.done_ticket_ids("v1") == {"T1"}
        assert await store.counts() == {"responded": 0, "failed": 1, "dead_letters": 1}
    finally:
        await store.close()

    def columns(connection: Connection) -> tuple[set[str], list[str]]:
        found = inspect(connection)
        return set(found.get_table_names()), [c["name"] for c in found.get_columns("results")]

    names, result_columns = await on(url, columns)
    assert "transactions" in names
    assert "origin_id" in result_columns
    assert await on(url, state) == (migrations.head(), schema.SCHEMA_VERSION)
    assert await on(url, differences) == []


async def test_a_store_made_by_a_newer_supporter_is_refused(url: str) -> None:
    await sql.upgrade(url)
    await on(url, lambda c: c.execute(text("UPDATE alembic_version SET version_num = '0099'")))
    with pytest.raises(StoreError, match=r"revision 0099.*made by a newer Supporter"):
        await SqlStore.open(url)
    with pytest.raises(StoreError, match="made by a newer Supporter"):
        await sql.upgrade(url)


async def test_a_newer_store_from_before_migrations_is_refused(url: str) -> None:
    metadata = release_metadata(2)

    def made_by_that_release(connection: Connection) -> None:
        metadata.create_all(connection)
        connection.execute(metadata.tables["schema_info"].insert().values(version=99))

    await on(url, made_by_that_release)
    with pytest.raises(StoreError, match="made by a newer Supporter"):
        await SqlStore.open(url)


# One worker process: opens the store when told to (all at once), with no second try,
# so that the upgrade's lock alone has to keep the workers apart.
WORKER = """
import asyncio, sys
from supporter.store import sql

sql._OPEN_TRIES = 1
print("ready", flush=True)
sys.stdin.readline()

async def main() -> None:
    store = await sql.SqlStore.open(sys.argv[1])
    await store.close()

asyncio.run(main())
"""


async def test_workers_opening_a_new_store_together_all_succeed(url: str) -> None:
    pipe = asyncio.subprocess.PIPE
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", WORKER, url, stdin=pipe, stdout=pipe, stderr=pipe
        )
        for _ in range(4)
    ]
    async with asyncio.timeout(60):
        for worker in workers:
            assert worker.stdout is not None
            assert await worker.stdout.readline() == b"ready\n"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
        for worker in workers:
            _, stderr = await worker.communicate()
            assert worker.returncode == 0, stderr.decode()
    assert await on(url, state) == (migrations.head(), schema.SCHEMA_VERSION)
    assert await on(url, differences) == []


async def test_one_process_can_open_several_new_stores_at_once(tmp_path: Path) -> None:
    urls = [sqlite_url(tmp_path / f"s{number}.db") for number in range(3)]
    stores = await asyncio.gather(*(SqlStore.open(url) for url in urls))
    for store in stores:
        await store.close()
    for url in urls:
        assert await on(url, state) == (migrations.head(), schema.SCHEMA_VERSION)


def test_the_alembic_command_sees_no_difference_at_head(tmp_path: Path) -> None:
    """alembic.ini serves whoever writes the next migration (docs/development.md)."""
    database = tmp_path / "dev.db"
    asyncio.run(sql.upgrade(sqlite_url(database)))
    checked = subprocess.run(
        [sys.executable, "-m", "alembic", "-x", f"url=sqlite:///{database}", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "No new upgrade operations detected" in checked.stdout
