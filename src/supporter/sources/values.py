"""Values as payment exports write them: amounts, dates, times and zones.

Amounts become `Decimal` in major units: locale separators (``1,250.00`` or
``1.250,00``, chosen by the format, never guessed per value), currency symbols
and codes (``$1,179.40``, ``-€5,00``, ``12.50 USD``), negatives written with a
minus or in parentheses. Dates and times become aware UTC datetimes: ISO 8601,
or a date written with slashes, dots or dashes whose day/month order the format
(or `--date-order`) gives, plus a time (24-hour or AM/PM) and a zone given as
an IANA name (``America/Los_Angeles``), an abbreviation (PST, PDT, CET, CEST,
MEZ, ...), a UTC offset (``+01:00``, ``UTC-8``) or the names Rails-based
dashboards write (``Pacific Time (US & Canada)``). An abbreviation means its
fixed offset: PDT is UTC-7 whatever the date.

Every parser raises `BadValue(field, problem)`; the readers turn it into a
reject naming the file, line and field. Results are cached where exports
repeat themselves (the same date on thousands of rows, one zone per file).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from supporter.domain.masking import mask_card_numbers

__all__ = [
    "BadValue",
    "DateOrder",
    "ambiguous_date",
    "card_last4",
    "checked",
    "decimal_comma_of",
    "parse_amount",
    "parse_currency",
    "parse_moment",
    "parse_zone",
    "raw_row",
    "readable",
    "show",
    "ticket_id_problem",
    "undecoded",
    "unicode_problem",
]

DateOrder = Literal["day-first", "month-first"]
_SHOWN_VALUE_LENGTH = 60


class BadValue(ValueError):
    """One field of a record cannot be used; the message is the reject reason."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def show(value: str) -> str:
    """A value quoted in a reject reason: masked first, so a cut cannot leave a card number."""
    shown = mask_card_numbers(readable(value))
    if len(shown) > _SHOWN_VALUE_LENGTH:
        shown = shown[: _SHOWN_VALUE_LENGTH - 3] + "..."
    return repr(shown)


def readable(text: str) -> str:
    """`text` with the bytes that were not UTF-8 (decoded as lone surrogates) as U+FFFD,
    and any other lone surrogate (a JSON ``\\ud800`` escape) as U+FFFD too."""
    if text.isascii():
        return text
    if _OTHER_SURROGATE.search(text) is not None:
        return _SURROGATE.sub("\ufffd", text)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def raw_row(row: list[str]) -> str:
    """The row as one CSV line for a reject, card-masked, undecodable bytes as U+FFFD."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(row)
    return mask_card_numbers(readable(buffer.getvalue()))


# The file is decoded with surrogateescape so that a stray non-UTF-8 byte costs one
# row, not the whole run: each such byte turns into one of these lone surrogates.
_UNDECODED = re.compile(r"[\udc80-\udcff]")
# Any lone surrogate: no text that can be stored or sent as UTF-8 holds one. Besides the
# undecoded bytes above, they come from JSON, whose escapes may write one (``"\\ud800"``).
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_OTHER_SURROGATE = re.compile(r"[\ud800-\udc7f\udd00-\udfff]")


def undecoded(text: str) -> bool:
    """Whether `text` holds bytes that were not valid in its encoding."""
    # isascii() is O(1) in CPython, so most texts skip the search.
    return not text.isascii() and _UNDECODED.search(text) is not None


def unicode_problem(text: str) -> str | None:
    """Why `text` cannot be stored as UTF-8 (a lone surrogate), or None."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return None
    if _OTHER_SURROGATE.search(text) is None:
        return "not valid UTF-8; save the file as UTF-8"
    return "not valid Unicode text: it holds a lone surrogate (such as \\ud800)"


def checked(value: str, field: str, limit: int) -> str:
    """`value` if it fits in `limit` characters and was valid text; NULs replaced."""
    if len(value) > limit:
        raise BadValue(field, f"{len(value):,} characters, over the limit of {limit:,}")
    if problem := unicode_problem(value):
        raise BadValue(field, problem)
    # No text database stores a NUL (PostgreSQL refuses the row); it never means anything.
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


