"""Tickets as JSON Lines of our model: what `supporter` writes, read back line by line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.sources.reading import read_all

from supporter.domain.masking import contains_card_number
from supporter.domain.models import Priority, Ticket
from supporter.sources.base import Reject
from supporter.sources.jsonl import JsonLinesTicketSource

TICKET = Ticket(
    ticket_id="T1",
    customer_id="C1",
    subject="Charged twice",
    body="Please refund",
    status="open",
    created_at=datetime(2024, 3, 1, tzinfo=UTC),
    customer_email="alice@example.com",
    priority=Priority.HIGH,
    tags=("billing",),
)


async def read(path: Path) -> tuple[list[Ticket], list[Reject]]:
    return await read_all(JsonLinesTicketSource(path))


async def test_our_tickets_read_back_as_they_were_written(tmp_path: Path) -> None:
    path = tmp_path / "tickets.jsonl"
    card = {
        "ticket_id": 2,
        "customer_id": "C2",
        "subject": "",
        "body": "card 4111111111111111",
        "status": "New",
        "created_at": "2024-03-02T10:00:00+01:00",
        "extra": "ignored",
    }
    path.write_text(f"{TICKET.model_dump_json()}\n\n{json.dumps(card)}\n", encoding="utf-8")
    tickets, rejects = await read(path)
    assert rejects == []
    assert tickets[0] == TICKET
    assert (tickets[1].ticket_id, tickets[1].status) == ("2", "new")
    assert tickets[1].created_at == datetime(2024, 3, 2, 9, 0, tzinfo=UTC)
    assert not contains_card_number(tickets[1].body)


async def test_bad_lines_are_rejected_with_line_and_field_and_the_rest_goes_on(
    tmp_path: Path,
) -> None:
    lines = [
        TICKET.model_dump_json(),
        "{not json",
        json.dumps({**TICKET.model_dump(mode="json"), "ticket_id": "T2", "priority": "p1"}),
        "[1, 2]",
        TICKET.model_dump_json(),
        json.dumps({**TICKET.model_dump(mode="json"), "ticket_id": "T3"}),
    ]
    path = tmp_path / "tickets.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tickets, rejects = await read(path)
    assert [t.ticket_id for t in tickets] == ["T1", "T3"]
    assert [(r.line, r.record, r.reason.split(":")[0]) for r in rejects] == [
        (2, None, "record"),
        (3, None, "priority"),
        (4, None, "record"),
        (5, None, "ticket_id"),
    ]
    assert rejects[1].raw.startswith('{"ticket_id": "T2"')
    assert rejects[3].reason == "ticket_id: duplicate of line 1"


async def test_ids_that_cannot_be_a_link_and_lone_surrogates_reject_only_their_line(
    tmp_path: Path,
) -> None:
    base = TICKET.model_dump(mode="json")
    lines = [
        json.dumps({**base, "ticket_id": "a/b"}),
        json.dumps({**base, "ticket_id": ".."}),
        json.dumps({**base, "ticket_id": "T2", "body": "X"}).replace('"X"', '"\\ud800"'),
        json.dumps({**base, "ticket_id": "T3", "customer_id": "X"}).replace('"X"', '"\\udfff"'),
        json.dumps({**base, "ticket_id": "T4", "tags": ["X"]}).replace('"X"', '"\\ud83d"'),
        json.dumps({**base, "ticket_id": "T5?"}),
    ]
    path = tmp_path / "tickets.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tickets, rejects = await read(path)
    assert [t.ticket_id for t in tickets] == ["T5?"]
    assert [(r.line, r.reason.split(":")[0]) for r in rejects] == [
        (1, "ticket_id"),
        (2, "ticket_id"),
        (3, "body"),
        (4, "customer_id"),
        (5, "tags"),
    ]
    assert "lone surrogate" in rejects[2].reason
