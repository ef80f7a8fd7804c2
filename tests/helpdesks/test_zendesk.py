"""The Zendesk connector against the Zendesk simulator, over real HTTP; what every connector
owes (webhook secrets, failures, credentials, a version written once) is in test_contract.py."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest
from aiohttp import web
from pydantic import SecretStr

from supporter.domain.errors import FatalError, InvalidAnswerError, PermanentError
from supporter.domain.models import Priority
from supporter.helpdesks import registry
from supporter.helpdesks.base import (
    Draft,
    HelpdeskUnavailable,
    RateLimit,
    TicketKeptChanging,
    WebhookRejected,
    WebhookRequest,
    WriteBackMode,
    WriteReceipt,
)
from supporter.helpdesks.registry import HelpdeskConfigError
from supporter.helpdesks.zendesk import UPDATE_LIMIT, Settings, ZendeskHelpdesk
from supporter.testing.fake_zendesk import (
    DEFAULT_EMAIL,
    DEFAULT_TOKEN,
    FakeZendesk,
    FakeZendeskConfig,
    signed_webhook,
    trigger_body,
)

SECRET = "whsec-zendesk-test-8c1"
FAST = RateLimit(6000, 60.0)  # pacing out of the way where a test is not about it
CARD = "4242 4242 4242 4242"


@dataclass
class Rig:
    server: FakeZendesk
    helpdesk: ZendeskHelpdesk
    settings: Settings


def _connector(settings: Settings, **overrides: Any) -> ZendeskHelpdesk:
    """The connector with pacing out of the way where a test is not about it; ticket
    updates paced as documented, since the simulator enforces that limit."""
    knobs: dict[str, Any] = {
        "account_limit": FAST,
        "update_limit": UPDATE_LIMIT,
        "export_limit": FAST,
        "timeout": 2.0,
        "max_wait": 10.0,
        **overrides,
    }
    return ZendeskHelpdesk(settings, **knobs)


def _changed(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update=changes)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    # Only the update limit is enforced by default: the tests of the others set them.
    server = FakeZendesk(
        FakeZendeskConfig(export_lag_seconds=0, account_limit=None, export_limit=None)
    )
    async with server as url:
        settings = Settings(
            url=url,
            email=DEFAULT_EMAIL,
            token=SecretStr(DEFAULT_TOKEN),
            webhook_secret=SecretStr(SECRET),
            category_field=server.add_ticket_field("Supporter category"),
        )
        helpdesk = _connector(settings)
        try:
            yield Rig(server, helpdesk, settings)
        finally:
            await helpdesk.aclose()


def _webhook(
    body: bytes, headers: dict[str, str], received: datetime | None = None
) -> WebhookRequest:
    return WebhookRequest(
        headers={name.lower(): value for name, value in headers.items()},
        body=body,
        received_at=received or datetime.now(UTC),
    )


def _draft(ticket_id: int, version: str = "v1", **changes: object) -> Draft:
    draft = Draft(
        ticket_id=str(ticket_id),
        category="billing_double_charge",
        priority=Priority.HIGH,
        tags=("supporter", "Double Charge"),
        note=f"Refund the duplicate charge on card {CARD}.",
        version=version,
    )
    return replace(draft, **changes)  # type: ignore[arg-type]


def _puts(server: FakeZendesk) -> list[int]:
    return [a.status for a in server.log.answered if a.method == "PUT"]


def _requests(server: FakeZendesk) -> list[str]:
    """The requests answered, as method and path with the ticket's id left out."""
    return [f"{a.method} {re.sub(r'/[0-9]+', '/N', a.path)}" for a in server.log.answered]


# -- webhooks ----------------------------------------------------------------------------------


def test_a_signed_trigger_webhook_names_its_ticket_and_delivery(rig: Rig) -> None:
    body = trigger_body(10_123)
    request = _webhook(body, signed_webhook(SECRET, body, invocation_id="8350205582"))
    rig.helpdesk.verify_webhook(request)
    event = rig.helpdesk.parse_webhook(request)
    assert event.ticket_ids == ("10123",)
    assert event.delivery_id == "8350205582"


