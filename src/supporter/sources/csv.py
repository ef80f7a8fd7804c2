"""Tickets and transactions from CSV files, streamed one row at a time.

File format
    UTF-8 with or without a byte-order mark, or UTF-16 with one; comma-, tab- or
    semicolon-separated (whichever splits the first line into the most fields);
    CRLF or LF line endings, quoting as spreadsheets write it (a quoted field may
    hold delimiters, quotes and newlines). The first non-blank line is the header. Column names
    match case-insensitively, ignoring surrounding spaces; extra columns are
    ignored. A column map (our field -> your column, e.g. ``{"body":
    "Description"}``) reads a helpdesk export as is.

Columns
    tickets: ticket_id, customer_id, subject, body, status, created_at;
    optional customer_email, channel, priority (low, medium, high, urgent),
    tags (separated by spaces, commas or semicolons).
    transactions: transaction_id, customer_id, amount, currency, status,
    created_at; optional type (charge, refund, chargeback, payout; empty means
    charge), description, card_last4, customer_email (joins the transaction to
    tickets by e-mail), amount_refunded, dispute_status, disputed_amount
    (amounts written as amount is), references (order numbers and other ids a
    customer may quote, separated by spaces, commas or semicolons).

Values
    Surrounding spaces are stripped from every value. Ids, status, created_at,
    amount and currency must not be empty. A ticket may lack a subject (chat and
    phone tickets have none) or a body, but not both: then there is nothing to
    answer. status, priority and type are matched case-insensitively and stored
    in lower case. created_at is ISO 8601: a date (midnight UTC), a date-time
    without a zone (taken as UTC) or with one (``Z``, ``+02:00``); it is always
    stored as an aware UTC datetime. amount is a Decimal written with a dot and
    an optional leading minus (``-12.50``): no comma, exponent, NaN or Infinity.
    currency is three letters, stored in upper case. card_last4 is four digits;
    a full card number (13-19 digits, maybe grouped) or a masked one (``**** 4242``)
    is cut to its last four, so a full number is never kept.

Card numbers
    subject, body and description are masked with ``mask_card_numbers`` as they
    are read, and so are a reject's ``raw`` text and any value quoted in its
    reason: no full card number leaves this module.

Limits (``FieldLimits``, in characters, measured on the value as written)
    ids 128 (ticket_id, transaction_id, customer_id), subject 500, body 20,000,
    description 2,000, and 256 for every other field. A longer value rejects the
    row. A whole record over ``record`` characters (32 Mi) is rejected with its
    size without being kept in memory (see ``records``).

Rejects and errors
    A row that cannot be used goes to ``on_reject`` with the physical line it
    starts on (1-based; a quoted field spanning lines moves later records down),
    a reason naming the field, and the row re-joined as CSV; the rest goes on.
    That covers a missing or unparsable value, a value over its limit, a row with
    more or fewer fields than the header, a duplicate id (a second row with an id
    already read; a rejected row does not claim its id), and bytes that are not
    UTF-8 in a field that is used (the row is rejected, its ``raw`` shows them
    as U+FFFD). Blank lines, and rows whose fields are all blank, are skipped.
    A missing, unreadable or empty file, a missing column, an unknown field in
    the column map, or a column that appears twice raises ``SourceError`` before
    anything is yielded, and so does a file that is not text (NUL bytes) or whose
    header is not readable in its encoding: the message names the encoding
    problem and never prints the bytes. A quote that is never closed raises
    ``SourceError`` with the line it opens on: where the next record begins
    cannot be known, and guessing could read the rest of the file wrongly.

Memory
    Only the current record is held, plus the ids read so far with their line
    (duplicate detection): in memory up to 100,000 of them, then in a temporary
    SQLite file (``sources.seen``), so memory stays flat however long the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

from supporter.domain.masking import mask_card_numbers
from supporter.domain.models import Priority, Ticket, Transaction, TransactionType
from supporter.sources.base import Reject, RejectHandler, SourceError, SourceName
from supporter.sources.formats import FieldLimits, ReadOptions
from supporter.sources.records import Records
from supporter.sources.seen import SeenIds
from supporter.sources.sniff import Sample, printable, sniff, unreadable
from supporter.sources.values import (
    BadValue,
    card_last4,
    checked,
    parse_currency,
    raw_row,
    show,
    ticket_id_problem,
)

__all__ = [
    "CSV_TICKETS",
    "CSV_TRANSACTIONS",
    "BadValue",
    "CsvTicketSource",
    "CsvTransactionSource",
    "FieldLimits",
    "ticket_from_fields",
    "transaction_from_fields",
]


@dataclass(frozen=True, slots=True)
class Schema:
    """The fields of one kind of record, and how error messages name them."""

    source: SourceName
    record_name: str
    required: tuple[str, ...]  # the first is the record's id
    optional: tuple[str, ...]
    map_option: str  # the CLI option that maps columns, named in error messages
    map_example: str

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + self.optional

    @property
    def id_field(self) -> str:
        return self.required[0]

    def from_fields(
        self,
        make_parser: Callable[[Columns, FieldLimits], Callable[[Row], _Record]],
        values: Mapping[str, str | None],
        limits: FieldLimits | None,
    ) -> _Record:
        """One record from named values: a row laid out in this schema's own order."""
        positions = {name: position for position, name in enumerate(self.fields)}
        columns = Columns(
            required={name: positions[name] for name in self.required},
            optional={name: positions[name] for name in self.optional},
            width=len(self.fields),
        )
        row = [values.get(name) or "" for name in self.fields]
        return make_parser(columns, limits or FieldLimits())(row)


