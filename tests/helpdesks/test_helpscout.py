"""The Help Scout connector against the Help Scout simulator, over real HTTP; what every
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
from supporter.helpdesks.helpscout import HelpScout, Settings, connect
from supporter.helpdesks.registry import HelpdeskConfigError
from supporter.testing.fake_helpscout import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    FakeHelpScout,
    FakeHelpScoutConfig,
    sign,
)

SECRET = "hs-hook-secret-41"


@dataclass
class Account:
    server: FakeHelpScout
    url: str
    helpdesk: HelpScout


def settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "url": url,
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": SecretStr(DEFAULT_CLIENT_SECRET),
        "webhook_secret": SecretStr(SECRET),
        "category_field": 77,
        "rate_limit": 6000,
        "timeout": 5.0,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
async def account() -> AsyncIterator[Account]:
    server = FakeHelpScout(FakeHelpScoutConfig(per_minute=None))
    async with server as url:
        helpdesk = connect(settings(url))
        try:
            yield Account(server, url, helpdesk)
        finally:
            await helpdesk.aclose()


def draft(conversation: int, note: str | None = "Draft reply", **fields: Any) -> Draft:
    values: dict[str, Any] = {
        "ticket_id": str(conversation),
        "category": "billing",
        "priority": Priority.HIGH,
        "tags": ("supporter", "billing"),
        "note": note,
        "version": "v1",
    }
    return Draft(**{**values, **fields})


# -- webhooks ---------------------------------------------------------------------------


async def test_a_signed_webhook_names_its_conversation_and_a_duplicate_its_delivery(
    account: Account,
) -> None:
    server, helpdesk = account.server, account.helpdesk
    conversation = server.add_conversation("Charged twice", "Two charges", "ann@example.com")
    delivery = server.webhook(conversation, SECRET)
    first, again = webhook_request(*delivery), webhook_request(*delivery)
    helpdesk.verify_webhook(first)
    helpdesk.verify_webhook(again)
    event = helpdesk.parse_webhook(first)
    assert event.ticket_ids == (str(conversation),)
    # No timestamp and no delivery id from Help Scout: a retry is the same event and bytes.
    assert helpdesk.parse_webhook(again).delivery_id == event.delivery_id
    created = helpdesk.parse_webhook(
        webhook_request(*server.webhook(conversation, SECRET, "convo.created"))
    )
    assert created.delivery_id != event.delivery_id
    ticket = await helpdesk.fetch_ticket(event.ticket_ids[0])
    assert (ticket.customer_email, ticket.body, ticket.status) == (
        "ann@example.com",
        "Two charges",
        "open",
    )


@pytest.mark.parametrize("change", ["missing", "empty", "other secret", "other body"])
async def test_a_webhook_without_its_signature_is_rejected(account: Account, change: str) -> None:
    conversation = account.server.add_conversation("Q", "text", "bo@example.com")
    headers, body = account.server.webhook(conversation, SECRET)
    if change == "missing":
        del headers["x-helpscout-signature"]
    elif change == "empty":
        headers["x-helpscout-signature"] = ""
    elif change == "other secret":
        headers["x-helpscout-signature"] = sign(body, SECRET + "x")
    else:
        body = body.replace(b'"Q"', b'"Z"')
    with pytest.raises(WebhookRejected) as rejected:
        account.helpdesk.verify_webhook(webhook_request(headers, body))
    assert rejected.value.reason == (
        "missing_signature" if change in ("missing", "empty") else "bad_signature"
    )
    assert SECRET not in str(rejected.value)
    assert sign(body, SECRET) not in str(rejected.value)


async def test_events_about_no_conversation_text_ask_for_nothing(account: Account) -> None:
    body = b'{"id": 5, "rating": "great"}'
    event = account.helpdesk.parse_webhook(
        webhook_request({"x-helpscout-event": "satisfaction.ratings"}, body)
    )
    assert event.ticket_ids == ()
    with pytest.raises(WebhookRejected) as rejected:
        account.helpdesk.parse_webhook(
            webhook_request({"x-helpscout-event": "convo.created"}, b'{"x": 1}')
        )
    assert rejected.value.reason == "bad_payload"
    with pytest.raises(WebhookRejected) as rejected:
        account.helpdesk.parse_webhook(
            webhook_request({"x-helpscout-event": "convo.created"}, b'{"id": "\\u00b2"}')
        )
    assert rejected.value.reason == "bad_payload"


# -- write-back -------------------------------------------------------------------------


async def test_a_note_is_a_note_the_team_s_tags_stay_and_the_category_is_set(
    account: Account,
) -> None:
    server = account.server
    conversation = server.add_conversation(
        "Refund", "Refund please", "cy@example.com", tags=("VIP",)
    )
    receipt = await account.helpdesk.write_back(
        draft(conversation, "Line <one>\nLine two", tags=("supporter", "vip")),
        WriteBackMode.NOTE,
        None,
    )
    [note] = server.threads(conversation, "note")
    assert receipt == WriteReceipt(note_id=str(note["id"]))
    assert note["body"] == "Line &lt;one&gt;<br>Line two<br><br>[supporter draft v1]"
    assert server.sent == []
    assert [label["tag"] for label in server.conversations[conversation]["tags"]] == [
        "vip",
        "supporter",
    ]
    assert server.conversations[conversation]["customFields"][0]["value"] == "billing"


async def test_a_reviewed_draft_is_a_draft_reply_nobody_is_sent_and_is_edited_in_place(
    account: Account,
) -> None:
    server = account.server
    conversation = server.add_conversation("Refund", "Refund please", "di@example.com")
    first = await account.helpdesk.write_back(
        draft(conversation, "Note with facts", reply="Your refund is on its way."),
        WriteBackMode.AFTER_REVIEW,
        None,
    )
    changed = draft(conversation, "Note with facts", reply="Your refund left today.", version="v2")
    second = await account.helpdesk.write_back(changed, WriteBackMode.AFTER_REVIEW, first)
    # The reply alone: the note's facts and warnings are for the agent, not the customer.
    [reply] = server.threads(conversation, "reply")
    assert (reply["state"], reply["body"]) == ("draft", "Your refund left today.")
    assert second == WriteReceipt(note_id=first.note_id, updated=True)
    assert server.sent == []
    assert server.threads(conversation, "note") == []
    # The receipt was lost: the retry finds the draft by its text and adds none.
    third = await account.helpdesk.write_back(changed, WriteBackMode.AFTER_REVIEW, None)
    assert third.note_id == first.note_id
    assert len(server.threads(conversation, "reply")) == 1


async def test_a_duplicate_delivery_and_a_lost_receipt_write_one_note(account: Account) -> None:
    server = account.server
    conversation = server.add_conversation("Refund", "Refund please", "ed@example.com")
    receipt: WriteReceipt | None = None
    for _ in range(2):
        receipt = await account.helpdesk.write_back(
            draft(conversation), WriteBackMode.NOTE, receipt
        )
    lost = await account.helpdesk.write_back(draft(conversation), WriteBackMode.NOTE, None)
    [note] = server.threads(conversation, "note")
    assert receipt is not None
    assert receipt.note_id == lost.note_id == str(note["id"])


async def test_without_thread_editing_a_changed_draft_is_a_new_thread(account: Account) -> None:
    server = account.server
    server.config.thread_editing = False
    conversation = server.add_conversation("Refund", "Refund please", "fa@example.com")
    first = await account.helpdesk.write_back(draft(conversation), WriteBackMode.NOTE, None)
    second = await account.helpdesk.write_back(
        draft(conversation, "Changed", version="v2"), WriteBackMode.NOTE, first
    )
    notes = server.threads(conversation, "note")
    assert [note["id"] for note in notes] == [int(first.note_id or 0), int(second.note_id or 0)]
    assert not second.updated


async def test_a_public_reply_is_sent_once_and_tags_mode_writes_no_thread(account: Account) -> None:
    server = account.server
    conversation = server.add_conversation("Refund", "Refund please", "gu@example.com")
    tagged = await account.helpdesk.write_back(draft(conversation), WriteBackMode.TAGS, None)
    assert tagged == WriteReceipt(note_id=None)
    assert server.threads(conversation, "note") == []
    sent = await account.helpdesk.write_back(
        draft(conversation, "Approved", public=True), WriteBackMode.AFTER_REVIEW, tagged
    )
    again = await account.helpdesk.write_back(
        draft(conversation, "Approved", public=True), WriteBackMode.AFTER_REVIEW, sent
    )
    assert again == replace(sent, withheld=True)  # held back, and said so
    assert [thread["body"] for thread in server.sent] == ["Approved"]


async def test_a_public_reply_sent_before_its_receipt_was_stored_is_not_sent_again(
    account: Account,
) -> None:
    """A crash between Help Scout's answer and the store's record: the retry, with no
    receipt of the reply, finds it among the threads; a customer's words do not count."""
    server = account.server
    conversation = server.add_conversation("Refund", "Refund please", "gu@example.com")
    server.add_thread(conversation, "customer", "We refunded <19.99 EUR>.\nSorry!")
    approved = draft(conversation, "We refunded <19.99 EUR>.\nSorry!", public=True)
    sent = await account.helpdesk.write_back(approved, WriteBackMode.AFTER_REVIEW, None)
    again = await account.helpdesk.write_back(approved, WriteBackMode.AFTER_REVIEW, None)
    assert again == sent
    assert len(server.sent) == 1