def test_a_bad_signature_is_rejected_without_showing_the_expected_one(rig: Rig) -> None:
    body = trigger_body(5)
    headers = signed_webhook("another-secret", body)
    with pytest.raises(WebhookRejected) as caught:
        rig.helpdesk.verify_webhook(_webhook(body, headers))
    assert caught.value.reason == "bad_signature"
    good = signed_webhook(SECRET, body, timestamp=headers["X-Zendesk-Webhook-Signature-Timestamp"])
    assert good["X-Zendesk-Webhook-Signature"] not in str(caught.value)
    assert SECRET not in str(caught.value)


def test_a_body_changed_after_signing_is_rejected(rig: Rig) -> None:
    headers = signed_webhook(SECRET, trigger_body(5))
    with pytest.raises(WebhookRejected) as caught:
        rig.helpdesk.verify_webhook(_webhook(trigger_body(6), headers))
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize(
    "missing", ["X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"]
)
def test_a_missing_signature_header_is_rejected(rig: Rig, missing: str) -> None:
    body = trigger_body(5)
    headers = signed_webhook(SECRET, body)
    del headers[missing]
    with pytest.raises(WebhookRejected) as caught:
        rig.helpdesk.verify_webhook(_webhook(body, headers))
    assert caught.value.reason == "missing_signature"


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_correctly_signed_webhook_older_or_newer_than_five_minutes_is_a_replay(
    rig: Rig, offset: timedelta
) -> None:
    body = trigger_body(5)
    stamp = (datetime.now(UTC) + offset).strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(WebhookRejected) as caught:
        rig.helpdesk.verify_webhook(_webhook(body, signed_webhook(SECRET, body, timestamp=stamp)))
    assert caught.value.reason == "replay"
    # Four minutes old is within the window.
    recent = (datetime.now(UTC) - timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rig.helpdesk.verify_webhook(_webhook(body, signed_webhook(SECRET, body, timestamp=recent)))


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'{"ticket_id": "{{ticket.id}}"}',
        b'{"ticket_id": "12/../../users"}',
        b"[]",
        b'{"ticket_id": "<script>"}',
        b'{"ticket_id": "\\u00b2"}',  # a digit to str.isdigit, no ticket number
    ],
)
def test_a_body_without_a_ticket_id_is_a_bad_payload(rig: Rig, payload: bytes) -> None:
    request = _webhook(payload, signed_webhook(SECRET, payload))
    rig.helpdesk.verify_webhook(request)
    with pytest.raises(WebhookRejected) as caught:
        rig.helpdesk.parse_webhook(request)
    assert caught.value.reason == "bad_payload"


def test_an_event_subscription_payload_names_its_ticket(rig: Rig) -> None:
    body = json.dumps(
        {
            "type": "zen:event-type:ticket.created",
            "id": "cbe4028c-7239-495d-b020-f22348516046",
            "account_id": 123456,
            "subject": "zen:ticket:35436",
            "detail": {"id": "35436", "subject": "Charged twice"},
            "event": {},
        }
    ).encode()
    request = _webhook(body, {})
    event = rig.helpdesk.parse_webhook(request)
    assert event.ticket_ids == ("35436",)
    assert event.delivery_id == "cbe4028c-7239-495d-b020-f22348516046"


async def test_a_duplicate_delivery_has_one_delivery_id_and_writes_one_note(rig: Rig) -> None:
    ticket = rig.server.add_ticket("Charged twice", "I was charged twice")
    body = trigger_body(ticket)
    headers = signed_webhook(SECRET, body, invocation_id="42")
    events = [rig.helpdesk.parse_webhook(_webhook(body, headers)) for _ in range(2)]
    assert events[0] == events[1]
    receipts = []
    for event in events:
        fetched = await rig.helpdesk.fetch_ticket(event.ticket_ids[0])
        receipts.append(
            await rig.helpdesk.write_back(_draft(int(fetched.ticket_id)), WriteBackMode.NOTE, None)
        )
    notes = [c for c in rig.server.comments[ticket] if not c["public"]]
    assert len(notes) == 1
    assert receipts[0].note_id == str(notes[0]["id"])
    # Written already, by the version's tag: the same note, found again.
    assert receipts[1] == WriteReceipt(note_id=receipts[0].note_id)
    assert _puts(rig.server) == [200]


