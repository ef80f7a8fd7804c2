"""Tickets and transactions from a SQL database: PostgreSQL, MySQL/MariaDB or SQLite.

Where
    A database URL (``postgresql://user:pw@host/db``, ``mysql://…``, ``mariadb://…``,
    ``sqlite:///path.db``) and either a query (any statement that returns rows, usually a
    SELECT) or a table name (``schema.table`` allowed). A URL that names its driver
    (``postgresql+psycopg://…``) is used as given; otherwise the async drivers installed
    with Supporter serve: asyncpg, asyncmy (MySQL and MariaDB) and aiosqlite.

Columns and values
    The result's columns are matched to our fields by name exactly as a CSV header is
    (``sources.csv``: the same required and optional fields, the same column map), and
    every value is checked, parsed and card-masked by the same code as a CSV field, after
    being written as text: NULL is an empty value, a date or timestamp is ISO 8601 (one
    without a zone is taken as UTC), a number is written out in full (never with an
    exponent), bytes are read as UTF-8.

Rejects and errors
    A bad row goes to ``on_reject`` with the URL (password hidden), its row number in the
    result (1-based) and a reason naming the field; the rest goes on. A URL that cannot be
    used, a database that cannot be reached, a query that fails or a missing column raises
    ``SourceError`` naming the URL and the database's error: ``check`` finds all of these
    before any work. The source only reads: its connection never commits, so a statement
    that writes is rolled back (give it a read-only user all the same).

Memory
    Rows are streamed with a server-side cursor (``stream_results``), ``batch_size`` at a
    time: PostgreSQL's cursors, MySQL's unbuffered result sets, SQLite's stepping.
    Nothing holds the whole result; the ids read so far (duplicate detection) move to a
    temporary file past 100,000 (``sources.seen``): memory stays flat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from sqlalchemy import literal_column, select, table, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.selectable import Select, TextualSelect

from supporter.domain.models import Ticket, Transaction
from supporter.sources.base import RejectHandler, SourceError
from supporter.sources.csv import (
    TICKET_SCHEMA,
    TRANSACTION_SCHEMA,
    Columns,
    FieldLimits,
    NamedColumns,
    Row,
    Schema,
    ticket_parser,
    transaction_parser,
)
from supporter.store.sql import DATABASE_ERRORS, describe_error, redacted

__all__ = ["SqlTicketSource", "SqlTransactionSource", "is_database_url"]

DEFAULT_BATCH_SIZE = 1000

# Plain schemes -> the async driver installed with Supporter. asyncmy speaks to MySQL and
# MariaDB alike, is maintained, and SQLAlchemy streams its unbuffered cursors (SSCursor):
# https://docs.sqlalchemy.org/en/20/dialects/mysql.html#module-sqlalchemy.dialects.mysql.asyncmy
_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "mysql": "mysql+asyncmy",
    "mariadb": "mariadb+asyncmy",
    "sqlite": "sqlite+aiosqlite",
}

_Record = TypeVar("_Record", Ticket, Transaction)
_Statement = Select[Any] | TextualSelect


def is_database_url(location: str) -> bool:
    """True for a database URL (postgresql://…), False for a file path."""
    scheme, separator, _ = location.partition("://")
    return bool(separator) and scheme.split("+")[0].lower() in _DRIVERS


class _SqlSource:
    """What both SQL sources share: the URL, the statement, the checks, the stream."""

    _schema: ClassVar[Schema]
    source_name: ClassVar[str]  # "tickets" or "transactions", as the options name it

    def __init__(
        self,
        url: str,
        *,
        query: str | None = None,
        table_name: str | None = None,
        column_map: Mapping[str, str] | None = None,
        limits: FieldLimits | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.name = redacted(url)
        self._url = url
        option = f"--{self._schema.source}"
        if (query is None) == (table_name is None):
            raise SourceError(
                f"{self.name}: give either {option}-query 'SELECT …' or {option}-table NAME"
            )
        if batch_size < 1:
            raise SourceError(f"{self.name}: the batch size must be at least 1, not {batch_size}")
        self._statement = _query(query) if query is not None else _table(table_name or "")
        self._columns = NamedColumns(self.name, self._schema, column_map)
        self._limits = limits or FieldLimits()
        self._batch_size = batch_size

    async def check(self) -> None:
        """Connect, run the statement for its columns only, and resolve them: raises
        `SourceError` (URL, password hidden, and the database's error) when unusable."""
        # Wrapped in LIMIT 0: nothing is fetched, and MySQL's unbuffered result set need
        # not be drained when closed.
        probe: Select[Any] = (
            select(literal_column("*")).select_from(self._statement.subquery()).limit(0)
        )
        async with self._engine() as engine:
            try:
                async with engine.connect() as connection:
                    result = await connection.execute(probe)
                    self._columns.resolve(list(result.keys()))
            except DATABASE_ERRORS as error:
                raise self._error(error) from error

    async def _records(
        self,
        make_parser: Callable[[Columns, FieldLimits], Callable[[Row], _Record]],
        on_reject: RejectHandler,
    ) -> AsyncIterator[_Record]:
        options = {"stream_results": True, "yield_per": self._batch_size}
        async with self._engine() as engine:
            try:
                async with (
                    engine.connect() as connection,
                    connection.stream(self._statement, execution_options=options) as result,
                ):
                    columns = self._columns.resolve(list(result.keys()))
                    record = self._columns.parser(columns, make_parser, self._limits, on_reject)
                    number = 0
                    async for batch in result.partitions():
                        for row in batch:
                            number += 1
                            # Most values are text already: only the others pay for a call.
                            texts = [v if type(v) is str else _text(v) for v in row]
                            parsed = record(number, texts)
                            if parsed is not None:
                                yield parsed
            except DATABASE_ERRORS as error:
                raise self._error(error) from error

    def _engine(self) -> _Engine:
        try:
            url = _async_url(make_url(self._url))
            # NullPool: one connection per read, closed with it; parameters can be ticket data.
            engine = create_async_engine(url, poolclass=NullPool, hide_parameters=True)
        except (ArgumentError, NoSuchModuleError, ValueError) as error:
            raise SourceError(
                f"{self.name}: not a database URL Supporter can use ({error}); "
                "e.g. postgresql://user@host/db, mysql://user@host/db, sqlite:///file.db"
            ) from error
        return _Engine(engine)

    def _error(self, error: BaseException) -> SourceError:
        return SourceError(
            f"{self.name}: cannot read the {self._schema.source}: {describe_error(error)}"
        )


class SqlTicketSource(_SqlSource):
    """Tickets from a query or table (see the module docstring)."""

    _schema = TICKET_SCHEMA
    source_name = "tickets"

    async def tickets(self, on_reject: RejectHandler) -> AsyncIterator[Ticket]:
        async for ticket in self._records(ticket_parser, on_reject):
            yield ticket


class SqlTransactionSource(_SqlSource):
    """Payment transactions from a query or table (see the module docstring)."""

    _schema = TRANSACTION_SCHEMA
    source_name = "transactions"

    async def transactions(self, on_reject: RejectHandler) -> AsyncIterator[Transaction]:
        async for transaction in self._records(transaction_parser, on_reject):
            yield transaction


class _Engine:
    """An engine disposed of when the block ends, however it ends."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def __aenter__(self) -> AsyncEngine:
        return self._engine

    async def __aexit__(self, *_: object) -> None:
        await self._engine.dispose()


def _async_url(url: URL) -> URL:
    driver = _DRIVERS.get(url.drivername)
    return url if driver is None else url.set(drivername=driver)


def _query(query: str) -> _Statement:
    # A trailing semicolon would end the statement inside the LIMIT 0 probe's subquery.
    return text(query.strip().rstrip(";").strip()).columns()


def _table(name: str) -> _Statement:
    schema, _, table_name = name.strip().rpartition(".")
    # table() quotes the names as the dialect needs: no SQL can be injected through them.
    return select(literal_column("*")).select_from(table(table_name, schema=schema or None))


def _text(value: Any) -> str:
    """A column's value as the CSV reader would see it written."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        # repr is the shortest text that reads back the same float: 0.1, not 0.1000000000000000055.
        return format(Decimal(repr(value)), "f")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "surrogateescape")
    return str(value)
