"""The Freshdesk connector against the Freshdesk simulator, over real HTTP; what every
connector owes (webhook secrets, failures, credentials, a version written once) is in
test_contract.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from tests.helpdesks.rigs import webhook_request

from supporter.domain.errors import FatalError, PermanentError
from supporter.domain.models import Priority
from supporter.helpdesks import registry
from supporter.helpdesks.base import (
    Draft,
    WebhookRejected,
    WriteBackMode,
    WriteReceipt,
)
from supporter.helpdesks.freshdesk import Freshdesk, Settings, connect
from supporter.helpdesks.registry import HelpdeskConfigError
from supporter.testing.fake_freshdesk import (
    DEFAULT_API_KEY,
    NOTE_SOURCE,
    REPLY_SOURCE,
    FakeFreshdesk,
    FakeFreshdeskConfig,
)

SECRET = "hook-secret-7f3a"


@dataclass
class Account:
    server: FakeFreshdesk
    url: str
    helpdesk: Freshdesk


def settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "url": url,
        "api_key": SecretStr(DEFAULT_API_KEY),
        "webhook_secret": SecretStr(SECRET),
        "category_field": "cf_category",
        "rate_limit": 6000,
        "plan": "enterprise",
        "timeout": 5.0,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
async def account() -> AsyncIterator[Account]:
    server = FakeFreshdesk(FakeFreshdeskConfig(per_minute=None, endpoint_limits={}))
    async with server as url:
        helpdesk = connect(settings(url))
        try:
            yield Account(server, url, helpdesk)
        finally:
            await helpdesk.aclose()


def draft(ticket_id: int, note: str | None = "Draft reply", **fields: Any) -> Draft:
    values: dict[str, Any] = {
        "ticket_id": str(ticket_id),
        "category": "billing",
        "priority": Priority.HIGH,
        "tags": ("supporter", "billing"),
        "note": note,
        "version": "v1",
    }
    return Draft(**{**values, **fields})


# -- webhooks ---------------------------------------------------------------------------


async def test_a_webhook_with_the_secret_header_names_its_ticket(account: Account) -> None:
    ticket = account.server.add_ticket("Charged twice", "Two charges", "ann@example.com")
    request = webhook_request(*account.server.webhook(ticket, SECRET))
    account.helpdesk.verify_webhook(request)
    assert account.helpdesk.parse_webhook(request).ticket_ids == (str(ticket),)
    fetched = await account.helpdesk.fetch_ticket(str(ticket))
    assert (fetched.ticket_id, fetched.customer_email, fetched.body) == (
        str(ticket),
        "ann@example.com",
        "Two charges",
    )


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_signature"),
        ({"x-supporter-secret": ""}, "missing_signature"),
        ({"x-supporter-secret": "hook-secret-7f3b"}, "bad_signature"),
        ({"x-other-header": SECRET}, "missing_signature"),
    ],
)
async def test_a_webhook_without_the_right_secret_is_rejected_without_echoing_it(
    account: Account, headers: dict[str, str], reason: str
) -> None:
    with pytest.raises(WebhookRejected) as rejected:
        account.helpdesk.verify_webhook(webhook_request(headers, b'{"ticket_id": 1}'))
    assert rejected.value.reason == reason
    assert SECRET not in str(rejected.value)


async def test_a_configured_header_name_is_the_one_checked(account: Account) -> None:
    helpdesk = connect(settings(account.url, webhook_header="X-Acme-Token"))
    try:
        helpdesk.verify_webhook(webhook_request({"x-acme-token": SECRET}, b"{}"))
        with pytest.raises(WebhookRejected):
            helpdesk.verify_webhook(webhook_request({"x-supporter-secret": SECRET}, b"{}"))
    finally:
        await helpdesk.aclose()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"freshdesk_webhook": {}}',
        b'{"ticket_id": "12; DROP"}',
        b'{"ticket_id": true}',
        b'{"ticket_id": "\\u00b2"}',  # a digit to str.isdigit, no ticket number
    ],
)
async def test_a_body_that_names_no_ticket_is_a_bad_payload(account: Account, body: bytes) -> None:
    with pytest.raises(WebhookRejected) as rejected:
        account.helpdesk.parse_webhook(webhook_request({}, body))
    assert rejected.value.reason == "bad_payload"


async def test_a_duplicate_delivery_writes_one_note_updated_in_place(account: Account) -> None:
    """Freshdesk sends no timestamp and no delivery id: a replayed or duplicated delivery
    can't be told apart, so the write-back's receipt keeps its effect once."""
    server, helpdesk = account.server, account.helpdesk
    ticket = server.add_ticket("Refund?", "Where is my refund", "bo@example.com")
    delivery = server.webhook(ticket, SECRET)
    receipt: WriteReceipt | None = None
    for _ in range(2):
        request = webhook_request(*delivery)
        helpdesk.verify_webhook(request)
        event = helpdesk.parse_webhook(request)
        assert event.delivery_id is None
        receipt = await helpdesk.write_back(
            draft(int(event.ticket_ids[0])), WriteBackMode.NOTE, receipt
        )
    notes = server.notes(ticket)
    assert len(notes) == 1
    assert receipt is not None
    assert receipt.updated
    assert receipt.note_id == str(notes[0]["id"])


# -- write-back -------------------------------------------------------------------------


async def test_a_note_is_private_and_the_team_s_tags_are_kept(account: Account) -> None:
    server = account.server
    ticket = server.add_ticket("Double charge", "Charged twice", "cy@example.com", tags=("vip",))
    receipt = await account.helpdesk.write_back(
        draft(ticket, "Line one <b>\nLine two"), WriteBackMode.NOTE, None
    )
    [note] = server.notes(ticket)
    assert (note["source"], note["private"], note["to_emails"]) == (NOTE_SOURCE, True, [])
    # The ticket's text is data: markup in a note is escaped, lines kept.
    assert note["body"] == "<div>Line one &lt;b&gt;<br>Line two<br><br>[supporter draft v1]</div>"
    assert receipt == WriteReceipt(note_id=str(note["id"]))
    stored = server.tickets[ticket]
    assert stored["tags"] == ["vip", "supporter", "billing"]
    assert stored["priority"] == 3
    assert stored["custom_fields"]["cf_category"] == "billing"


async def test_an_edited_ticket_updates_its_note_instead_of_adding_one(account: Account) -> None:
    server = account.server
    ticket = server.add_ticket("Double charge", "Charged twice", "di@example.com")
    first = await account.helpdesk.write_back(
        draft(ticket, "First draft"), WriteBackMode.NOTE, None
    )
    second = await account.helpdesk.write_back(
        draft(ticket, "Second draft", version="v2", tags=("supporter", "refund")),
        WriteBackMode.NOTE,
        first,
    )
    [note] = server.notes(ticket)
    assert note["body"] == "<div>Second draft<br><br>[supporter draft v2]</div>"
    assert second == WriteReceipt(note_id=first.note_id, updated=True)
    assert server.tickets[ticket]["tags"] == ["supporter", "billing", "refund"]


async def test_a_note_written_before_a_crash_is_found_by_its_marker(account: Account) -> None:
    server = account.server
    ticket = server.add_ticket("Double charge", "Charged twice", "eb@example.com")
    first = await account.helpdesk.write_back(draft(ticket), WriteBackMode.NOTE, None)
    # The receipt was lost: the retry comes without it and finds the note.
    again = await account.helpdesk.write_back(draft(ticket), WriteBackMode.NOTE, None)
    [note] = server.notes(ticket)
    assert again.note_id == first.note_id == str(note["id"])
    assert note["body"].endswith("<br><br>[supporter draft v1]</div>")


async def test_a_note_deleted_by_an_agent_is_written_again(account: Account) -> None:
    server = account.server
    ticket = server.add_ticket("Double charge", "Charged twice", "ed@example.com")
    first = await account.helpdesk.write_back(draft(ticket), WriteBackMode.NOTE, None)
    del server.conversations[int(first.note_id or "0")]
    second = await account.helpdesk.write_back(draft(ticket), WriteBackMode.NOTE, first)
    [note] = server.notes(ticket)
    assert second == WriteReceipt(note_id=str(note["id"]))
    assert second.note_id != first.note_id


async def test_tags_mode_classifies_without_a_note_and_a_retry_sends_nothing_new(
    account: Account,
) -> None:
    server = account.server
    ticket = server.add_ticket("Question", "How do I", "fa@example.com", tags=("vip",))
    receipt = await account.helpdesk.write_back(draft(ticket), WriteBackMode.TAGS, None)
    assert receipt == WriteReceipt(note_id=None)
    assert server.notes(ticket) == []
    writes = server.log.count("PUT", "/api/v2/tickets/")
    await account.helpdesk.write_back(draft(ticket), WriteBackMode.TAGS, receipt)
    # Already classified: the retry reads the ticket and changes nothing.
    assert server.log.count("PUT", "/api/v2/tickets/") == writes


async def test_after_review_is_a_private_note_too_and_a_public_reply_goes_once(
    account: Account,
) -> None:
    server = account.server
    ticket = server.add_ticket("Refund", "Refund please", "gu@example.com")
    reviewed = await account.helpdesk.write_back(draft(ticket), WriteBackMode.AFTER_REVIEW, None)
    assert [note["private"] for note in server.notes(ticket)] == [True]
    sent = await account.helpdesk.write_back(
        draft(ticket, "Approved reply", public=True), WriteBackMode.AFTER_REVIEW, reviewed
    )
    again = await account.helpdesk.write_back(
        draft(ticket, "Approved reply", public=True), WriteBackMode.AFTER_REVIEW, sent
    )
    replies = [note for note in server.notes(ticket) if note["source"] == REPLY_SOURCE]
    assert len(replies) == 1
    assert replies[0]["to_emails"] == ["gu@example.com"]
    assert again == replace(sent, withheld=True)  # held back, and said so


async def test_a_public_reply_sent_before_its_receipt_was_stored_is_not_sent_again(
    account: Account,
) -> None:
    """A crash between Freshdesk's answer and the store's record: the retry has only the
    earlier receipt (or none), and finds the reply among the ticket's conversations."""
    server = account.server
    ticket = server.add_ticket("Refund", "Refund please", "gu@example.com")
    approved = draft(ticket, "We refunded <19.99 EUR>.\nSorry!", public=True)
    reviewed = await account.helpdesk.write_back(draft(ticket), WriteBackMode.AFTER_REVIEW, None)
    sent = await account.helpdesk.write_back(approved, WriteBackMode.AFTER_REVIEW, reviewed)
    for lost in (reviewed, None):
        again = await account.helpdesk.write_back(approved, WriteBackMode.AFTER_REVIEW, lost)
        assert again == sent
    replies = [note for note in server.notes(ticket) if note["source"] == REPLY_SOURCE]
    assert len(replies) == 1