# A ticket id is one segment of the review screen's and the API's paths (/tickets/<id>):
# a slash or backslash would split it, control characters cannot be written in a link,
# and "." or ".." name the folder above. Helpdesks number their tickets; the few that use
# strings (a CSV export's "INC-1042") never need these.
_BAD_ID_CHARACTER = re.compile(r"[/\\\x00-\x1f\x7f-\x9f]")


def ticket_id_problem(value: str) -> str | None:
    """Why `value` cannot be a ticket id, or None."""
    if _BAD_ID_CHARACTER.search(value):
        return "must not hold '/', '\\' or control characters (it is part of the ticket's links)"
    if not value.strip("."):
        return "'.' and '..' cannot be ticket ids (they are not a link's own segment)"
    return None


_CURRENCY = re.compile(r"[A-Za-z]{3}")
_LAST4 = re.compile(r"[0-9]{4}")
_GROUPED_DIGITS = re.compile(r"[0-9]+(?:[ -][0-9]+)*")
_MASKED_CARD = re.compile(r"[*xX•·. -]*[*xX•·][*xX•·. -]*([0-9]{4})")


def parse_currency(value: str) -> str:
    if _CURRENCY.fullmatch(value) is None:
        raise BadValue("currency", f"not a 3-letter code like EUR: {show(value)}")
    return value.upper()


def card_last4(value: str | None) -> str | None:
    """The last four digits of a card from 4 digits, a full number or a masked one."""
    if value is None or _LAST4.fullmatch(value):
        return value
    if _GROUPED_DIGITS.fullmatch(value):
        digits = value.replace(" ", "").replace("-", "")
        if 13 <= len(digits) <= 19:
            return digits[-4:]
    masked = _MASKED_CARD.fullmatch(value)
    if masked:
        return masked.group(1)
    # The value is not echoed: whatever it is, it is card data.
    raise BadValue(
        "card_last4",
        f"expected 4 digits or a full or masked card number, got {len(value)} characters",
    )


# --- amounts ------------------------------------------------------------------------

_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# A positive number with group separators or a symbol before it and nothing else ($1,250.00,
# 1.250,00, 1,00): the next most common cases, read without the usual forms' named groups.
_GROUPED_DOT = re.compile(r"[$€£]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[$€£][0-9]+(?:\.[0-9]+)?")
_GROUPED_COMMA = re.compile(
    r"[$€£]?(?:[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?|[0-9]+,[0-9]+)|[$€£][0-9]+(?:,[0-9]+)?"
)
# Symbols and codes around the number; what is left must be a number in the locale.
_CURRENCY_MARKS = re.compile(
    r"[A-Za-z]{3}\b|[$€£¥₹₩₽₺₪₫฿₴₦₱]|(?:US|CA|AU|NZ|HK|S)\$|R\$|kr|zł|Fr\.?"
)
_DOT_DECIMAL = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?|\.[0-9]+")
_COMMA_DECIMAL = re.compile(r"[0-9]{1,3}(?:[. '’][0-9]{3})+(?:,[0-9]+)?|[0-9]+(?:,[0-9]+)?|,[0-9]+")


# The usual written forms in one match each: an optional sign or parenthesis, an optional
# symbol, the number with its group separators ("-$1,179.40", "(12.50)", "1.250,00-").
_USUAL_DOT = re.compile(
    r"(?P<open>[-(])?[$€£]?(?P<sign>-)?(?P<number>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?"
    r"|[0-9]+(?:\.[0-9]+)?)(?P<close>[)-])?"
)
_USUAL_COMMA = re.compile(
    r"(?P<open>[-(])?[$€£]?(?P<sign>-)?(?P<number>[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?"
    r"|[0-9]+(?:,[0-9]+)?)(?P<close>[)-])?"
)


