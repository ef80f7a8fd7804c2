"""End to end: a Zendesk webhook for a new ticket → analysis → draft → internal note on the
simulated Zendesk, as `supporter serve --helpdesk zendesk --write-back note` runs it (a
process of its own, with its defaults: the offline model, SQLite, the in-memory broker),
with the trace and the metrics showing each step; and the catch-up poll bringing tickets
no webhook announced."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx

from supporter.testing.fake_zendesk import (
    DEFAULT_EMAIL,
    DEFAULT_TOKEN,
    FakeZendesk,
    signed_webhook,
    trigger_body,
)
from supporter.testing.otlp import OtlpReceiver, ReceivedSpan
from supporter.testing.serve import serve_process

SECRET = "zendesk-e2e-signing-secret"
CARD = "4111 1111 1111 1111"


@contextlib.contextmanager
def serving_in_thread(server: FakeZendesk) -> Iterator[str]:
    """The simulator on an event loop of its own while this (blocking) test runs."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _notes(server: FakeZendesk, ticket: int) -> list[dict[str, object]]:
    return [c for c in list(server.comments[ticket]) if c["public"] is False]


def _metric(text: str, name: str, **labels: str) -> float:
    shown = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    found = re.search(rf"^{name}\{{{re.escape(shown)}\}} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def _environment(zendesk_url: str, category_field: int, receiver: OtlpReceiver) -> dict[str, str]:
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith("OTEL_")},
        "SUPPORTER_ZENDESK_URL": zendesk_url,
        "SUPPORTER_ZENDESK_EMAIL": DEFAULT_EMAIL,
        "SUPPORTER_ZENDESK_TOKEN": DEFAULT_TOKEN,
        "SUPPORTER_ZENDESK_WEBHOOK_SECRET": SECRET,
        "SUPPORTER_ZENDESK_CATEGORY_FIELD": str(category_field),
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }


