"""`supporter inspect FILE`: what a tickets or transactions file is, and how it will be read.

The check a person makes before a long run: the format recognised and why,
the encoding and delimiter, which columns are read and which are not, what is
skipped and rejected in the first rows, and those rows exactly as the pipeline
will see them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.table import Table

from supporter.cli.common import DateOrderOption, fail, parse_mapping
from supporter.cli.ui import console
from supporter.domain.models import Reject, Ticket, Transaction
from supporter.sources.base import (
    CountsSkips,
    MapsColumns,
    SourceError,
    SourceName,
    TicketSource,
    TransactionSource,
)
from supporter.sources.formats import DateOrder, ReadOptions
from supporter.sources.registry import (
    TICKET_FORMATS,
    TRANSACTION_FORMATS,
    Choice,
    choose_any,
    open_source,
)

_SHOWN_REJECTS = 10
_TICKET_COLUMNS = (
    *("ticket_id", "customer_id", "customer_email", "status", "created_at", "subject"),
    "body",
)
_SHOWN_TEXT = 200
_TRANSACTION_COLUMNS = (
    *("transaction_id", "customer_id", "customer_email", "type", "amount", "currency"),
    *("status", "created_at", "amount_refunded", "dispute_status", "references"),
)


@dataclass
class Inspection:
    file: str
    kind: SourceName
    format: str = ""
    title: str = ""
    why: str = ""
    encoding: str = ""
    layout: str = ""  # "comma-separated", "JSON (lines)", ...
    columns_read: list[tuple[str, str]] = field(default_factory=list)
    columns_not_read: list[str] = field(default_factory=list)
    rows_scanned: int = 0
    records: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    rejected: int = 0
    first: list[Ticket | Transaction] = field(default_factory=list)

    def describe(self, choice: Choice[TicketSource] | Choice[TransactionSource]) -> None:
        sample = choice.sample
        self.format, self.title, self.why = choice.format.name, choice.format.title, choice.why
        self.encoding = sample.encoding_name
        shape = sample.json_shape
        self.layout = f"JSON ({shape})" if shape else f"{sample.delimiter_name}-separated"

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "format": self.format,
            "title": self.title,
            "why": self.why,
            "encoding": self.encoding,
            "layout": self.layout,
            "columns_read": [
                {"column": column, "field": None if field == "read" else field}
                for field, column in self.columns_read
            ],
            "columns_not_read": self.columns_not_read,
            "rows_scanned": self.rows_scanned,
            "records": self.records,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "rejects": [{"line": r.line, "reason": r.reason} for r in self.rejects],
            "first": [record.model_dump(mode="json") for record in self.first],
        }


def inspect(
    file: Annotated[Path, typer.Argument(help="A tickets or transactions file.")],
    kind: Annotated[
        str | None,
        typer.Option(help="'tickets' or 'transactions' when the content does not say."),
    ] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="Read it as this format (by name).")
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(help="Map fields to the file's columns, as --ticket-columns does."),
    ] = None,
    date_order: DateOrderOption = None,
    rows: Annotated[int, typer.Option(help="Rows to show as parsed.", min=0)] = 5,
    scan: Annotated[
        int, typer.Option(help="Rows to read for the counts of skips and rejects.", min=1)
    ] = 10_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Show the format recognised and why, the columns read, what is skipped and the
    first rows as the pipeline will see them. Exit status 2 when it cannot be read."""
    if kind is not None and kind not in ("tickets", "transactions"):
        fail(f"--kind: expected 'tickets' or 'transactions', got {kind!r}")
    if date_order is not None and date_order not in ("day-first", "month-first"):
        fail(f"--date-order: expected 'day-first' or 'month-first', got {date_order!r}")
    options = ReadOptions(
        column_map=parse_mapping(columns, "--columns") or {},
        date_order=cast(DateOrder | None, date_order),  # checked above
    )
    try:
        found = asyncio.run(
            _inspect(file, cast(SourceName | None, kind), format, options, rows, scan)
        )
    except SourceError as error:
        fail(str(error))
    if as_json:
        print(json.dumps(found.as_json(), indent=2, ensure_ascii=False))
    else:
        _print(found)