# -- reading -----------------------------------------------------------------------------------


async def test_fetch_ticket_maps_the_ticket_and_its_side_loaded_requester(rig: Rig) -> None:
    ticket_id = rig.server.add_ticket(
        "Charged twice",
        f"My card {CARD} was charged twice",
        requester_email="ann@example.com",
        requester_external_id="cus_42",
        priority="normal",
        tags=["vip"],
    )
    ticket = await rig.helpdesk.fetch_ticket(str(ticket_id))
    assert ticket.ticket_id == str(ticket_id)
    assert ticket.customer_email == "ann@example.com"
    assert ticket.customer_id == "cus_42"
    assert ticket.priority is Priority.MEDIUM
    assert ticket.tags == ("vip",)
    assert CARD not in ticket.body
    assert "4242" in ticket.body


async def test_the_export_is_paged_by_cursor_and_resumes_from_a_stored_one(rig: Rig) -> None:
    rig.server.config.export_page_size = 2
    past = time.time() - 3600
    ids = [
        rig.server.add_ticket(
            f"Ticket {n}", "body", updated_at=past + n, requester_email=f"c{n}@x.io"
        )
        for n in range(5)
    ]
    since = datetime.fromtimestamp(past - 10, UTC)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await rig.helpdesk.poll(cursor, since=since)
        pages += 1
        seen += [t.ticket_id for t in page.tickets]
        assert all(t.customer_email and t.customer_email.endswith("@x.io") for t in page.tickets)
        cursor = page.cursor
        if not page.more:
            break
    assert seen == [str(i) for i in ids]
    assert pages == 3
    # Caught up: nothing new. Then an agent changes one ticket: only it comes again.
    assert (await rig.helpdesk.poll(cursor, since=since)).tickets == ()
    rig.server.update_ticket(ids[1], subject="Ticket 1, edited")
    page = await rig.helpdesk.poll(cursor, since=since)
    assert [(t.ticket_id, t.subject) for t in page.tickets] == [(str(ids[1]), "Ticket 1, edited")]


async def test_a_first_poll_starts_at_least_a_minute_back_and_keeps_a_cursor(rig: Rig) -> None:
    page = await rig.helpdesk.poll(None, since=datetime.now(UTC))
    assert page.tickets == ()
    assert page.cursor
    assert not page.more
    asked = [a.key for a in rig.server.log.answered if "incremental" in a.path]
    start = int(asked[0].split("start_time=")[1].split("&")[0])
    assert start <= time.time() - 60