async def test_a_customer_writing_the_approved_text_does_not_stop_the_reply(
    account: Account,
) -> None:
    server = account.server
    ticket = server.add_ticket("Refund", "We refunded 19.99 EUR.", "gu@example.com")
    server.add_incoming(ticket, "We refunded 19.99 EUR.")
    approved = draft(ticket, "We refunded 19.99 EUR.", public=True)
    await account.helpdesk.write_back(approved, WriteBackMode.AFTER_REVIEW, None)
    replies = [n for n in server.notes(ticket) if n["source"] == REPLY_SOURCE and not n["incoming"]]
    assert len(replies) == 1


async def test_a_missing_ticket_is_a_permanent_error(account: Account) -> None:
    with pytest.raises(PermanentError, match="404"):
        await account.helpdesk.write_back(draft(424242), WriteBackMode.NOTE, None)
    with pytest.raises(PermanentError):
        await account.helpdesk.fetch_ticket("424242")


async def test_an_unknown_category_field_is_a_permanent_error_naming_it(account: Account) -> None:
    helpdesk = connect(settings(account.url, category_field="cf_nope"))
    ticket = account.server.add_ticket("Question", "How do I", "ha@example.com")
    try:
        with pytest.raises(PermanentError, match="cf_nope"):
            await helpdesk.write_back(draft(ticket), WriteBackMode.NOTE, None)
        checks = {check.name: check for check in await helpdesk.check()}
        assert not checks["category field"].ok
    finally:
        await helpdesk.aclose()


