"""The Request Tracker connector against a real RT 5 (`rt-server` on loopback, see
`supporter.testing.rt`). Tickets are made by RT's administrator over REST2, as a
customer's mail would make them; the connector acts as the `supporter` user."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from aiohttp import web

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.memory import MemoryBroker
from supporter.domain.errors import FatalError, PermanentError
from supporter.domain.models import Priority, Ticket
from supporter.helpdesks import registry
from supporter.helpdesks.base import (
    Draft,
    HelpdeskUnavailable,
    WebhookRejected,
    WebhookRequest,
    WriteBackMode,
    WriteReceipt,
)
from supporter.helpdesks.notes import marker
from supporter.helpdesks.rt import OVERLAP_SECONDS, RequestTracker, Settings
from supporter.llm.offline import OfflineProvider
from supporter.pipeline.orchestrator import Pipeline, PipelineOptions
from supporter.pipeline.write_back import WriteBackRoute, WriteBackSetup
from supporter.sources.formats import FieldLimits
from supporter.sources.helpdesk import CUT_NOTICE
from supporter.store.helpdesks import SqlHelpdeskState
from supporter.store.sql import SqlStore, sqlite_url
from supporter.testing.aiohttp_site import bind
from supporter.testing.rt import (
    CATEGORY_FIELD,
    QUEUE,
    READER_PASSWORD,
    READER_USER,
    ROOT_PASSWORD,
    ROOT_USER,
    SERVE_QUEUE,
    SUPPORTER_PASSWORD,
    SUPPORTER_USER,
    TAGS_FIELD,
    RTServer,
)
from supporter.testing.serve import SUPPORTER
from supporter.testing.tansu import free_port
from supporter.transactions.sql import SqlTransactionIndex

WRONG_PASSWORD = "not-the-password-4c1d"


class Admin:
    """RT's administrator over REST2: makes tickets and reads what happened to them."""

    def __init__(self, server: RTServer) -> None:
        self.server = server
        self.http = httpx.Client(
            base_url=f"{server.url}/REST/2.0",
            auth=httpx.BasicAuth(ROOT_USER, ROOT_PASSWORD),
            timeout=30.0,
        )

    def create(
        self,
        subject: str,
        body: str = "I was charged twice for order 1234.",
        *,
        requestor: str = "alice@example.com",
        queue: str = QUEUE,
        content_type: str = "text/plain",
        **fields: Any,
    ) -> str:
        answer = self.http.post(
            "/ticket",
            json={
                "Queue": queue,
                "Subject": subject,
                "Requestor": requestor,
                "Content": body,
                "ContentType": content_type,
                **fields,
            },
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def queue(self) -> str:
        name = f"poll-{uuid.uuid4().hex[:8]}"
        answer = self.http.post("/queue", json={"Name": name})
        assert answer.status_code == 201, answer.text
        return name

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        answer = self.http.get(f"/ticket/{ticket_id}")
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def custom_field(self, ticket_id: str, name: str) -> list[str]:
        for field in self.ticket(ticket_id)["CustomFields"]:
            if field["name"] == name:
                return list(field["values"])
        raise AssertionError(f"{name} does not apply to ticket {ticket_id}")

    def history(self, ticket_id: str) -> list[dict[str, Any]]:
        answer = self.http.get(
            f"/ticket/{ticket_id}/history", params={"fields": "Type,Creator", "per_page": 100}
        )
        answer.raise_for_status()
        return list(answer.json()["items"])

    def comments(self, ticket_id: str) -> list[dict[str, Any]]:
        return [t for t in self.history(ticket_id) if t["Type"] == "Comment"]

    def content(self, transaction_id: str) -> str:
        answer = self.http.post(
            "/attachments",
            params={"fields": "Content,ContentType,Subject"},
            json=[{"field": "TransactionId", "value": transaction_id}],
        )
        answer.raise_for_status()
        return "\n".join(
            f"{part['Subject']}\n{part['Content']}"
            for part in answer.json()["items"]
            if part["ContentType"] == "text/plain"
        )

    def comment(self, ticket_id: str, text: str) -> None:
        answer = self.http.post(
            f"/ticket/{ticket_id}/comment", json={"Content": text, "ContentType": "text/plain"}
        )
        assert answer.status_code == 201, answer.text

    def mail_to(self, address: str) -> int:
        """How many mails RT sent to `address` (To, Cc or Bcc)."""
        return sum(
            address in " ".join(str(mail.get(header, "")) for header in ("To", "Cc", "Bcc"))
            for mail in self.server.mails()
        )


@pytest.fixture(scope="module")
def admin(rt_server: RTServer) -> Iterator[Admin]:
    client = Admin(rt_server)
    yield client
    client.http.close()


def settings(server: RTServer, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "url": server.url,
        "token": server.template.token,
        "queue": QUEUE,
        "rate_limit": 60_000,
    }
    values.update(changes)
    return Settings.model_validate(values)


@pytest.fixture
async def rt(rt_server: RTServer) -> AsyncIterator[RequestTracker]:
    connector = RequestTracker(settings(rt_server))
    yield connector
    await connector.aclose()


def draft(ticket_id: str, version: str = "v1", **changes: Any) -> Draft:
    fields: dict[str, Any] = {
        "ticket_id": ticket_id,
        "category": "double_charge",
        "priority": Priority.HIGH,
        "tags": ("supporter", "billing"),
        "note": "Draft: we refunded the second charge of $49.99.",
        "version": f"{version}-{uuid.uuid4().hex[:6]}",
    }
    fields.update(changes)
    return Draft(**fields)


def subject() -> str:
    return f"Charged twice {uuid.uuid4().hex[:8]}"


# -- polling ---------------------------------------------------------------------------------


async def test_a_poll_reads_new_tickets_with_their_first_message_and_requester(
    rt_server: RTServer, admin: Admin
) -> None:
    queue = admin.queue()
    since = datetime.now(UTC) - timedelta(seconds=1)
    plain = admin.create(subject(), "Charged twice, order 1234.", queue=queue)
    html = admin.create(
        "Refund?",
        "<p>Where is my <b>refund</b>?</p><p>Card 4242 4242 4242 4242</p>",
        requestor="Bob Smith <bob@example.com>",
        queue=queue,
        content_type="text/html",
    )
    connector = RequestTracker(settings(rt_server, queue=queue))
    try:
        page = await connector.poll(None, since=since)
    finally:
        await connector.aclose()

    tickets = {t.ticket_id: t for t in page.tickets}
    assert list(tickets) == [plain, html]
    assert tickets[plain].body == "Charged twice, order 1234."
    assert tickets[plain].customer_email == "alice@example.com"
    assert tickets[plain].customer_id == "rt:alice@example.com"
    assert tickets[plain].status == "new"
    assert tickets[plain].channel == "rest"
    assert tickets[plain].priority is None
    assert tickets[html].customer_email == "bob@example.com"
    assert "Where is my refund?" in tickets[html].body
    assert "<b>" not in tickets[html].body
    assert "4242 4242 4242 4242" not in tickets[html].body
    assert page.more is False


async def test_a_poll_pages_through_and_resumes_from_its_cursor(
    rt_server: RTServer, admin: Admin
) -> None:
    queue = admin.queue()
    since = datetime.now(UTC) - timedelta(seconds=1)
    created = [admin.create(subject(), queue=queue) for _ in range(3)]
    connector = RequestTracker(settings(rt_server, queue=queue), page_size=2)
    try:
        first = await connector.poll(None, since=since)
        second = await connector.poll(first.cursor, since=since)
        third = await connector.poll(second.cursor, since=since)
        admin.comment(created[0], "An agent's remark")
        changed = await connector.poll(third.cursor, since=since)
    finally:
        await connector.aclose()

    assert [t.ticket_id for t in first.tickets] == created[:2]
    assert first.more is True
    assert [t.ticket_id for t in second.tickets] == created[2:]
    assert second.more is False
    assert third.tickets == ()
    # A ticket updated after the cursor is read again.
    assert [t.ticket_id for t in changed.tickets] == created[:1]


async def test_a_poll_leaves_out_tickets_last_updated_before_since(
    rt_server: RTServer, admin: Admin
) -> None:
    """RT reads an absolute TicketSQL date in its own time zone (US/Eastern unless set):
    the relative query still draws the line at `since`, to the second RT keeps (a
    ticket updated in `since`'s own second is in)."""
    queue = admin.queue()
    before = admin.create(subject(), queue=queue)
    await asyncio.sleep(2)
    after = admin.create(subject(), queue=queue)
    updated = datetime.fromisoformat(admin.ticket(after)["LastUpdated"])
    since = updated + timedelta(milliseconds=900)
    connector = RequestTracker(settings(rt_server, queue=queue))
    try:
        page = await connector.poll(None, since=since)
    finally:
        await connector.aclose()
    ids = [t.ticket_id for t in page.tickets]
    assert after in ids
    assert before not in ids


async def test_a_poll_reads_no_message_of_a_ticket_in_a_status_not_taken(
    rt_server: RTServer, admin: Admin
) -> None:
    """A first poll reaching back weeks meets many resolved tickets: their first message
    is not read, and the cursor moves past them all the same."""
    queue = admin.queue()
    since = datetime.now(UTC) - timedelta(seconds=1)
    resolved = admin.create(subject(), queue=queue, Status="resolved")
    wanted = admin.create(subject(), queue=queue)
    spent: dict[str, int] = {}
    polled: dict[str, list[str]] = {}
    for name, statuses in (("every", None), ("open", {"new", "open"})):
        connector = RequestTracker(settings(rt_server, queue=queue))
        try:
            page = await connector.poll(None, since=since, statuses=statuses)
            spent[name] = sum(connector.request_counts().values())
            again = await connector.poll(page.cursor, since=since, statuses=statuses)
        finally:
            await connector.aclose()
        polled[name] = [t.ticket_id for t in page.tickets]
        assert again.tickets == ()
    assert admin.ticket(resolved)["Status"] == "resolved"
    assert polled == {"every": [resolved, wanted], "open": [wanted]}
    assert spent["open"] < spent["every"]  # the resolved ticket's first message unread


async def test_a_ticket_whose_last_change_is_our_write_back_is_not_read_again(
    rt: RequestTracker, admin: Admin
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    ticket_id = admin.create(subject())
    first = await rt.poll(None, since=since)
    await rt.write_back(draft(ticket_id), WriteBackMode.NOTE, None)
    after_ours = await rt.poll(first.cursor, since=since)
    # RT keeps LastUpdated to the second: a change within the second of our own
    # write-back looks like it to a poll (harmless here: a ticket is its first message).
    await asyncio.sleep(1.1)
    admin.comment(ticket_id, "The customer called")
    after_theirs = await rt.poll(after_ours.cursor, since=since)

    assert ticket_id in [t.ticket_id for t in first.tickets]
    assert ticket_id not in [t.ticket_id for t in after_ours.tickets]
    assert ticket_id in [t.ticket_id for t in after_theirs.tickets]


async def test_a_field_missing_on_the_ticket_stops_the_write_back_before_it_writes(
    rt_server: RTServer, admin: Admin
) -> None:
    ticket_id = admin.create(subject(), queue=admin.queue())
    connector = RequestTracker(settings(rt_server))
    try:
        with pytest.raises(PermanentError, match=f"{CATEGORY_FIELD!r} does not apply"):
            await connector.write_back(draft(ticket_id), WriteBackMode.NOTE, None)
    finally:
        await connector.aclose()
    assert admin.comments(ticket_id) == []


async def test_a_ticket_without_a_requester_is_skipped_and_the_rest_read(
    rt_server: RTServer, admin: Admin
) -> None:
    queue = admin.queue()
    since = datetime.now(UTC) - timedelta(seconds=1)
    nobody = admin.create(subject(), requestor="", queue=queue)
    somebody = admin.create(subject(), queue=queue)
    connector = RequestTracker(settings(rt_server, queue=queue))
    try:
        page = await connector.poll(None, since=since)
        again = await connector.poll(page.cursor, since=since)
    finally:
        await connector.aclose()
    assert [t.ticket_id for t in page.tickets] == [somebody]
    assert nobody not in [t.ticket_id for t in again.tickets]


async def test_a_poll_of_a_queue_it_cannot_see_or_from_a_broken_cursor_is_fatal(
    rt_server: RTServer,
) -> None:
    connector = RequestTracker(settings(rt_server, queue="No such queue"))
    try:
        with pytest.raises(FatalError, match="SeeQueue"):
            await connector.poll(None, since=datetime.now(UTC))
        with pytest.raises(FatalError, match="cursor is unreadable"):
            await connector.poll("{not json", since=datetime.now(UTC))
    finally:
        await connector.aclose()


class SlowProxy:
    """RT behind an HTTP proxy that holds the first ticket search `delay` seconds, as a
    loaded RT would, and notes every search's TicketSQL."""

    def __init__(self, target: str, delay: float) -> None:
        self.target = target
        self.delay = delay
        self.searches: list[str] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._client = httpx.AsyncClient(base_url=target, timeout=60)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner, self.url = await bind(app, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        await self._client.aclose()

    async def _forward(self, request: web.Request) -> web.Response:
        if request.path == "/REST/2.0/tickets":
            self.searches.append(request.query.get("query", ""))
            if len(self.searches) == 1:
                await asyncio.sleep(self.delay)
        answer = await self._client.request(
            request.method,
            request.path_qs,
            content=await request.read(),
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
        )
        headers = {k: v for k, v in answer.headers.items() if k.lower() in _PASSED_ON}
        return web.Response(status=answer.status_code, body=answer.content, headers=headers)


_PASSED_ON = {"content-type", "date", "location"}


async def test_a_slow_search_is_asked_again_reaching_further_back(
    rt_server: RTServer, admin: Admin
) -> None:
    """RT reads "N seconds ago" when the request arrives: an answer slower than the
    overlap may have drawn the line after the cursor, so the poll asks again."""
    queue = admin.queue()
    since = datetime.now(UTC) - timedelta(seconds=1)
    ticket_id = admin.create(subject(), queue=queue)
    proxy = SlowProxy(rt_server.url, delay=OVERLAP_SECONDS)
    await proxy.start()
    connector = RequestTracker(settings(rt_server, url=proxy.url, queue=queue))
    try:
        page = await connector.poll(None, since=since)
    finally:
        await connector.aclose()
        await proxy.stop()
    assert [t.ticket_id for t in page.tickets] == [ticket_id]
    reach = [int(re.findall(r"'(\d+) seconds ago'", query)[0]) for query in proxy.searches]
    assert len(reach) == 2
    assert reach[1] >= reach[0] + OVERLAP_SECONDS


async def test_rt_out_of_reach_is_unavailable(rt_server: RTServer, admin: Admin) -> None:
    ticket_id = admin.create(subject())
    connector = RequestTracker(settings(rt_server, url=f"http://127.0.0.1:{free_port()}"))
    try:
        with pytest.raises(HelpdeskUnavailable):
            await connector.write_back(draft(ticket_id), WriteBackMode.NOTE, None)
        with pytest.raises(HelpdeskUnavailable):
            await connector.poll(None, since=datetime.now(UTC))
    finally:
        await connector.aclose()


async def test_fetch_ticket_reads_one_ticket(rt: RequestTracker, admin: Admin) -> None:
    ticket_id = admin.create("Double charge", "Two charges of 49.99", Priority=80)
    ticket = await rt.fetch_ticket(ticket_id)
    assert (ticket.ticket_id, ticket.subject, ticket.body) == (
        ticket_id,
        "Double charge",
        "Two charges of 49.99",
    )
    assert ticket.priority is Priority.HIGH
    assert ticket.customer_email == "alice@example.com"


# -- writing back -----------------------------------------------------------------------------


async def test_a_draft_becomes_a_comment_and_never_mail_to_the_requester(
    rt: RequestTracker, admin: Admin
) -> None:
    requester = f"carol-{uuid.uuid4().hex[:6]}@example.com"
    ticket_id = admin.create(subject(), requestor=requester)
    mailed_before = admin.mail_to(requester)
    assert mailed_before == 1  # RT's autoreply on create: the outbox sees RT's mail
    written = draft(ticket_id)

    receipt = await rt.write_back(written, WriteBackMode.NOTE, None)

    comments = admin.comments(ticket_id)
    assert [c["id"] for c in comments] == [receipt.note_id]
    assert comments[0]["Creator"]["id"] == SUPPORTER_USER
    content = admin.content(str(receipt.note_id))
    assert "we refunded the second charge of $49.99" in content
    assert marker(written.version) in content
    types = [t["Type"] for t in admin.history(ticket_id)]
    assert "Correspond" not in types
    assert admin.mail_to(requester) == mailed_before
    assert admin.custom_field(ticket_id, CATEGORY_FIELD) == ["double_charge"]
    assert sorted(admin.custom_field(ticket_id, TAGS_FIELD)) == ["billing", "supporter"]
    assert admin.ticket(ticket_id)["Priority"] == "80"


async def test_the_same_version_is_posted_once_even_without_the_receipt(
    rt: RequestTracker, admin: Admin
) -> None:
    ticket_id = admin.create(subject())
    written = draft(ticket_id)
    first = await rt.write_back(written, WriteBackMode.NOTE, None)
    history = len(admin.history(ticket_id))

    again = await rt.write_back(written, WriteBackMode.NOTE, first)
    # A crash after RT took the comment but before the store recorded it.
    lost_receipt = await rt.write_back(written, WriteBackMode.NOTE, None)

    assert again.note_id == lost_receipt.note_id == first.note_id
    assert len(admin.comments(ticket_id)) == 1
    assert len(admin.history(ticket_id)) == history  # no field touched again either


async def test_a_first_try_comments_without_searching_and_a_retry_searches(
    rt: RequestTracker, admin: Admin
) -> None:
    """Nothing came before a write-back's first try: no TransactionSQL search for a
    comment of its own. A retry (a try before it may have commented) searches."""
    warm, first_ticket, retried_ticket = (admin.create(subject()) for _ in range(3))
    await rt.write_back(draft(warm), WriteBackMode.NOTE, None)  # the lookups RT keeps

    def requests() -> int:
        return sum(rt.request_counts().values())

    before = requests()
    await rt.write_back(draft(first_ticket, first_attempt=True), WriteBackMode.NOTE, None)
    first = requests() - before
    before = requests()
    await rt.write_back(draft(retried_ticket), WriteBackMode.NOTE, None)
    retried = requests() - before

    assert len(admin.comments(first_ticket)) == len(admin.comments(retried_ticket)) == 1
    assert retried - first == 1


async def test_a_new_version_adds_a_comment(rt: RequestTracker, admin: Admin) -> None:
    ticket_id = admin.create(subject())
    first = await rt.write_back(draft(ticket_id, "v1"), WriteBackMode.NOTE, None)
    second = await rt.write_back(
        draft(ticket_id, "v2", note="Draft, edited", category="refund_status"),
        WriteBackMode.NOTE,
        first,
    )
    assert second.note_id != first.note_id
    assert [c["id"] for c in admin.comments(ticket_id)] == [first.note_id, second.note_id]
    # RT cannot edit a comment: the new one says which it supersedes.
    superseding = f"supersedes Supporter's earlier note (transaction {first.note_id})"
    assert superseding in admin.content(str(second.note_id))
    assert admin.custom_field(ticket_id, CATEGORY_FIELD) == ["refund_status"]


async def test_a_value_rt_does_not_take_is_a_permanent_error(
    rt: RequestTracker, admin: Admin
) -> None:
    """RT answers 200 to an update it partly refused: the ticket is read back."""
    ticket_id = admin.create(subject())
    with pytest.raises(PermanentError, match=f"did not take {CATEGORY_FIELD}"):
        await rt.write_back(draft(ticket_id, category="Not A Category!"), WriteBackMode.TAGS, None)
    assert admin.custom_field(ticket_id, CATEGORY_FIELD) == []


async def test_a_version_rt_cannot_search_for_is_refused_before_posting(
    rt: RequestTracker, admin: Admin
) -> None:
    ticket_id = admin.create(subject())
    with pytest.raises(PermanentError, match="cannot be searched"):
        await rt.write_back(draft(ticket_id, version="v[1]"), WriteBackMode.NOTE, None)
    assert admin.comments(ticket_id) == []


async def test_tags_are_added_to_the_teams_own(rt: RequestTracker, admin: Admin) -> None:
    ticket_id = admin.create(subject(), CustomFields={TAGS_FIELD: ["vip", "billing"]})
    await rt.write_back(draft(ticket_id), WriteBackMode.TAGS, None)
    assert sorted(admin.custom_field(ticket_id, TAGS_FIELD)) == ["billing", "supporter", "vip"]


async def test_without_a_tags_field_no_tags_are_written(rt_server: RTServer, admin: Admin) -> None:
    ticket_id = admin.create(subject())
    connector = RequestTracker(settings(rt_server, tags_field=""))
    try:
        await connector.write_back(draft(ticket_id), WriteBackMode.TAGS, None)
        results = {r.name: r for r in await connector.check()}
    finally:
        await connector.aclose()
    assert admin.custom_field(ticket_id, TAGS_FIELD) == []
    assert admin.custom_field(ticket_id, CATEGORY_FIELD) == ["double_charge"]
    assert TAGS_FIELD not in results["custom fields"].detail


async def test_tags_mode_writes_no_comment(rt: RequestTracker, admin: Admin) -> None:
    ticket_id = admin.create(subject())
    receipt = await rt.write_back(
        draft(ticket_id, note=None, priority=Priority.URGENT), WriteBackMode.TAGS, None
    )
    assert receipt.note_id is None
    assert admin.comments(ticket_id) == []
    assert admin.ticket(ticket_id)["Priority"] == "100"
    assert admin.custom_field(ticket_id, CATEGORY_FIELD) == ["double_charge"]


async def test_a_public_reply_is_refused_before_any_request(rt: RequestTracker) -> None:
    with pytest.raises(PermanentError, match="never"):
        await rt.write_back(draft("1", public=True), WriteBackMode.AFTER_REVIEW, None)
    assert sum(rt.http.stats.values()) == 0


async def test_a_ticket_deleted_in_rt_gets_no_comment_and_no_fields(
    rt: RequestTracker, admin: Admin
) -> None:
    """Deleted while its draft awaited review: RT still answers the ticket (Status
    "deleted"); the write-back is refused, naming why, before anything is written."""
    ticket_id = admin.create(subject())
    answer = admin.http.delete(f"/ticket/{ticket_id}")
    assert answer.status_code in (200, 204), answer.text
    assert admin.ticket(ticket_id)["Status"] == "deleted"
    history = len(admin.history(ticket_id))

    with pytest.raises(PermanentError, match=f"rt ticket {ticket_id} was deleted in RT"):
        await rt.write_back(draft(ticket_id), WriteBackMode.NOTE, None)

    assert admin.comments(ticket_id) == []
    assert admin.custom_field(ticket_id, CATEGORY_FIELD) == []
    assert len(admin.history(ticket_id)) == history


async def test_an_over_long_first_message_is_cut_at_a_word_and_marked(
    rt: RequestTracker, admin: Admin
) -> None:
    """A first mail over the body limit (a long quoted thread) keeps its start, cut at a
    word, with a line that says it was cut (the review screen shows it)."""
    first = "Charged twice for order 1234, please refund one."
    quoted = " ".join(f"quoted-{n}" for n in range(6_000))
    ticket_id = admin.create(subject(), f"{first}\n\n{quoted}")
    body = (await rt.fetch_ticket(ticket_id)).body
    kept, notice = body.split("\n\n" + CUT_NOTICE)
    assert body.startswith(first)
    assert FieldLimits().body - 200 < len(body) <= FieldLimits().body
    whole = f"{first}\n\n{quoted}"
    assert whole.startswith(kept)
    assert whole[len(kept)] == " "  # cut at a word
    assert "over the limit of 20,000" in notice


async def test_an_unknown_ticket_is_a_permanent_error(rt: RequestTracker) -> None:
    with pytest.raises(PermanentError, match="404"):
        await rt.write_back(draft("987654"), WriteBackMode.NOTE, None)
    with pytest.raises(PermanentError, match="no ticket 987654"):
        await rt.fetch_ticket("987654")
    with pytest.raises(PermanentError, match="not an RT ticket id"):
        await rt.fetch_ticket("1 OR 1=1")


@pytest.mark.parametrize(
    "credentials",
    [
        {"token": None, "user": SUPPORTER_USER, "password": WRONG_PASSWORD},
        {"token": f"1-27-{WRONG_PASSWORD.encode().hex()[:32]}"},
    ],
    ids=["password", "token"],
)
async def test_bad_credentials_are_fatal_and_never_shown(
    rt_server: RTServer, admin: Admin, credentials: dict[str, Any]
) -> None:
    ticket_id = admin.create(subject())
    connector = RequestTracker(settings(rt_server, **credentials))
    secret = credentials.get("password") or credentials["token"]
    try:
        with pytest.raises(FatalError) as raised:
            await connector.write_back(draft(ticket_id), WriteBackMode.NOTE, None)
        with pytest.raises(FatalError) as polled:
            await connector.poll(None, since=datetime.now(UTC))
        results = await connector.check()
    finally:
        await connector.aclose()
    for error in (raised.value, polled.value):
        assert "401" in str(error)
        assert secret not in str(error)
        assert secret not in repr(error)
    assert [(r.name, r.ok) for r in results] == [("credentials", False)]
    assert all(secret not in r.detail for r in results)
    assert admin.comments(ticket_id) == []


async def test_a_user_without_the_rights_is_told_which(rt_server: RTServer, admin: Admin) -> None:
    ticket_id = admin.create(subject())
    connector = RequestTracker(
        settings(rt_server, token=None, user=READER_USER, password=READER_PASSWORD)
    )
    try:
        with pytest.raises(FatalError, match="CommentOnTicket"):
            await connector.write_back(draft(ticket_id), WriteBackMode.NOTE, None)
        with pytest.raises(FatalError, match="ModifyTicket"):
            await connector.write_back(draft(ticket_id, note=None), WriteBackMode.TAGS, None)
        results = {r.name: r for r in await connector.check()}
    finally:
        await connector.aclose()
    assert results["credentials"].ok
    assert results["custom fields"].ok
    assert not results["rights"].ok
    assert "CommentOnTicket and ModifyTicket" in results["rights"].detail
    assert admin.comments(ticket_id) == []
    assert admin.custom_field(ticket_id, CATEGORY_FIELD) == []


# -- check ----------------------------------------------------------------------------------


async def test_check_passes_on_a_queue_set_up_for_supporter(
    rt: RequestTracker, rt_server: RTServer, admin: Admin
) -> None:
    admin.create(subject())
    results = await rt.check()
    assert all(r.ok for r in results), results
    names = [r.name for r in results]
    assert names == ["credentials", "queue", "custom fields", "rights", "webhooks", "rate limit"]
    assert f"user {SUPPORTER_USER}" in results[0].detail
    assert all(rt_server.template.token not in r.detail for r in results)


async def test_check_names_what_is_missing(rt_server: RTServer, admin: Admin) -> None:
    bare = admin.queue()
    found: dict[str, dict[str, Any]] = {}
    for queue in (bare, "No such queue"):
        connector = RequestTracker(
            settings(
                rt_server, token=None, user=SUPPORTER_USER, password=SUPPORTER_PASSWORD, queue=queue
            )
        )
        try:
            found[queue] = {r.name: r for r in await connector.check()}
        finally:
            await connector.aclose()
        details = " ".join(r.detail for r in found[queue].values())
        assert SUPPORTER_PASSWORD not in details
        assert found[queue]["credentials"].ok

    assert found[bare]["queue"].ok
    assert not found[bare]["custom fields"].ok
    assert CATEGORY_FIELD in found[bare]["custom fields"].detail
    assert TAGS_FIELD in found[bare]["custom fields"].detail
    assert not found["No such queue"]["queue"].ok
    assert "SeeQueue" in found["No such queue"]["queue"].detail
    assert "custom fields" not in found["No such queue"]


async def test_rt_sends_no_webhooks(rt: RequestTracker) -> None:
    request = WebhookRequest(headers={}, body=b"{}", received_at=datetime.now(UTC))
    with pytest.raises(WebhookRejected) as raised:
        rt.verify_webhook(request)
    assert raised.value.reason == "not_supported"
    with pytest.raises(WebhookRejected):
        rt.parse_webhook(request)


# -- configuration --------------------------------------------------------------------------


def test_the_registry_configures_it_from_the_environment(rt_server: RTServer) -> None:
    connector = registry.connect(
        "rt",
        {
            "SUPPORTER_RT_URL": rt_server.url,
            "SUPPORTER_RT_USER": SUPPORTER_USER,
            "SUPPORTER_RT_PASSWORD": SUPPORTER_PASSWORD,
            "SUPPORTER_RT_QUEUE": QUEUE,
        },
    )
    assert isinstance(connector, RequestTracker)


@pytest.mark.parametrize(
    ("environment", "problem"),
    [
        ({"SUPPORTER_RT_USER": "supporter"}, "SUPPORTER_RT_TOKEN"),
        ({"SUPPORTER_RT_TOKEN": "1-2-x", "SUPPORTER_RT_PASSWORD": "pw"}, "not both"),
    ],
)
def test_credentials_that_cannot_work_are_refused(
    environment: dict[str, str], problem: str
) -> None:
    base = {"SUPPORTER_RT_URL": "http://rt.invalid", "SUPPORTER_RT_QUEUE": "General"}
    with pytest.raises(registry.HelpdeskConfigError, match=problem) as raised:
        registry.connect("rt", {**base, **environment})
    assert "pw" not in str(raised.value)


def test_a_missing_queue_names_the_variable() -> None:
    with pytest.raises(registry.HelpdeskConfigError, match="SUPPORTER_RT_QUEUE"):
        registry.connect("rt", {"SUPPORTER_RT_URL": "http://rt.invalid", "SUPPORTER_RT_TOKEN": "t"})


# -- through the pipeline and the store: a restart mid-run --------------------------------------


class KilledAfterWriting(RequestTracker):
    """The connector of a process that is killed right after RT took the comment,
    before the write-back stage could record it: the run is cancelled there."""

    run: asyncio.Task[Any] | None = None

    async def write_back(
        self, draft: Draft, mode: WriteBackMode, previous: WriteReceipt | None
    ) -> WriteReceipt:
        await super().write_back(draft, mode, previous)
        assert self.run is not None
        self.run.cancel()
        await asyncio.Event().wait()
        raise AssertionError("not reached")


def pipeline_of(store: SqlStore, connect: Callable[[], RequestTracker]) -> Pipeline:
    setup = WriteBackSetup(
        route=WriteBackRoute("rt", WriteBackMode.NOTE),
        state=SqlHelpdeskState(store.engine),
        connect=connect,
        concurrency=1,
    )
    return Pipeline(
        MemoryBroker(maxsize=16),
        store,
        OfflineProvider(DEFAULT_TAXONOMY),
        DEFAULT_TAXONOMY,
        [],
        PipelineOptions(force=True, shutdown_timeout=5),
        transactions=SqlTransactionIndex(store.engine),
        write_back=setup,
    )


class Polled:
    def __init__(self, tickets: Sequence[Ticket]) -> None:
        self._tickets = tickets

    async def tickets(self, on_reject: object) -> AsyncIterator[Ticket]:
        for each in self._tickets:
            yield each


async def test_a_restart_after_the_comment_posts_no_second_one(
    rt_server: RTServer, admin: Admin, tmp_path: Path
) -> None:
    """Polled, classified and commented through the pipeline; the first run dies once
    RT took the comment and before the store recorded it; the run after it does the
    ticket again and finds the comment instead of posting another."""
    requester = f"dave-{uuid.uuid4().hex[:6]}@example.com"
    since = datetime.now(UTC) - timedelta(seconds=1)
    ticket_id = admin.create(
        subject(), "I was charged twice for my order, please refund one.", requestor=requester
    )
    polling = RequestTracker(settings(rt_server))
    try:
        page = await polling.poll(None, since=since)
    finally:
        await polling.aclose()
    # Other tests' tickets share the queue: this test follows its own.
    polled = [t for t in page.tickets if t.ticket_id == ticket_id]
    assert len(polled) == 1

    store = await SqlStore.open(sqlite_url(tmp_path / "store.db"))
    try:
        await SqlHelpdeskState(store.engine).receive("rt", polled)
        dying = KilledAfterWriting(settings(rt_server))
        killed = pipeline_of(store, lambda: dying)
        dying.run = asyncio.create_task(killed.run(Polled(polled), None, lambda reject: None))
        async with asyncio.timeout(60):
            with pytest.raises(asyncio.CancelledError):
                await dying.run
        assert len(admin.comments(ticket_id)) == 1
        record = await SqlHelpdeskState(store.engine).write_back("rt", ticket_id)
        assert record is not None
        assert record.note_id is None  # the store never heard of the comment

        restarted = pipeline_of(store, lambda: RequestTracker(settings(rt_server)))
        async with asyncio.timeout(60):
            report = await restarted.run(Polled(polled), None, lambda reject: None)
        record = await SqlHelpdeskState(store.engine).write_back("rt", ticket_id)
    finally:
        await store.close()

    comments = admin.comments(ticket_id)
    assert len(comments) == 1
    assert record is not None
    assert (record.status, record.note_id) == ("written", comments[0]["id"])
    assert "Draft by Supporter" in admin.content(comments[0]["id"])
    assert "Correspond" not in [t["Type"] for t in admin.history(ticket_id)]
    assert admin.mail_to(requester) == 1  # the autoreply on create, nothing after
    assert report.exit_code == 0


async def test_a_restart_resumes_polling_from_the_stored_cursor(
    rt_server: RTServer, admin: Admin, tmp_path: Any
) -> None:
    queue = admin.queue()
    since = datetime.now(UTC) - timedelta(seconds=1)
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    first_ticket = admin.create(subject(), queue=queue)

    store = await SqlStore.open(url)
    connector = RequestTracker(settings(rt_server, queue=queue))
    page = await connector.poll(await SqlHelpdeskState(store.engine).cursor("rt"), since=since)
    await SqlHelpdeskState(store.engine).save_cursor("rt", page.cursor)
    await connector.aclose()
    await store.close()

    second_ticket = admin.create(subject(), queue=queue)
    store = await SqlStore.open(url)
    connector = RequestTracker(settings(rt_server, queue=queue))
    try:
        cursor = await SqlHelpdeskState(store.engine).cursor("rt")
        resumed = await connector.poll(cursor, since=since)
    finally:
        await connector.aclose()
        await store.close()

    assert [t.ticket_id for t in page.tickets] == [first_ticket]
    assert [t.ticket_id for t in resumed.tickets] == [second_ticket]


# -- supporter serve: polled, commented, killed and started again ------------------------------


@contextlib.contextmanager
def serving(rt_server: RTServer, folder: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`supporter serve --helpdesk rt --write-back note` polling the serve queue every
    second, on the store in `folder`; the caller may kill it."""
    port = free_port()
    environment = {
        **os.environ,
        "SUPPORTER_RT_URL": rt_server.url,
        "SUPPORTER_RT_TOKEN": rt_server.template.token,
        "SUPPORTER_RT_QUEUE": SERVE_QUEUE,
    }
    command = [*SUPPORTER, "serve", "--port", str(port), "--db", str(folder / "store.db")]
    options = ["--helpdesk", "rt", "--write-back", "note", "--poll-interval", "1"]
    with (folder / "serve.log").open("ab") as log:
        process = subprocess.Popen(
            [*command, *options], cwd=folder, env=environment, stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 90
        while not _healthy(port):
            assert process.poll() is None, (folder / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "supporter serve did not start"
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_for(what: str, done: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"waited {timeout:g} s for {what}"
        time.sleep(0.5)


def _cursor(folder: Path) -> dict[str, Any] | None:
    async def read() -> str | None:
        store = await SqlStore.open(sqlite_url(folder / "store.db"))
        try:
            return await SqlHelpdeskState(store.engine).cursor("rt")
        finally:
            await store.close()

    cursor = asyncio.run(read())
    return None if cursor is None else dict(json.loads(cursor))


def test_serve_comments_each_ticket_once_across_a_kill_and_a_restart(
    rt_server: RTServer, admin: Admin, tmp_path: Path
) -> None:
    requesters = [f"erin-{uuid.uuid4().hex[:6]}@example.com" for _ in range(2)]
    tickets = [
        admin.create(
            subject(), "I was charged twice for order 1234.", requestor=r, queue=SERVE_QUEUE
        )
        for r in requesters
    ]

    def ours(ticket_id: str) -> list[dict[str, Any]]:
        return [c for c in admin.comments(ticket_id) if c["Creator"]["id"] == SUPPORTER_USER]

    with serving(rt_server, tmp_path) as first:
        _wait_for("a comment on each ticket", lambda: all(ours(t) for t in tickets))
        first.kill()  # no shutdown: whatever was in flight stays as it was
        first.wait()

    # The customer writes again: the restarted process polls the ticket once more.
    admin.comment(tickets[0], "Any news?")
    changed = admin.ticket(tickets[0])["LastUpdated"]
    with serving(rt_server, tmp_path):
        _wait_for(
            "the poll to pass the customer's new message",
            lambda: (
                (cursor := _cursor(tmp_path)) is not None
                and cursor["updated"] >= datetime.fromisoformat(changed).isoformat()
            ),
        )
        time.sleep(3)  # a few more polls and write-backs, had there been any

    for ticket_id, requester in zip(tickets, requesters, strict=True):
        assert len(ours(ticket_id)) == 1
        assert admin.custom_field(ticket_id, CATEGORY_FIELD) != []
        assert "Correspond" not in [t["Type"] for t in admin.history(ticket_id)]
        assert admin.mail_to(requester) == 1  # RT's autoreply on create, nothing after
