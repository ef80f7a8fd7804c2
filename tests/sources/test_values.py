"""Amounts, dates, times and zones as payment exports write them."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from supporter.sources.values import (
    BadValue,
    DateOrder,
    ambiguous_date,
    checked,
    decimal_comma_of,
    parse_amount,
    parse_moment,
    parse_zone,
    readable,
    show,
    ticket_id_problem,
)


@pytest.mark.parametrize(
    ("text", "decimal_comma", "expected"),
    [
        ("12.50", False, "12.50"),
        ("-3", False, "-3"),
        ("1,250.00", False, "1250.00"),
        ("$1,179.40", False, "1179.40"),
        ("-$1.23", False, "-1.23"),
        ("($1.23)", False, "-1.23"),
        ("12.50 USD", False, "12.50"),
        ("US$ 5.00", False, "5.00"),
        ("1.250,00", True, "1250.00"),
        ("-1.250,00", True, "-1250.00"),
        ("1 250,00 €", True, "1250.00"),
        ("-€5,00", True, "-5.00"),
        ("5,00-", True, "-5.00"),
        ("0,99", True, "0.99"),
        ("1.250", True, "1250"),  # a thousands point, no decimals: 1250, never 1.25
        ("-1.250", True, "-1250"),
        ("1.250.000", True, "1250000"),
        ("1,250", False, "1250"),
        # Where nothing says which separator is the decimal one, the value may show it.
        ("1.250,5", None, "1250.5"),
        ("1,179.40", None, "1179.40"),
        ("1250.000", None, "1250.000"),
        ("12", None, "12"),
    ],
)
def test_amounts_in_their_locale(text: str, decimal_comma: bool | None, expected: str) -> None:
    assert parse_amount(text, "Gross", decimal_comma=decimal_comma) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "decimal_comma"),
    [("1,25,0.00", False), ("12.5.0", False), ("abc", False), ("", False), ("NaN", False),
     ("1,250.00", True), ("1e3", False), ("1.25", True)],
)  # fmt: skip
def test_what_is_not_an_amount_in_the_locale_names_the_field(
    text: str, decimal_comma: bool
) -> None:
    with pytest.raises(BadValue, match=r"^Gross: not an amount"):
        parse_amount(text, "Gross", decimal_comma=decimal_comma)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.250,00", True), ("1,250.00", False), ("12,5", True), ("-41.58", False),
     ("1.250.000", True), ("1,250,000", False), ("0,250", True), ("1234.567", False),
     ("1.250", None), ("1,250", None), ("-$1,250", None), ("12", None)],
)  # fmt: skip
def test_the_decimal_separator_an_amount_shows(text: str, expected: bool | None) -> None:
    assert decimal_comma_of(text) is expected


@pytest.mark.parametrize("text", ["1.250", "-1,250", "$1,250"])
def test_an_amount_that_reads_two_ways_where_nothing_decides_names_the_field(text: str) -> None:
    with pytest.raises(BadValue, match=r"^Gross: .* could be a thousand and more or a little"):
        parse_amount(text, "Gross", decimal_comma=None)


@pytest.mark.parametrize(
    ("zone", "offset_hours"),
    [("PST", -8), ("PDT", -7), ("cet", 1), ("CEST", 2), ("MESZ", 2), ("UTC", 0), ("+05:30", 5.5),
     ("UTC-8", -8), ("GMT+01:00", 1), ("Pacific Time (US & Canada)", -8), ("Europe/Paris", 1)],
)  # fmt: skip
def test_zones_by_abbreviation_offset_or_name(zone: str, offset_hours: float) -> None:
    offset = parse_zone(zone).utcoffset(datetime(2024, 1, 15))
    assert offset is not None
    assert offset.total_seconds() == offset_hours * 3600


def test_an_unknown_zone_is_a_bad_value() -> None:
    with pytest.raises(BadValue, match="TimeZone: unknown time zone 'Mars/Olympus'"):
        parse_zone("Mars/Olympus", "TimeZone")


@pytest.mark.parametrize(
    ("date", "time", "zone", "order", "expected"),
    [
        ("2024-01-18 10:35:12", None, None, None, "2024-01-18T10:35:12"),
        ("2024-01-18T10:35:12Z", None, "PST", None, "2024-01-18T10:35:12"),
        ("2024-01-18 10:35:12 -0500", None, None, None, "2024-01-18T15:35:12"),
        ("1/18/2024", "10:35:12", "PST", "month-first", "2024-01-18T18:35:12"),
        ("7/4/2024", "10:35:12", "PDT", "month-first", "2024-07-04T17:35:12"),
        ("18.01.2024", "10:35:12", "MEZ", "day-first", "2024-01-18T09:35:12"),
        ("04/07/2024", "23:30:00", "CEST", "day-first", "2024-07-04T21:30:00"),
        ("2024-07-04", "1:05:00 PM", "America/New_York", None, "2024-07-04T17:05:00"),
        ("01/18/24 12:05 AM PST", None, None, "month-first", "2024-01-18T08:05:00"),
        ("18/01/2024", None, None, None, "2024-01-18T00:00:00"),  # 18 cannot be a month
        ("04/22/2024 15:04:05", None, "CST", "month-first", "2024-04-22T21:04:05"),
        ("22.04.2024 15:04:05", None, None, "day-first", "2024-04-22T15:04:05"),
        ("2024-04-22", "15:04:05", "Europe/Berlin", None, "2024-04-22T13:04:05"),
    ],
)
def test_dates_times_and_zones_combine_into_utc(
    date: str, time: str | None, zone: str | None, order: DateOrder | None, expected: str
) -> None:
    moment = parse_moment(
        date,
        "Date",
        time_text=time,
        zone=parse_zone(zone) if zone else None,
        order=order,
    )
    assert moment == datetime.fromisoformat(expected).replace(tzinfo=UTC)


def test_a_date_read_two_ways_without_an_order_names_the_option() -> None:
    with pytest.raises(
        BadValue, match=r"Date: '03/04/2024' could be read two ways; give --date-order"
    ):
        parse_moment("03/04/2024", "Date")


@pytest.mark.parametrize("text", ["2024-13-01", "31.02.2024", "yesterday", "1/2"])
def test_an_impossible_date_is_a_bad_value(text: str) -> None:
    with pytest.raises(BadValue, match=r"^Date: not a date"):
        parse_moment(text, "Date", order="day-first")


def test_ambiguous_date_reads_only_dates_not_starting_with_the_year() -> None:
    assert ambiguous_date("03/04/2024") == (3, 4)
    assert ambiguous_date("2024/03/04") is None


def test_a_lone_surrogate_from_a_json_escape_is_refused_and_shown_replaced() -> None:
    with pytest.raises(BadValue) as refused:
        checked("a\ud800b", "body", 100)
    assert str(refused.value) == (
        "body: not valid Unicode text: it holds a lone surrogate (such as \\ud800)"
    )
    # A byte that was not UTF-8 (decoded by surrogateescape) keeps its own message.
    with pytest.raises(BadValue, match="not valid UTF-8"):
        checked("a\udcffb", "body", 100)
    assert readable("a\ud800b\udcff") == "a\ufffdb\ufffd"
    assert show("x\udfff") == repr("x\ufffd")


@pytest.mark.parametrize("value", ["a/b", "a\\b", "a\nb", "a\x7fb", "a\x9bb", ".", ".."])
def test_what_cannot_be_a_ticket_id(value: str) -> None:
    assert ticket_id_problem(value) is not None


@pytest.mark.parametrize("value", ["10003", "INC-7", "a.b", "...x", "a?b", "T 1#%", "Ünï"])
def test_what_can_be_a_ticket_id(value: str) -> None:
    assert ticket_id_problem(value) is None