def test_a_webhook_for_a_new_ticket_ends_as_an_internal_note_traced_and_counted(
    tmp_path: Path,
) -> None:
    server = FakeZendesk()
    category_field = server.add_ticket_field("Supporter category")
    ticket = server.add_ticket(
        "Charged twice this month",
        f"Hello, my card {CARD} was charged twice for my subscription. Please refund one.",
        requester_email="ann@example.com",
        tags=["vip"],
    )
    body = trigger_body(ticket)
    with OtlpReceiver() as receiver, serving_in_thread(server) as zendesk_url:
        env = _environment(zendesk_url, category_field, receiver)
        arguments = ("--db", str(tmp_path / "serve.db"), "--helpdesk", "zendesk")
        arguments += ("--write-back", "note", "--poll-interval", "0")
        with serve_process(tmp_path, env, *arguments) as url:
            hook = f"{url}/webhooks/zendesk"
            forged = signed_webhook("not-the-secret", body)
            assert httpx.post(hook, content=body, headers=forged).status_code == 401
            headers = signed_webhook(SECRET, body, invocation_id="8350205582")
            # A delivery is answered 200 once taken, or 202 when fetching its ticket takes
            # over three seconds (helpdesks do not wait long): a loaded machine can give
            # either, so Zendesk is made slow for this one and the test waits for the note.
            server.config.faults.latency = 3.5
            taken = httpx.post(hook, content=body, headers=headers, timeout=30)
            server.config.faults.latency = 0.0
            assert (taken.status_code, taken.json()) == (202, {"outcome": "accepted"})
            again = httpx.post(hook, content=body, headers=headers)
            assert again.json() == {"outcome": "duplicate"}

            deadline = time.monotonic() + 60
            while not _notes(server, ticket) and time.monotonic() < deadline:
                time.sleep(0.2)
            metrics = ""
            written = 0.0
            while written < 1 and time.monotonic() < deadline:
                metrics = httpx.get(f"{url}/metrics").text
                written = _metric(
                    metrics,
                    "supporter_helpdesk_write_backs_total",
                    helpdesk="zendesk",
                    outcome="written",
                )
                time.sleep(0.1)
        spans = receiver.received()

    # In Zendesk: one internal note, masked, and the classification beside the team's tag.
    [note] = _notes(server, ticket)
    text = str(note["body"])
    assert "not sent to the customer" in text
    assert CARD not in text
    state = server.tickets[ticket]
    assert state["tags"][0] == "vip"
    assert "supporter" in state["tags"]
    assert any(str(tag).startswith("supporter_draft_") for tag in state["tags"])
    assert server.custom_field(ticket, category_field)
    assert server.log.outcomes[429] == 0

    # The metrics: the webhook taken once, the forged one refused, one note written.
    assert written == 1
    labels = {"helpdesk": "zendesk"}
    assert _metric(metrics, "supporter_helpdesk_webhooks_total", **labels, outcome="accepted") == 1
    assert _metric(metrics, "supporter_helpdesk_webhooks_total", **labels, outcome="duplicate") == 1
    rejected = _metric(
        metrics, "supporter_helpdesk_webhooks_rejected_total", **labels, reason="bad_signature"
    )
    assert rejected == 1
    assert _metric(metrics, "supporter_helpdesk_requests_total", **labels, outcome="ok") >= 2

    # The trace: webhook → analyze → respond → sink → write-back → the call into Zendesk.
    mine = [s for s in spans if str(s.attributes.get("supporter.ticket_id")) == str(ticket)]
    assert len({s.trace_id for s in mine}) == 1, mine
    by_name: dict[str, ReceivedSpan] = {s.name: s for s in mine}
    chain = ["webhook", "analyze", "respond", "sink", "write-back", "zendesk write-back"]
    assert [name for name in chain if name in by_name] == chain, sorted(by_name)
    for parent, child in itertools.pairwise(chain):
        assert by_name[child].parent_id == by_name[parent].span_id, (parent, child)
    call = by_name["zendesk write-back"]
    assert call.attributes["supporter.helpdesk"] == "zendesk"
    assert call.attributes["supporter.write_back.mode"] == "note"
    assert by_name["write-back"].attributes["supporter.write_back.outcome"] == "written"


def test_the_catch_up_poll_brings_tickets_no_webhook_announced(tmp_path: Path) -> None:
    server = FakeZendesk()
    category_field = server.add_ticket_field("Supporter category")
    hour_ago = time.time() - 3600
    tickets = [
        server.add_ticket(subject, text, requester_email=email, updated_at=hour_ago + n)
        for n, (subject, text, email) in enumerate(
            [
                ("Refund please", "I was charged twice, refund one.", "ann@example.com"),
                ("Where is my invoice", "I need the invoice for May.", "bob@example.com"),
            ]
        )
    ]
    solved = server.add_ticket("Thanks", "All good now", status="solved", updated_at=hour_ago)
    with OtlpReceiver() as receiver, serving_in_thread(server) as zendesk_url:
        env = _environment(zendesk_url, category_field, receiver)
        arguments = ("--db", str(tmp_path / "serve.db"), "--helpdesk", "zendesk")
        arguments += ("--write-back", "note", "--poll-interval", "1")
        with serve_process(tmp_path, env, *arguments):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(_notes(server, t) for t in tickets):
                time.sleep(0.2)
            time.sleep(1.5)  # a few more polls: nothing more may be written
        spans = receiver.received()

    assert [len(_notes(server, t)) for t in tickets] == [1, 1]
    assert _notes(server, solved) == []  # not an open ticket: neither analysed nor written
    exports = [a for a in server.log.answered if "incremental" in a.path]
    assert exports
    assert all(a.status == 200 for a in exports)
    for ticket in tickets:
        names = {
            s.name for s in spans if str(s.attributes.get("supporter.ticket_id")) == str(ticket)
        }
        assert {"poll", "analyze", "respond", "sink", "write-back"} <= names, names