TICKET_SCHEMA = Schema(
    source="tickets",
    record_name="ticket",
    required=("ticket_id", "customer_id", "subject", "body", "status", "created_at"),
    optional=("customer_email", "channel", "priority", "tags"),
    map_option="--ticket-columns",
    map_example="body=Description",
)
TRANSACTION_SCHEMA = Schema(
    source="transactions",
    record_name="transaction",
    required=("transaction_id", "customer_id", "amount", "currency", "status", "created_at"),
    optional=(
        "type",
        "description",
        "card_last4",
        "customer_email",
        "amount_refunded",
        "dispute_status",
        "disputed_amount",
        "references",
    ),
    map_option="--transaction-columns",
    map_example="transaction_id=Id",
)

Row = list[str]
_Record = TypeVar("_Record", Ticket, Transaction)

_AMOUNT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_LIST_SEPARATORS = re.compile(r"[\s,;]+")
_PRIORITIES = {priority.value: priority for priority in Priority}
_TYPES = {kind.value: kind for kind in TransactionType}
_SHOWN_COLUMNS = 20


class _CsvSource:
    """What both CSV adapters share: the file, its columns, the header check."""

    _columns: ClassVar[Schema]

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        column_map: Mapping[str, str] | None = None,
        limits: FieldLimits | None = None,
        sample: Sample | None = None,
    ) -> None:
        self._file = _CsvFile(path, self._columns, column_map, sample)
        self._limits = limits or FieldLimits()

    @property
    def path(self) -> Path:
        return self._file.path

    def check_header(self) -> None:
        """Read the header only; raise `SourceError` when the file cannot be used."""
        self._file.check_header(self._limits)

    def column_mapping(self) -> tuple[list[tuple[str, str]], list[str]]:
        """(our field, the file's column) for each field found, and the columns not read."""
        header, columns = self._file.header_columns(self._limits)
        found = {**columns.required, **columns.optional}
        pairs = [(field, header[at].strip()) for field, at in found.items() if at is not None]
        used = {at for at in found.values() if at is not None}
        return pairs, [name.strip() for at, name in enumerate(header) if at not in used]


