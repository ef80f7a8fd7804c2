"""Freshdesk's ticket list with requester and description: number codes mapped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.sources.reading import read_all

from supporter.domain.models import Priority, Ticket
from supporter.sources.base import Reject, SourceError
from supporter.sources.freshdesk import FreshdeskTicketSource

FIXTURES = Path(__file__).parent / "fixtures"


async def read(path: Path) -> tuple[list[Ticket], list[Reject]]:
    return await read_all(FreshdeskTicketSource(path))


async def test_pages_of_tickets_with_their_codes_mapped() -> None:
    tickets, rejects = await read(FIXTURES / "freshdesk_tickets.json")
    assert rejects == []
    assert [
        (t.ticket_id, t.customer_id, t.status, t.priority, t.channel, t.customer_email)
        for t in tickets
    ] == [
        ("21", "freshdesk:1000001", "open", Priority.HIGH, "email", "Alice.Martin@Example.com"),
        ("22", "freshdesk:1000002", "closed", Priority.LOW, "phone", None),
        ("23", "freshdesk:1000003", "status-6", Priority.URGENT, "chat", "carol@example.com"),
    ]
    assert tickets[0].body == "I was charged 49.99 twice."  # the plain text, not the HTML
    assert tickets[0].tags == ("billing",)


async def test_a_bad_code_is_rejected_with_its_path_and_field(tmp_path: Path) -> None:
    good = {"id": 1, "requester_id": 5, "status": 2, "subject": "s", "created_at": "2024-05-02"}
    path = tmp_path / "tickets.json"
    path.write_text(json.dumps([good, {**good, "id": 2, "status": "open"}]), encoding="utf-8")
    tickets, [reject] = await read(path)
    assert [t.ticket_id for t in tickets] == ["1"]
    assert reject.record == "$[1]"
    assert reject.reason == "status: not a number code: 'open'"


async def test_a_file_that_breaks_off_keeps_what_came_before(tmp_path: Path) -> None:
    good = {"id": 1, "requester_id": 5, "status": 2, "subject": "s", "created_at": "2024-05-02"}
    path = tmp_path / "cut.json"
    path.write_text(json.dumps([good, {**good, "id": 2}])[:-30], encoding="utf-8")
    read_before: list[Ticket] = []

    async def read_all() -> None:
        async for found in FreshdeskTicketSource(path).tickets(lambda reject: None):
            read_before.append(found)

    with pytest.raises(SourceError, match=r"cut\.json: not valid JSON after \$\[0\]"):
        await read_all()
    assert [t.ticket_id for t in read_before] == ["1"]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [("../x/y", "id: must not hold '/'"), (".", "id: '.' and '..' cannot be ticket ids")],
)
async def test_an_id_that_cannot_be_a_link_rejects_only_its_ticket(
    tmp_path: Path, bad: str, reason: str
) -> None:
    good = {"id": 1, "requester_id": 5, "status": 2, "subject": "s", "created_at": "2024-05-02"}
    path = tmp_path / "tickets.json"
    path.write_text(json.dumps([{**good, "id": bad}, good]), encoding="utf-8")
    tickets, [reject] = await read(path)
    assert [t.ticket_id for t in tickets] == ["1"]
    assert reject.record == "$[0]"
    assert reject.reason.startswith(reason)