async def _inspect(
    path: Path,
    kind: SourceName | None,
    forced: str | None,
    options: ReadOptions,
    rows: int,
    scan: int,
) -> Inspection:
    if kind is None:
        kind = _kind(path, forced)
    records: AsyncIterator[Ticket | Transaction]
    found = Inspection(file=str(path), kind=kind)

    def on_reject(reject: Reject) -> None:
        found.rejected += 1
        if len(found.rejects) < _SHOWN_REJECTS:
            found.rejects.append(reject)

    source: object
    choice: Choice[TicketSource] | Choice[TransactionSource]
    if kind == "tickets":
        tickets, choice = open_source(path, TICKET_FORMATS, kind, forced=forced, options=options)
        source, records = tickets, _widen(tickets.tickets(on_reject))
    else:
        payments, choice = open_source(
            path, TRANSACTION_FORMATS, kind, forced=forced, options=options
        )
        source, records = payments, _widen(payments.transactions(on_reject))
    found.describe(choice)
    if isinstance(source, MapsColumns):
        found.columns_read, found.columns_not_read = source.column_mapping()
    counts = source if isinstance(source, CountsSkips) else None
    async for record in records:
        found.records += 1
        if len(found.first) < rows:
            found.first.append(record)
        skipped = sum(counts.skipped.values()) if counts else 0
        if found.records + found.rejected + skipped >= scan:
            break
    found.skipped = dict(counts.skipped) if counts else {}
    found.rows_scanned = found.records + found.rejected + sum(found.skipped.values())
    return found


async def _widen(
    records: AsyncIterator[Ticket] | AsyncIterator[Transaction],
) -> AsyncIterator[Ticket | Transaction]:
    async for record in records:
        yield record


def _kind(path: Path, forced: str | None) -> SourceName:
    """The kind of file from its content; from the named format when that is unique."""
    try:
        return choose_any(path)[0]
    except SourceError:
        if forced is None:
            raise
    name = forced.strip().lower()
    kinds: list[SourceName] = []
    if any(candidate.name == name for candidate in TICKET_FORMATS):
        kinds.append("tickets")
    if any(candidate.name == name for candidate in TRANSACTION_FORMATS):
        kinds.append("transactions")
    if len(kinds) != 1:
        raise SourceError(f"{path}: say whether it holds tickets or transactions with --kind")
    return kinds[0]


def _print(found: Inspection) -> None:
    facts = Table(show_header=False, title=found.file, title_justify="left")
    facts.add_column("what", style="bold")
    facts.add_column("value", overflow="fold")
    facts.add_row("holds", found.kind)
    facts.add_row("format", f"{found.format} ({found.title})")
    facts.add_row("because", found.why)
    facts.add_row("encoding", f"{found.encoding}, {found.layout}")
    if found.columns_read:
        facts.add_row(
            "columns read",
            ", ".join(
                column if field == "read" else f"{field} ← {column}"
                for field, column in found.columns_read
            ),
        )
        facts.add_row("not read", ", ".join(found.columns_not_read) or "-")
    facts.add_row(
        "rows read",
        f"{found.rows_scanned:,}: {found.records:,} {found.kind}, "
        f"{sum(found.skipped.values()):,} skipped, {found.rejected:,} rejected",
    )
    if found.skipped:
        facts.add_row(
            "skipped", ", ".join(f"{reason} {count:,}" for reason, count in found.skipped.items())
        )
    for reject in found.rejects:
        facts.add_row("rejected", f"line {reject.line}: {reject.reason}")
    console.print(facts, highlight=False)
    if found.first:
        console.print(_records_table(found), highlight=False)


def _records_table(found: Inspection) -> Table:
    """One column per record, one row per field: fits a terminal however long the values."""
    names = _TICKET_COLUMNS if found.kind == "tickets" else _TRANSACTION_COLUMNS
    table = Table(
        title=f"the first {len(found.first)} as the pipeline sees them", title_justify="left"
    )
    table.add_column("field", style="bold")
    dumped = [record.model_dump(mode="json") for record in found.first]
    for number in range(1, len(dumped) + 1):
        table.add_column(f"#{number}", overflow="fold")
    for name in names:
        table.add_row(name, *(_cell(values.get(name)) for values in dumped))
    return table


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "-"
    text = str(value)
    return text if len(text) <= _SHOWN_TEXT else text[: _SHOWN_TEXT - 3] + "..."
