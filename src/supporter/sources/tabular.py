"""What every processor's CSV export shares: finding columns, streaming rows, rejects, skips.

A vendor module describes its export as a `VendorFormat`: the columns that
identify it (per locale), and `parser(header, context)`, which returns a
function turning one row into a `Transaction`, or into a reason to skip it
(a payout, a fee, a currency conversion: not a customer payment), or raises
`BadValue` to reject it. `VendorTransactionSource` does the rest the same way
for every format: the encoding and delimiter from the sample, physical line
numbers, a row whose field count differs from the header's, duplicates of a
transaction id already read, and counts of what was skipped and why.

Each value a parser reads is checked (its limit, bytes that were not text, NULs)
once per row for all the columns the parser asked for, not once per field: a
row that is all short, valid text (nearly every row) passes with one look at
the whole row, and only another row has its columns checked one by one. So a
parser takes a value as `row[at].strip()`; a column the export lacks is at
`Header.blank`, a cell every row gets, always empty.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import NoReturn

from supporter.domain.keys import normalise_email
from supporter.domain.masking import mask_card_numbers, may_hold_card_data
from supporter.domain.models import Transaction
from supporter.sources.base import Reject, RejectHandler, SourceError
from supporter.sources.formats import DateOrder, FieldLimits, ReadOptions
from supporter.sources.records import Records
from supporter.sources.sniff import Sample, printable, unreadable
from supporter.sources.values import (
    BadValue,
    ambiguous_date,
    checked,
    decimal_comma_of,
    raw_row,
    undecoded,
)

__all__ = [
    "Header",
    "Locale",
    "ParseContext",
    "RowParser",
    "VendorFormat",
    "VendorTransactionSource",
    "compact_time",
    "customer",
    "email",
    "masked",
    "missing",
    "references",
]

RowParser = Callable[[list[str]], Transaction | str]  # a transaction, or why the row is skipped


@dataclass(frozen=True, slots=True)
class Locale:
    """How one language version of an export writes its values and names its columns."""

    name: str  # "en", "de", ...
    signature: tuple[str, ...]  # columns that all appear in this version's header
    decimal_comma: bool | None = False  # None: decided from the file's amounts
    date_order: DateOrder | None = None  # None: decided from the file's dates


class Header:
    """Where each column is, by name compared case-insensitively without surrounding spaces,
    and the longest value each column the parser reads may hold."""

    def __init__(self, name: str, row: list[str], limits: FieldLimits) -> None:
        self.name = name
        self.columns = row
        self.blank = len(row)  # the position of the empty cell appended to every row
        self.read: dict[int, int] = {}  # position -> its limit, for the columns read
        self._limits = limits
        self._at: dict[str, int] = {}
        for position, column in enumerate(row):
            self._at.setdefault(column.strip().casefold(), position)

    def find(self, *names: str, limit: int | None = None) -> int | None:
        """The position of the first of `names` present, or None. Its values are checked
        against `limit` (default: the text limit) before the parser sees them."""
        for name in names:
            position = self._at.get(name.casefold())
            if position is not None:
                self.read[position] = limit or self._limits.text
                return position
        return None

    def column(self, *names: str, limit: int | None = None) -> int:
        """As `find`, but a missing column is `blank`, whose value is always empty."""
        position = self.find(*names, limit=limit)
        return self.blank if position is None else position

    def need(self, *names: str, limit: int | None = None) -> int:
        """As `find`, but a missing column stops the file before any work."""
        position = self.find(*names, limit=limit)
        if position is None:
            shown = ", ".join(printable(column.strip()) for column in self.columns[:30])
            raise SourceError(
                f"{self.name}: no column {' or '.join(repr(name) for name in names)} "
                f"(found: {shown})"
            )
        return position

    def containing(self, fragment: str, limit: int | None = None) -> list[int]:
        """The positions of the columns whose name contains `fragment` (case-insensitive)."""
        wanted = fragment.casefold()
        found = [at for at, column in enumerate(self.columns) if wanted in column.casefold()]
        for at in found:
            self.read[at] = limit or self._limits.text
        return found

    def row_check(self) -> Callable[[list[str]], list[str]]:
        """What checks the values of the columns read in each row and appends the `blank`
        cell: the row itself when all is well, else a copy with NULs replaced, or BadValue
        naming the first bad column."""
        positions = sorted(self.read)
        shortest = min(self.read.values())
        # itemgetter of one position gives the value itself, not a tuple of one.
        one = positions[0]
        pick = itemgetter(*positions) if len(positions) > 1 else itemgetter(slice(one, one + 1))
        columns = [column.strip() for column in self.columns]

        def check(row: list[str]) -> list[str]:
            whole = "".join(row)
            if (
                "\x00" not in whole
                and not undecoded(whole)
                and max(map(len, pick(row))) <= shortest
            ):
                row.append("")
                return row
            row = [*row, ""]
            for at in positions:
                if value := row[at].strip():
                    row[at] = checked(value, columns[at], self.read[at])
            return row

        return check


def missing(field: str) -> NoReturn:
    """`row[at].strip() or missing(field)`: a required value that is empty."""
    raise BadValue(field, "required but empty")


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What a row parser needs besides the header."""

    locale: Locale
    date_order: DateOrder | None
    limits: FieldLimits
    # The locale's, else as the file's amounts show it; None when none of them does.
    decimal_comma: bool | None = False