def parse_amount(text: str, field: str, *, decimal_comma: bool | None = False) -> Decimal:
    """`text` as a Decimal in major units; `decimal_comma` for ``1.250,00`` locales, None
    where neither the format nor the file says (then ``1.250`` and ``1,250`` are refused:
    a thousand and more, or a little over one)."""
    value = text.strip()
    if decimal_comma is None:
        decimal_comma = _own_decimal_comma(value, field)
    # The common case, at the speed of Decimal(); with decimal commas 1.250 is 1250.
    if _PLAIN.fullmatch(value) and not (decimal_comma and "." in value):
        return Decimal(value)
    if decimal_comma:
        if _GROUPED_COMMA.fullmatch(value):
            return Decimal(value.lstrip("$€£").replace(".", "").replace(",", "."))
    elif _GROUPED_DOT.fullmatch(value):
        return Decimal(value.lstrip("$€£").replace(",", ""))
    usual = (_USUAL_COMMA if decimal_comma else _USUAL_DOT).fullmatch(value)
    if usual is not None and (usual["open"] == "(") == (usual["close"] == ")"):
        number = usual["number"]
        number = (
            number.replace(".", "").replace(",", ".") if decimal_comma else number.replace(",", "")
        )
        negative = bool(usual["open"] or usual["sign"] or usual["close"])
        return -Decimal(number) if negative else Decimal(number)
    return _amount(value, field, decimal_comma)


def decimal_comma_of(text: str) -> bool | None:
    """Whether an amount is written with a decimal comma (``1.250,00``, ``12,5``,
    ``1.250.000``) or a decimal point (``1,250.00``, ``12.5``), or None when it could be
    either or neither: one separator followed by three digits (``1.250``, ``1,250``), none."""
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        return text.rfind(",") > text.rfind(".")
    if dots + commas == 0:
        return None
    if dots + commas > 1:  # the same separator twice groups: the decimal one is the other
        return commas == 0
    separator = "," if commas else "."
    at = text.index(separator)
    before = _DIGITS_BEFORE.search(text, 0, at)
    after = _DIGITS.match(text, at + 1)
    grouping = before is not None and before[0] not in ("", "0") and len(before[0]) <= 3
    if grouping and after is not None and len(after[0]) == 3:
        return None  # 1.250: a group of thousands, or a decimal part of three digits
    return separator == ","


_DIGITS = re.compile(r"[0-9]*")
_DIGITS_BEFORE = re.compile(r"[0-9]*$")


def _own_decimal_comma(value: str, field: str) -> bool:
    """The separator an amount shows itself, where nothing else says which it is."""
    own = decimal_comma_of(value)
    if own is not None:
        return own
    if "." in value or "," in value:
        raise BadValue(
            field,
            f"{show(value)} could be a thousand and more or a little over one, and no amount "
            "in the file shows whether its decimal separator is a point or a comma",
        )
    return False  # no separator: the same either way


@lru_cache(maxsize=4096)
def _amount(value: str, field: str, decimal_comma: bool) -> Decimal:
    body = _CURRENCY_MARKS.sub("", value.replace("\u00a0", " ").replace("\u202f", " "))
    body = body.replace(" ", "") if not decimal_comma else body.strip()
    negative = False
    if body.startswith("(") and body.endswith(")"):
        negative, body = True, body[1:-1].strip()
    if body[:1] in "-+−" and body:
        negative, body = negative or body[0] in "-−", body[1:].strip()
    elif body[-1:] in "-−" and body:
        negative, body = True, body[:-1].strip()
    if body[:1] in "$€£¥" and body:  # a symbol after the sign: -$5.00
        body = body[1:].strip()
    pattern = _COMMA_DECIMAL if decimal_comma else _DOT_DECIMAL
    if not body or not pattern.fullmatch(body):
        example = "-1.250,00" if decimal_comma else "-1,250.00"
        raise BadValue(field, f"not an amount like {example}: {show(value)}")
    # Group separators go; the decimal separator becomes a dot.
    body = re.sub(r"[. '’]", "", body).replace(",", ".") if decimal_comma else body.replace(",", "")
    try:
        amount = Decimal(body)
    except InvalidOperation:
        raise BadValue(field, f"not an amount: {show(value)}") from None
    return -amount if negative else amount


# --- zones ---------------------------------------------------------------------------