class CsvTicketSource(_CsvSource):
    """Tickets from a CSV file (see the module docstring for the format)."""

    _columns = TICKET_SCHEMA

    async def tickets(self, on_reject: RejectHandler) -> AsyncIterator[Ticket]:
        """Every valid ticket in file order; bad rows go to `on_reject`."""
        # closing(): an abandoned iteration closes the file now, not when collected.
        with closing(self._file.read(ticket_parser, self._limits, on_reject)) as rows:
            for ticket in rows:
                yield ticket


class CsvTransactionSource(_CsvSource):
    """Payment transactions from a CSV file (see the module docstring for the format)."""

    _columns = TRANSACTION_SCHEMA

    async def transactions(self, on_reject: RejectHandler) -> AsyncIterator[Transaction]:
        """Every valid transaction in file order; bad rows go to `on_reject`."""
        with closing(self._file.read(transaction_parser, self._limits, on_reject)) as rows:
            for transaction in rows:
                yield transaction


@dataclass(frozen=True, slots=True)
class Columns:
    """Where each field is in a row; an optional field missing from the file is None."""

    required: dict[str, int]
    optional: dict[str, int | None]
    width: int


class NamedColumns:
    """An input whose columns are found by name (a CSV header, the columns of a query's
    result): the column map, each row checked and parsed, rejects and duplicate ids.
    The CSV files and the SQL sources share it."""

    def __init__(self, name: str, schema: Schema, column_map: Mapping[str, str] | None) -> None:
        self._name = name
        self._schema = schema
        self._wanted, self._mapped = self._wanted_columns(column_map or {})

    def parser(
        self,
        columns: Columns,
        make_parser: Callable[[Columns, FieldLimits], Callable[[Row], _Record]],
        limits: FieldLimits,
        on_reject: RejectHandler,
    ) -> Callable[[int, Row], _Record | None]:
        """The record of each row (given with its line), or None when it was rejected."""
        parse = make_parser(columns, limits)
        # Its temporary file, if it spilled to one, goes when the read drops this parser.
        seen = SeenIds()

        def record(line: int, row: Row) -> _Record | None:
            if len(row) != columns.width:
                reason = f"expected {columns.width} fields as in the header, found {len(row)}"
                self._reject(on_reject, line, reason, row)
                return None
            try:
                parsed = parse(row)
            except BadValue as problem:
                self._reject(on_reject, line, str(problem), row)
                return None
            first = seen.first_line(_record_id(parsed), line)
            if first != line:
                reason = f"{self._schema.id_field}: duplicate of line {first}"
                self._reject(on_reject, line, reason, row)
                return None
            return parsed

        return record

    def _reject(self, on_reject: RejectHandler, line: int, reason: str, row: Row) -> None:
        if _is_blank(row):
            return  # blank lines and spreadsheets' empty rows hold nothing to lose
        source, name = self._schema.source, self._name
        on_reject(Reject(source=source, file=name, line=line, reason=reason, raw=raw_row(row)))

    def _wanted_columns(self, column_map: Mapping[str, str]) -> tuple[dict[str, str], set[str]]:
        """Our field -> the normalised column name to look for, and which fields were mapped."""
        schema = self._schema
        wanted = {field: field for field in schema.fields}
        mapped: set[str] = set()
        for key, column in column_map.items():
            field = _normalise(key)
            if field not in wanted:
                raise SourceError(
                    f"{self._name}: {key!r} in the column map ({schema.map_option}) is not a "
                    f"{schema.record_name} field; the fields are: {', '.join(schema.fields)}"
                )
            if not column.strip():
                raise SourceError(
                    f"{self._name}: the column map ({schema.map_option}) gives {field} "
                    "an empty column name"
                )
            wanted[field] = _normalise(column)
            mapped.add(field)
        return wanted, mapped

    def resolve(self, header: Row) -> Columns:
        positions: dict[str, list[int]] = {}
        for position, name in enumerate(header):
            positions.setdefault(_normalise(name), []).append(position)
        found: dict[str, int] = {}
        problems: list[str] = []
        for field in self._schema.fields:
            column = self._wanted[field]
            matches = positions.get(column, [])
            if len(matches) > 1:
                places = " and ".join(str(position + 1) for position in matches)
                raise SourceError(
                    f"{self._name}: column {column!r} ({field}) appears more than once "
                    f"(columns {places}); rename or remove all but one"
                )
            if matches:
                found[field] = matches[0]
            elif field in self._mapped:
                problems.append(f"column {column!r} mapped to {field} is not there")
            elif field in self._schema.required:
                problems.append(f"missing required column {field!r}")
        if problems:
            raise SourceError(self._missing_message(problems, header))
        return Columns(
            required={field: found[field] for field in self._schema.required},
            optional={field: found.get(field) for field in self._schema.optional},
            width=len(header),
        )

    def _missing_message(self, problems: list[str], header: Row) -> str:
        names = [printable(name.strip()) or "''" for name in header]
        shown = ", ".join(names[:_SHOWN_COLUMNS])
        if len(names) > _SHOWN_COLUMNS:
            shown += f", ... ({len(names) - _SHOWN_COLUMNS} more)"
        option = self._schema.map_option
        return (
            f"{self._name}: {'; '.join(problems)} (found: {shown}); map a field to your "
            f"column with {option} <field>=<your column>, e.g. {option} {self._schema.map_example}"
        )


