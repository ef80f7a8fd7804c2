"""Zendesk's incremental ticket export: time- and cursor-based pages, side-loaded users."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.sources.reading import read_all

from supporter.domain.masking import contains_card_number
from supporter.domain.models import Priority, Ticket
from supporter.sources.base import Reject, SourceError
from supporter.sources.zendesk import ZendeskTicketSource

FIXTURES = Path(__file__).parent / "fixtures"


async def read(path: Path) -> tuple[list[Ticket], list[Reject]]:
    return await read_all(ZendeskTicketSource(path))


async def test_time_based_pages_with_users_after_the_tickets() -> None:
    tickets, rejects = await read(FIXTURES / "zendesk_time_based.json")
    assert rejects == []
    by_id = {ticket.ticket_id: ticket for ticket in tickets}
    # 4711 appears again on the second page (changed while paging): the first copy counts.
    assert list(by_id) == ["4711", "4712", "4713", "4714"]
    alice = by_id["4711"]
    assert alice.customer_id == "zendesk:381"
    assert alice.customer_email == "alice.martin@example.com"
    assert alice.status == "open"
    assert alice.priority is Priority.HIGH
    assert alice.channel == "email"
    assert alice.tags == ("billing", "double_charge")
    assert alice.created_at == datetime(2024, 5, 2, 9, 15, tzinfo=UTC)
    assert "charged 49.99 twice" in alice.body
    assert not contains_card_number(alice.body)
    assert by_id["4712"].priority is Priority.MEDIUM  # Zendesk's "normal"
    assert by_id["4712"].customer_id == "cus_B0b"  # the requester's external_id
    phone = by_id["4713"]
    assert (phone.customer_email, phone.priority, phone.channel) == (None, None, "voice")
    chat = by_id["4714"]
    assert (chat.subject, chat.body) == ("", "Is my refund on its way?")
    assert chat.created_at == datetime(2024, 5, 3, 6, 0, tzinfo=UTC)
    assert chat.customer_email == "bob@example.com"


async def test_cursor_based_page_with_users_first() -> None:
    tickets, rejects = await read(FIXTURES / "zendesk_cursor_based.json")
    assert rejects == []
    assert [(t.ticket_id, t.customer_email, t.priority) for t in tickets] == [
        ("5001", "Alice.Martin@Example.com", Priority.URGENT)
    ]


async def test_an_array_of_pages_is_read_page_by_page(tmp_path: Path) -> None:
    pages = [
        {"tickets": [ticket(1, requester=7)], "users": [{"id": 7, "email": "a@example.com"}]},
        {"tickets": [ticket(2, requester=7)], "users": []},
    ]
    path = tmp_path / "pages.json"
    path.write_text(json.dumps(pages), encoding="utf-8")
    tickets, _ = await read(path)
    # A requester side-loaded on any page of the file gives its address.
    assert [(t.ticket_id, t.customer_email) for t in tickets] == [
        ("1", "a@example.com"),
        ("2", "a@example.com"),
    ]


def ticket(number: int, *, requester: object = 1, **fields: object) -> dict[str, object]:
    return {
        "id": number,
        "requester_id": requester,
        "subject": "Help",
        "description": "Body",
        "status": "open",
        "created_at": "2024-05-02T09:15:00Z",
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"status": None}, "status: required"),
        ({"created_at": "02/05/2024"}, "created_at: not an ISO 8601 time"),
        ({"priority": "critical"}, "priority: unknown"),
        ({"requester_id": None}, "requester_id: required"),
        ({"subject": "", "description": None}, "body: empty, and so is subject"),
        ({"tags": "billing"}, "tags: not a list"),
    ],
)
async def test_a_bad_record_is_rejected_with_its_path_and_field_and_the_rest_goes_on(
    tmp_path: Path, fields: dict[str, object], reason: str
) -> None:
    page = {
        "tickets": [ticket(1), ticket(2, **fields), ticket(3)],
        "users": [],
    }
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    tickets, rejects = await read(path)
    assert [t.ticket_id for t in tickets] == ["1", "3"]
    [reject] = rejects
    assert reject.reason.startswith(reason)
    assert (reject.file, reject.line, reject.record) == (str(path), None, "tickets[1]")
    assert json.loads(reject.raw)["id"] == 2


async def test_a_card_number_never_reaches_a_reject(tmp_path: Path) -> None:
    bad = ticket(1, description="card 4111 1111 1111 1111", status=7)
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"tickets": [bad]}), encoding="utf-8")
    _, [reject] = await read(path)
    assert not contains_card_number(reject.raw)


async def test_json_that_breaks_off_stops_before_any_ticket_with_where_it_stopped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cut.json"
    path.write_text(
        json.dumps({"tickets": [ticket(1), ticket(2)], "users": [{"id": 1}]})[:-60],
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match=r"cut\.json: not valid JSON after the start"):
        await read(path)


async def test_a_missing_or_empty_file_stops_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        await read(tmp_path / "absent.json")
    (tmp_path / "empty.json").write_text("  \n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"empty\.json: the file holds no JSON"):
        await read(tmp_path / "empty.json")


async def test_a_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"tickets": [ticket(1)]}).encode())
    tickets, _ = await read(path)
    assert [t.ticket_id for t in tickets] == ["1"]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("../x/y", "id: must not hold '/'"),
        ("a\\b", "id: must not hold '/'"),
        ("..", "id: '.' and '..' cannot be ticket ids"),
    ],
)
async def test_an_id_that_cannot_be_a_link_rejects_only_its_ticket(
    tmp_path: Path, bad: str, reason: str
) -> None:
    """A ticket's id is a segment of every link to it: one that would step out of it
    is rejected, naming the field, and the rest are read."""
    page = {"tickets": [ticket(1), {**ticket(2), "id": bad}, ticket(3)], "users": []}
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    tickets, [reject] = await read(path)
    assert [t.ticket_id for t in tickets] == ["1", "3"]
    assert reject.reason.startswith(reason)
    assert (reject.file, reject.record) == (str(path), "tickets[1]")
