"""The Stripe simulator answers as Stripe's API reference says, over plain HTTP."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import aiohttp
import pytest

from supporter.testing.fake_stripe import DEFAULT_API_KEY, FakeStripe, FakeStripeConfig

BEARER = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}


@pytest.fixture
async def stripe_api() -> AsyncIterator[tuple[FakeStripe, str]]:
    server = FakeStripe(FakeStripeConfig(rate=3, search_rate=2))
    for number in range(3):
        server.add_customer("Same@Example.com", name=f"n{number}")
    async with server as url:
        yield server, url


async def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, await response.json()


async def test_no_key_and_a_wrong_key_are_401_with_stripe_error_objects(
    stripe_api: tuple[FakeStripe, str],
) -> None:
    _, url = stripe_api
    status, body = await _get(f"{url}/v1/customers")
    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "did not provide an API key" in body["error"]["message"]  # type: ignore[index]
    status, body = await _get(f"{url}/v1/customers", {"Authorization": "Bearer sk_test_nope_1234"})
    assert status == 401
    assert body["error"]["code"] == "api_key_invalid"  # type: ignore[index]
    assert "sk_test_nope_1234" not in body["error"]["message"]  # type: ignore[index]


async def test_basic_auth_with_the_key_as_user_name_is_accepted(
    stripe_api: tuple[FakeStripe, str],
) -> None:
    _, url = stripe_api
    user = base64.b64encode(f"{DEFAULT_API_KEY}:".encode()).decode()
    status, body = await _get(f"{url}/v1/customers", {"Authorization": f"Basic {user}"})
    assert (status, body["object"]) == (200, "list")


async def test_lists_page_with_starting_after_and_refuse_bad_parameters(
    stripe_api: tuple[FakeStripe, str],
) -> None:
    _, url = stripe_api
    status, first = await _get(f"{url}/v1/customers?limit=2", BEARER)
    assert status == 200
    assert first["has_more"] is True
    last = first["data"][-1]["id"]  # type: ignore[index]
    status, rest = await _get(f"{url}/v1/customers?limit=2&starting_after={last}", BEARER)
    assert (status, rest["has_more"], len(rest["data"])) == (200, False, 1)  # type: ignore[arg-type]
    status, body = await _get(f"{url}/v1/customers?limit=101", BEARER)
    assert (status, body["error"]["param"]) == (400, "limit")  # type: ignore[index]


async def test_search_pages_with_next_page_and_names_a_query_it_cannot_read(
    stripe_api: tuple[FakeStripe, str],
) -> None:
    _, url = stripe_api
    status, page = await _get(
        f"{url}/v1/customers/search?query=email:'same@example.com'&limit=2", BEARER
    )
    assert (status, page["object"], page["has_more"]) == (200, "search_result", True)
    assert page["next_page"]
    status, body = await _get(f"{url}/v1/customers/search?query=name:'x'", BEARER)
    assert (status, body["error"]["param"]) == (400, "query")  # type: ignore[index]


async def test_beyond_the_rate_a_429_rate_limit_error_and_an_unknown_id_is_404(
    stripe_api: tuple[FakeStripe, str],
) -> None:
    server, url = stripe_api
    statuses = [(await _get(f"{url}/v1/charges/ch_missing", BEARER))[0] for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    _, body = await _get(f"{url}/v1/charges/ch_missing", BEARER)
    assert body["error"]["code"] == "rate_limit"  # type: ignore[index]
    assert server.outcomes[429] == 2
