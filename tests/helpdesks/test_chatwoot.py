"""The Chatwoot connector over real HTTP against the Chatwoot simulator; what every connector
owes (webhook secrets, failures, credentials, a version written once) is in test_contract.py."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from supporter.domain.errors import PermanentError
from supporter.domain.models import Priority
from supporter.helpdesks import registry
from supporter.helpdesks.base import (
    Draft,
    WebhookRejected,
    WebhookRequest,
    WriteBackMode,
    WriteReceipt,
)
from supporter.helpdesks.chatwoot import Chatwoot, Settings
from supporter.testing.fake_chatwoot import (
    DEFAULT_ACCOUNT,
    DEFAULT_TOKEN,
    FakeChatwoot,
    FakeChatwootConfig,
    signed_webhook,
)

SECRET = "webhook-secret-for-tests"
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
async def chatwoot() -> AsyncIterator[FakeChatwoot]:
    server = FakeChatwoot(FakeChatwootConfig(rate_per_window=None))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def connector(
    server: FakeChatwoot,
    *,
    token: str = DEFAULT_TOKEN,
    account_id: int = DEFAULT_ACCOUNT,
    timeout: float = 30.0,
    **settings: object,
) -> Chatwoot:
    values: dict[str, object] = {
        "url": server.url,
        "account_id": account_id,
        "token": token,
        "webhook_secret": SECRET,
        "rate_limit": 6000,
        **settings,
    }
    return Chatwoot(Settings.model_validate(values), timeout=timeout)


def webhook(body: bytes, headers: dict[str, str], *, at: float | None = None) -> WebhookRequest:
    return WebhookRequest(
        headers={k.lower(): v for k, v in headers.items()},
        body=body,
        received_at=datetime.fromtimestamp(time.time() if at is None else at, UTC),
    )


def draft(conversation: int, version: str = "v1", **changes: object) -> Draft:
    fields: dict[str, object] = {
        "ticket_id": str(conversation),
        "category": "double_charge",
        "priority": Priority.HIGH,
        "tags": ("supporter", "billing"),
        "note": "Draft: we refunded the second charge of $49.99.",
        "version": version,
    }
    fields.update(changes)
    return Draft(**fields)  # type: ignore[arg-type]


# -- webhooks ----------------------------------------------------------------------------------


async def test_a_signed_webhook_names_the_conversation(chatwoot: FakeChatwoot) -> None:
    conversation = chatwoot.add_conversation("I was charged twice", email="ann@example.com")
    client = connector(chatwoot)
    try:
        created = chatwoot.conversation_webhook(conversation)
        message = chatwoot.message_webhook(conversation)
        events = []
        for body in (created, message):
            request = webhook(body, signed_webhook(SECRET, body))
            client.verify_webhook(request)
            events.append(client.parse_webhook(request))
    finally:
        await client.aclose()
    assert [e.ticket_ids for e in events] == [(str(conversation),)] * 2
    assert events[0].delivery_id == f"conversation_created:{conversation}"
    assert events[1].delivery_id == f"message_created:{chatwoot.messages[conversation][-1]['id']}"


async def test_a_redelivery_has_the_same_key_though_its_delivery_header_differs(
    chatwoot: FakeChatwoot,
) -> None:
    conversation = chatwoot.add_conversation("I was charged twice")
    body = chatwoot.message_webhook(conversation)
    client = connector(chatwoot)
    try:
        first = client.parse_webhook(webhook(body, signed_webhook(SECRET, body, delivery="a")))
        again = client.parse_webhook(webhook(body, signed_webhook(SECRET, body, delivery="b")))
    finally:
        await client.aclose()
    assert first.delivery_id == again.delivery_id


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_signature"),
        ({"X-Chatwoot-Timestamp": "1700000000"}, "missing_signature"),
        (
            {"X-Chatwoot-Signature": "sha256=" + "0" * 64, "X-Chatwoot-Timestamp": "x1"},
            "bad_signature",
        ),
        ({"X-Chatwoot-Signature": "sha256=" + "0" * 64}, "missing_signature"),
    ],
)
async def test_webhooks_without_a_valid_signature_are_rejected(
    chatwoot: FakeChatwoot, headers: dict[str, str], reason: str
) -> None:
    body = chatwoot.conversation_webhook(chatwoot.add_conversation("Hello"))
    client = connector(chatwoot)
    try:
        with pytest.raises(WebhookRejected) as rejected:
            client.verify_webhook(webhook(body, headers))
    finally:
        await client.aclose()
    assert rejected.value.reason == reason
    assert SECRET not in str(rejected.value)


async def test_a_signed_timestamp_of_other_digits_than_ascii_is_refused(
    chatwoot: FakeChatwoot,
) -> None:
    """ "\u00b2" is a digit to str.isdigit but no number to int: refused, not a crash."""
    body = chatwoot.conversation_webhook(chatwoot.add_conversation("Hello"))
    stamp = "\u00b2"
    digest = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    headers = {
        "X-Chatwoot-Signature": f"sha256={digest.hexdigest()}",
        "X-Chatwoot-Timestamp": stamp,
    }
    client = connector(chatwoot)
    try:
        with pytest.raises(WebhookRejected) as rejected:
            client.verify_webhook(webhook(body, headers))
    finally:
        await client.aclose()
    assert rejected.value.reason == "bad_signature"


async def test_a_signature_over_another_body_or_time_is_rejected(chatwoot: FakeChatwoot) -> None:
    body = chatwoot.conversation_webhook(chatwoot.add_conversation("Hello"))
    headers = signed_webhook(SECRET, body)
    moved = {**headers, "X-Chatwoot-Timestamp": str(int(headers["X-Chatwoot-Timestamp"]) - 1)}
    unsigned_stamp = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    client = connector(chatwoot)
    try:
        for request in (
            webhook(body + b" ", headers),
            webhook(body, moved),
            webhook(body, {**headers, "X-Chatwoot-Signature": f"sha256={unsigned_stamp}"}),
        ):
            with pytest.raises(WebhookRejected) as rejected:
                client.verify_webhook(request)
            assert rejected.value.reason == "bad_signature"
    finally:
        await client.aclose()


@pytest.mark.parametrize("skew", [-301, 301])
async def test_a_webhook_signed_too_long_ago_or_ahead_is_a_replay(
    chatwoot: FakeChatwoot, skew: int
) -> None:
    body = chatwoot.conversation_webhook(chatwoot.add_conversation("Hello"))
    now = int(time.time())
    headers = signed_webhook(SECRET, body, timestamp=now + skew)
    client = connector(chatwoot)
    try:
        with pytest.raises(WebhookRejected) as rejected:
            client.verify_webhook(webhook(body, headers, at=now))
        client.verify_webhook(
            webhook(body, signed_webhook(SECRET, body, timestamp=now - 290), at=now)
        )
    finally:
        await client.aclose()
    assert rejected.value.reason == "replay"


async def test_private_notes_and_agent_messages_ask_for_nothing(chatwoot: FakeChatwoot) -> None:
    conversation = chatwoot.add_conversation("Hello")
    note = chatwoot.add_message(conversation, "team only", message_type="outgoing", private=True)
    reply = chatwoot.add_message(conversation, "On it", message_type="outgoing")
    client = connector(chatwoot)
    try:
        events = [
            client.parse_webhook(webhook(chatwoot.message_webhook(conversation, m), {}))
            for m in (note, reply)
        ]
        other = client.parse_webhook(
            webhook(json.dumps({"event": "conversation_updated", "id": conversation}).encode(), {})
        )
    finally:
        await client.aclose()
    assert [e.ticket_ids for e in [*events, other]] == [(), (), ()]


@pytest.mark.parametrize(
    "body", [b"nope", b"[]", b'{"id": 1}', b'{"event": "message_created", "id": 5}']
)
async def test_a_payload_that_is_no_chatwoot_event_is_rejected(
    chatwoot: FakeChatwoot, body: bytes
) -> None:
    client = connector(chatwoot)
    try:
        with pytest.raises(WebhookRejected) as rejected:
            client.parse_webhook(webhook(body, {}))
    finally:
        await client.aclose()
    assert rejected.value.reason == "bad_payload"


# -- reading -----------------------------------------------------------------------------------


async def test_a_conversation_is_read_with_its_contact_and_what_they_wrote(
    chatwoot: FakeChatwoot,
) -> None:
    conversation = chatwoot.add_conversation(
        "My card 4242 4242 4242 4242 was charged twice",
        email="ann@example.com",
        labels=("vip",),
        priority="urgent",
    )
    chatwoot.add_message(conversation, "team only", message_type="outgoing", private=True)
    chatwoot.add_message(conversation, "Any news?")
    client = connector(chatwoot)
    try:
        read = await client.fetch_ticket(str(conversation))
    finally:
        await client.aclose()
    assert read.ticket_id == str(conversation)
    assert read.customer_email == "ann@example.com"
    assert read.priority is Priority.URGENT
    assert read.tags == ("vip",)
    assert "4242 4242 4242 4242" not in read.body
    assert read.body.endswith("Any news?")
    assert "team only" not in read.body
    assert read.customer_id.startswith("chatwoot:")


async def test_polling_pages_through_every_conversation_once_and_resumes(
    chatwoot: FakeChatwoot,
) -> None:
    created = {chatwoot.add_conversation(f"Conversation {n}") for n in range(60)}
    client = connector(chatwoot)
    seen: list[str] = []
    cursor = None
    try:
        for _ in range(10):
            page = await client.poll(cursor, since=LONG_AGO)
            seen.extend(t.ticket_id for t in page.tickets)
            cursor = page.cursor
            if not page.more:
                break
        assert sorted(seen) == sorted(str(c) for c in created)
        assert len(seen) == len(set(seen))
        quiet = await client.poll(cursor, since=LONG_AGO)
        assert quiet.tickets == ()
        await asyncio.sleep(1.01)  # Chatwoot's activity times are whole seconds
        later = chatwoot.add_conversation("A new one")
        chatwoot.add_message(min(created), "Any news?")
        resumed = await client.poll(quiet.cursor, since=LONG_AGO)
    finally:
        await client.aclose()
    assert sorted(t.ticket_id for t in resumed.tickets) == sorted([str(later), str(min(created))])
    lists = [a for a in chatwoot.log.answered if a.path.endswith("/conversations")]
    assert all("sort_by=last_activity_at_desc" in a.key for a in lists)


async def test_a_poll_reads_no_messages_of_a_conversation_in_a_status_not_taken(
    chatwoot: FakeChatwoot,
) -> None:
    """A first poll reaching back weeks meets pending and snoozed conversations: their
    messages (a request each) are not read, and the cursor moves past them all the same."""
    others = [
        chatwoot.add_conversation("Waiting on the customer", status="pending"),
        chatwoot.add_conversation("Back on Monday", status="snoozed"),
        chatwoot.add_conversation("Thanks, solved", status="resolved"),
    ]
    wanted = chatwoot.add_conversation("Charged twice")
    client = connector(chatwoot)
    try:
        first = await client.poll(None, since=LONG_AGO, statuses={"open"})
        again = await client.poll(first.cursor, since=LONG_AGO, statuses={"open"})
    finally:
        await client.aclose()
    assert [t.ticket_id for t in first.tickets] == [str(wanted)]
    assert again.tickets == ()
    path = f"/api/v1/accounts/{DEFAULT_ACCOUNT}/conversations"
    for conversation in others:
        assert chatwoot.log.count("GET", f"{path}/{conversation}/messages") == 0
    assert chatwoot.log.count("GET", f"{path}/{wanted}/messages") == 1


async def test_activity_during_a_sweep_neither_skips_nor_repeats(chatwoot: FakeChatwoot) -> None:
    created = [chatwoot.add_conversation(f"Conversation {n}") for n in range(60)]
    client = connector(chatwoot)
    try:
        first = await client.poll(None, since=LONG_AGO)
        assert first.more
        # Activity moves one conversation to the top and pushes the rest down a place.
        await asyncio.sleep(1.01)
        chatwoot.add_message(created[0], "Hello again")
        handed = [t.ticket_id for t in first.tickets]
        cursor = first.cursor
        while True:
            page = await client.poll(cursor, since=LONG_AGO)
            handed.extend(t.ticket_id for t in page.tickets)
            cursor = page.cursor
            if not page.more:
                break
        following = await client.poll(cursor, since=LONG_AGO)
    finally:
        await client.aclose()
    # The conversation that moved up is left to the next sweep, which hands over only it.
    assert str(created[0]) not in handed
    assert [t.ticket_id for t in following.tickets] == [str(created[0])]
    assert sorted([*handed, str(created[0])]) == sorted(str(c) for c in created)
    assert len(handed) == len(set(handed))


# -- writing -----------------------------------------------------------------------------------


async def test_the_draft_is_a_private_note_and_the_teams_labels_stay(
    chatwoot: FakeChatwoot,
) -> None:
    conversation = chatwoot.add_conversation(
        "Charged twice", labels=("vip",), custom_attributes={"order": "A-1"}
    )
    client = connector(chatwoot)
    try:
        receipt = await client.write_back(draft(conversation), WriteBackMode.NOTE, None)
    finally:
        await client.aclose()
    notes = chatwoot.private_notes(conversation)
    assert len(notes) == 1
    assert receipt.note_id == str(notes[0]["id"])
    assert notes[0]["content"].startswith("Draft: we refunded")
    assert notes[0]["message_type"] == 1
    assert chatwoot.public_replies(conversation) == []
    record = chatwoot.conversations[conversation]
    assert record["labels"] == ["vip", "supporter", "billing"]
    assert record["priority"] == "high"
    assert record["custom_attributes"] == {"order": "A-1", "supporter_category": "double_charge"}


async def test_the_same_version_is_never_posted_twice_nor_unchanged_fields_rewritten(
    chatwoot: FakeChatwoot,
) -> None:
    conversation = chatwoot.add_conversation("Charged twice")
    client = connector(chatwoot)
    try:
        first = await client.write_back(draft(conversation), WriteBackMode.NOTE, None)
        lost = await client.write_back(draft(conversation), WriteBackMode.NOTE, None)
        newer = await client.write_back(draft(conversation, "v2"), WriteBackMode.NOTE, first)
    finally:
        await client.aclose()
    assert first.note_id == lost.note_id
    assert newer.note_id != first.note_id
    assert len(chatwoot.private_notes(conversation)) == 2
    assert (
        f"earlier note (message {first.note_id})"
        in chatwoot.private_notes(conversation)[1]["content"]
    )
    path = f"/api/v1/accounts/{DEFAULT_ACCOUNT}/conversations/{conversation}"
    assert chatwoot.log.count("POST", f"{path}/labels") == 1
    assert chatwoot.log.count("POST", f"{path}/toggle_priority") == 1
    assert chatwoot.log.count("POST", f"{path}/custom_attributes") == 1


async def test_the_search_for_a_note_stops_at_the_first_page_older_than_the_claim(
    chatwoot: FakeChatwoot,
) -> None:
    """A long history before the write-back was claimed is not read: a page of messages
    that reaches before the claim ends the search (and with no claim, all is read)."""
    conversation = chatwoot.add_conversation("Charged twice")
    two_hours_ago = int(time.time()) - 7200
    for number in range(99):
        chatwoot.add_message(conversation, f"Earlier message {number}", at=two_hours_ago)
    messages = f"/api/v1/accounts/{DEFAULT_ACCOUNT}/conversations/{conversation}/messages"
    claimed = datetime.fromtimestamp(time.time() - 900, UTC)
    client = connector(chatwoot)
    try:
        written = await client.write_back(
            draft(conversation, written_after=claimed), WriteBackMode.NOTE, None
        )
        searched = chatwoot.log.count("GET", messages)
        # 100 messages and our note, with no claim to stop at: every page of 20 is read.
        again = await client.write_back(draft(conversation, "v2"), WriteBackMode.NOTE, written)
        searched_whole = chatwoot.log.count("GET", messages) - searched
    finally:
        await client.aclose()
    assert searched == 1
    assert searched_whole == 6
    assert len(chatwoot.private_notes(conversation)) == 2
    assert again.note_id != written.note_id


async def test_messages_are_paged_back_as_chatwoot_pages_them(chatwoot: FakeChatwoot) -> None:
    """The simulator gives the latest 20, oldest first, and the 20 before a message id."""
    conversation = chatwoot.add_conversation("Message 0")
    for number in range(1, 45):
        chatwoot.add_message(conversation, f"Message {number}")
    client = connector(chatwoot)
    path = f"/api/v1/accounts/{DEFAULT_ACCOUNT}/conversations/{conversation}/messages"
    try:
        latest = (await client.http.json("GET", path))["payload"]
        earlier = (await client.http.json("GET", path, params={"before": latest[0]["id"]}))[
            "payload"
        ]
        first = (await client.http.json("GET", path, params={"before": earlier[0]["id"]}))[
            "payload"
        ]
        none = (await client.http.json("GET", path, params={"before": "x"}))["payload"]
    finally:
        await client.aclose()
    assert [m["content"] for m in latest] == [f"Message {n}" for n in range(25, 45)]
    assert [m["content"] for m in earlier] == [f"Message {n}" for n in range(5, 25)]
    assert [m["content"] for m in first] == [f"Message {n}" for n in range(5)]
    assert none == []


async def test_tags_mode_writes_no_note(chatwoot: FakeChatwoot) -> None:
    conversation = chatwoot.add_conversation("Charged twice")
    client = connector(chatwoot)
    try:
        receipt = await client.write_back(draft(conversation), WriteBackMode.TAGS, None)
    finally:
        await client.aclose()
    assert receipt == WriteReceipt(note_id=None)
    assert chatwoot.private_notes(conversation) == []
    assert chatwoot.conversations[conversation]["labels"] == ["supporter", "billing"]


async def test_an_approved_public_reply_is_sent_once_with_nothing_of_ours(
    chatwoot: FakeChatwoot,
) -> None:
    conversation = chatwoot.add_conversation("Charged twice")
    approved = draft(conversation, public=True, note="We refunded the second charge.")
    client = connector(chatwoot)
    try:
        first = await client.write_back(approved, WriteBackMode.AFTER_REVIEW, None)
        again = await client.write_back(approved, WriteBackMode.AFTER_REVIEW, None)
    finally:
        await client.aclose()
    replies = chatwoot.public_replies(conversation)
    assert [m["content"] for m in replies] == ["We refunded the second charge."]
    assert first.note_id == again.note_id == f"reply/{replies[0]['id']}"
    assert chatwoot.private_notes(conversation) == []


# -- failures ----------------------------------------------------------------------------------


async def test_a_429_without_retry_after_waits_for_the_window_to_end(
    chatwoot: FakeChatwoot,
) -> None:
    conversations = [chatwoot.add_conversation(f"Conversation {n}") for n in range(2)]
    # Rack::Attack's fixed windows, two seconds long here, five requests each; the
    # connector is told the limit is far higher, so it meets the throttle.
    chatwoot.config.rate_per_window = 5
    chatwoot.config.window_seconds = 2.0
    client = connector(chatwoot, rate_limit=1000, rate_window=2.0)
    try:
        for conversation in conversations:
            await client.write_back(draft(conversation), WriteBackMode.NOTE, None)
    finally:
        await client.aclose()
    assert chatwoot.log.outcomes[429] >= 1
    assert chatwoot.log.max_429_in_a_row == 1
    assert all(len(chatwoot.private_notes(c)) == 1 for c in conversations)
    # Each wait is the rest of the two-second window (and a margin), no longer.
    answered = chatwoot.log.answered
    waits = [b.at - a.at for a, b in itertools.pairwise(answered) if a.status == 429]
    assert waits
    assert max(waits) < 3.3


async def test_an_unknown_conversation_or_account_is_a_permanent_error(
    chatwoot: FakeChatwoot,
) -> None:
    client = connector(chatwoot)
    other = connector(chatwoot, account_id=DEFAULT_ACCOUNT + 1)
    try:
        with pytest.raises(PermanentError, match="404"):
            await client.fetch_ticket("999")
        with pytest.raises(PermanentError, match="404"):
            await client.write_back(draft(999), WriteBackMode.NOTE, None)
        with pytest.raises(PermanentError, match="not a conversation id"):
            await client.fetch_ticket("1/messages")
        results = await other.check()
    finally:
        await client.aclose()
        await other.aclose()
    assert [r.ok for r in results[:2]] == [True, False]


async def test_check_reports_each_probe_without_secrets(chatwoot: FakeChatwoot) -> None:
    client = connector(chatwoot)
    try:
        results = await client.check()
    finally:
        await client.aclose()
    assert [r.name for r in results] == ["credentials", "account", "webhook secret", "rate limit"]
    assert all(r.ok for r in results)
    assert all(DEFAULT_TOKEN not in r.detail and SECRET not in r.detail for r in results)


async def test_the_registry_connects_chatwoot_from_the_environment() -> None:
    environ = {
        "SUPPORTER_CHATWOOT_ACCOUNT_ID": "3",
        "SUPPORTER_CHATWOOT_TOKEN": "a-token-never-shown",
    }
    client = registry.connect("chatwoot", environ)
    try:
        assert isinstance(client, Chatwoot)
        # One under the documented 60 a minute: fixed windows forgive no early request.
        assert client.write_limit.requests == 59
    finally:
        await client.aclose()
    with pytest.raises(
        registry.HelpdeskConfigError, match="SUPPORTER_CHATWOOT_ACCOUNT_ID"
    ) as error:
        registry.connect("chatwoot", {"SUPPORTER_CHATWOOT_TOKEN": "a-token-never-shown"})
    assert "a-token-never-shown" not in str(error.value)


def test_the_simulator_signs_as_chatwoot_documents() -> None:
    body = b'{"event": "conversation_created", "id": 1}'
    headers = signed_webhook(SECRET, body, timestamp=1700000000)
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert headers["X-Chatwoot-Signature"] == f"sha256={expected}"
    assert headers["X-Chatwoot-Timestamp"] == "1700000000"


async def test_a_customer_writing_the_drafts_marker_does_not_stop_the_note(
    chatwoot: FakeChatwoot,
) -> None:
    """The text of a conversation is data: only a private note can hold the marker."""
    conversation = chatwoot.add_conversation("Ignore this: [supporter draft v1] supporter_draft_v1")
    chatwoot.add_message(conversation, "Ignore this: [supporter draft v1] supporter_draft_v1")
    client = connector(chatwoot)
    try:
        await client.write_back(draft(conversation), WriteBackMode.NOTE, None)
    finally:
        await client.aclose()
    assert len(chatwoot.private_notes(conversation)) == 1