# -- credentials and outages ------------------------------------------------------------


async def test_a_key_without_the_rights_is_fatal(account: Account) -> None:
    account.server.config.forbidden = True
    with pytest.raises(FatalError, match="403"):
        await account.helpdesk.fetch_ticket("1")


async def test_check_reports_the_credentials_the_limit_and_the_webhook(account: Account) -> None:
    account.server.config.per_minute = 400
    checks = {check.name: check for check in await account.helpdesk.check()}
    assert checks["credentials"].ok
    # Paced for 6000 a minute while Freshdesk says 400: the check says so.
    assert not checks["rate limit"].ok
    assert "400" in checks["rate limit"].detail
    assert checks["category field"].ok
    assert checks["webhook"].ok


def test_a_domain_or_a_url_is_required_and_a_category_field_is_a_cf_field() -> None:
    with pytest.raises(HelpdeskConfigError, match="SUPPORTER_FRESHDESK_DOMAIN"):
        connect(Settings(api_key=SecretStr("k")))
    with pytest.raises(HelpdeskConfigError, match="cf_"):
        connect(Settings(domain="acme", api_key=SecretStr("k"), category_field="category"))


# -- polling ----------------------------------------------------------------------------


async def _drain(helpdesk: Freshdesk, cursor: str | None, since: datetime) -> tuple[list[str], str]:
    ids: list[str] = []
    while True:
        page = await helpdesk.poll(cursor, since=since)
        ids += [ticket.ticket_id for ticket in page.tickets]
        cursor = page.cursor
        if not page.more:
            return ids, cursor


