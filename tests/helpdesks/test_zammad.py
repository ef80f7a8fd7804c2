"""The Zammad connector over real HTTP against the Zammad simulator; what every connector
owes (webhook secrets, failures, credentials, a version written once) is in test_contract.py."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

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
from supporter.helpdesks.zammad import Settings, Zammad
from supporter.testing.fake_zammad import (
    DEFAULT_TOKEN,
    FakeZammad,
    FakeZammadConfig,
    signed_webhook,
)

SECRET = "hmac-token-for-tests"
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
async def zammad() -> AsyncIterator[FakeZammad]:
    server = FakeZammad(FakeZammadConfig(rate_per_minute=None))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def connector(
    server: FakeZammad,
    *,
    token: str = DEFAULT_TOKEN,
    rate_limit: int = 6000,
    timeout: float = 30.0,
    settle: float = 0.0,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC) + timedelta(seconds=1),
) -> Zammad:
    settings = Settings(
        url=server.url,
        token=token,  # type: ignore[arg-type]
        webhook_secret=SECRET,  # type: ignore[arg-type]
        rate_limit=rate_limit,
    )
    return Zammad(settings, timeout=timeout, settle=settle, clock=clock)


def webhook(body: bytes, headers: dict[str, str]) -> WebhookRequest:
    return WebhookRequest(
        headers={k.lower(): v for k, v in headers.items()}, body=body, received_at=datetime.now(UTC)
    )


def draft(ticket_id: int, version: str = "v1", **changes: object) -> Draft:
    fields: dict[str, object] = {
        "ticket_id": str(ticket_id),
        "category": "double_charge",
        "priority": Priority.URGENT,
        "tags": ("supporter", "billing"),
        "note": "Draft: we refunded the second charge of $49.99.",
        "version": version,
    }
    fields.update(changes)
    return Draft(**fields)  # type: ignore[arg-type]


# -- webhooks ----------------------------------------------------------------------------------


async def test_a_signed_webhook_names_the_ticket_and_its_delivery(zammad: FakeZammad) -> None:
    ticket = zammad.add_ticket("Charged twice", "Hello", customer_email="ann@example.com")
    body = zammad.webhook_body(ticket)
    headers = signed_webhook(SECRET, body, delivery="job-1")
    client = connector(zammad)
    try:
        request = webhook(body, headers)
        client.verify_webhook(request)
        event = client.parse_webhook(request)
        # Zammad retries a delivery with the same job id: the store sees it twice.
        again = client.parse_webhook(webhook(body, signed_webhook(SECRET, body, delivery="job-1")))
    finally:
        await client.aclose()
    assert event.ticket_ids == (str(ticket),)
    assert event.delivery_id == again.delivery_id == "job-1"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_signature"),
        ({"X-Hub-Signature": "sha1=" + "0" * 40}, "bad_signature"),
        ({"X-Hub-Signature": "sha256=abc"}, "bad_signature"),
    ],
)
async def test_webhooks_without_a_valid_signature_are_rejected(
    zammad: FakeZammad, headers: dict[str, str], reason: str
) -> None:
    body = zammad.webhook_body(zammad.add_ticket("Charged twice", "Hello"))
    client = connector(zammad)
    try:
        with pytest.raises(WebhookRejected) as rejected:
            client.verify_webhook(webhook(body, headers))
    finally:
        await client.aclose()
    assert rejected.value.reason == reason
    assert SECRET not in str(rejected.value)


async def test_a_webhook_signed_over_another_body_is_rejected(zammad: FakeZammad) -> None:
    body = zammad.webhook_body(zammad.add_ticket("Charged twice", "Hello"))
    headers = signed_webhook(SECRET, body)
    client = connector(zammad)
    try:
        with pytest.raises(WebhookRejected) as rejected:
            client.verify_webhook(webhook(body.replace(b"Charged", b"Charmed"), headers))
    finally:
        await client.aclose()
    assert rejected.value.reason == "bad_signature"


async def test_only_what_the_customer_wrote_asks_for_the_ticket(zammad: FakeZammad) -> None:
    ticket = zammad.add_ticket("Charged twice", "Hello")
    note = zammad.add_article(ticket, "agent only", sender="Agent", type_="note", internal=True)
    reply = zammad.add_article(ticket, "On it", sender="Agent", type_="email")
    follow_up = zammad.add_article(ticket, "Any news?", sender="Customer")
    payload = json.loads(zammad.webhook_body(ticket))
    no_article = json.dumps({**payload, "article": None}).encode()
    client = connector(zammad)
    try:
        asked = [
            client.parse_webhook(webhook(zammad.webhook_body(ticket, article), {})).ticket_ids
            for article in (note, reply, follow_up)
        ]
        updated = client.parse_webhook(webhook(no_article, {}))
    finally:
        await client.aclose()
    assert asked == [(), (), (str(ticket),)]
    assert updated.ticket_ids == ()


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"ticket": {"id": null}}'])
async def test_a_payload_that_is_no_trigger_webhook_is_rejected(
    zammad: FakeZammad, body: bytes
) -> None:
    client = connector(zammad)
    try:
        with pytest.raises(WebhookRejected) as rejected:
            client.parse_webhook(webhook(body, {}))
    finally:
        await client.aclose()
    assert rejected.value.reason == "bad_payload"


# -- reading -----------------------------------------------------------------------------------


async def test_a_ticket_is_read_with_its_customer_and_first_public_article(
    zammad: FakeZammad,
) -> None:
    ticket = zammad.add_ticket(
        "Charged twice",
        "<p>My card 4242 4242 4242 4242 was charged twice</p><p>Please help</p>",
        customer_email="ann@example.com",
        priority_id=3,
        state_id=2,
    )
    zammad.add_article(ticket, "internal remark", sender="Agent", type_="note", internal=True)
    client = connector(zammad)
    try:
        read = await client.fetch_ticket(str(ticket))
    finally:
        await client.aclose()
    assert read.ticket_id == str(ticket)
    assert read.subject == "Charged twice"
    assert read.customer_email == "ann@example.com"
    assert read.status == "open"
    assert read.priority is Priority.HIGH
    assert "4242 4242 4242 4242" not in read.body
    assert "Please help" in read.body
    assert "internal remark" not in read.body
    assert read.customer_id.startswith("zammad:")


async def test_polling_pages_through_every_ticket_once_and_resumes_from_its_cursor(
    zammad: FakeZammad,
) -> None:
    created = {zammad.add_ticket(f"Ticket {n}", f"Body {n}") for n in range(120)}
    client = connector(zammad)
    seen: list[str] = []
    cursor = None
    try:
        for _ in range(10):
            page = await client.poll(cursor, since=LONG_AGO)
            seen.extend(t.ticket_id for t in page.tickets)
            cursor = page.cursor
            if not page.more:
                break
        assert sorted(seen) == sorted(str(t) for t in created)
        assert len(seen) == len(set(seen))
        quiet = await client.poll(cursor, since=LONG_AGO)
        assert quiet.tickets == ()
        assert not quiet.more
        later = zammad.add_ticket("A new one", "Body")
        resumed = await client.poll(quiet.cursor, since=LONG_AGO)
    finally:
        await client.aclose()
    assert [t.ticket_id for t in resumed.tickets] == [str(later)]
    searches = [a for a in zammad.log.answered if a.path == "/api/v1/tickets/search"]
    assert all("per_page=50" in a.key and "order_by=asc" in a.key for a in searches)


async def test_changes_the_search_index_may_not_have_yet_wait_for_a_later_poll(
    zammad: FakeZammad,
) -> None:
    now = [datetime.now(UTC)]
    client = connector(zammad, settle=60.0, clock=lambda: now[0])
    older = zammad.add_ticket("Settled", "Body")
    zammad.set_updated(older, now[0] - timedelta(seconds=120))
    recent = zammad.add_ticket("Just changed", "Body")
    try:
        first = await client.poll(None, since=LONG_AGO)
        now[0] += timedelta(seconds=61)
        second = await client.poll(first.cursor, since=LONG_AGO)
    finally:
        await client.aclose()
    assert [t.ticket_id for t in first.tickets] == [str(older)]
    assert not first.more
    assert [t.ticket_id for t in second.tickets] == [str(recent)]


async def test_a_bulk_update_in_one_millisecond_is_handed_over_once(zammad: FakeZammad) -> None:
    moment = datetime(2026, 5, 2, 10, 0, 0, 123000, tzinfo=UTC)
    created = [zammad.add_ticket(f"Ticket {n}", "Body") for n in range(120)]
    for ticket in created:
        zammad.set_updated(ticket, moment)
    client = connector(zammad)
    handed: list[str] = []
    cursor = None
    try:
        for _ in range(6):
            page = await client.poll(cursor, since=LONG_AGO)
            handed.extend(t.ticket_id for t in page.tickets)
            cursor = page.cursor
            if not page.more:
                break
    finally:
        await client.aclose()
    assert sorted(handed) == sorted(str(t) for t in created)
    assert len(handed) == len(set(handed))


async def test_an_updated_ticket_is_polled_again(zammad: FakeZammad) -> None:
    ticket = zammad.add_ticket("Charged twice", "Body")
    client = connector(zammad)
    try:
        first = await client.poll(None, since=LONG_AGO)
        zammad.add_article(ticket, "Any news?", sender="Customer")
        second = await client.poll(first.cursor, since=LONG_AGO)
    finally:
        await client.aclose()
    assert [t.ticket_id for t in second.tickets] == [str(ticket)]


async def test_a_poll_reads_no_articles_of_a_ticket_in_a_status_not_taken(
    zammad: FakeZammad,
) -> None:
    """A first poll reaching back weeks meets many closed tickets: their articles (a
    request each) are not read, and the cursor moves past them all the same."""
    closed = zammad.add_ticket("Thanks, solved", "Body", state_id=4)
    pending = zammad.add_ticket("Waiting on the customer", "Body", state_id=3)
    wanted = zammad.add_ticket("Charged twice", "Body")
    client = connector(zammad)
    try:
        first = await client.poll(None, since=LONG_AGO, statuses={"new", "open"})
        again = await client.poll(first.cursor, since=LONG_AGO, statuses={"new", "open"})
    finally:
        await client.aclose()
    assert [t.ticket_id for t in first.tickets] == [str(wanted)]
    assert again.tickets == ()
    for ticket in (closed, pending):
        assert zammad.log.count("GET", f"/api/v1/ticket_articles/by_ticket/{ticket}") == 0
    assert zammad.log.count("GET", f"/api/v1/ticket_articles/by_ticket/{wanted}") == 1


async def test_a_change_time_without_a_zone_is_read_as_utc(zammad: FakeZammad) -> None:
    """Zammad writes its times in UTC with a Z; one without (a proxy, another version)
    is the same UTC time: the ticket is polled, and the cursor moves past it."""
    changed = datetime(2026, 12, 6, 10, 30, 15, 250_000, tzinfo=UTC)
    ticket = zammad.add_ticket("Charged twice", "Body")
    zammad.set_updated(ticket, changed)
    zammad.tickets[ticket]["updated_at"] = "2026-12-06T10:30:15.250"
    client = connector(zammad)
    try:
        first = await client.poll(None, since=changed - timedelta(seconds=1))
        again = await client.poll(first.cursor, since=LONG_AGO)
    finally:
        await client.aclose()
    assert [t.ticket_id for t in first.tickets] == [str(ticket)]
    assert json.loads(first.cursor)["after"] == changed.isoformat()
    assert again.tickets == ()


async def test_a_ticket_without_text_is_skipped_and_the_rest_polled(zammad: FakeZammad) -> None:
    empty = zammad.add_ticket("", "")
    good = zammad.add_ticket("Charged twice", "Body")
    client = connector(zammad)
    try:
        page = await client.poll(None, since=LONG_AGO)
        with pytest.raises(PermanentError, match=f"zammad ticket {empty}: body"):
            await client.fetch_ticket(str(empty))
    finally:
        await client.aclose()
    assert [t.ticket_id for t in page.tickets] == [str(good)]


# -- writing -----------------------------------------------------------------------------------


async def test_the_draft_is_an_internal_note_with_tags_priority_and_category(
    zammad: FakeZammad,
) -> None:
    ticket = zammad.add_ticket("Charged twice", "Body", tags=("vip",))
    client = connector(zammad)
    try:
        receipt = await client.write_back(draft(ticket), WriteBackMode.NOTE, None)
    finally:
        await client.aclose()
    notes = zammad.notes(ticket)
    assert len(notes) == 1
    assert receipt.note_id == str(notes[0]["id"])
    assert notes[0]["internal"] is True
    assert notes[0]["type"] == "note"
    assert notes[0]["body"].startswith("Draft: we refunded")
    public = [a for a in zammad.articles[ticket] if not a["internal"]]
    assert [a["sender"] for a in public] == ["Customer"]
    assert zammad.tags[ticket] == ["vip", "supporter", "billing"]
    assert zammad.tickets[ticket]["priority_id"] == 3  # urgent is Zammad's 3 high
    assert zammad.tickets[ticket]["supporter_category"] == "double_charge"


async def test_the_same_version_is_never_posted_twice(zammad: FakeZammad) -> None:
    ticket = zammad.add_ticket("Charged twice", "Body")
    client = connector(zammad)
    try:
        first = await client.write_back(draft(ticket), WriteBackMode.NOTE, None)
        # A retry after a crash that lost the receipt, then a redelivery with it.
        lost = await client.write_back(draft(ticket), WriteBackMode.NOTE, None)
        again = await client.write_back(draft(ticket), WriteBackMode.NOTE, first)
        newer = await client.write_back(draft(ticket, "v2"), WriteBackMode.NOTE, first)
    finally:
        await client.aclose()
    assert first.note_id == lost.note_id == again.note_id
    assert newer.note_id != first.note_id
    assert len(zammad.notes(ticket)) == 2
    # Zammad cannot edit the old note: the new one says it replaces it.
    assert f"earlier note (article {first.note_id})" in zammad.notes(ticket)[1]["body"]
    assert zammad.log.count("POST", "/api/v1/ticket_articles") == 2


async def test_a_card_number_in_the_draft_never_reaches_zammad(zammad: FakeZammad) -> None:
    ticket = zammad.add_ticket("Charged twice", "Body")
    client = connector(zammad)
    try:
        await client.write_back(
            draft(ticket, note="Card 4242 4242 4242 4242 was refunded."), WriteBackMode.NOTE, None
        )
    finally:
        await client.aclose()
    body = zammad.notes(ticket)[0]["body"]
    assert "4242 4242 4242 4242" not in body
    assert "4242" in body


async def test_tags_mode_writes_no_note(zammad: FakeZammad) -> None:
    ticket = zammad.add_ticket("Charged twice", "Body")
    client = connector(zammad)
    try:
        receipt = await client.write_back(draft(ticket), WriteBackMode.TAGS, None)
    finally:
        await client.aclose()
    assert receipt == WriteReceipt(note_id=None)
    assert zammad.notes(ticket) == []
    assert zammad.tags[ticket] == ["supporter", "billing"]


async def test_an_approved_public_reply_is_mailed_once_with_nothing_of_ours(
    zammad: FakeZammad,
) -> None:
    ticket = zammad.add_ticket("Charged twice", "Body", customer_email="ann@example.com")
    approved = draft(ticket, public=True, note="We refunded the second charge.")
    client = connector(zammad)
    try:
        first = await client.write_back(approved, WriteBackMode.AFTER_REVIEW, None)
        again = await client.write_back(approved, WriteBackMode.AFTER_REVIEW, None)
    finally:
        await client.aclose()
    replies = [a for a in zammad.articles[ticket] if a["sender"] == "Agent"]
    assert len(replies) == 1
    assert first.note_id == again.note_id == f"reply/{replies[0]['id']}"
    assert replies[0]["type"] == "email"
    assert replies[0]["internal"] is False
    assert replies[0]["to"] == "ann@example.com"
    assert replies[0]["body"] == "We refunded the second charge."
    assert zammad.notes(ticket) == []


async def test_a_category_attribute_zammad_lacks_is_a_permanent_error(zammad: FakeZammad) -> None:
    ticket = zammad.add_ticket("Charged twice", "Body")
    zammad.config.object_attributes = set()
    client = connector(zammad)
    try:
        with pytest.raises(PermanentError, match="422"):
            await client.write_back(draft(ticket), WriteBackMode.TAGS, None)
    finally:
        await client.aclose()


# -- failures ----------------------------------------------------------------------------------


async def test_429s_are_waited_out_and_never_met_twice_in_a_row(zammad: FakeZammad) -> None:
    tickets = [zammad.add_ticket(f"Ticket {n}", "Body") for n in range(2)]
    # The server allows 4 requests a second; the connector is set to go much faster.
    zammad.config.rate_per_minute = 240
    client = connector(zammad, rate_limit=6000)
    try:
        for ticket in tickets:
            await client.write_back(draft(ticket), WriteBackMode.NOTE, None)
    finally:
        await client.aclose()
    assert zammad.log.outcomes[429] >= 1
    assert zammad.log.max_429_in_a_row == 1
    assert all(len(zammad.notes(t)) == 1 for t in tickets)


async def test_a_deleted_ticket_is_a_permanent_error(zammad: FakeZammad) -> None:
    client = connector(zammad)
    try:
        with pytest.raises(PermanentError, match="404"):
            await client.fetch_ticket("999999")
        with pytest.raises(PermanentError, match="404"):
            await client.write_back(draft(999999), WriteBackMode.NOTE, None)
        with pytest.raises(PermanentError, match="not a Zammad id"):
            await client.fetch_ticket("../users/me")
    finally:
        await client.aclose()


async def test_check_reports_each_probe_without_secrets(zammad: FakeZammad) -> None:
    client = connector(zammad)
    try:
        results = await client.check()
    finally:
        await client.aclose()
    assert [r.name for r in results] == [
        "credentials",
        "priorities",
        "webhook secret",
        "rate limit",
    ]
    assert all(r.ok for r in results)
    assert all(DEFAULT_TOKEN not in r.detail and SECRET not in r.detail for r in results)


def test_the_simulator_signs_as_zammad_documents() -> None:
    body = json.dumps({"ticket": {"id": 1}}).encode()
    headers = signed_webhook(SECRET, body, delivery="d-1")
    expected = hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert headers["X-Hub-Signature"] == f"sha1={expected}"
    assert headers["X-Zammad-Delivery"] == "d-1"


async def test_the_registry_connects_zammad_from_the_environment() -> None:
    environ = {
        "SUPPORTER_ZAMMAD_URL": "https://support.example.com",
        "SUPPORTER_ZAMMAD_TOKEN": "a-token-never-shown",
        "SUPPORTER_ZAMMAD_CATEGORY_FIELD": "category",
    }
    client = registry.connect("zammad", environ)
    try:
        assert isinstance(client, Zammad)
        assert client.write_limit.requests == 300
    finally:
        await client.aclose()
    missing = {k: v for k, v in environ.items() if k != "SUPPORTER_ZAMMAD_URL"}
    with pytest.raises(registry.HelpdeskConfigError, match="SUPPORTER_ZAMMAD_URL") as error:
        registry.connect("zammad", missing)
    assert "a-token-never-shown" not in str(error.value)


async def test_a_customer_writing_the_drafts_marker_does_not_stop_the_note(
    zammad: FakeZammad,
) -> None:
    """The text of a ticket is data: only an internal note can hold the marker."""
    ticket = zammad.add_ticket(
        "Charged twice", "Ignore this: [supporter draft v1] supporter_draft_v1"
    )
    zammad.add_article(
        ticket, "Ignore this: [supporter draft v1] supporter_draft_v1", content_type="text/plain"
    )
    client = connector(zammad)
    try:
        await client.write_back(draft(ticket), WriteBackMode.NOTE, None)
    finally:
        await client.aclose()
    assert len(zammad.notes(ticket)) == 1
