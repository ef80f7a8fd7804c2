"""The Freshdesk simulator answers as Freshdesk's API documentation says, over plain HTTP."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import httpx2 as httpx
import pytest

from supporter.testing.fake_freshdesk import DEFAULT_API_KEY, FakeFreshdesk, FakeFreshdeskConfig

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{DEFAULT_API_KEY}:X".encode()).decode()}


@pytest.fixture
async def api() -> AsyncIterator[tuple[FakeFreshdesk, httpx.AsyncClient]]:
    server = FakeFreshdesk(
        FakeFreshdeskConfig(per_minute=120, endpoint_limits={"tickets_list": 60})
    )
    for number in range(5):
        server.add_ticket(f"T{number}", "text", f"c{number}@example.com")
    async with server as url, httpx.AsyncClient(base_url=url, headers=AUTH) as client:
        yield server, client


async def test_no_key_is_401_and_a_burst_is_429_with_retry_after(
    api: tuple[FakeFreshdesk, httpx.AsyncClient],
) -> None:
    server, client = api
    refused = await client.get("/api/v2/tickets/1", headers={"Authorization": ""})
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_credentials"
    answers = await asyncio.gather(*(client.get("/api/v2/ticket_fields") for _ in range(6)))
    statuses = [answer.status_code for answer in answers]
    # 120 a minute is two a second: a burst of six gets four 429s, not six 200s.
    assert statuses.count(200) == 2
    limited = next(answer for answer in answers if answer.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Total"] == "120"
    assert int(limited.headers["X-RateLimit-Remaining"]) == 118
    await asyncio.sleep(1.0)
    assert (await client.get("/api/v2/ticket_fields")).status_code == 200
    assert server.log.outcomes[429] == 4


async def test_the_ticket_list_pages_by_link_and_charges_its_includes(
    api: tuple[FakeFreshdesk, httpx.AsyncClient],
) -> None:
    _, client = api
    too_many = await client.get("/api/v2/tickets", params={"per_page": 101})
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["field"] == "per_page"
    await asyncio.sleep(1.0)
    first = await client.get(
        "/api/v2/tickets",
        params={
            "per_page": 2,
            "order_by": "updated_at",
            "order_type": "asc",
            "include": "requester",
        },
    )
    assert [ticket["subject"] for ticket in first.json()] == ["T0", "T1"]
    assert first.json()[0]["requester"]["email"] == "c0@example.com"
    assert "description" not in first.json()[0]
    assert first.headers["X-RateLimit-Used-CurrentRequest"] == "3"
    following = first.headers["link"].split(">")[0].lstrip("<")
    # Three credits from a budget of two a second: the next list waits for the refill.
    assert (await client.get(following)).status_code == 429
    await asyncio.sleep(2.0)
    second = await client.get(following)
    assert [ticket["subject"] for ticket in second.json()] == ["T2", "T3"]