async def test_a_missing_conversation_is_a_permanent_error(account: Account) -> None:
    with pytest.raises(PermanentError, match="404"):
        await account.helpdesk.write_back(draft(987654), WriteBackMode.NOTE, None)


# -- tokens, credentials and outages ----------------------------------------------------


async def test_an_expired_token_is_fetched_again_once(account: Account) -> None:
    server = account.server
    conversation = server.add_conversation("Q", "text", "ha@example.com")
    await account.helpdesk.fetch_ticket(str(conversation))
    assert server.tokens_issued == 1
    server.expire_tokens()
    await account.helpdesk.fetch_ticket(str(conversation))
    assert server.tokens_issued == 2
    assert server.log.count("GET", f"/v2/conversations/{conversation}", 401) == 1


async def test_a_token_refused_again_after_a_refresh_is_fatal(account: Account) -> None:
    server = account.server
    conversation = server.add_conversation("Q", "text", "ia@example.com")
    await account.helpdesk.fetch_ticket(str(conversation))
    server.expire_tokens()
    server.config.client_secret = "rotated-secret"  # the app's secret changed meanwhile
    with pytest.raises(FatalError, match="401") as failed:
        await account.helpdesk.fetch_ticket(str(conversation))
    assert DEFAULT_CLIENT_SECRET not in str(failed.value)


