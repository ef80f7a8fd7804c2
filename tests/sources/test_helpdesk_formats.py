"""The helpdesks' JSON exports are recognised from their content, however they were saved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supporter.sources.base import SourceError
from supporter.sources.formats import FieldLimits
from supporter.sources.helpdesk import (
    CUT_NOTICE,
    BadField,
    cut_body,
    subject_and_body,
    ticket_identifier,
)
from supporter.sources.registry import TICKET_FORMATS, choose, open_tickets

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("fixture", "name"),
    [
        ("zendesk_time_based.json", "zendesk"),
        ("zendesk_cursor_based.json", "zendesk"),
        ("freshdesk_tickets.json", "freshdesk"),
        ("helpscout_conversations.json", "helpscout"),
    ],
)
def test_each_export_is_recognised_by_its_shape(fixture: str, name: str) -> None:
    choice = choose(FIXTURES / fixture, TICKET_FORMATS, "tickets")
    assert choice.format.name == name
    assert choice.why.startswith("JSON with ")


def test_an_array_of_pages_and_a_page_opening_with_many_users_are_recognised(
    tmp_path: Path,
) -> None:
    users = [
        {"id": n, "name": f"User {n}", "email": f"u{n}@example.com", "role": "end-user"}
        for n in range(3000)  # far more than the sample the formats look at
    ]
    ticket = {"id": 1, "requester_id": 1, "via": {"channel": "web"}, "status": "open"}
    cursor_page = tmp_path / "cursor.json"
    cursor_page.write_text(json.dumps({"users": users, "tickets": [ticket]}), encoding="utf-8")
    array = tmp_path / "array.json"
    array.write_text(json.dumps([{"tickets": [ticket]}, {"tickets": []}]), encoding="utf-8")
    for path in (cursor_page, array):
        assert choose(path, TICKET_FORMATS, "tickets").format.name == "zendesk"


async def test_our_json_lines_are_recognised_and_read(tmp_path: Path) -> None:
    path = tmp_path / "tickets.jsonl"
    record = {"ticket_id": "T1", "customer_id": "C1", "subject": "s", "body": "b"}
    path.write_text(
        json.dumps({**record, "status": "open", "created_at": "2024-05-02"}) + "\n",
        encoding="utf-8",
    )
    source, choice = open_tickets(path)
    assert choice.format.name == "jsonl"
    assert [t.ticket_id async for t in source.tickets(lambda reject: None)] == ["T1"]


def test_json_of_no_known_shape_stops_with_the_formats_known(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"orders": [{"id": 1}]}), encoding="utf-8")
    with pytest.raises(SourceError) as raised:
        choose(path, TICKET_FORMATS, "tickets")
    assert "zendesk (Zendesk incremental ticket export (JSON))" in str(raised.value)
    assert "helpscout" in str(raised.value)


def test_a_format_can_be_named_for_a_file_it_would_not_recognise(tmp_path: Path) -> None:
    path = tmp_path / "empty-page.json"
    path.write_text(json.dumps({"tickets": []}), encoding="utf-8")
    choice = choose(path, TICKET_FORMATS, "tickets", forced="Zendesk")
    assert choice.format.name == "zendesk"


def test_a_json_export_in_utf16_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "utf16.json"
    path.write_bytes(json.dumps({"tickets": [{"requester_id": 1, "via": {}}]}).encode("utf-16"))
    with pytest.raises(SourceError, match="save it as UTF-8"):
        open_tickets(path)


# -- over-long bodies: a file's row is rejected, a live helpdesk's ticket cut -------------


def test_a_file_row_with_an_over_long_body_is_still_a_bad_field() -> None:
    with pytest.raises(BadField, match="body: 21 characters, over the limit of 20"):
        subject_and_body("Refund", "x" * 21, FieldLimits(body=20))


def test_a_body_with_nowhere_to_break_is_cut_hard_and_a_tiny_limit_gets_no_notice() -> None:
    word = "y" * 500
    cut = cut_body(word, 300, "start")
    assert len(cut) <= 300
    assert cut.startswith("y" * 100)
    assert cut.endswith("the helpdesk has it whole.]")
    assert cut_body(word, 10, "end") == "y" * 10  # no room for the notice


def test_a_card_number_across_the_cut_is_masked_before_it_is_cut(
    caplog: pytest.LogCaptureFixture,
) -> None:
    card = "4111 1111 1111 1111"
    limits = FieldLimits(body=400)
    # The card straddles where the cut falls: cut first, then masked, "4111 1111 1111"
    # would be left, too short for a card number.
    words = "please " * 37
    _, body = subject_and_body(
        "Refund", f"{words}{card} thanks " + "more " * 80, limits, long_body="start", ticket="t 7"
    )
    assert len(body) <= 400
    assert "4111" not in body
    assert "1111 1111" not in body
    assert CUT_NOTICE in body
    assert "t 7: body of" in caplog.text
    assert card not in caplog.text
    # Within the limit once masked: kept whole, no notice.
    short = f"Card {card} charged twice " + "a" * 360
    _, whole = subject_and_body("Refund", short, limits, long_body="end")
    assert CUT_NOTICE not in whole
    assert whole.endswith("a" * 360)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("../x/y", "id: must not hold '/'"),
        ("a\\b", "id: must not hold '/'"),
        ("1\n2", "id: must not hold '/'"),
        ("..", "id: '.' and '..' cannot be ticket ids"),
    ],
)
def test_a_ticket_id_that_cannot_be_a_link_is_a_bad_field(value: str, reason: str) -> None:
    """What every helpdesk reader (exports and API connectors) reads a ticket's id with."""
    with pytest.raises(BadField) as bad:
        ticket_identifier(value, "id", FieldLimits())
    assert str(bad.value).startswith(reason)
    assert ticket_identifier(4021, "id", FieldLimits()) == "4021"
    assert ticket_identifier("T-1.2", "id", FieldLimits()) == "T-1.2"
