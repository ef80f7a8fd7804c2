"""The Help Scout simulator answers as Help Scout's API documentation says, over plain HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx2 as httpx
import pytest

from supporter.testing.fake_helpscout import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    FakeHelpScout,
    FakeHelpScoutConfig,
)


@pytest.fixture
async def api() -> AsyncIterator[tuple[FakeHelpScout, httpx.AsyncClient]]:
    server = FakeHelpScout(FakeHelpScoutConfig(per_minute=240))
    for number in range(30):
        server.add_conversation(f"T{number}", "text", f"c{number}@example.com")
    async with server as url, httpx.AsyncClient(base_url=url) as client:
        token = await client.post(
            "/v2/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
            },
        )
        assert token.json()["expires_in"] == 172800
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield server, client


async def test_a_wrong_secret_gets_no_token_and_no_token_no_answer(
    api: tuple[FakeHelpScout, httpx.AsyncClient],
) -> None:
    server, client = api
    refused = await client.post(
        "/v2/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": "x",
        },
    )
    assert refused.status_code == 401
    assert (await client.get("/v2/users/me")).status_code == 200
    server.expire_tokens()
    assert (await client.get("/v2/users/me")).status_code == 401


async def test_writes_count_twice_and_a_burst_meets_429_with_its_header(
    api: tuple[FakeHelpScout, httpx.AsyncClient],
) -> None:
    server, client = api
    # 240 a minute is four a second: two writes spend it, a third waits.
    answers = [
        await client.put(f"/v2/conversations/{conversation}/tags", json={"tags": ["a"]})
        for conversation in list(server.conversations)[:3]
    ]
    assert [answer.status_code for answer in answers] == [204, 204, 429]
    assert int(answers[2].headers["X-RateLimit-Retry-After"]) >= 1
    assert "Retry-After" not in answers[2].headers
    assert answers[1].headers["X-RateLimit-Remaining-Minute"] == "236"


async def test_the_list_pages_by_25_with_hal_links(
    api: tuple[FakeHelpScout, httpx.AsyncClient],
) -> None:
    _, client = api
    first = (await client.get("/v2/conversations", params={"sortOrder": "asc"})).json()
    assert len(first["_embedded"]["conversations"]) == 25
    assert first["page"] == {"size": 25, "totalElements": 30, "totalPages": 2, "number": 1}
    await asyncio.sleep(0.3)
    second = (await client.get(first["_links"]["next"]["href"])).json()
    assert [c["subject"] for c in second["_embedded"]["conversations"]] == [
        f"T{n}" for n in range(25, 30)
    ]
    assert "next" not in second["_links"]
    assert "_embedded" not in second["_embedded"]["conversations"][0]