class _CsvFile(NamedColumns):
    """A CSV file: its encoding and delimiter, the header, physical line numbers."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        schema: Schema,
        column_map: Mapping[str, str] | None,
        sample: Sample | None = None,
    ) -> None:
        super().__init__(os.fspath(path), schema, column_map)
        self.path = Path(path)
        self._sample = sample
        self._header_row: Row = []

    def check_header(self, limits: FieldLimits) -> None:
        with self._open(limits, None):
            pass

    def header_columns(self, limits: FieldLimits) -> tuple[Row, Columns]:
        """The header and where each field is in it."""
        with self._open(limits, None) as (_, columns):
            return self._header_row, columns

    def read(
        self,
        make_parser: Callable[[Columns, FieldLimits], Callable[[Row], _Record]],
        limits: FieldLimits,
        on_reject: RejectHandler,
    ) -> Generator[_Record, None, None]:
        with self._open(limits, on_reject) as (records, columns):
            record = self.parser(columns, make_parser, limits, on_reject)
            for line, row in records:
                parsed = record(line, row)
                if parsed is not None:
                    yield parsed

    @contextmanager
    def _open(
        self, limits: FieldLimits, on_reject: RejectHandler | None
    ) -> Iterator[tuple[Iterator[tuple[int, Row]], Columns]]:
        sample = self._sample or sniff(self.path)
        if sample.json_shape is not None:
            raise SourceError(
                f"{self._name}: is JSON, not CSV; give a CSV file, or name its format"
            )
        # Opened outside the with statement so that only opening errors are caught here.
        try:
            stream = open(  # noqa: SIM115
                self.path, encoding=sample.encoding, errors="surrogateescape", newline=""
            )
        except OSError as error:
            raise SourceError(unreadable(self._name, error)) from error

        def oversized(line: int, size: int) -> None:
            if on_reject is not None:
                reason = f"record: {size:,} characters, over the limit of {limits.record:,}"
                source, name = self._schema.source, self._name
                on_reject(Reject(source=source, file=name, line=line, reason=reason, raw=""))

        with stream:
            records = iter(
                Records(
                    self._name,
                    stream,
                    delimiter=sample.delimiter,
                    max_record=limits.record,
                    on_oversized=oversized,
                )
            )
            try:
                yield records, self.resolve(self._header(records))
            except UnicodeError:
                raise SourceError(
                    f"{self._name}: not readable as {sample.encoding_name}; save the file as UTF-8"
                ) from None

    def _header(self, records: Iterator[tuple[int, Row]]) -> Row:
        for _line, row in records:
            if not _is_blank(row):
                self._header_row = row
                return row
        expected = ", ".join(self._schema.required)
        raise SourceError(
            f"{self._name}: the file is empty; it needs a header row naming the columns "
            f"({expected}) followed by one row per {self._schema.record_name}"
        )


def ticket_parser(columns: Columns, limits: FieldLimits) -> Callable[[Row], Ticket]:
    ticket_id, customer_id, subject, body, status, created_at = columns.required.values()
    email, channel, priority, tags = columns.optional.values()

    def parse(row: Row) -> Ticket:
        # Fields are checked in column order, so the first bad one is the one reported.
        ticket_id_value = _ticket_id(_required(row[ticket_id], "ticket_id", limits.id))
        customer_id_value = _required(row[customer_id], "customer_id", limits.id)
        subject_text, body_text = _subject_and_body(row[subject], row[body], limits)
        return Ticket(
            ticket_id=ticket_id_value,
            customer_id=customer_id_value,
            subject=subject_text,
            body=body_text,
            status=_required(row[status], "status", limits.text).lower(),
            created_at=_timestamp(_required(row[created_at], "created_at", limits.text)),
            customer_email=_optional(row, email, "customer_email", limits.text),
            channel=_optional(row, channel, "channel", limits.text),
            priority=_priority(_optional(row, priority, "priority", limits.text)),
            tags=_list(_optional(row, tags, "tags", limits.text)),
        )

    return parse


def transaction_parser(columns: Columns, limits: FieldLimits) -> Callable[[Row], Transaction]:
    transaction_id, customer_id, amount, currency, status, created_at = columns.required.values()
    kind, description, last4, email, refunded, dispute, disputed, references = (
        columns.optional.values()
    )

    def parse(row: Row) -> Transaction:
        # Keyword arguments are evaluated in order: the first bad field is the one reported.
        return Transaction(
            transaction_id=_required(row[transaction_id], "transaction_id", limits.id),
            customer_id=_required(row[customer_id], "customer_id", limits.id),
            amount=_amount(_required(row[amount], "amount", limits.text)),
            currency=parse_currency(_required(row[currency], "currency", limits.text)),
            status=_word(_required(row[status], "status", limits.text), "status"),
            created_at=_timestamp(_required(row[created_at], "created_at", limits.text)),
            type=_transaction_type(_optional(row, kind, "type", limits.text)),
            description=_masked(_optional(row, description, "description", limits.description)),
            card_last4=card_last4(_optional(row, last4, "card_last4", limits.text)),
            customer_email=_optional(row, email, "customer_email", limits.text),
            amount_refunded=_optional_amount(row, refunded, "amount_refunded", limits.text),
            dispute_status=_optional_word(
                _optional(row, dispute, "dispute_status", limits.text), "dispute_status"
            ),
            disputed_amount=_optional_amount(row, disputed, "disputed_amount", limits.text),
            references=_list(_optional(row, references, "references", limits.text)),
        )

    return parse


def ticket_from_fields(
    values: Mapping[str, str | None], limits: FieldLimits | None = None
) -> Ticket:
    """A ticket from its fields' text, as a CSV row would give them (the HTTP API): the
    same checks and card masking. Raises BadValue naming the first bad field."""
    return TICKET_SCHEMA.from_fields(ticket_parser, values, limits)


def transaction_from_fields(
    values: Mapping[str, str | None], limits: FieldLimits | None = None
) -> Transaction:
    """A transaction from its fields' text, checked as a CSV row is. Raises BadValue."""
    return TRANSACTION_SCHEMA.from_fields(transaction_parser, values, limits)