def references(row: list[str], positions: Sequence[int], *first: str) -> tuple[str, ...]:
    """`first` and the non-empty values at `positions`, each once, in order; free text
    (metadata) may hold a card number, so each is masked (when any of them may hold one)."""
    found = [*first, *filter(None, map(str.strip, map(row.__getitem__, positions)))]
    if may_hold_card_data(" ".join(found)):
        found = [mask_card_numbers(value) for value in found]
    return tuple(dict.fromkeys(found)) if len(found) > 1 else tuple(found)


def masked(value: str) -> str | None:
    """Free text, card numbers masked; None when empty."""
    return mask_card_numbers(value) if value else None


def email(value: str) -> str | None:
    """The e-mail as written (the joins normalise it), or None when it is not one."""
    return value if "@" in value else None


def compact_time(moment: datetime) -> str:
    """20240301T150000: the time in a made-up transaction id (a row the export gives no id)."""
    # As %-formatting: strftime costs three times as much, on every row of such an export.
    return "%04d%02d%02dT%02d%02d%02d" % (  # noqa: UP031
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
    )


def customer(customer_id: str, customer_email: str | None) -> str:
    """The customer key: the processor's customer id, else the normalised e-mail, else empty
    (a payment joined to tickets only by a reference they quote)."""
    if customer_id:
        return customer_id
    return normalise_email(customer_email) or ""


class VendorFormat:
    """One processor's export; subclasses give `name`, `title`, `locales` and `parser`."""

    name: str
    title: str
    locales: Sequence[Locale]
    date_column: tuple[str, ...] = ()  # the columns deciding the day/month order, if needed
    # The money columns whose values show the decimal separator where the locale does not.
    amount_columns: tuple[str, ...] = ()

    def locale(self, sample: Sample) -> Locale | None:
        if sample.json_shape is not None:
            return None
        return next((loc for loc in self.locales if sample.has_columns(*loc.signature)), None)

    def recognise(self, sample: Sample) -> str | None:
        locale = self.locale(sample)
        if locale is None:
            return None
        return f"columns {', '.join(locale.signature)}"

    def parser(self, header: Header, context: ParseContext) -> RowParser:
        raise NotImplementedError

    def open(self, sample: Sample, options: ReadOptions) -> VendorTransactionSource:
        locale = self.locale(sample) or self.locales[0]
        source = VendorTransactionSource(sample, self, locale, options)
        source.check_header()
        return source


