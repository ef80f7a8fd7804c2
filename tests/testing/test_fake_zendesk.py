"""The Zendesk simulator answers as Zendesk's documentation says, over plain HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2 as httpx
import pytest

from supporter.testing.fake_zendesk import (
    DEFAULT_EMAIL,
    DEFAULT_TOKEN,
    FakeZendesk,
    FakeZendeskConfig,
    signed_webhook,
    trigger_body,
)

AUTH = httpx.BasicAuth(f"{DEFAULT_EMAIL}/token", DEFAULT_TOKEN)


@pytest.fixture
async def zendesk() -> AsyncIterator[tuple[FakeZendesk, httpx.AsyncClient]]:
    config = FakeZendeskConfig(
        export_lag_seconds=0, account_limit=None, update_limit=None, export_limit=None
    )
    server = FakeZendesk(config)
    async with server as url, httpx.AsyncClient(base_url=url, auth=AUTH) as client:
        yield server, client


async def test_only_the_email_token_pair_is_let_in(
    zendesk: tuple[FakeZendesk, httpx.AsyncClient],
) -> None:
    _, client = zendesk
    assert (await client.get("/api/v2/users/me.json")).json()["user"]["role"] == "admin"
    for auth in (
        httpx.BasicAuth(DEFAULT_EMAIL, DEFAULT_TOKEN),  # a token needs the /token suffix
        httpx.BasicAuth(f"{DEFAULT_EMAIL}/token", "wrong"),
    ):
        answer = await client.get("/api/v2/users/me.json", auth=auth)
        assert answer.status_code == 401
        assert answer.json() == {"error": "Couldn't authenticate you"}


async def test_an_update_adds_an_internal_comment_and_replaces_tags(
    zendesk: tuple[FakeZendesk, httpx.AsyncClient],
) -> None:
    server, client = zendesk
    ticket = server.add_ticket("Charged twice", "body", tags=["vip"])
    answer = await client.put(
        f"/api/v2/tickets/{ticket}.json",
        json={"ticket": {"comment": {"body": "note", "public": False}, "tags": ["a"]}},
    )
    assert answer.status_code == 200
    audit = answer.json()["audit"]
    comment = (await client.get(f"/api/v2/tickets/{ticket}/comments.json")).json()["comments"][-1]
    assert audit["events"][0]["id"] == comment["id"]
    assert (comment["body"], comment["public"]) == ("note", False)
    assert answer.json()["ticket"]["tags"] == ["a"]
    stale = answer.json()["ticket"]["updated_at"]
    server.update_ticket(ticket, priority="low")
    conflict = await client.put(
        f"/api/v2/tickets/{ticket}.json",
        json={"ticket": {"priority": "high", "safe_update": True, "updated_stamp": stale}},
    )
    assert conflict.status_code == 409
    invalid = await client.put(
        f"/api/v2/tickets/{ticket}.json", json={"ticket": {"priority": "p1"}}
    )
    assert invalid.status_code == 422
    assert invalid.json()["error"] == "RecordInvalid"
    server.update_ticket(ticket, status="closed")
    locked = await client.put(f"/api/v2/tickets/{ticket}.json", json={"ticket": {"tags": []}})
    assert locked.status_code == 422
    missing = await client.get("/api/v2/tickets/1.json")
    assert (missing.status_code, missing.json()["error"]) == (404, "RecordNotFound")


async def test_comments_are_listed_newest_first_in_pages_when_asked(
    zendesk: tuple[FakeZendesk, httpx.AsyncClient],
) -> None:
    server, client = zendesk
    ticket = server.add_ticket("Charged twice", "body")
    agent = server.add_user("agent@example.com", "Agent", role="agent")
    note = server.add_comment(ticket, "an agent's note", author=agent, public=False)
    reply = server.add_comment(ticket, "the customer again")
    path = f"/api/v2/tickets/{ticket}/comments.json"
    oldest = (await client.get(path)).json()
    assert [c["body"] for c in oldest["comments"]] == [
        "body",
        "an agent's note",
        "the customer again",
    ]
    first = (await client.get(path, params={"sort_order": "desc", "per_page": 2})).json()
    assert [c["id"] for c in first["comments"]] == [reply, note]
    assert (first["comments"][1]["author_id"], first["comments"][1]["public"]) == (agent, False)
    assert first["comments"][0]["author_id"] == server.tickets[ticket]["requester_id"]
    assert first["count"] == 3
    assert first["next_page"].endswith(f"{path}?sort_order=desc&per_page=2&page=2")
    last = (await client.get(first["next_page"])).json()
    assert [c["body"] for c in last["comments"]] == ["body"]
    assert last["next_page"] is None


async def test_the_cursor_export_pages_with_side_loaded_users(
    zendesk: tuple[FakeZendesk, httpx.AsyncClient],
) -> None:
    server, client = zendesk
    server.config.export_page_size = 2
    past = time.time() - 600
    ids = [server.add_ticket(f"t{n}", "b", updated_at=past + n) for n in range(3)]
    first = (
        await client.get(
            "/api/v2/incremental/tickets/cursor.json",
            params={"start_time": int(past) - 1, "include": "users"},
        )
    ).json()
    assert [t["id"] for t in first["tickets"]] == ids[:2]
    assert first["end_of_stream"] is False
    assert {u["id"] for u in first["users"]} == {t["requester_id"] for t in first["tickets"]}
    second = (await client.get(first["after_url"])).json()
    assert [t["id"] for t in second["tickets"]] == ids[2:]
    assert second["end_of_stream"] is True
    too_recent = await client.get(
        "/api/v2/incremental/tickets/cursor.json", params={"start_time": int(time.time())}
    )
    assert too_recent.status_code == 400


async def test_over_the_export_limit_is_a_429_with_retry_after(
    zendesk: tuple[FakeZendesk, httpx.AsyncClient],
) -> None:
    server, client = zendesk
    server.config.export_limit = 10  # one every 6 s, over short intervals
    server.config.update_limit = 100
    params: dict[str, Any] = {"start_time": int(time.time()) - 3600}
    path = "/api/v2/incremental/tickets/cursor.json"
    assert (await client.get(path, params=params)).status_code == 200
    refused = await client.get(path, params=params)
    assert refused.status_code == 429
    assert 5 <= int(refused.headers["Retry-After"]) <= 6
    # The update limit is counted apart: a ticket update still goes through.
    ticket = server.add_ticket("t", "b")
    assert (
        await client.put(f"/api/v2/tickets/{ticket}.json", json={"ticket": {"priority": "low"}})
    ).status_code == 200
    assert server.log.max_429_in_a_row == 1


def test_webhook_signatures_follow_the_documented_formula() -> None:
    body = trigger_body(35436)
    headers = signed_webhook("secret", body, timestamp="2021-03-25T05:09:27Z")
    expected = base64.b64encode(
        hmac.new(b"secret", b"2021-03-25T05:09:27Z" + body, hashlib.sha256).digest()
    ).decode()
    assert headers["X-Zendesk-Webhook-Signature"] == expected
    assert body == b'{"ticket_id": "35436"}'


async def test_injected_failures_and_outages(
    zendesk: tuple[FakeZendesk, httpx.AsyncClient],
) -> None:
    server, client = zendesk
    server.config.faults.error_rates = {429: 1.0}
    limited = await client.get("/api/v2/users/me.json")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "1")
    # Authentication comes before an injected 429, as before a real one.
    assert (await client.get("/api/v2/users/me.json", auth=None)).status_code == 401
    server.config.faults.error_rates = {}
    server.config.faults.outage = 503
    assert (await client.get("/api/v2/users/me.json")).status_code == 503
