"""Tickets and transactions from SQLite, PostgreSQL and MariaDB, on the real servers."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    insert,
)
from sqlalchemy.ext.asyncio import create_async_engine
from tests.conftest import mariadb_database, postgres_database

from supporter.domain.models import Reject
from supporter.sources.base import SourceError
from supporter.sources.sql import SqlTicketSource, SqlTransactionSource, is_database_url

BATCH = 4  # every test reads more rows than fit in one batch
TICKET_ROWS = 25
CARD = "4111 1111 1111 1111"
_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "mariadb": "mariadb+asyncmy",
    "sqlite": "sqlite+aiosqlite",
}

metadata = MetaData()
tickets_table = Table(
    "support_tickets",
    metadata,
    Column("ticket_id", String(20), primary_key=True),
    Column("customer_id", String(20)),
    Column("subject", String(200)),
    Column("body", Text),
    Column("status", String(20)),
    Column("created_at", DateTime),
    Column("customer_email", String(100)),
    Column("priority", String(10)),
)
payments_table = Table(
    "payments",
    metadata,
    Column("n", Integer, primary_key=True),
    Column("Id", String(20)),
    Column("Customer", String(20)),
    Column("Total", Numeric(12, 2)),
    Column("Fee", Float),
    Column("Cur", String(5)),
    Column("State", String(20)),
    Column("At", DateTime(timezone=True)),
    Column("Note", Text),
    Column("Card", String(30)),
)
PAYMENT_COLUMNS = {
    "transaction_id": "Id",
    "customer_id": "Customer",
    "amount": "Total",
    "currency": "Cur",
    "status": "State",
    "created_at": "At",
    "description": "Note",
    "card_last4": "Card",
}


def _ticket(number: int) -> dict[str, Any]:
    return {
        "ticket_id": f"T{number:03d}",
        "customer_id": f"C{number % 3}",
        "subject": "Charged twice" if number % 2 else None,
        "body": f"Café, card {CARD}, ticket {number}",
        "status": "OPEN",
        "created_at": datetime(2024, 5, 1, 9, number % 60),
        "customer_email": f"c{number}@example.com",
        "priority": "high" if number == 3 else None,
    }


def _payment(n: int, **changes: Any) -> dict[str, Any]:
    row = {
        "n": n,
        "Id": f"ch_{n}",
        "Customer": "C1",
        "Total": Decimal("49.99"),
        "Fee": 0.1,
        "Cur": "usd",
        "State": "succeeded",
        "At": datetime(2024, 5, 1, 10, n, tzinfo=UTC),
        "Note": f"order {n}",
        "Card": "4242",
    }
    return row | changes


PAYMENTS = [
    _payment(1),
    _payment(2, Total=None),  # rejected: amount is required
    _payment(3, Note=f"paid with {CARD}", Card=CARD),
    _payment(4, Cur="EURO"),  # rejected: not a currency
    _payment(5, Id="ch_1"),  # rejected: a duplicate id
    *(_payment(n) for n in range(6, 12)),
]


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database on each server with both tables filled; yields its plain URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'source.db'}"
        await _fill(url)
        yield url
        return
    make = postgres_database if request.param == "postgresql" else mariadb_database
    async with make() as url:
        await _fill(url)
        yield url


async def _fill(url: str) -> None:
    scheme, rest = url.split("://", 1)
    engine = create_async_engine(f"{_DRIVERS[scheme]}://{rest}")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            await connection.execute(
                insert(tickets_table), [_ticket(n) for n in range(1, TICKET_ROWS + 1)]
            )
            await connection.execute(insert(payments_table), PAYMENTS)
    finally:
        await engine.dispose()


async def test_tickets_from_a_table_stream_in_batches_with_values_parsed(database: str) -> None:
    source = SqlTicketSource(database, table_name="support_tickets", batch_size=BATCH)
    await source.check()
    rejects: list[Reject] = []
    tickets = [ticket async for ticket in source.tickets(rejects.append)]

    assert rejects == []
    assert sorted(ticket.ticket_id for ticket in tickets) == [
        f"T{n:03d}" for n in range(1, TICKET_ROWS + 1)
    ]
    third = next(ticket for ticket in tickets if ticket.ticket_id == "T003")
    assert third.status == "open"
    assert third.subject == "Charged twice"
    assert third.body == "Café, card **** 1111, ticket 3"
    assert third.created_at == datetime(2024, 5, 1, 9, 3, tzinfo=UTC)
    assert third.customer_email == "c3@example.com"
    assert third.priority == "high"
    # A NULL subject reads as an empty one, as an empty CSV field does.
    assert next(ticket for ticket in tickets if ticket.ticket_id == "T002").subject == ""


async def test_transactions_by_query_with_a_column_map_reject_bad_rows(database: str) -> None:
    source = SqlTransactionSource(
        database,
        query="SELECT * FROM payments ORDER BY n;",
        column_map=PAYMENT_COLUMNS,
        batch_size=BATCH,
    )
    await source.check()
    rejects: list[Reject] = []
    transactions = [item async for item in source.transactions(rejects.append)]

    assert [item.transaction_id for item in transactions] == [
        "ch_1",
        "ch_3",
        *(f"ch_{n}" for n in range(6, 12)),
    ]
    first = transactions[0]
    assert first.amount == Decimal("49.99")
    assert first.currency == "USD"
    assert first.created_at == datetime(2024, 5, 1, 10, 1, tzinfo=UTC)
    card = transactions[1]
    assert card.description == "paid with **** 1111"
    assert card.card_last4 == "1111"
    assert [(reject.line, reject.reason.split(":")[0]) for reject in rejects] == [
        (2, "amount"),
        (4, "currency"),
        (5, "transaction_id"),
    ]
    assert rejects[0].reason == "amount: required but empty"
    assert rejects[2].reason == "transaction_id: duplicate of line 1"
    assert {reject.file for reject in rejects} == {source.name}
    assert all(reject.source == "transactions" for reject in rejects)


async def test_a_reject_names_the_url_without_its_password_and_holds_no_card() -> None:
    async with postgres_database() as url:
        await _fill(url)
        with_password = url.replace("postgres@", "postgres:s3cret@")  # trust: not checked
        source = SqlTransactionSource(
            with_password,
            query='SELECT n, "Id", \'C1\' AS "Customer", \'x\' AS "Total", "Cur", "State", '
            '"At", "Note", "Card" FROM payments WHERE n = 3',
            column_map=PAYMENT_COLUMNS,
        )
        rejects: list[Reject] = []
        assert [item async for item in source.transactions(rejects.append)] == []

    [reject] = rejects
    assert "s3cret" not in reject.file
    assert reject.file == with_password.replace("s3cret", "***")
    assert reject.line == 1
    assert reject.reason.startswith("amount: not a number")
    assert "1111 1111" not in reject.raw
    assert "**** 1111" in reject.raw


async def test_a_missing_column_stops_before_any_row_naming_the_option(database: str) -> None:
    source = SqlTicketSource(
        database, query="SELECT ticket_id, customer_id, subject, body FROM support_tickets"
    )
    with pytest.raises(SourceError) as raised:
        await source.check()
    message = str(raised.value)
    assert message.startswith(source.name)
    assert "missing required column 'status'" in message
    assert "--ticket-columns" in message


@pytest.mark.parametrize(
    ("query", "table"),
    [
        ("SELECT * FROM no_such_table", None),
        ("SELECT * FROM support_tickets WHERE", None),
        (None, "no_such_table"),
    ],
)
async def test_a_failing_query_or_missing_table_names_the_url_and_the_error(
    database: str, query: str | None, table: str | None
) -> None:
    source = SqlTicketSource(database, query=query, table_name=table)
    with pytest.raises(SourceError) as raised:
        await source.check()
    message = str(raised.value)
    assert message.startswith(f"{source.name}: cannot read the tickets: ")
    assert "no_such_table" in message or "syntax" in message.lower()


async def test_a_query_that_fails_while_streaming_names_the_url() -> None:
    async with postgres_database() as url:
        await _fill(url)
        # The check sees the columns; the 10th row divides by zero.
        source = SqlTicketSource(
            url,
            query="SELECT *, 1 / (10 - row_number() OVER (ORDER BY ticket_id)) AS boom "
            "FROM support_tickets",
            batch_size=BATCH,
        )
        await source.check()
        read: list[str] = []

        async def read_all() -> None:
            async for ticket in source.tickets(lambda reject: None):
                read.append(ticket.ticket_id)

        with pytest.raises(SourceError, match="division by zero") as raised:
            await read_all()
    assert str(raised.value).startswith(f"{url}: cannot read the tickets: ")
    assert len(read) < 10


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("scheme", ["postgresql", "mysql", "mariadb"])
async def test_a_server_that_cannot_be_reached_is_named_without_the_password(
    scheme: str,
) -> None:
    url = f"{scheme}://support:s3cret@127.0.0.1:{_closed_port()}/tickets"
    source = SqlTransactionSource(url, table_name="payments")
    with pytest.raises(SourceError) as raised:
        await source.check()
    message = str(raised.value)
    assert "s3cret" not in message
    assert message.startswith(f"{scheme}://support:***@127.0.0.1:")
    assert "connect" in message.lower()


async def test_an_unknown_driver_is_a_clear_error() -> None:
    source = SqlTicketSource("postgresql+nosuchdriver://h/db", table_name="t")
    with pytest.raises(SourceError, match="not a database URL Supporter can use"):
        await source.check()


@pytest.mark.parametrize(
    ("query", "table"), [(None, None), ("SELECT 1", "tickets")], ids=["neither", "both"]
)
def test_a_query_or_a_table_is_needed_but_not_both(query: str | None, table: str | None) -> None:
    with pytest.raises(SourceError, match="--tickets-query 'SELECT …' or --tickets-table NAME"):
        SqlTicketSource("sqlite:///x.db", query=query, table_name=table)


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(SourceError, match="batch size must be at least 1"):
        SqlTicketSource("sqlite:///x.db", table_name="t", batch_size=0)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("postgresql://u@h/db", True),
        ("postgres://u@h/db", True),
        ("mysql+asyncmy://u@h/db", True),
        ("MariaDB://u@h/db", True),
        ("sqlite:///tickets.db", True),
        ("tickets.csv", False),
        ("/data/postgresql/tickets.csv", False),
        ("https://example.com/tickets.csv", False),
    ],
)
def test_database_urls_are_told_from_files(location: str, expected: bool) -> None:
    assert is_database_url(location) is expected