async def test_polling_pages_through_tickets_sharing_a_second_once_each(account: Account) -> None:
    server = account.server
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    # 250 tickets over three seconds: pages of 100 end inside a second.
    created = [
        server.add_ticket(
            f"T{n}", "text", f"c{n}@example.com", updated_at=start + timedelta(seconds=n // 100)
        )
        for n in range(250)
    ]
    ids, cursor = await _drain(account.helpdesk, None, start - timedelta(minutes=1))
    assert sorted(ids, key=int) == [str(ticket) for ticket in created]
    assert len(ids) == len(set(ids))
    assert server.log.count("GET", "/api/v2/tickets", 200) >= 3
    # Caught up: nothing again until a ticket changes; then that ticket alone.
    again, cursor = await _drain(account.helpdesk, cursor, start)
    assert again == []
    server.touch(created[7])
    changed, _ = await _drain(account.helpdesk, cursor, start)
    assert changed == [str(created[7])]


async def test_a_cursor_that_is_not_ours_is_a_permanent_error(account: Account) -> None:
    with pytest.raises(PermanentError, match="cursor"):
        await account.helpdesk.poll("garbage", since=datetime.now(UTC))


async def test_a_ticket_that_cannot_be_read_is_skipped_and_the_rest_arrive(
    account: Account,
) -> None:
    server = account.server
    good = server.add_ticket("Fine", "text", "ka@example.com")
    bad = server.add_ticket("Broken", "text", "kb@example.com")
    server.tickets[bad]["status"] = "open"  # not one of Freshdesk's number codes
    ids, _ = await _drain(account.helpdesk, None, datetime.now(UTC) - timedelta(days=1))
    assert ids == [str(good)]


# -- rate limits ------------------------------------------------------------------------


async def test_a_burst_of_updates_keeps_to_both_limits_and_no_request_is_refused() -> None:
    # Growth's limits bought half again: 300 calls a minute, 120 ticket updates. Eight
    # write-backs at once reach their updates together: an update that comes too early
    # for its endpoint gives its account turn to a request that can go, and waits.
    server = FakeFreshdesk(
        FakeFreshdeskConfig(per_minute=300, endpoint_limits={"ticket_update": 120})
    )
    tickets = [server.add_ticket(f"T{n}", "text", f"l{n}@example.com") for n in range(8)]
    async with server as url:
        helpdesk = connect(settings(url, rate_limit=300, plan="growth"))
        try:
            await asyncio.gather(
                *(helpdesk.write_back(draft(t), WriteBackMode.NOTE, None) for t in tickets)
            )
        finally:
            await helpdesk.aclose()
    assert server.log.outcomes[429] == 0
    assert all(len(server.notes(ticket)) == 1 for ticket in tickets)
    assert all(server.tickets[ticket]["priority"] == 3 for ticket in tickets)


async def test_a_429_is_waited_out_and_never_answered_twice_in_a_row() -> None:
    # Another integration shares the account: Freshdesk allows fewer calls than we pace for.
    server = FakeFreshdesk(FakeFreshdeskConfig(per_minute=120, endpoint_limits={}))
    tickets = [server.add_ticket(f"T{n}", "text", f"m{n}@example.com") for n in range(3)]
    async with server as url:
        helpdesk = connect(settings(url, rate_limit=6000))
        try:
            for ticket in tickets:
                await helpdesk.write_back(draft(ticket), WriteBackMode.NOTE, None)
        finally:
            await helpdesk.aclose()
    assert server.log.outcomes[429] > 0
    assert server.log.max_429_in_a_row == 1
    assert all(len(server.notes(ticket)) == 1 for ticket in tickets)


async def test_the_environment_configures_the_connector_by_name() -> None:
    helpdesk = registry.connect(
        "freshdesk",
        {
            "SUPPORTER_FRESHDESK_DOMAIN": "acme",
            "SUPPORTER_FRESHDESK_API_KEY": "k-123",
            "SUPPORTER_FRESHDESK_PLAN": "pro",
            "SUPPORTER_FRESHDESK_CATEGORY_FIELD": "cf_reason",
        },
    )
    try:
        assert helpdesk.name == "freshdesk"
        assert helpdesk.write_limit.requests == 400
        assert helpdesk.write_limit.extra["ticket_update_per_minute"] == "160"
    finally:
        await helpdesk.aclose()
    with pytest.raises(HelpdeskConfigError, match="SUPPORTER_FRESHDESK_PLAN") as bad:
        registry.connect(
            "freshdesk",
            {
                "SUPPORTER_FRESHDESK_DOMAIN": "acme",
                "SUPPORTER_FRESHDESK_API_KEY": "k-123",
                "SUPPORTER_FRESHDESK_PLAN": "gold",
            },
        )
    assert "k-123" not in str(bad.value)


async def test_a_customer_writing_the_drafts_marker_does_not_stop_the_note(
    account: Account,
) -> None:
    """The text of a ticket is data: only a private note can hold the marker."""
    server = account.server
    ticket = server.add_ticket(
        "Refund", "Ignore this: [supporter draft v1] supporter_draft_v1", "gu@example.com"
    )
    server.add_incoming(ticket, "Ignore this: [supporter draft v1] supporter_draft_v1")
    await account.helpdesk.write_back(draft(ticket), WriteBackMode.NOTE, None)
    assert [n["private"] for n in server.notes(ticket) if n["source"] == NOTE_SOURCE] == [True]


async def test_a_card_number_is_masked_in_a_public_reply_and_it_still_goes_once(
    account: Account,
) -> None:
    """Masked again by the connector, whatever the stage did."""
    server = account.server
    ticket = server.add_ticket("Refund", "Refund please", "gu@example.com")
    approved = draft(ticket, "Refunded to 4111 1111 1111 1111.", public=True)
    for _ in range(2):  # the second as after a crash: no receipt
        await account.helpdesk.write_back(approved, WriteBackMode.AFTER_REVIEW, None)
    [reply] = [note for note in server.notes(ticket) if note["source"] == REPLY_SOURCE]
    assert "4111 1111 1111 1111" not in reply["body"]
    assert "1111" in reply["body"]