_HOURS = {
    # North America
    "HST": -10, "AKST": -9, "AKDT": -8, "PST": -8, "PDT": -7, "MST": -7, "MDT": -6,
    "CST": -6, "CDT": -5, "EST": -5, "EDT": -4, "AST": -4, "ADT": -3, "NST": -3.5, "NDT": -2.5,
    # Europe (with the German names PayPal writes)
    "GMT": 0, "UTC": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "IST": 1, "CET": 1, "CEST": 2,
    "MEZ": 1, "MESZ": 2, "EET": 2, "EEST": 3, "MSK": 3,
    # Asia-Pacific
    "SGT": 8, "HKT": 8, "JST": 9, "KST": 9, "AWST": 8, "ACST": 9.5, "ACDT": 10.5,
    "AEST": 10, "AEDT": 11, "NZST": 12, "NZDT": 13,
}  # fmt: skip
# What Rails-based dashboards write in a time-zone column.
_NAMED = {
    "pacific time (us & canada)": "America/Los_Angeles",
    "mountain time (us & canada)": "America/Denver",
    "central time (us & canada)": "America/Chicago",
    "eastern time (us & canada)": "America/New_York",
    "atlantic time (canada)": "America/Halifax",
    "alaska": "America/Juneau",
    "hawaii": "Pacific/Honolulu",
    "arizona": "America/Phoenix",
    "london": "Europe/London",
    "dublin": "Europe/Dublin",
    "paris": "Europe/Paris",
    "berlin": "Europe/Berlin",
    "madrid": "Europe/Madrid",
    "amsterdam": "Europe/Amsterdam",
    "rome": "Europe/Rome",
    "sydney": "Australia/Sydney",
    "melbourne": "Australia/Melbourne",
    "tokyo": "Asia/Tokyo",
    "utc": "UTC",
}
_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-−])\s*([0-9]{1,2})(?::?([0-9]{2}))?")


@lru_cache(maxsize=256)
def parse_zone(text: str, field: str = "time zone") -> tzinfo:
    """A zone column's value as a tzinfo (see the module docstring for what is read)."""
    value = text.strip()
    hours = _HOURS.get(value.upper())
    if hours is not None:
        return timezone(timedelta(hours=hours), value.upper())
    offset = _OFFSET.fullmatch(value)
    if offset:
        sign = -1 if offset[1] in "-−" else 1
        minutes = int(offset[2]) * 60 + int(offset[3] or 0)
        return timezone(sign * timedelta(minutes=minutes))
    name = _NAMED.get(value.casefold(), value)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadValue(field, f"unknown time zone {show(value)}") from None


# --- dates and times -----------------------------------------------------------------

_NUMERIC_DATE = re.compile(r"([0-9]{1,4})[/.\-]([0-9]{1,2})[/.\-]([0-9]{2,4})\.?")
_TIME = re.compile(
    r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,6}))?)?\s*([AaPp]\.?[Mm]\.?)?"
)
# A zone written after the time: PST, Europe/Paris, +0100, UTC+1.
_ZONE_WORD = re.compile(r"[A-Za-z][A-Za-z/_]*(?:[+-][0-9:]{1,5})?|[+-][0-9:]{2,5}")


def ambiguous_date(text: str) -> tuple[int, int] | None:
    """(first, second) numbers of a numeric date not starting with the year, else None:
    what deciding the day/month order of a file looks at."""
    match = _NUMERIC_DATE.match(text.strip())
    if match is None or len(match[1]) == 4:
        return None
    return int(match[1]), int(match[2])


@lru_cache(maxsize=8192)
def _date(text: str, order: DateOrder | None, field: str) -> date:
    match = _NUMERIC_DATE.fullmatch(text)
    if match is None:
        raise BadValue(field, f"not a date: {show(text)}")
    first, second, third = match.groups()
    if len(first) != 4 and order is None:
        if int(first) != int(second) and max(int(first), int(second)) <= 12:
            raise BadValue(field, f"{show(text)} could be read two ways; give --date-order")
        order = "day-first" if int(first) > 12 else "month-first"
    try:
        if len(first) == 4:
            return date(int(first), int(second), int(third))
        year = int(third) + (2000 if len(third) == 2 else 0)
        day, month = (first, second) if order == "day-first" else (second, first)
        return date(year, int(month), int(day))
    except ValueError:
        raise BadValue(field, f"not a date: {show(text)}") from None