async def test_check_reports_credentials_the_limit_and_the_webhook(account: Account) -> None:
    account.server.config.per_minute = 400
    checks = {check.name: check for check in await account.helpdesk.check()}
    assert checks["credentials"].ok
    assert not checks["rate limit"].ok
    assert "400" in checks["rate limit"].detail
    assert checks["webhook"].ok


async def test_the_environment_configures_the_connector_by_name() -> None:
    helpdesk = registry.connect(
        "helpscout",
        {
            "SUPPORTER_HELPSCOUT_CLIENT_ID": "app",
            "SUPPORTER_HELPSCOUT_CLIENT_SECRET": "s-123",
            "SUPPORTER_HELPSCOUT_PLAN": "plus",
        },
    )
    try:
        assert helpdesk.write_limit.requests == 400
        assert helpdesk.write_limit.extra["write_cost"] == "2"
    finally:
        await helpdesk.aclose()
    with pytest.raises(HelpdeskConfigError, match="SUPPORTER_HELPSCOUT_MAILBOX") as bad:
        registry.connect(
            "helpscout",
            {
                "SUPPORTER_HELPSCOUT_CLIENT_ID": "app",
                "SUPPORTER_HELPSCOUT_CLIENT_SECRET": "s-123",
                "SUPPORTER_HELPSCOUT_MAILBOX": "sales",
            },
        )
    assert "s-123" not in str(bad.value)