async def test_an_unreadable_or_deleted_ticket_is_skipped_and_the_page_goes_on(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    past = time.time() - 3600
    good = rig.server.add_ticket("Fine", "body", updated_at=past)
    bad = rig.server.add_ticket("x", "y", updated_at=past + 1)
    gone = rig.server.add_ticket("Gone", "body", updated_at=past + 2)
    rig.server.tickets[bad].update(subject="", description="")
    rig.server.tickets[gone]["status"] = "deleted"
    page = await rig.helpdesk.poll(None, since=datetime.fromtimestamp(past - 5, UTC))
    assert [t.ticket_id for t in page.tickets] == [str(good)]
    assert f"ticket {bad} skipped: body: empty" in caplog.text


# -- rate limits and failures ------------------------------------------------------------------


async def test_a_429_is_waited_out_for_its_retry_after_and_answered_once(rig: Rig) -> None:
    # The server allows one export every 2 s; the connector is told nothing of it.
    rig.server.config.export_limit = 1
    rig.server.config.window_seconds = 2.0
    since = datetime.now(UTC) - timedelta(hours=1)
    first = await rig.helpdesk.poll(None, since=since)
    await rig.helpdesk.poll(first.cursor, since=since)
    exports = [a for a in rig.server.log.answered if "incremental" in a.path]
    assert [a.status for a in exports] == [200, 429, 200]
    refused, retried = exports[1], exports[2]
    assert refused.retry_after is not None
    assert refused.retry_after >= 1
    assert retried.at - refused.at >= refused.retry_after - 0.05
    assert rig.server.log.max_429_in_a_row == 1


async def test_paced_at_the_documented_limit_no_export_is_refused(rig: Rig) -> None:
    # 10 exports a minute, the window shortened to 3 s: one every 0.3 s.
    rig.server.config.export_limit = 10
    rig.server.config.window_seconds = 3.0
    helpdesk = _connector(rig.settings, export_limit=RateLimit(10, 3.0))
    try:
        started = time.monotonic()
        cursor = None
        for _ in range(8):
            cursor = (await helpdesk.poll(cursor, since=datetime.now(UTC))).cursor
        elapsed = time.monotonic() - started
    finally:
        await helpdesk.aclose()
    assert rig.server.log.outcomes[429] == 0
    assert elapsed >= 7 * 0.3 - 0.05


async def test_rate_limiting_past_max_wait_is_unavailable(rig: Rig) -> None:
    rig.server.config.update_limit = 1
    rig.server.config.window_seconds = 60.0
    ticket = rig.server.add_ticket("Charged twice", "body")
    helpdesk = _connector(rig.settings, max_wait=1.0)
    try:
        await helpdesk.write_back(_draft(ticket, "v1"), WriteBackMode.TAGS, None)
        with pytest.raises(HelpdeskUnavailable) as caught:
            await helpdesk.write_back(
                _draft(ticket, "v2", priority=Priority.LOW), WriteBackMode.TAGS, None
            )
    finally:
        await helpdesk.aclose()
    assert caught.value.retry_after is not None


async def test_an_unknown_ticket_is_permanent(rig: Rig) -> None:
    with pytest.raises(PermanentError, match="404"):
        await rig.helpdesk.fetch_ticket("99999999")
    with pytest.raises(PermanentError, match="404"):
        await rig.helpdesk.write_back(_draft(99999999), WriteBackMode.NOTE, None)
    with pytest.raises(PermanentError, match="not a Zendesk ticket id"):
        await rig.helpdesk.fetch_ticket("12/../users/me")


async def test_a_closed_ticket_is_permanent_without_an_update(rig: Rig) -> None:
    ticket = rig.server.add_ticket("Charged twice", "body", status="closed")
    with pytest.raises(PermanentError, match="closed"):
        await rig.helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
    assert _puts(rig.server) == []
    assert len(rig.server.comments[ticket]) == 1


async def test_a_ticket_an_agent_closed_meanwhile_gets_no_note(rig: Rig) -> None:
    """An agent closes the ticket (PUT status=closed, as Zendesk's update documents) while
    its draft awaits review: Zendesk then locks it, and the write-back writes nothing."""
    ticket = rig.server.add_ticket("Charged twice", "body")
    auth = httpx.BasicAuth(f"{DEFAULT_EMAIL}/token", DEFAULT_TOKEN)
    async with httpx.AsyncClient(base_url=rig.settings.base_url, auth=auth) as agent:
        closed = await agent.put(
            f"/api/v2/tickets/{ticket}.json", json={"ticket": {"status": "closed"}}
        )
    assert closed.status_code == 200
    assert closed.json()["ticket"]["status"] == "closed"
    assert rig.server.tickets[ticket]["status"] == "closed"
    puts = len(_puts(rig.server))
    with pytest.raises(PermanentError, match="closed"):
        await rig.helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
    assert len(_puts(rig.server)) == puts
    assert len(rig.server.comments[ticket]) == 1


async def test_the_simulator_refuses_a_status_zendesk_does_not_have(rig: Rig) -> None:
    ticket = rig.server.add_ticket("Charged twice", "body")
    auth = httpx.BasicAuth(f"{DEFAULT_EMAIL}/token", DEFAULT_TOKEN)
    async with httpx.AsyncClient(base_url=rig.settings.base_url, auth=auth) as agent:
        answer = await agent.put(
            f"/api/v2/tickets/{ticket}.json", json={"ticket": {"status": "finished"}}
        )
    assert answer.status_code == 422
    assert "status" in answer.json()["details"]
    assert rig.server.tickets[ticket]["status"] == "new"


# -- writing -----------------------------------------------------------------------------------


async def test_a_note_is_internal_masked_and_the_team_tags_stay(rig: Rig) -> None:
    ticket = rig.server.add_ticket("Charged twice", "body", tags=["vip", "escalated"])
    receipt = await rig.helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
    note = rig.server.comments[ticket][-1]
    assert receipt.note_id == str(note["id"])
    assert note["public"] is False
    assert CARD not in note["body"]
    assert "Refund the duplicate charge" in note["body"]
    state = rig.server.tickets[ticket]
    assert state["tags"] == ["vip", "escalated", "supporter", "double_charge", "supporter_draft_v1"]
    assert state["priority"] == "high"
    field = rig.settings.category_field
    assert field is not None
    assert rig.server.custom_field(ticket, field) == "billing_double_charge"
    assert _puts(rig.server) == [200]


async def test_tags_mode_writes_no_note_and_skips_an_update_that_changes_nothing(
    rig: Rig,
) -> None:
    ticket = rig.server.add_ticket("Charged twice", "body", tags=["vip"])
    draft = _draft(ticket, priority=Priority.MEDIUM)
    first = await rig.helpdesk.write_back(draft, WriteBackMode.TAGS, None)
    again = await rig.helpdesk.write_back(draft, WriteBackMode.TAGS, first)
    assert len(rig.server.comments[ticket]) == 1  # the description alone
    assert rig.server.tickets[ticket]["priority"] == "normal"
    assert rig.server.tickets[ticket]["tags"] == ["vip", "supporter", "double_charge"]
    assert _puts(rig.server) == [200]
    assert first.note_id is None
    assert again.note_id is None


async def test_a_tags_only_update_after_a_note_keeps_that_notes_id(rig: Rig) -> None:
    ticket = rig.server.add_ticket("Charged twice", "body")
    noted = await rig.helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
    retagged = await rig.helpdesk.write_back(
        _draft(ticket, "v2", tags=("supporter", "refund")), WriteBackMode.TAGS, noted
    )
    assert _puts(rig.server) == [200, 200]
    assert noted.note_id is not None
    assert retagged.note_id == noted.note_id


async def test_an_agent_edit_during_the_write_is_kept(rig: Rig) -> None:
    ticket = rig.server.add_ticket("Charged twice", "body", tags=["vip"])
    rig.server.edit_before_next_update(ticket, tags=["vip", "agent_added"])
    await rig.helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
    assert _puts(rig.server) == [409, 200]
    assert rig.server.tickets[ticket]["tags"][:2] == ["vip", "agent_added"]
    assert "supporter" in rig.server.tickets[ticket]["tags"]
    assert len([c for c in rig.server.comments[ticket] if not c["public"]]) == 1


async def test_a_ticket_that_keeps_changing_is_tried_later_without_opening_the_circuit(
    rig: Rig,
) -> None:
    """Zendesk answered each update (409): it is up, so the circuit must not count it."""
    ticket = rig.server.add_ticket("Charged twice", "body", tags=["vip"])
    rig.server.edit_before_next_update(ticket, times=3, tags=["vip", "agent_added"])
    with pytest.raises(TicketKeptChanging) as caught:
        await rig.helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
    assert isinstance(caught.value, InvalidAnswerError)
    assert _puts(rig.server) == [409, 409, 409]
    assert rig.server.comments[ticket][1:] == []


async def test_a_new_version_adds_a_note_that_supersedes_and_a_version_never_posts_twice(
    rig: Rig,
) -> None:
    ticket = rig.server.add_ticket("Charged twice", "body", tags=["vip"])
    first = await rig.helpdesk.write_back(_draft(ticket, "v1"), WriteBackMode.NOTE, None)
    second = await rig.helpdesk.write_back(
        _draft(ticket, "v2", note="A new draft"), WriteBackMode.NOTE, first
    )
    notes = [c for c in rig.server.comments[ticket] if not c["public"]]
    assert [str(n["id"]) for n in notes] == [first.note_id, second.note_id]
    assert f"supersedes Supporter's earlier note (comment {first.note_id})" in notes[1]["body"]
    # Marked as every connector's note is: the draft version on its last line.
    assert str(notes[1]["body"]).endswith("\n\n[supporter draft v2]")
    tags = rig.server.tickets[ticket]["tags"]
    assert "supporter_draft_v2" in tags
    assert "supporter_draft_v1" not in tags
    assert tags[0] == "vip"
    # A retry of this version after the store lost its receipt (what the store still has
    # is the earlier version's, or nothing) posts nothing and names this version's note.
    for previous in (first, None):
        again = await rig.helpdesk.write_back(
            _draft(ticket, "v2", note="A new draft"), WriteBackMode.NOTE, previous
        )
        assert again.note_id == second.note_id
    assert len([c for c in rig.server.comments[ticket] if not c["public"]]) == 2
    # A third version without a receipt still says it replaces an earlier note.
    await rig.helpdesk.write_back(_draft(ticket, "v3", note="Third"), WriteBackMode.NOTE, None)
    third = str(rig.server.comments[ticket][-1]["body"])
    assert third.startswith("This draft supersedes Supporter's earlier note: the ticket changed.")
    assert _puts(rig.server) == [200, 200, 200]


async def test_after_a_lost_receipt_the_next_version_names_the_note_it_supersedes(
    rig: Rig,
) -> None:
    ticket = rig.server.add_ticket("Charged twice", "body")
    written = await rig.helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
    # The store never recorded `written`: the retry finds the note rather than posting.
    lost = await rig.helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
    assert lost.note_id == written.note_id
    later = await rig.helpdesk.write_back(
        _draft(ticket, "v2", note="A new draft"), WriteBackMode.NOTE, lost
    )
    notes = [c for c in rig.server.comments[ticket] if not c["public"]]
    assert [str(n["id"]) for n in notes] == [written.note_id, later.note_id]
    assert f"earlier note (comment {written.note_id})" in notes[1]["body"]
    # Comments are read only for the lost receipt, who we are asked once.
    assert _requests(rig.server) == [
        "GET /api/v2/tickets/N.json",
        "PUT /api/v2/tickets/N.json",
        "GET /api/v2/tickets/N.json",
        "GET /api/v2/users/me.json",
        "GET /api/v2/tickets/N/comments.json",
        "GET /api/v2/tickets/N.json",
        "PUT /api/v2/tickets/N.json",
    ]


async def test_a_lost_receipt_is_found_past_the_first_page_and_never_an_agents_copy(
    rig: Rig,
) -> None:
    ticket = rig.server.add_ticket("Charged twice", "body")
    written = await rig.helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
    ours = rig.server.comments[ticket][-1]
    agent = rig.server.add_user("agent@example.com", "Agent", role="agent")
    # Newer than our note: an agent's note quoting it, a customer quoting it publicly,
    # then a page's worth of conversation.
    rig.server.add_comment(ticket, str(ours["body"]), author=agent, public=False)
    rig.server.add_comment(ticket, str(ours["body"]))
    for n in range(100):
        rig.server.add_comment(ticket, f"reply {n}")
    lost = await rig.helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
    assert lost.note_id == written.note_id
    reads = [a.key for a in rig.server.log.answered if a.path.endswith("/comments.json")]
    assert [re.sub(r"^.*\?", "", key) for key in reads] == [
        "sort_order=desc&per_page=100&page=1",
        "sort_order=desc&per_page=100&page=2",
    ]
    assert _puts(rig.server) == [200]


async def test_a_tag_without_its_note_among_the_comments_posts_nothing_and_names_none(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """The tag says the version was written; its comment is not to be found (an agent
    deleted it): the receipt names no note, and nothing is posted again."""
    ticket = rig.server.add_ticket("Charged twice", "body", tags=["supporter_draft_v1"])
    receipt = await rig.helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
    assert receipt.note_id is None
    assert _puts(rig.server) == []
    assert rig.server.comments[ticket][1:] == []
    assert "has the tag of draft v1 but none of its comments" in caplog.text
    assert CARD not in caplog.text


async def test_the_search_for_a_lost_receipt_stops_at_the_first_page_older_than_the_claim(
    rig: Rig,
) -> None:
    ticket = rig.server.add_ticket("Charged twice", "body", tags=["supporter_draft_v1"])
    two_hours_ago = datetime.fromtimestamp(time.time() - 7200, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for n in range(250):
        rig.server.add_comment(ticket, f"earlier {n}")
    for comment in rig.server.comments[ticket]:
        comment["created_at"] = two_hours_ago
    for n in range(50):
        rig.server.add_comment(ticket, f"since the claim {n}")
    claimed = datetime.now(UTC) - timedelta(minutes=15)
    stopped = await rig.helpdesk.write_back(
        _draft(ticket, written_after=claimed), WriteBackMode.NOTE, None
    )
    pages_to_the_claim = _comment_pages(rig.server)
    whole = await rig.helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
    assert (stopped.note_id, whole.note_id) == (None, None)
    assert pages_to_the_claim == 1  # 50 since the claim and 50 before it: no further
    assert _comment_pages(rig.server) == 1 + 4  # with no claim, all 301 comments
    assert _puts(rig.server) == []


def _comment_pages(server: FakeZendesk) -> int:
    return sum(1 for a in server.log.answered if a.path.endswith("/comments.json"))


async def test_a_lost_receipt_when_zendesk_says_not_who_we_are_is_unavailable(rig: Rig) -> None:
    ticket = rig.server.add_ticket("Charged twice", "body")
    await rig.helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
    rig.server.users[rig.server.me]["id"] = None  # as Zendesk shows an anonymous user
    with pytest.raises(HelpdeskUnavailable, match="which user the API token is for"):
        await rig.helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
    assert len(rig.server.comments[ticket]) == 2


class _CommentsWithoutComments(FakeZendesk):
    """A Zendesk whose comment list comes back without its comments."""

    async def _list_comments(self, request: web.Request) -> web.Response:
        return self._answer(request, web.json_response({"count": 1, "next_page": None}))


async def test_a_comment_list_without_comments_is_unavailable(rig: Rig) -> None:
    server = _CommentsWithoutComments(
        FakeZendeskConfig(export_lag_seconds=0, account_limit=None, export_limit=None)
    )
    async with server as url:
        helpdesk = _connector(_changed(rig.settings, url=url, category_field=None))
        try:
            ticket = server.add_ticket("Charged twice", "body")
            await helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
            with pytest.raises(HelpdeskUnavailable, match="without comments"):
                await helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
        finally:
            await helpdesk.aclose()
    assert len(server.comments[ticket]) == 2


async def test_a_public_reply_only_when_the_draft_says_so_with_nothing_added(rig: Rig) -> None:
    ticket = rig.server.add_ticket("Charged twice", "body")
    draft = _draft(ticket, public=True, note="We refunded the second charge.")
    await rig.helpdesk.write_back(draft, WriteBackMode.AFTER_REVIEW, WriteReceipt("123"))
    reply = rig.server.comments[ticket][-1]
    assert reply["public"] is True
    assert reply["body"] == "We refunded the second charge."
    again = await rig.helpdesk.write_back(draft, WriteBackMode.AFTER_REVIEW, None)
    assert len(rig.server.comments[ticket]) == 2
    assert again.note_id == f"reply/{reply['id']}"


# -- check and configuration -------------------------------------------------------------------


async def test_check_reports_credentials_role_field_secret_and_limits(rig: Rig) -> None:
    checks = {c.name: c for c in await rig.helpdesk.check()}
    assert all(c.ok for c in checks.values()), checks
    assert "Supporter category" in checks["category field"].detail
    assert "ticket updates 100/min" in checks["limits"].detail
    # The simulator says 700 a minute, as an Enterprise account: the pace may rise to it.
    rig.server.config.account_limit = 700
    limits = {c.name: c for c in await rig.helpdesk.check()}["limits"]
    assert not limits.ok  # the tests pace reads at 6,000 a minute, over the account's 700
    assert "SUPPORTER_ZENDESK_ACCOUNT_LIMIT=700" in limits.detail
    slow = _connector(rig.settings, account_limit=RateLimit(200, 60.0))
    try:
        limits = {c.name: c for c in await slow.check()}["limits"]
    finally:
        await slow.aclose()
    assert limits.ok
    assert "SUPPORTER_ZENDESK_ACCOUNT_LIMIT=700" in limits.detail
    rig.server.users[rig.server.me]["role"] = "agent"
    helpdesk = _connector(_changed(rig.settings, category_field=1, webhook_secret=None))
    try:
        checks = {c.name: c for c in await helpdesk.check()}
    finally:
        await helpdesk.aclose()
    assert not checks["permissions"].ok
    assert "admin" in checks["permissions"].detail
    assert not checks["category field"].ok
    assert not checks["webhook secret"].ok
    assert DEFAULT_TOKEN not in " ".join(c.detail for c in checks.values())


async def test_an_agent_cannot_poll(rig: Rig) -> None:
    rig.server.users[rig.server.me]["role"] = "agent"
    with pytest.raises(FatalError, match="403"):
        await rig.helpdesk.poll(None, since=datetime.now(UTC))


def test_the_registry_connects_zendesk_from_the_environment() -> None:
    env = {
        "SUPPORTER_ZENDESK_SUBDOMAIN": "acme",
        "SUPPORTER_ZENDESK_EMAIL": "bot@acme.com",
        "SUPPORTER_ZENDESK_TOKEN": "tok-123",
        "SUPPORTER_ZENDESK_WEBHOOK_SECRET": "sec-456",
        "SUPPORTER_ZENDESK_CATEGORY_FIELD": "360001",
    }
    settings = registry.load_settings("zendesk", env)
    assert isinstance(settings, Settings)
    assert settings.base_url == "https://acme.zendesk.com"
    assert settings.category_field == 360001
    assert "tok-123" not in repr(settings)
    assert "sec-456" not in repr(settings)
    moved = registry.load_settings(
        "zendesk", {**env, "SUPPORTER_ZENDESK_URL": "http://127.0.0.1:9/"}
    )
    assert isinstance(moved, Settings)
    assert moved.base_url == "http://127.0.0.1:9"
    assert isinstance(registry.connect("zendesk", env), ZendeskHelpdesk)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SUPPORTER_ZENDESK_TOKEN": None}, "SUPPORTER_ZENDESK_TOKEN"),
        ({"SUPPORTER_ZENDESK_SUBDOMAIN": None}, "SUPPORTER_ZENDESK_SUBDOMAIN"),
        (
            {"SUPPORTER_ZENDESK_SUBDOMAIN": "https://acme.zendesk.com"},
            "SUPPORTER_ZENDESK_SUBDOMAIN",
        ),
        ({"SUPPORTER_ZENDESK_CATEGORY_FIELD": "abc"}, "SUPPORTER_ZENDESK_CATEGORY_FIELD"),
    ],
)
def test_bad_settings_name_the_variable(change: dict[str, str | None], named: str) -> None:
    env: dict[str, str | None] = {
        "SUPPORTER_ZENDESK_SUBDOMAIN": "acme",
        "SUPPORTER_ZENDESK_EMAIL": "bot@acme.com",
        "SUPPORTER_ZENDESK_TOKEN": "tok-123",
        **change,
    }
    given = {key: value for key, value in env.items() if value is not None}
    with pytest.raises(HelpdeskConfigError, match=named) as caught:
        registry.connect("zendesk", given)
    assert "tok-123" not in str(caught.value)


async def test_a_customer_writing_the_drafts_marker_does_not_stop_the_note(rig: Rig) -> None:
    """The text of a ticket is data: only the version's tag, which a customer cannot set,
    says a note was written."""
    ticket = rig.server.add_ticket(
        "Charged twice", "Ignore this: [supporter draft v1] supporter_draft_v1"
    )
    await rig.helpdesk.write_back(_draft(ticket), WriteBackMode.NOTE, None)
    assert len([c for c in rig.server.comments[ticket] if not c["public"]]) == 1
