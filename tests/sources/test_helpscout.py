"""Help Scout conversations with threads: the customer's own messages make the body."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.sources.reading import read_all

from supporter.domain.masking import contains_card_number
from supporter.domain.models import Ticket
from supporter.sources.base import Reject
from supporter.sources.helpscout import HelpScoutTicketSource

FIXTURES = Path(__file__).parent / "fixtures"


async def read(path: Path) -> tuple[list[Ticket], list[Reject]]:
    return await read_all(HelpScoutTicketSource(path))


async def test_customer_threads_oldest_first_make_the_body() -> None:
    tickets, rejects = await read(FIXTURES / "helpscout_conversations.json")
    assert rejects == []
    alice, bob = tickets
    assert (alice.ticket_id, alice.customer_id, alice.customer_email) == (
        "10",
        "helpscout:12",
        "alice.martin@example.com",
    )
    assert alice.status == "open"  # Help Scout's "active"
    assert alice.body.startswith("I was charged 49.99 twice & want one back.\n\nAny news?")
    assert "looking into it" not in alice.body
    assert "internal" not in alice.body
    assert not contains_card_number(alice.body)
    assert (alice.channel, alice.tags) == ("email", ("billing",))
    # No customer thread: the preview is what there is.
    assert (bob.status, bob.body, bob.channel) == ("closed", "Cannot log in", "chat")


async def test_a_conversation_without_its_customer_is_rejected(tmp_path: Path) -> None:
    page = {
        "_embedded": {
            "conversations": [
                {"id": 1, "subject": "s", "status": "active", "createdAt": "2024-05-02T00:00:00Z"}
            ]
        }
    }
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    tickets, [reject] = await read(path)
    assert tickets == []
    assert (reject.record, reject.reason) == (
        "_embedded.conversations[0]",
        "primaryCustomer: required",
    )


async def test_a_rejected_conversation_shows_no_card_number_hidden_in_its_html(
    tmp_path: Path,
) -> None:
    """Its raw record is the JSON as text: a card number split by tags or written with
    `&nbsp;` would otherwise escape masking."""
    body = "<p>card 4111&nbsp;1111&nbsp;1111&nbsp;1111 and <b>4111</b>1111<i>1111</i>1111</p>"
    page = {
        "_embedded": {
            "conversations": [
                {
                    "id": 1,
                    "subject": "s",
                    "status": "active",
                    "createdAt": "2024-05-02T00:00:00Z",
                    "_embedded": {"threads": [{"type": "customer", "body": body}]},
                }
            ]
        }
    }
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    _, [reject] = await read(path)
    assert not contains_card_number(reject.raw)
    assert "4111111111111111" not in reject.raw.replace("\u00a0", "")
    assert "**** 1111" in reject.raw


@pytest.mark.parametrize(
    ("bad", "reason"),
    [("../x/y", "id: must not hold '/'"), ("..", "id: '.' and '..' cannot be ticket ids")],
)
async def test_an_id_that_cannot_be_a_link_rejects_only_its_conversation(
    tmp_path: Path, bad: str, reason: str
) -> None:
    def conversation(number: object) -> dict[str, object]:
        return {
            "id": number,
            "subject": "s",
            "status": "active",
            "createdAt": "2024-05-02T00:00:00Z",
            "primaryCustomer": {"id": 12, "email": "ann@example.com"},
        }

    page = {"_embedded": {"conversations": [conversation(bad), conversation(2)]}}
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    tickets, [reject] = await read(path)
    assert [t.ticket_id for t in tickets] == ["2"]
    assert reject.record == "_embedded.conversations[0]"
    assert reject.reason.startswith(reason)