# -- polling ----------------------------------------------------------------------------


async def _sweep(helpdesk: HelpScout, cursor: str | None, since: datetime) -> tuple[list[str], str]:
    ids: list[str] = []
    while True:
        page = await helpdesk.poll(cursor, since=since)
        ids += [ticket.ticket_id for ticket in page.tickets]
        cursor = page.cursor
        if not page.more:
            return ids, cursor


async def test_polling_pages_through_every_conversation_once(account: Account) -> None:
    server = account.server
    start = datetime.now(UTC) - timedelta(hours=1)
    created = [
        server.add_conversation(f"T{n}", "text", f"c{n}@example.com", created_at=start)
        for n in range(60)
    ]
    ids, cursor = await _sweep(account.helpdesk, None, start - timedelta(minutes=1))
    assert sorted(ids, key=int) == [str(c) for c in created]
    assert server.log.count("GET", "/v2/conversations", 200) == 3
    again, cursor = await _sweep(account.helpdesk, cursor, start)
    assert again == []
    server.add_thread(created[3], "customer", "Any news?")
    changed, _ = await _sweep(account.helpdesk, cursor, start)
    assert changed == [str(created[3])]


async def test_a_conversation_changed_during_a_sweep_hides_no_other(account: Account) -> None:
    server = account.server
    start = datetime.now(UTC) - timedelta(hours=1)
    created = [
        server.add_conversation(f"T{n}", "text", f"d{n}@example.com", created_at=start)
        for n in range(30)
    ]
    first = await account.helpdesk.poll(None, since=start - timedelta(minutes=1))
    # A conversation of the first page changes before the second page is read.
    server.add_thread(created[0], "customer", "Hello again")
    second = await account.helpdesk.poll(first.cursor, since=start)
    seen = {t.ticket_id for t in first.tickets} | {t.ticket_id for t in second.tickets}
    assert seen == {str(c) for c in created}
    assert not second.more


async def test_a_cursor_that_is_not_ours_is_a_permanent_error(account: Account) -> None:
    with pytest.raises(PermanentError, match="cursor"):
        await account.helpdesk.poll("{}", since=datetime.now(UTC))


# -- rate limits ------------------------------------------------------------------------


async def test_paced_under_the_limit_with_writes_counting_twice_none_is_refused() -> None:
    server = FakeHelpScout(FakeHelpScoutConfig(per_minute=600))
    conversations = [
        server.add_conversation(f"T{n}", "text", f"l{n}@example.com") for n in range(8)
    ]
    async with server as url:
        helpdesk = connect(settings(url, rate_limit=600, category_field=None))
        try:
            await asyncio.gather(
                *(helpdesk.write_back(draft(c), WriteBackMode.NOTE, None) for c in conversations)
            )
        finally:
            await helpdesk.aclose()
    assert server.log.outcomes[429] == 0
    assert all(len(server.threads(c, "note")) == 1 for c in conversations)


async def test_a_429_is_waited_out_by_its_header_and_never_answered_twice_in_a_row() -> None:
    # Help Scout's 429 says how long in X-RateLimit-Retry-After (no Retry-After).
    server = FakeHelpScout(FakeHelpScoutConfig(per_minute=120))
    conversations = [
        server.add_conversation(f"T{n}", "text", f"m{n}@example.com") for n in range(3)
    ]
    async with server as url:
        helpdesk = connect(settings(url, rate_limit=6000, category_field=None))
        try:
            for conversation in conversations:
                await helpdesk.write_back(draft(conversation), WriteBackMode.NOTE, None)
        finally:
            await helpdesk.aclose()
    assert server.log.outcomes[429] > 0
    assert server.log.max_429_in_a_row == 1
    waits = [answer.retry_after for answer in server.log.answered if answer.status == 429]
    assert all(wait is not None and wait >= 1 for wait in waits)
    assert all(len(server.threads(c, "note")) == 1 for c in conversations)


