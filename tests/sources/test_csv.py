"""The CSV sources: what they accept, what they reject and why, and when they refuse a file."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from supporter.domain.masking import contains_card_number
from supporter.domain.models import Priority, Ticket, Transaction, TransactionType
from supporter.sources.base import Reject, SourceError
from supporter.sources.csv import CsvTicketSource, CsvTransactionSource, FieldLimits

TICKET_HEADER = "ticket_id,customer_id,subject,body,status,created_at"
TRANSACTION_HEADER = "transaction_id,customer_id,amount,currency,status,created_at"
CARD = "4111 1111 1111 1111"  # a Luhn-valid test card number


def write(tmp_path: Path, text: str, name: str = "tickets.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def ticket_csv(*rows: str, header: str = TICKET_HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def transaction_csv(*rows: str, header: str = TRANSACTION_HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


async def read_tickets(path: Path, **options: Any) -> tuple[list[Ticket], list[Reject]]:
    rejects: list[Reject] = []
    source = CsvTicketSource(path, **options)
    tickets = [ticket async for ticket in source.tickets(rejects.append)]
    return tickets, rejects


async def read_transactions(path: Path, **options: Any) -> tuple[list[Transaction], list[Reject]]:
    rejects: list[Reject] = []
    source = CsvTransactionSource(path, **options)
    transactions = [record async for record in source.transactions(rejects.append)]
    return transactions, rejects


async def drain(records: AsyncIterator[Ticket], into: list[Ticket]) -> None:
    """Collect records one by one, so those read before an error are kept."""
    async for record in records:
        into.append(record)


# --- tickets: valid input -------------------------------------------------------------


async def test_reads_a_ticket_with_normalised_values(tmp_path: Path) -> None:
    path = write(tmp_path, ticket_csv("T1, C1 ,Charged twice,Please refund, Open ,2024-03-01"))

    tickets, rejects = await read_tickets(path)

    assert rejects == []
    assert tickets == [
        Ticket(
            ticket_id="T1",
            customer_id="C1",
            subject="Charged twice",
            body="Please refund",
            status="open",
            created_at=datetime(2024, 3, 1, tzinfo=UTC),
        )
    ]


async def test_reads_optional_columns_and_priority_in_any_case(tmp_path: Path) -> None:
    header = TICKET_HEADER + ",customer_email,channel,priority"
    path = write(
        tmp_path,
        ticket_csv(
            "T1,C1,s,b,open,2024-03-01,ann@example.com,email,HIGH",
            "T2,C1,s,b,open,2024-03-01,,,",
            header=header,
        ),
    )

    tickets, rejects = await read_tickets(path)

    assert rejects == []
    assert (tickets[0].customer_email, tickets[0].channel, tickets[0].priority) == (
        "ann@example.com",
        "email",
        Priority.HIGH,
    )
    assert (tickets[1].customer_email, tickets[1].channel, tickets[1].priority) == (None,) * 3


async def test_ignores_extra_columns_in_any_position(tmp_path: Path) -> None:
    header = "tags,ticket_id,customer_id,assignee,subject,body,status,created_at,sla"
    path = write(tmp_path, ticket_csv("vip,T1,C1,bob,s,b,open,2024-03-01,4h", header=header))

    tickets, rejects = await read_tickets(path)

    assert rejects == []
    assert (tickets[0].ticket_id, tickets[0].customer_id, tickets[0].body) == ("T1", "C1", "b")


async def test_a_file_with_only_a_header_yields_nothing(tmp_path: Path) -> None:
    tickets, rejects = await read_tickets(write(tmp_path, ticket_csv()))

    assert (tickets, rejects) == ([], [])


async def test_a_ticket_may_lack_either_subject_or_body(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ticket_csv("T1,C1,,body only,open,2024-03-01", "T2,C1,subject only,,open,2024-03-01"),
    )

    tickets, rejects = await read_tickets(path)

    assert rejects == []
    assert [(t.subject, t.body) for t in tickets] == [("", "body only"), ("subject only", "")]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-01T10:20:30", datetime(2024, 3, 1, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-01 10:20:30", datetime(2024, 3, 1, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-01T10:20:30Z", datetime(2024, 3, 1, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-01T12:20:30+02:00", datetime(2024, 3, 1, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-01T00:30:00-05:00", datetime(2024, 3, 1, 5, 30, tzinfo=UTC)),
        ("2024-03-01T10:20:30.250Z", datetime(2024, 3, 1, 10, 20, 30, 250_000, tzinfo=UTC)),
    ],
)
async def test_timestamps_become_aware_utc(
    tmp_path: Path, written: str, expected: datetime
) -> None:
    path = write(tmp_path, ticket_csv(f"T1,C1,s,b,open,{written}"))

    tickets, rejects = await read_tickets(path)

    assert rejects == []
    assert tickets[0].created_at == expected
    assert tickets[0].created_at.utcoffset() == timedelta(0)


async def test_reads_a_bom_and_crlf_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    text = TICKET_HEADER + "\r\nT1,C1,s,b,open,2024-03-01\r\nT2,C1,s,b,closed,2024-03-02\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())

    tickets, rejects = await read_tickets(path)

    assert rejects == []
    assert [(t.ticket_id, t.status) for t in tickets] == [("T1", "open"), ("T2", "closed")]


async def test_keeps_non_latin_text_and_emoji(tmp_path: Path) -> None:
    path = write(
        tmp_path, ticket_csv("Т-1,客户,Возврат 💳,お金を返してください 🙏 مرحبا,open,2024-03-01")
    )

    tickets, rejects = await read_tickets(path)

    assert rejects == []
    ticket = tickets[0]
    assert (ticket.ticket_id, ticket.customer_id) == ("Т-1", "客户")
    assert (ticket.subject, ticket.body) == ("Возврат 💳", "お金を返してください 🙏 مرحبا")


async def test_a_nul_character_becomes_a_replacement_character(tmp_path: Path) -> None:
    # No database column of text can hold a NUL; PostgreSQL refuses the whole batch.
    path = write(tmp_path, ticket_csv("T1,C1,Re\x00fund,Please\x00 help,open,2024-03-01"))

    tickets, rejects = await read_tickets(path)

    assert rejects == []
    assert (tickets[0].subject, tickets[0].body) == ("Re\ufffdfund", "Please\ufffd help")


async def test_quoted_fields_keep_commas_quotes_and_newlines(tmp_path: Path) -> None:
    path = write(
        tmp_path, ticket_csv('T1,C1,"Hi, there","Line one\nsaid ""refund""\n\nend",open,2024-03-01')
    )

    tickets, _ = await read_tickets(path)

    assert (tickets[0].subject, tickets[0].body) == ("Hi, there", 'Line one\nsaid "refund"\n\nend')


async def test_blank_lines_and_empty_rows_are_skipped_silently(tmp_path: Path) -> None:
    path = write(tmp_path, ticket_csv("", "T1,C1,s,b,open,2024-03-01", ",,,,,", " , ,", "   "))

    tickets, rejects = await read_tickets(path)

    assert [t.ticket_id for t in tickets] == ["T1"]
    assert rejects == []


# --- tickets: line numbers ------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
async def test_reject_lines_are_physical_lines_after_quoted_newlines(
    tmp_path: Path, newline: str
) -> None:
    lines = [
        TICKET_HEADER,  # 1
        f'T1,C1,s,"first{newline}second{newline}third",open,2024-03-01',  # 2-4
        "T2,C1,s,b,open,not-a-date",  # 5
        "",  # 6
        f'T3,C1,"multi{newline}line subject",b,open,2024-03-01',  # 7-8
        "T4,C1,s,b,open,yesterday",  # 9
    ]
    path = tmp_path / "tickets.csv"
    path.write_bytes(newline.join(lines).encode() + newline.encode())

    tickets, rejects = await read_tickets(path)

    assert [t.ticket_id for t in tickets] == ["T1", "T3"]
    assert [r.line for r in rejects] == [5, 9]


async def test_line_numbers_count_leading_blank_lines_before_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, "\n\n" + ticket_csv("T1,C1,s,b,open,bad"))

    _, rejects = await read_tickets(path)

    assert [r.line for r in rejects] == [4]


# --- tickets: rejects -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (",C1,s,b,open,2024-03-01", "ticket_id"),
        ("T1, ,s,b,open,2024-03-01", "customer_id"),
        ("T1,C1,s,b,,2024-03-01", "status"),
        ("T1,C1,s,b,open,", "created_at"),
    ],
)
async def test_rejects_a_missing_required_value(tmp_path: Path, row: str, field: str) -> None:
    path = write(tmp_path, ticket_csv(row, "T9,C1,s,b,open,2024-03-01"))

    tickets, rejects = await read_tickets(path)

    assert [t.ticket_id for t in tickets] == ["T9"]
    assert [r.reason for r in rejects] == [f"{field}: required but empty"]


@pytest.mark.parametrize(
    ("ticket_id", "reason"),
    [
        ("../x/y", "ticket_id: must not hold '/'"),
        ("a\\b", "ticket_id: must not hold '/'"),
        ("T\x071", "ticket_id: must not hold '/'"),
        ("..", "ticket_id: '.' and '..' cannot be ticket ids"),
    ],
)
async def test_rejects_a_ticket_id_that_cannot_be_a_link(
    tmp_path: Path, ticket_id: str, reason: str
) -> None:
    """A ticket's id is a segment of every link to it: one that would step out of it
    rejects its row only, naming the field and the value."""
    path = write(
        tmp_path, ticket_csv(f"{ticket_id},C1,s,b,open,2024-03-01", "T9,C1,s,b,open,2024-03-01")
    )

    tickets, rejects = await read_tickets(path)

    assert [t.ticket_id for t in tickets] == ["T9"]
    [reject] = rejects
    assert (reject.line, reject.reason.startswith(reason)) == (2, True)


async def test_rejects_a_ticket_without_subject_and_body(tmp_path: Path) -> None:
    path = write(tmp_path, ticket_csv("T1,C1, ,,open,2024-03-01"))

    tickets, rejects = await read_tickets(path)

    assert tickets == []
    assert rejects[0].reason == "body: empty, and so is subject: nothing to answer"


@pytest.mark.parametrize("written", ["31/02/2024", "2024-02-31", "yesterday", "2024-13-01T00:00"])
async def test_rejects_a_date_that_is_not_iso_8601(tmp_path: Path, written: str) -> None:
    path = write(tmp_path, ticket_csv(f"T1,C1,s,b,open,{written}"))

    _, rejects = await read_tickets(path)

    assert [r.reason for r in rejects] == [f"created_at: not an ISO 8601 date: '{written}'"]


async def test_rejects_an_unknown_priority(tmp_path: Path) -> None:
    header = TICKET_HEADER + ",priority"
    path = write(tmp_path, ticket_csv("T1,C1,s,b,open,2024-03-01,asap", header=header))

    tickets, rejects = await read_tickets(path)

    assert tickets == []
    assert rejects[0].reason == "priority: unknown 'asap' (expected low, medium, high, urgent)"


async def test_reject_carries_source_file_line_and_raw_row(tmp_path: Path) -> None:
    path = write(tmp_path, ticket_csv("T1,C1,s,b,open,2024-03-01", 'T2,C1,"a, b",b,open,bad'))

    _, rejects = await read_tickets(path)

    assert rejects == [
        Reject(
            source="tickets",
            file=str(path),
            line=3,
            reason="created_at: not an ISO 8601 date: 'bad'",
            raw='T2,C1,"a, b",b,open,bad',
        )
    ]


@pytest.mark.parametrize(
    ("row", "found"),
    [("T1,C1,s,b,open", 5), ("T1,C1,s,b,open,2024-03-01,extra", 7), ("just one field", 1)],
)
async def test_rejects_a_row_with_the_wrong_number_of_fields(
    tmp_path: Path, row: str, found: int
) -> None:
    path = write(tmp_path, ticket_csv(row, "T9,C1,s,b,open,2024-03-01"))

    tickets, rejects = await read_tickets(path)

    assert [t.ticket_id for t in tickets] == ["T9"]
    assert [(r.line, r.reason) for r in rejects] == [
        (2, f"expected 6 fields as in the header, found {found}")
    ]


async def test_rejects_a_duplicate_ticket_id_and_keeps_the_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ticket_csv(
            "T1,C1,first,b,open,2024-03-01",
            "T2,C1,s,b,open,2024-03-01",
            "T1,C2,second,b,open,2024-03-01",
        ),
    )

    tickets, rejects = await read_tickets(path)

    assert [(t.ticket_id, t.subject) for t in tickets] == [("T1", "first"), ("T2", "s")]
    assert [(r.line, r.reason) for r in rejects] == [(4, "ticket_id: duplicate of line 2")]


async def test_a_rejected_row_does_not_claim_its_id(tmp_path: Path) -> None:
    path = write(tmp_path, ticket_csv("T1,C1,s,b,open,bad", "T1,C1,s,b,open,2024-03-01"))

    tickets, rejects = await read_tickets(path)

    assert [t.ticket_id for t in tickets] == ["T1"]
    assert [r.line for r in rejects] == [2]


@pytest.mark.parametrize(
    ("limits", "row", "reason"),
    [
        (
            FieldLimits(body=10),
            "T1,C1,s,12345678901,open,2024-03-01",
            "body: 11 characters, over the limit of 10",
        ),
        (
            FieldLimits(),
            f"T1,C1,{'x' * 501},b,open,2024-03-01",
            "subject: 501 characters, over the limit of 500",
        ),
        (
            FieldLimits(),
            f"{'T' * 129},C1,s,b,open,2024-03-01",
            "ticket_id: 129 characters, over the limit of 128",
        ),
        (
            FieldLimits(),
            f"T1,{'C' * 129},s,b,open,2024-03-01",
            "customer_id: 129 characters, over the limit of 128",
        ),
        (
            FieldLimits(text=4),
            "T1,C1,s,b,opened,2024-03-01",
            "status: 6 characters, over the limit of 4",
        ),
    ],
)
async def test_rejects_a_value_over_its_limit(
    tmp_path: Path, limits: FieldLimits, row: str, reason: str
) -> None:
    path = write(tmp_path, ticket_csv(row))

    tickets, rejects = await read_tickets(path, limits=limits)

    assert tickets == []
    assert [r.reason for r in rejects] == [reason]


async def test_a_value_at_its_limit_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, ticket_csv(f"{'T' * 128},C1,{'x' * 500},b,open,2024-03-01"))

    tickets, rejects = await read_tickets(path)

    assert (len(tickets), rejects) == (1, [])


def test_field_limit_defaults_are_the_documented_ones() -> None:
    assert FieldLimits() == FieldLimits(
        id=128, subject=500, body=20_000, description=2_000, text=256
    )


def test_field_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="body"):
        FieldLimits(body=0)


async def test_rejects_a_row_that_is_not_utf8_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_bytes(
        (TICKET_HEADER + "\n").encode()
        + b"T1,C1,s,caf\xe9 cr\xe8me,open,2024-03-01\n"
        + "T2,C1,s,café,open,2024-03-01\n".encode()
    )

    tickets, rejects = await read_tickets(path)

    assert [(t.ticket_id, t.body) for t in tickets] == [("T2", "café")]
    assert [(r.line, r.reason) for r in rejects] == [
        (2, "body: not valid UTF-8; save the file as UTF-8")
    ]
    assert rejects[0].raw == "T1,C1,s,caf\ufffd cr\ufffdme,open,2024-03-01"


async def test_bytes_that_are_not_utf8_in_an_ignored_column_do_not_matter(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_bytes((TICKET_HEADER + ",notes\n").encode() + b"T1,C1,s,b,open,2024-03-01,\xff\n")

    tickets, rejects = await read_tickets(path)

    assert (len(tickets), rejects) == (1, [])


# --- tickets: card numbers ------------------------------------------------------------


async def test_masks_card_numbers_in_subject_and_body(tmp_path: Path) -> None:
    path = write(
        tmp_path, ticket_csv(f"T1,C1,Card {CARD},My card {CARD} was charged,open,2024-03-01")
    )

    tickets, _ = await read_tickets(path)

    assert tickets[0].subject == "Card **** 1111"
    assert tickets[0].body == "My card **** 1111 was charged"


async def test_masks_card_numbers_in_the_raw_text_of_a_reject(tmp_path: Path) -> None:
    path = write(tmp_path, ticket_csv(f"T1,C1,s,my card is {CARD},open,bad-date"))

    _, rejects = await read_tickets(path)

    assert len(rejects) == 1
    assert not contains_card_number(rejects[0].raw)
    assert "**** 1111" in rejects[0].raw


async def test_masks_card_numbers_in_the_raw_text_of_a_malformed_row(tmp_path: Path) -> None:
    path = write(tmp_path, ticket_csv(f"T1,C1,{CARD}"))

    _, rejects = await read_tickets(path)

    assert rejects[0].raw == "T1,C1,**** 1111"


async def test_masks_card_numbers_quoted_in_a_reason(tmp_path: Path) -> None:
    path = write(tmp_path, ticket_csv(f"T1,C1,s,b,open,{CARD}"))

    _, rejects = await read_tickets(path)

    assert rejects[0].reason == "created_at: not an ISO 8601 date: '**** 1111'"


async def test_cuts_a_long_value_quoted_in_a_reason(tmp_path: Path) -> None:
    path = write(tmp_path, ticket_csv(f"T1,C1,s,b,open,{'9' * 100}"))

    _, rejects = await read_tickets(path)

    assert rejects[0].reason == f"created_at: not an ISO 8601 date: '{'9' * 57}...'"


# --- tickets: column names and mapping ------------------------------------------------


async def test_column_names_match_ignoring_case_and_spaces(tmp_path: Path) -> None:
    header = " Ticket_ID ,CUSTOMER_ID,Subject, body ,STATUS,Created_At"
    path = write(tmp_path, ticket_csv("T1,C1,s,b,open,2024-03-01", header=header))

    tickets, rejects = await read_tickets(path)

    assert (len(tickets), rejects) == (1, [])


async def test_column_map_reads_an_export_as_is(tmp_path: Path) -> None:
    header = " ID ,Requester,Title,description,State,Created,Urgency,body"
    path = write(
        tmp_path,
        ticket_csv("T1,C1,Refund,Please refund,Open,2024-03-01,Urgent,not this one", header=header),
    )
    column_map = {
        "ticket_id": "id",
        "customer_id": "requester",
        "subject": " title ",
        "body": "DESCRIPTION",
        "status": "state",
        "created_at": "created",
        "Priority": "urgency",
    }

    tickets, rejects = await read_tickets(path, column_map=column_map)

    assert rejects == []
    assert (tickets[0].ticket_id, tickets[0].customer_id, tickets[0].subject) == (
        "T1",
        "C1",
        "Refund",
    )
    assert (tickets[0].body, tickets[0].priority) == ("Please refund", Priority.URGENT)


def test_an_unknown_field_in_the_column_map_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, ticket_csv())

    with pytest.raises(SourceError, match="'bodyy' in the column map") as raised:
        CsvTicketSource(path, column_map={"bodyy": "Description"})

    assert "ticket_id, customer_id" in str(raised.value)


def test_a_transaction_field_is_unknown_in_the_ticket_column_map(tmp_path: Path) -> None:
    path = write(tmp_path, ticket_csv())

    with pytest.raises(SourceError, match="'amount'"):
        CsvTicketSource(path, column_map={"amount": "Total"})


def test_an_empty_column_name_in_the_map_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="gives body an empty column name"):
        CsvTicketSource(write(tmp_path, ticket_csv()), column_map={"body": "  "})


def test_a_mapped_column_that_is_not_in_the_file_is_named(tmp_path: Path) -> None:
    header = TICKET_HEADER + ",priority"
    source = CsvTicketSource(
        write(tmp_path, ticket_csv(header=header)), column_map={"priority": "Urgency"}
    )

    with pytest.raises(SourceError, match="column 'urgency' mapped to priority is not there"):
        source.check_header()


# --- tickets: files that cannot be used -----------------------------------------------


def test_a_missing_required_column_is_named_with_a_fix(tmp_path: Path) -> None:
    path = write(tmp_path, ticket_csv(header="id,customer_id,subject,text,status,created_at"))

    with pytest.raises(SourceError) as raised:
        CsvTicketSource(path).check_header()

    message = str(raised.value)
    assert message.startswith(f"{path}: ")
    assert "missing required column 'ticket_id'; missing required column 'body'" in message
    assert "(found: id, customer_id, subject, text, status, created_at)" in message
    assert "--ticket-columns <field>=<your column>" in message


async def test_a_bad_header_stops_before_any_ticket(tmp_path: Path) -> None:
    path = write(
        tmp_path, ticket_csv("T1,C1,s,b,open,2024-03-01", header="ticket_id,customer_id,subject")
    )
    seen: list[Ticket] = []
    rejects: list[Reject] = []

    with pytest.raises(SourceError, match="'body'"):
        await drain(CsvTicketSource(path).tickets(rejects.append), seen)

    assert (seen, rejects) == ([], [])


def test_check_header_accepts_a_good_header_whatever_the_rows(tmp_path: Path) -> None:
    path = write(tmp_path, ticket_csv("not,a,valid", "row"))

    CsvTicketSource(path).check_header()


def test_a_column_that_appears_twice_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, ticket_csv(header=TICKET_HEADER + ", Body "))

    with pytest.raises(
        SourceError, match=r"column 'body' \(body\) appears more than once \(columns 4 and 7\)"
    ):
        CsvTicketSource(path).check_header()


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\r\n  \n", b",,,\n"])
def test_an_empty_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "tickets.csv"
    path.write_bytes(content)

    with pytest.raises(SourceError, match="the file is empty; it needs a header row") as raised:
        CsvTicketSource(path).check_header()

    assert str(path) in str(raised.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"

    with pytest.raises(SourceError, match="no such file") as raised:
        CsvTicketSource(path).check_header()

    assert str(path) in str(raised.value)


async def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a directory"):
        await read_tickets(tmp_path)


async def test_a_record_the_csv_module_cannot_parse_stops_with_its_line(tmp_path: Path) -> None:
    # An unclosed quote swallows the rest of the file until the csv field limit is hit.
    body = "x\n" * 70_000
    path = write(tmp_path, ticket_csv("T1,C1,s,b,open,2024-03-01", f'T2,C1,s,"{body}'))
    seen: list[Ticket] = []

    with pytest.raises(SourceError, match=r"line 3: cannot read the record .* never closed"):
        await drain(CsvTicketSource(path).tickets(lambda reject: None), seen)

    assert [t.ticket_id for t in seen] == ["T1"]


# --- transactions ---------------------------------------------------------------------


async def test_reads_a_transaction_with_normalised_values(tmp_path: Path) -> None:
    path = write(
        tmp_path, transaction_csv("X1,C1,12.50,eur, Succeeded ,2024-03-01T10:00:00+01:00"), "tx.csv"
    )

    transactions, rejects = await read_transactions(path)

    assert rejects == []
    assert transactions == [
        Transaction(
            transaction_id="X1",
            customer_id="C1",
            amount=Decimal("12.50"),
            currency="EUR",
            status="succeeded",
            created_at=datetime(2024, 3, 1, 9, tzinfo=UTC),
            type=TransactionType.CHARGE,
        )
    ]
    assert str(transactions[0].amount) == "12.50"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("-12.50", "-12.50"),
        ("0.1", "0.1"),
        ("100", "100"),
        (".5", "0.5"),
        ("7.", "7"),
        ("123456789012345678901234567890.123456789", "123456789012345678901234567890.123456789"),
    ],
)
async def test_amounts_are_exact_decimals(tmp_path: Path, written: str, expected: str) -> None:
    path = write(tmp_path, transaction_csv(f"X1,C1,{written},EUR,ok,2024-03-01"), "tx.csv")

    transactions, _ = await read_transactions(path)

    assert isinstance(transactions[0].amount, Decimal)
    assert transactions[0].amount == Decimal(expected)
    assert str(transactions[0].amount) == str(Decimal(written))


@pytest.mark.parametrize(
    "written", ['"12,50"', "abc", "NaN", "Infinity", "1e3", "+5", '"1,234.50"', "١٢", "--1", "$5"]
)
async def test_rejects_an_amount_that_is_not_a_plain_decimal(tmp_path: Path, written: str) -> None:
    path = write(tmp_path, transaction_csv(f"X1,C1,{written},EUR,ok,2024-03-01"), "tx.csv")

    transactions, rejects = await read_transactions(path)

    assert transactions == []
    assert rejects[0].reason.startswith("amount: not a number like -12.50")
    assert rejects[0].reason.endswith(f"'{written.strip(chr(34))}'")
    assert rejects[0].source == "transactions"


async def test_rejects_an_empty_amount(tmp_path: Path) -> None:
    path = write(tmp_path, transaction_csv("X1,C1,,EUR,ok,2024-03-01"), "tx.csv")

    _, rejects = await read_transactions(path)

    assert [r.reason for r in rejects] == ["amount: required but empty"]


@pytest.mark.parametrize("written", ["US", "EURO", "€UR", "12A", "E U"])
async def test_rejects_a_currency_that_is_not_three_letters(tmp_path: Path, written: str) -> None:
    path = write(tmp_path, transaction_csv(f"X1,C1,1,{written},ok,2024-03-01"), "tx.csv")

    _, rejects = await read_transactions(path)

    assert [r.reason for r in rejects] == [f"currency: not a 3-letter code like EUR: '{written}'"]


async def test_type_defaults_to_charge_and_matches_any_case(tmp_path: Path) -> None:
    header = TRANSACTION_HEADER + ",type"
    path = write(
        tmp_path,
        transaction_csv(
            "X1,C1,1,EUR,ok,2024-03-01,",
            "X2,C1,1,EUR,ok,2024-03-01,REFUND",
            "X3,C1,1,EUR,ok,2024-03-01,Chargeback",
            "X4,C1,1,EUR,ok,2024-03-01,payout",
            header=header,
        ),
        "tx.csv",
    )

    transactions, _ = await read_transactions(path)

    assert [t.type for t in transactions] == [
        TransactionType.CHARGE,
        TransactionType.REFUND,
        TransactionType.CHARGEBACK,
        TransactionType.PAYOUT,
    ]


async def test_rejects_an_unknown_type(tmp_path: Path) -> None:
    header = TRANSACTION_HEADER + ",type"
    path = write(
        tmp_path, transaction_csv("X1,C1,1,EUR,ok,2024-03-01,transfer", header=header), "tx.csv"
    )

    _, rejects = await read_transactions(path)

    assert [r.reason for r in rejects] == [
        "type: unknown 'transfer' (expected charge, refund, chargeback, payout)"
    ]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("4242", "4242"),
        (" 4242 ", "4242"),
        ("", None),
        ("4111111111111111", "1111"),
        (CARD, "1111"),
        ("4111-1111-1111-1111", "1111"),
        ("378282246310005", "0005"),
        ("**** 4242", "4242"),
        ("XXXX-XXXX-XXXX-4242", "4242"),
        ("••••4242", "4242"),
    ],
)
async def test_card_last4_keeps_only_four_digits(
    tmp_path: Path, written: str, expected: str | None
) -> None:
    header = TRANSACTION_HEADER + ",card_last4"
    path = write(
        tmp_path, transaction_csv(f"X1,C1,1,EUR,ok,2024-03-01,{written}", header=header), "tx.csv"
    )

    transactions, rejects = await read_transactions(path)

    assert rejects == []
    assert transactions[0].card_last4 == expected


@pytest.mark.parametrize(
    "written", ["123", "12345", "abcd", "4242 x", "123456789012", "1234567890123456789012"]
)
async def test_rejects_a_card_last4_that_is_not_four_digits_without_echoing_it(
    tmp_path: Path, written: str
) -> None:
    header = TRANSACTION_HEADER + ",card_last4"
    path = write(
        tmp_path, transaction_csv(f"X1,C1,1,EUR,ok,2024-03-01,{written}", header=header), "tx.csv"
    )

    transactions, rejects = await read_transactions(path)

    assert transactions == []
    assert rejects[0].reason == (
        "card_last4: expected 4 digits or a full or masked card number, "
        f"got {len(written)} characters"
    )


async def test_a_full_card_number_in_card_last4_never_reaches_a_reject(tmp_path: Path) -> None:
    header = TRANSACTION_HEADER + ",card_last4"
    path = write(
        tmp_path, transaction_csv(f"X1,C1,oops,EUR,ok,2024-03-01,{CARD}", header=header), "tx.csv"
    )

    _, rejects = await read_transactions(path)

    assert len(rejects) == 1
    assert not contains_card_number(rejects[0].raw)
    assert rejects[0].raw.endswith(",**** 1111")


async def test_masks_card_numbers_in_the_description(tmp_path: Path) -> None:
    header = TRANSACTION_HEADER + ",description"
    path = write(
        tmp_path,
        transaction_csv(f"X1,C1,1,EUR,ok,2024-03-01,Paid with {CARD}", header=header),
        "tx.csv",
    )

    transactions, _ = await read_transactions(path)

    assert transactions[0].description == "Paid with **** 1111"


async def test_rejects_a_description_over_its_limit(tmp_path: Path) -> None:
    header = TRANSACTION_HEADER + ",description"
    path = write(
        tmp_path, transaction_csv("X1,C1,1,EUR,ok,2024-03-01,abcdef", header=header), "tx.csv"
    )

    _, rejects = await read_transactions(path, limits=FieldLimits(description=5))

    assert [r.reason for r in rejects] == ["description: 6 characters, over the limit of 5"]


async def test_rejects_a_duplicate_transaction_id(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        transaction_csv("X1,C1,1,EUR,ok,2024-03-01", "X1,C1,2,EUR,ok,2024-03-01"),
        "tx.csv",
    )

    transactions, rejects = await read_transactions(path)

    assert [t.amount for t in transactions] == [Decimal(1)]
    assert [(r.line, r.reason) for r in rejects] == [(3, "transaction_id: duplicate of line 2")]


async def test_transaction_column_map_and_missing_column_message(tmp_path: Path) -> None:
    header = "Id,Customer,Total,Currency,Status,Date"
    path = write(tmp_path, transaction_csv("X1,C1,9.99,usd,ok,2024-03-01", header=header), "tx.csv")
    column_map = {
        "transaction_id": "ID",
        "customer_id": "customer",
        "amount": "total",
        "created_at": "date",
    }

    with pytest.raises(
        SourceError, match=r"missing required column 'transaction_id'.*--transaction-columns"
    ):
        CsvTransactionSource(path).check_header()
    transactions, _ = await read_transactions(path, column_map=column_map)

    assert [(t.transaction_id, t.amount, t.currency) for t in transactions] == [
        ("X1", Decimal("9.99"), "USD")
    ]


# --- the columns that join and the facts a processor records -------------------------


async def test_reads_the_join_refund_and_dispute_columns(tmp_path: Path) -> None:
    header = (
        TRANSACTION_HEADER + ",customer_email,amount_refunded,dispute_status,disputed_amount,"
        "references"
    )
    path = write(
        tmp_path,
        transaction_csv(
            "ch_1,cus_A,49.99,USD,succeeded,2024-03-01,Alice.Martin@Example.com ,10.00,"
            'Needs_Response,49.99,"#1001; inv_7, #1001"',
            "ch_2,cus_A,49.99,USD,succeeded,2024-03-02,,,,,",
            header=header,
        ),
        "transactions.csv",
    )

    transactions, rejects = await read_transactions(path)

    assert rejects == []
    first, second = transactions
    assert first.customer_email == "Alice.Martin@Example.com"  # the index normalises it
    assert first.amount_refunded == Decimal("10.00")
    assert first.dispute_status == "needs_response"
    assert first.disputed_amount == Decimal("49.99")
    assert first.references == ("#1001", "inv_7")
    assert (second.customer_email, second.amount_refunded, second.references) == (None, None, ())


@pytest.mark.parametrize("field", ["amount_refunded", "disputed_amount"])
async def test_rejects_an_unreadable_refunded_or_disputed_amount(
    tmp_path: Path, field: str
) -> None:
    header = f"{TRANSACTION_HEADER},{field}"
    row = 'ch_1,cus_A,49.99,USD,succeeded,2024-03-01,"1.250,00"'
    path = write(tmp_path, transaction_csv(row, header=header), "transactions.csv")

    transactions, rejects = await read_transactions(path)

    assert transactions == []
    assert [(r.line, r.reason.split(":")[0]) for r in rejects] == [(2, field)]


async def test_reads_ticket_tags(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ticket_csv(
            "T1,C1,Hi,Body,open,2024-03-01,billing refund;vip", header=TICKET_HEADER + ",tags"
        ),
    )
    tickets, _ = await read_tickets(path)
    assert tickets[0].tags == ("billing", "refund", "vip")


# --- size, encoding and delimiters --------------------------------------------------


async def test_an_oversized_body_rejects_its_row_with_size_and_limit(tmp_path: Path) -> None:
    # Over the csv module's own field limit (131,072), which used to end the whole file.
    body = "refund please " * 250_000
    path = write(
        tmp_path, ticket_csv(f'T1,C1,s,"{body}",open,2024-03-01', "T2,C1,s,b,open,2024-03-01")
    )

    tickets, rejects = await read_tickets(path)

    assert [t.ticket_id for t in tickets] == ["T2"]
    assert [(r.line, r.reason) for r in rejects] == [
        (2, f"body: {len(body.strip()):,} characters, over the limit of 20,000")
    ]


async def test_a_record_over_the_record_limit_is_rejected_unread(tmp_path: Path) -> None:
    body = "x\n" * 1000
    path = write(
        tmp_path, ticket_csv(f'T1,C1,s,"{body}",open,2024-03-01', "T2,C1,s,b,open,2024-03-01")
    )

    tickets, rejects = await read_tickets(path, limits=FieldLimits(record=500))

    assert [t.ticket_id for t in tickets] == ["T2"]
    assert [(r.line, r.reason, r.raw) for r in rejects] == [
        (2, "record: 2,027 characters, over the limit of 500", "")
    ]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
async def test_utf16_with_a_byte_order_mark_is_read(tmp_path: Path, codec: str) -> None:
    text = ticket_csv("T1,C1,Doppelt belastet,Grüße,open,2024-03-01").replace("\n", "\r\n")
    bom = "\ufeff".encode(codec)
    path = tmp_path / "tickets.csv"
    path.write_bytes(bom + text.encode(codec))

    tickets, rejects = await read_tickets(path)

    assert rejects == []
    assert [(t.ticket_id, t.body) for t in tickets] == [("T1", "Grüße")]


@pytest.mark.parametrize("delimiter", ["\t", ";"])
async def test_tab_and_semicolon_separated_files_are_read(tmp_path: Path, delimiter: str) -> None:
    text = ticket_csv("T1,C1,Hello,Where is it,open,2024-03-01").replace(",", delimiter)
    path = write(tmp_path, text)

    tickets, _ = await read_tickets(path)

    assert [(t.ticket_id, t.subject) for t in tickets] == [("T1", "Hello")]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (TICKET_HEADER.encode("utf-16-le"), "UTF-16/UTF-32 without a byte-order mark"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + bytes(range(256)), "not a text file"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\x01\x02" * 100, "not a text file"),
        ("ticket_id,customer_id,subjéct\n".encode("latin-1"), "not readable text in UTF-8"),
    ],
)
def test_a_file_that_is_not_utf8_text_names_the_problem_not_its_bytes(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "tickets.csv"
    path.write_bytes(content)

    with pytest.raises(SourceError) as raised:
        CsvTicketSource(path).check_header()

    message = str(raised.value)
    assert problem in message
    assert str(path) in message
    assert message.isprintable()