def _time(text: str, field: str) -> time:
    if len(text) == 8 and text[2] == ":" and text[5] == ":":  # 15:04:05, most exports
        try:
            return time.fromisoformat(text)
        except ValueError:
            pass
    return _any_time(text, field)


@lru_cache(maxsize=4096)
def _any_time(text: str, field: str) -> time:
    match = _TIME.fullmatch(text)
    if match is None:
        raise BadValue(field, f"not a time: {show(text)}")
    hour, minute = int(match[1]), int(match[2])
    second = int(match[3] or 0)
    micro = int((match[4] or "0").ljust(6, "0"))
    if match[5]:
        if not 1 <= hour <= 12:
            raise BadValue(field, f"not a time: {show(text)}")
        hour = hour % 12 + (12 if match[5][0] in "Pp" else 0)
    try:
        return time(hour, minute, second, micro)
    except ValueError:
        raise BadValue(field, f"not a time: {show(text)}") from None


def parse_moment(
    date_text: str,
    field: str,
    *,
    time_text: str | None = None,
    time_field: str | None = None,
    zone: tzinfo | None = None,
    order: DateOrder | None = None,
) -> datetime:
    """A date (with its time, or a time column's value) as an aware UTC datetime.

    ISO 8601 with an offset carries its own zone; otherwise `zone` (default UTC)
    applies, unless the value ends with a zone of its own (``10:00:00 PST``). A bad
    time column's value is reported under `time_field`.
    """
    value = date_text.strip()
    clock = time_text.strip() if time_text else ""
    # The forms most exports write go straight to the moment, none of the forms below: a
    # date alone (18.01.2024, 1/18/2024, 2024-01-18) with its time in a column, or a date
    # that is not ISO and a 24-hour time in one value (04/22/2024 15:04:05).
    if clock and " " not in value and "T" not in value and _is_plain_date(value):
        day = _date(value, order, field)
        return datetime.combine(day, _time(clock, time_field or field), zone or UTC).astimezone(UTC)
    if not clock and not value[:4].isdigit():
        day_text, _, rest = value.partition(" ")
        if len(rest) == 8 and rest[2] == ":" and rest[5] == ":" and "T" not in day_text:
            day = _date(day_text, order, field)
            return datetime.combine(day, _time(rest, field), zone or UTC).astimezone(UTC)
    iso: datetime | None = None
    if value[:4].isdigit():  # ISO 8601 starts with the year: 1/18/2024 need not raise first
        try:  # noqa: SIM105 - suppress() costs a call per row
            iso = datetime.fromisoformat(value)
        except ValueError:
            pass
    if iso is None:
        moment = _loose(value, field, time_text, time_field or field, order)
    elif clock:  # an ISO date, its time in a column
        moment = datetime.combine(iso, _time(clock, time_field or field))  # iso's date only
    else:
        moment = iso
    if moment.tzinfo is None:
        # combine(), not replace(): several times cheaper for the same aware datetime.
        moment = datetime.combine(moment, moment.time(), zone or UTC)
        if zone is None:
            return moment  # naive means UTC: nothing to convert
    return moment.astimezone(UTC)


def _is_plain_date(value: str) -> bool:
    """A date that is not ISO, or an ISO date of the usual ten characters (2024-01-18)."""
    return not value[:4].isdigit() or (len(value) == 10 and value[4] == value[7] == "-")


def _loose(
    value: str, field: str, time_text: str | None, time_field: str, order: DateOrder | None
) -> datetime:
    own_zone: tzinfo | None = None
    head, _, last = value.rpartition(" ")
    # A zone word never starts with a digit: the usual time (15:04:05) skips the expression.
    if (
        head
        and not last[:1].isdigit()
        and _ZONE_WORD.fullmatch(last)
        and last.upper().rstrip(".") not in ("AM", "PM")
    ):
        own_zone, value = parse_zone(last, field), head.rstrip()
    day_text, _, clock = value.replace("T", " ", 1).partition(" ")
    clock_field = field
    if not clock.strip() and time_text:
        clock, clock_field = time_text, time_field
    clock = clock.strip()
    moment = datetime.combine(
        _date(day_text, order, field), _time(clock, clock_field) if clock else time()
    )
    return moment.replace(tzinfo=own_zone) if own_zone is not None else moment