async def test_a_customer_writing_the_drafts_marker_does_not_stop_the_note(
    account: Account,
) -> None:
    """The text of a conversation is data: only a note can hold the marker."""
    server = account.server
    conversation = server.add_conversation(
        "Refund", "Ignore this: [supporter draft v1] supporter_draft_v1", "gu@example.com"
    )
    server.add_thread(
        conversation, "customer", "Ignore this: [supporter draft v1] supporter_draft_v1"
    )
    await account.helpdesk.write_back(draft(conversation), WriteBackMode.NOTE, None)
    assert len(server.threads(conversation, "note")) == 1


async def test_a_card_number_is_masked_in_a_public_reply_and_a_draft_reply(
    account: Account,
) -> None:
    """Masked again by the connector, whatever the stage did."""
    server = account.server
    conversation = server.add_conversation("Refund", "Refund please", "gu@example.com")
    card = "4111 1111 1111 1111"
    reviewed = draft(conversation, f"Note on {card}", reply=f"Draft to {card}.")
    await account.helpdesk.write_back(reviewed, WriteBackMode.AFTER_REVIEW, None)
    approved = draft(conversation, f"Refunded to {card}.", public=True, version="v2")
    for _ in range(2):  # the second as after a crash: no receipt
        await account.helpdesk.write_back(approved, WriteBackMode.AFTER_REVIEW, None)
    bodies = [str(thread["body"]) for thread in server.threads(conversation, "reply")]
    assert len(bodies) == 2
    assert all(card not in body and "1111" in body for body in bodies)


# -- a note written before a crash, behind a long conversation ---------------------------------


async def test_when_a_conversation_embeds_fewer_threads_than_it_counts_the_list_is_paged(
    account: Account,
) -> None:
    """Help Scout documents no limit on embedded threads: should it embed only the newest,
    the note behind them is found in the thread list, newest first, down to the claim."""
    server = account.server
    server.config.embedded_threads = 10
    conversation = server.add_conversation("Charged twice", "Two charges", "ann@example.com")
    earlier = datetime.now(UTC) - timedelta(hours=2)
    for number in range(120):
        server.add_thread(conversation, "customer", f"Earlier {number}", created_at=earlier)
    claimed = datetime.now(UTC) - timedelta(minutes=15)
    first = await account.helpdesk.write_back(
        draft(conversation, written_after=claimed), WriteBackMode.NOTE, None
    )
    # Before the claim: one page of the list (50 threads reach back past it), not three.
    assert _thread_pages(server, conversation) == 1
    for number in range(60):
        server.add_thread(conversation, "customer", f"Any news? {number}")
    lost = await account.helpdesk.write_back(
        draft(conversation, written_after=claimed), WriteBackMode.NOTE, None
    )
    assert lost.note_id == first.note_id
    assert len(server.threads(conversation, "note")) == 1
    assert _thread_pages(server, conversation) == 1 + 2  # 60 newer threads, then the note


async def test_a_first_try_reads_no_page_of_the_thread_list(account: Account) -> None:
    """Nothing came before a write-back's first try: the threads it was not given are not
    paged through for a note of its own."""
    server = account.server
    server.config.embedded_threads = 10
    conversation = server.add_conversation("Charged twice", "Two charges", "ann@example.com")
    for number in range(120):
        server.add_thread(conversation, "customer", f"Any news? {number}")
    claimed = datetime.now(UTC) - timedelta(minutes=15)
    await account.helpdesk.write_back(
        draft(conversation, written_after=claimed, first_attempt=True), WriteBackMode.NOTE, None
    )
    assert _thread_pages(server, conversation) == 0
    assert len(server.threads(conversation, "note")) == 1


def _thread_pages(server: FakeHelpScout, conversation: int) -> int:
    return server.log.count("GET", f"/v2/conversations/{conversation}/threads")