def _record_id(record: Ticket | Transaction) -> str:
    return record.ticket_id if isinstance(record, Ticket) else record.transaction_id


def _required(value: str, field: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise BadValue(field, "required but empty")
    return checked(value, field, limit)


# A transaction's status is the processor's word for it (succeeded, refunded, pending,
# partially_refunded, ...): kept as written (lower case) and shown to the model and in
# drafts, but only the statuses the grounding check knows are interpreted. Markup or
# punctuation is no status: refused, so no such text reaches a draft.
_WORD = re.compile(r"[^\W_][\w -]*")


def _word(value: str, field: str) -> str:
    if _WORD.fullmatch(value) is None:
        raise BadValue(
            field, f"not a status word (letters, digits, '_', '-' and spaces): {show(value)}"
        )
    return value.lower()


def _optional_word(value: str | None, field: str) -> str | None:
    return None if value is None else _word(value, field)


def _ticket_id(value: str) -> str:
    if problem := ticket_id_problem(value):
        raise BadValue("ticket_id", f"{problem}: {show(value)}")
    return value


def _optional(row: Row, position: int | None, field: str, limit: int) -> str | None:
    if position is None:
        return None
    value = row[position].strip()
    return checked(value, field, limit) if value else None


def _subject_and_body(subject: str, body: str, limits: FieldLimits) -> tuple[str, str]:
    subject = checked(subject.strip(), "subject", limits.subject)
    body = checked(body.strip(), "body", limits.body)
    if not subject and not body:
        raise BadValue("body", "empty, and so is subject: nothing to answer")
    return mask_card_numbers(subject), mask_card_numbers(body)


def _masked(value: str | None) -> str | None:
    return None if value is None else mask_card_numbers(value)


def _timestamp(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
        # Naive means UTC; an aware time is converted so every datetime compares alike.
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadValue("created_at", f"not an ISO 8601 date: {show(value)}") from None


def _amount(value: str, field: str = "amount") -> Decimal:
    # Checked by pattern first: Decimal() alone would take "NaN", "1e3" and "١٢".
    if _AMOUNT.fullmatch(value) is None:
        raise BadValue(
            field, f"not a number like -12.50 (dot for decimals, no separators): {show(value)}"
        )
    return Decimal(value)


def _optional_amount(row: Row, position: int | None, field: str, limit: int) -> Decimal | None:
    value = _optional(row, position, field, limit)
    return None if value is None else _amount(value, field)


def _list(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(item for item in dict.fromkeys(_LIST_SEPARATORS.split(value)) if item)


def _priority(value: str | None) -> Priority | None:
    if value is None:
        return None
    try:
        return _PRIORITIES[value.lower()]
    except KeyError:
        expected = ", ".join(_PRIORITIES)
        raise BadValue("priority", f"unknown {show(value)} (expected {expected})") from None


def _transaction_type(value: str | None) -> TransactionType:
    if value is None:
        return TransactionType.CHARGE
    try:
        return _TYPES[value.lower()]
    except KeyError:
        expected = ", ".join(_TYPES)
        raise BadValue("type", f"unknown {show(value)} (expected {expected})") from None


def _is_blank(row: Row) -> bool:
    return all(not value.strip() for value in row)


def _normalise(name: str) -> str:
    return name.strip().casefold()


_Source = TypeVar("_Source", "CsvTicketSource", "CsvTransactionSource")


class _OurCsvFormat(Generic[_Source]):
    """Our own CSV, as a format of the registry: the default, and what a column map reads."""

    name = "csv"

    def __init__(self, source_class: type[_Source]) -> None:
        self._schema = source_class._columns
        self._source_class: type[_Source] = source_class
        self.title = f"Supporter {self._schema.source} CSV"

    def recognise(self, sample: Sample) -> str | None:
        if sample.json_shape is None and sample.has_columns(*self._schema.required):
            return f"has every required column ({', '.join(self._schema.required)})"
        return None

    def open(self, sample: Sample, options: ReadOptions) -> _Source:
        source = self._source_class(
            sample.path, column_map=options.column_map, limits=options.limits, sample=sample
        )
        source.check_header()
        return source


CSV_TICKETS = _OurCsvFormat(CsvTicketSource)
CSV_TRANSACTIONS = _OurCsvFormat(CsvTransactionSource)