class VendorTransactionSource:
    """The transactions of one export file in a `VendorFormat`."""

    def __init__(
        self, sample: Sample, format: VendorFormat, locale: Locale, options: ReadOptions
    ) -> None:
        self.sample = sample
        self.format = format
        self.locale = locale
        self._options = options
        self.date_order: DateOrder | None = options.date_order or locale.date_order
        self.decimal_comma = locale.decimal_comma
        self.skipped: Counter[str] = Counter()
        self.header: Header | None = None  # as resolved by `check_header`

    def check_header(self) -> None:
        """Resolve the columns and, where the format leaves them open, the date order and
        the decimal separator: SourceError before any work when the columns or the date
        order fail (an amount no row decides is rejected with its row)."""
        with self._records(None) as (header, _):
            self._parser(header)
        self.header = header
        if self.date_order is None and self.format.date_column:
            self.date_order = self._decide_date_order()
        if self.decimal_comma is None and self.format.amount_columns:
            self.decimal_comma = self._decide_decimal_separator()

    def column_mapping(self) -> tuple[list[tuple[str, str]], list[str]]:
        """("read", column) for each column the format reads, and the columns it does not."""
        if self.header is None:
            self.check_header()
        assert self.header is not None
        columns = [name.strip() for name in self.header.columns]
        read = [("read", columns[at]) for at in sorted(self.header.read)]
        return read, [name for at, name in enumerate(columns) if at not in self.header.read]

    def _parser(self, header: Header) -> RowParser:
        context = ParseContext(
            self.locale, self.date_order, self._options.limits, self.decimal_comma
        )
        return self.format.parser(header, context)

    @contextmanager
    def _records(
        self, on_reject: RejectHandler | None
    ) -> Iterator[tuple[Header, Iterator[tuple[int, list[str]]]]]:
        sample, name = self.sample, self.sample.name
        try:
            stream = open(  # noqa: SIM115
                sample.path, encoding=sample.encoding, errors="surrogateescape", newline=""
            )
        except OSError as error:
            raise SourceError(unreadable(name, error)) from error
        limits = self._options.limits

        def oversized(line: int, size: int) -> None:
            if on_reject is not None:
                reason = f"record: {size:,} characters, over the limit of {limits.record:,}"
                on_reject(
                    Reject(source="transactions", file=name, line=line, reason=reason, raw="")
                )

        with stream:
            records = iter(
                Records(
                    name,
                    stream,
                    delimiter=sample.delimiter,
                    max_record=limits.record,
                    on_oversized=oversized,
                )
            )
            for _line, row in records:
                if any(value.strip() for value in row):
                    yield Header(name, row, limits), records
                    return
            raise SourceError(f"{name}: the file is empty")

    def _decide_date_order(self) -> DateOrder:
        """The day/month order the file's own dates decide (a day over 12 somewhere)."""
        ambiguous = False
        with self._records(None) as (header, records):
            position = header.find(*self.format.date_column)
            if position is None:
                return "month-first"
            for _line, row in records:
                if position >= len(row):
                    continue
                numbers = ambiguous_date(row[position])
                if numbers is None:
                    if row[position].strip()[:4].isdigit():
                        return "month-first"  # year first (ISO): the order never matters
                    continue
                first, second = numbers
                if first > 12:
                    return "day-first"
                if second > 12:
                    return "month-first"
                ambiguous = ambiguous or first != second
        if ambiguous:
            raise SourceError(
                f"{self.sample.name}: the dates could be day/month or month/day and none in the "
                "file decides; give --date-order day-first or --date-order month-first"
            )
        return "month-first"  # every date reads the same either way

    def _decide_decimal_separator(self) -> bool | None:
        """Whether the file's amounts have decimal commas, as the first amount that shows its
        decimal separator says (1,179.40; 89,90); None when none does (only 1.250 or 12)."""
        with self._records(None) as (header, records):
            positions = [
                at for name in self.format.amount_columns if (at := header.find(name)) is not None
            ]
            for _line, row in records:
                for at in positions:
                    if at < len(row) and (found := decimal_comma_of(row[at])) is not None:
                        return found
        return None

    async def transactions(self, on_reject: RejectHandler) -> AsyncIterator[Transaction]:
        """Every customer payment, refund and chargeback in file order; bad rows go to
        `on_reject`, rows that are not customer payments are counted in `skipped`."""
        name = self.sample.name
        with self._records(on_reject) as (header, records):
            parse, width = self._parser(header), len(header.columns)
            check = header.row_check()
            seen: dict[str, int] = {}
            for line, row in records:
                reason: str | None = None
                if len(row) != width:
                    if not any(value.strip() for value in row):
                        continue
                    reason = f"expected {width} fields as in the header, found {len(row)}"
                else:
                    try:
                        parsed = parse(check(row))
                    except BadValue as problem:
                        reason = str(problem)
                        del row[width:]  # the blank cell, where `check` gave the row itself
                    else:
                        if isinstance(parsed, str):
                            self.skipped[parsed] += 1
                            continue
                        first = seen.setdefault(parsed.transaction_id, line)
                        if first == line:
                            yield parsed
                            continue
                        reason = f"transaction id: duplicate of line {first}"
                reject = Reject(
                    source="transactions", file=name, line=line, reason=reason, raw=raw_row(row)
                )
                on_reject(reject)
