"""The connectors' HTTP client against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx2 as httpx
import pytest
from aiohttp import web

from supporter.domain.errors import FatalError, PermanentError
from supporter.helpdesks.base import HelpdeskUnavailable, RateLimit
from supporter.helpdesks.http import EndpointLimit, HelpdeskHTTP, retry_after_seconds
from supporter.testing.aiohttp_site import bind

SECRET = "s3cr3t-token-value"


@dataclass
class Server:
    """Answers each request with the next planned answer and records when it came."""

    url: str
    plan: list[Callable[[], web.StreamResponse]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server(url="")

    async def handle(request: web.Request) -> web.StreamResponse:
        state.arrivals.append(time.monotonic())
        answer = state.plan.pop(0)() if state.plan else _json(200, {"ok": True})
        state.statuses.append(answer.status)
        return answer

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(2.0)
        return _json(200, {"ok": True})

    app = web.Application()
    app.router.add_route("GET", "/slow", slow)
    app.router.add_route("*", "/{tail:.*}", handle)
    runner, state.url = await bind(app, "127.0.0.1", 0)
    try:
        yield state
    finally:
        await runner.cleanup()


def client(
    url: str, *, requests: int = 600, per_seconds: float = 60.0, **options: object
) -> HelpdeskHTTP:
    return HelpdeskHTTP(
        "zendesk",
        url,
        limit=RateLimit(requests=requests, per_seconds=per_seconds),
        auth=httpx.BasicAuth("agent@example.com/token", SECRET),
        **options,  # type: ignore[arg-type]
    )


async def test_a_429_is_waited_out_and_answered_once(server: Server) -> None:
    server.plan = [lambda: _json(429, {"error": "slow down"}, {"Retry-After": "0.3"})]
    http = client(server.url)
    try:
        response = await http.request("GET", "/api/v2/tickets/1.json")
    finally:
        await http.aclose()
    assert response.status_code == 200
    assert server.statuses == [429, 200]
    assert server.arrivals[1] - server.arrivals[0] >= 0.29
    assert http.stats == {"rate_limited": 1, "ok": 1}


async def test_a_429_without_a_delay_waits_as_long_as_the_connector_says(server: Server) -> None:
    # A helpdesk throttling in fixed windows names no delay: the connector knows the rest
    # of the window is what it takes.
    server.plan = [lambda: web.Response(status=429, text="Retry later\n")]
    http = client(server.url, retry_after_default=lambda: 0.35)
    try:
        response = await http.request("GET", "/api/v1/profile")
    finally:
        await http.aclose()
    assert response.status_code == 200
    assert server.statuses == [429, 200]
    assert server.arrivals[1] - server.arrivals[0] >= 0.34


async def test_a_429_pauses_every_caller_of_the_account(server: Server) -> None:
    # The first request meets a 429; requests sent meanwhile wait it out instead
    # of meeting their own 429s.
    server.plan = [lambda: _json(429, {}, {"Retry-After": "0.4"})]
    http = client(server.url, concurrency=1)
    try:
        await asyncio.gather(*(http.request("GET", f"/t/{n}") for n in range(4)))
    finally:
        await http.aclose()
    assert server.statuses.count(429) == 1
    assert len(server.statuses) == 5
    assert server.arrivals[1] - server.arrivals[0] >= 0.39


async def test_429s_past_the_longest_wait_make_the_helpdesk_unavailable(server: Server) -> None:
    server.plan = [lambda: _json(429, {}, {"Retry-After": "0.2"})] * 5
    http = client(server.url, max_wait=0.5)
    try:
        with pytest.raises(HelpdeskUnavailable, match="still rate-limiting") as caught:
            await http.request("PUT", "/api/v2/tickets/1.json", json={"ticket": {}})
    finally:
        await http.aclose()
    assert caught.value.retry_after == pytest.approx(0.2)
    assert server.statuses == [429, 429, 429]


async def test_the_requests_left_running_out_pauses_until_the_reset(server: Server) -> None:
    server.plan = [lambda: _json(200, {}, {"X-RateLimit-Remaining": "0", "X-Reset": "0.3"})]
    http = client(server.url, remaining_header="X-RateLimit-Remaining", reset_header="x-reset")
    try:
        await http.request("GET", "/a")
        await http.request("GET", "/b")
    finally:
        await http.aclose()
    assert server.arrivals[1] - server.arrivals[0] >= 0.29


async def test_requests_are_spaced_under_the_documented_limit(server: Server) -> None:
    http = client(server.url, requests=10, per_seconds=1.0)
    try:
        await asyncio.gather(*(http.request("GET", f"/t/{n}") for n in range(6)))
    finally:
        await http.aclose()
    # One request every 100 ms: five gaps, less the limiter's few milliseconds of
    # slack (single gaps jitter with the event loops' wake-ups; their sum does not).
    assert server.arrivals[-1] - server.arrivals[0] >= 0.48


async def test_a_request_that_counts_as_several_is_spaced_as_several(server: Server) -> None:
    http = client(server.url, requests=10, per_seconds=1.0)
    try:
        for n in range(3):
            await http.request("POST", f"/t/{n}", cost=2)
    finally:
        await http.aclose()
    # Two units each at ten a second: 200 ms apart, not 100.
    assert server.arrivals[-1] - server.arrivals[0] >= 0.38


async def test_an_endpoint_s_own_limit_keeps_the_account_s_spacing(server: Server) -> None:
    http = client(server.url, requests=10, per_seconds=1.0)
    updates = EndpointLimit(120)  # two a second
    try:
        await http.request("PUT", "/u/1", endpoint=updates)
        await http.request("PUT", "/u/2", endpoint=updates)
        await http.request("GET", "/r/1")
    finally:
        await http.aclose()
    first, second, read = server.arrivals
    assert second - first >= 0.45  # the endpoint's two a second (less timer jitter)
    # Too early for the endpoint, the update gave its account turn back and took another
    # when it could go: the next request keeps the account's spacing from it.
    assert read - second >= 0.09


async def test_requests_to_an_endpoint_sent_together_go_at_its_pace(server: Server) -> None:
    http = client(server.url, requests=10, per_seconds=1.0)
    updates = EndpointLimit(120)
    start = time.monotonic()
    try:
        await asyncio.gather(*(http.request("PUT", f"/u/{n}", endpoint=updates) for n in range(3)))
    finally:
        await http.aclose()
    # The pace is the client's: the n-th request leaves no sooner than n half-seconds
    # after the first could. Measured from the start, not between arrivals, whose gaps a
    # late first arrival would shorten on a busy machine.
    # (50 ms of slack for the limiter's own clock reading.)
    waited = [arrival - start for arrival in server.arrivals]
    assert len(waited) == 3
    assert all(waited[n] >= 0.5 * n - 0.05 for n in range(3)), waited


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_makes_the_helpdesk_unavailable(server: Server, status: int) -> None:
    server.plan = [lambda: _json(status, {"error": "down"}, {"Retry-After": "7"})]
    http = client(server.url)
    try:
        with pytest.raises(HelpdeskUnavailable, match=f"answered {status} to GET /x") as caught:
            await http.request("GET", "/x")
    finally:
        await http.aclose()
    assert caught.value.retry_after == 7.0
    assert server.statuses == [status]


async def test_a_timeout_makes_the_helpdesk_unavailable(server: Server) -> None:
    http = client(server.url, timeout=0.2)
    try:
        with pytest.raises(HelpdeskUnavailable, match="did not answer GET /slow in time"):
            await http.request("GET", "/slow")
    finally:
        await http.aclose()


async def test_a_refused_connection_makes_the_helpdesk_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    http = client(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(HelpdeskUnavailable, match="cannot reach zendesk for GET /x"):
            await http.request("GET", "/x")
    finally:
        await http.aclose()


@pytest.mark.parametrize(("status", "says"), [(401, "credentials"), (403, "permissions")])
async def test_refused_credentials_are_fatal_and_never_echoed(
    server: Server, status: int, says: str
) -> None:
    server.plan = [lambda: _json(status, {"error": "Couldn't authenticate you"})]
    http = client(server.url)
    try:
        with pytest.raises(FatalError) as caught:
            await http.request("GET", f"/api/v2/users/me.json?token={SECRET}")
    finally:
        await http.aclose()
    text = str(caught.value)
    assert says in text
    assert "SUPPORTER_ZENDESK_" in text
    assert "/api/v2/users/me.json" in text
    assert SECRET not in text
    assert "token=" not in text


async def test_a_rejected_request_is_permanent_with_the_vendors_reason(server: Server) -> None:
    server.plan = [
        lambda: _json(404, {"error": "RecordNotFound", "description": "Not found"}),
        lambda: _json(422, {"message": "x" * 1000}),
    ]
    http = client(server.url)
    try:
        with pytest.raises(PermanentError, match="404 to GET /t/9: RecordNotFound; Not found"):
            await http.request("GET", "/t/9")
        with pytest.raises(PermanentError) as caught:
            await http.request("PUT", "/t/9", json={})
    finally:
        await http.aclose()
    assert len(str(caught.value)) < 300


async def test_a_body_that_is_not_json_makes_the_helpdesk_unavailable(server: Server) -> None:
    server.plan = [lambda: web.Response(text="<html>maintenance</html>", status=200)]
    http = client(server.url)
    try:
        with pytest.raises(HelpdeskUnavailable, match="not JSON"):
            await http.json("GET", "/x")
        assert await http.json("GET", "/y") == {"ok": True}
    finally:
        await http.aclose()


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert (
        retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now)
        == 90.0
    )
    assert (
        retry_after_seconds(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now)
        == 0.0
    )
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("") is None
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("-4") == 0.0
