"""The rate limiter: even pacing, a concurrency bound, shared pauses, headers that slow it down."""

import asyncio
import time
from itertools import pairwise
from typing import Any

import pytest

from supporter.llm.ratelimit import RateLimiter, estimate_tokens, parse_duration


async def acquire_times(limiter: RateLimiter, count: int, tokens: int = 0) -> list[float]:
    """When each of `count` concurrent callers got its slot, relative to the start."""
    start = time.monotonic()
    times: list[float] = []

    async def one() -> None:
        async with limiter.slot(tokens):
            times.append(time.monotonic() - start)

    await asyncio.gather(*(one() for _ in range(count)))
    return sorted(times)


async def test_requests_are_spaced_evenly_not_burst() -> None:
    limiter = RateLimiter(rpm=600, tpm=None, concurrency=50)  # one every 100 ms
    times = await acquire_times(limiter, 20)
    assert times[-1] == pytest.approx(1.9, abs=0.15)
    gaps = [later - earlier for earlier, later in pairwise(times)]
    # No burst: no two requests closer than the spacing (less the limiter's 5 ms slack).
    assert min(gaps) >= 0.09
    # At most ~1 s of budget in any one second.
    assert sum(1 for t in times if t < 1.0) <= 11


async def test_a_limiter_idle_for_a_while_does_not_save_up_a_burst() -> None:
    limiter = RateLimiter(rpm=600, tpm=None, concurrency=10)
    await acquire_times(limiter, 1)
    await asyncio.sleep(0.3)
    times = await acquire_times(limiter, 3)
    assert times[-1] == pytest.approx(0.2, abs=0.06)


async def test_a_turn_given_back_lets_the_next_caller_go_that_much_sooner() -> None:
    limiter = RateLimiter(rpm=60, tpm=60, concurrency=4)  # one a second
    async with limiter.slot(3):
        pass
    async with limiter.slot(3):
        started = time.monotonic()
        limiter.give_back(3)  # three tokens' worth, unused: back to one turn taken
    async with limiter.slot(1):
        waited = time.monotonic() - started
    # The second turn unused, the third goes when the first's three tokens are spent
    # (now), not three seconds later.
    assert waited < 0.5


async def test_concurrency_is_bounded() -> None:
    limiter = RateLimiter(rpm=None, tpm=None, concurrency=3)
    inside = 0
    most = 0

    async def one() -> None:
        nonlocal inside, most
        async with limiter.slot():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.02)
            inside -= 1

    await asyncio.gather(*(one() for _ in range(12)))
    assert most == 3


async def test_tokens_per_minute_are_paced_by_the_estimate() -> None:
    limiter = RateLimiter(rpm=None, tpm=6000, concurrency=10)  # 100 tokens a second
    times = await acquire_times(limiter, 3, tokens=30)
    assert times[1] == pytest.approx(0.3, abs=0.06)
    assert times[2] == pytest.approx(0.6, abs=0.08)


async def test_real_usage_corrects_the_token_estimate() -> None:
    limiter = RateLimiter(rpm=None, tpm=6000, concurrency=10)
    start = time.monotonic()
    async with limiter.slot(100) as slot:
        slot.record_usage(10)  # the request took 10 tokens, not 100
    async with limiter.slot(10):
        waited = time.monotonic() - start
    assert waited == pytest.approx(0.1, abs=0.05)  # not the 1 s the estimate reserved


async def test_pause_for_holds_back_every_caller() -> None:
    limiter = RateLimiter(rpm=None, tpm=None, concurrency=10)
    limiter.pause_for(0.3)
    times = await acquire_times(limiter, 5)
    assert times[0] >= 0.29


async def test_a_pause_during_the_wait_is_honoured() -> None:
    limiter = RateLimiter(rpm=300, tpm=None, concurrency=10)  # one every 200 ms
    waiting = asyncio.create_task(acquire_times(limiter, 2))
    await asyncio.sleep(0.05)
    limiter.pause_for(0.4)  # a 429 came back meanwhile
    times = await waiting
    assert times[1] >= 0.44


async def test_no_remaining_requests_waits_for_the_reset() -> None:
    limiter = RateLimiter(rpm=None, tpm=None, concurrency=10)
    limiter.observe_headers(
        {"X-RateLimit-Remaining-Requests": "0", "X-RateLimit-Reset-Requests": "300ms"}
    )
    times = await acquire_times(limiter, 1)
    assert times[0] >= 0.29


async def test_little_remaining_spreads_the_rest_until_the_reset() -> None:
    limiter = RateLimiter(rpm=6000, tpm=None, concurrency=10)  # alone: 10 ms apart
    limiter.observe_headers(
        {"x-ratelimit-remaining-requests": "4", "x-ratelimit-reset-requests": "1s"}
    )
    times = await acquire_times(limiter, 3)
    assert times[2] == pytest.approx(0.5, abs=0.08)  # 250 ms apart, not 10


async def test_little_remaining_tokens_slow_token_pacing() -> None:
    limiter = RateLimiter(rpm=None, tpm=None, concurrency=10)
    limiter.observe_headers(
        {"x-ratelimit-remaining-tokens": "200", "x-ratelimit-reset-tokens": "1s"}
    )
    times = await acquire_times(limiter, 2, tokens=50)
    assert times[1] == pytest.approx(0.25, abs=0.06)


async def test_plenty_remaining_changes_nothing() -> None:
    limiter = RateLimiter(rpm=600, tpm=None, concurrency=10)
    limiter.observe_headers(
        {"x-ratelimit-remaining-requests": "9999", "x-ratelimit-reset-requests": "6ms"}
    )
    times = await acquire_times(limiter, 3)
    assert times[2] == pytest.approx(0.2, abs=0.06)


async def test_nonsense_headers_are_ignored() -> None:
    limiter = RateLimiter(rpm=None, tpm=None, concurrency=1)
    limiter.observe_headers(
        {
            "x-ratelimit-limit-requests": "inf",
            "x-ratelimit-remaining-requests": "nan",
            "x-ratelimit-reset-requests": "soon",
            "x-ratelimit-remaining-tokens": "-",
        }
    )
    times = await acquire_times(limiter, 3)
    assert times[-1] < 0.05


async def test_server_advice_expires_with_its_window() -> None:
    limiter = RateLimiter(rpm=None, tpm=None, concurrency=10)
    limiter.observe_headers(
        {"x-ratelimit-remaining-requests": "1", "x-ratelimit-reset-requests": "100ms"}
    )
    await asyncio.sleep(0.15)
    times = await acquire_times(limiter, 5)
    assert times[-1] < 0.05


async def test_the_servers_limit_paces_when_none_is_configured() -> None:
    limiter = RateLimiter(rpm=None, tpm=None, concurrency=10)
    limiter.observe_headers({"x-ratelimit-limit-requests": "600"})
    times = await acquire_times(limiter, 3)
    assert times[2] == pytest.approx(0.2, abs=0.06)


async def test_a_server_limit_below_the_configured_one_wins() -> None:
    limiter = RateLimiter(rpm=6000, tpm=None, concurrency=10)
    limiter.observe_headers({"x-ratelimit-limit-requests": "600"})
    times = await acquire_times(limiter, 3)
    assert times[2] == pytest.approx(0.2, abs=0.06)


async def test_nothing_remaining_waits_for_one_refill_not_the_whole_window() -> None:
    limiter = RateLimiter(rpm=None, tpm=None, concurrency=10)
    limiter.observe_headers(
        {
            "x-ratelimit-limit-requests": "600",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": "6m0s",  # until the bucket is full again
        }
    )
    times = await acquire_times(limiter, 1)
    assert 0.09 <= times[0] < 0.3


async def test_too_few_tokens_left_for_the_next_request_waits_until_they_refill() -> None:
    limiter = RateLimiter(rpm=None, tpm=None, concurrency=10)
    async with limiter.slot(200):
        pass
    limiter.observe_headers(
        {
            "x-ratelimit-limit-tokens": "60000",  # 1,000 tokens a second
            "x-ratelimit-remaining-tokens": "50",
            "x-ratelimit-reset-tokens": "1m0s",
        }
    )
    times = await acquire_times(limiter, 1, tokens=200)
    assert times[0] == pytest.approx(0.15, abs=0.05)


async def test_a_cancelled_waiter_gives_up_its_place() -> None:
    limiter = RateLimiter(rpm=300, tpm=None, concurrency=10)  # one every 200 ms
    await acquire_times(limiter, 1)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05), limiter.slot():
            pass
    # The timed-out caller reserved nothing: the next one only waits out the first's 200 ms.
    times = await acquire_times(limiter, 1)
    assert times[0] < 0.2


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("120ms", 0.12),
        ("1h2m3.5s", 3723.5),
        ("0.5", 0.5),
        ("2", 2.0),
        ("soon", None),
        ("inf", None),
        ("nan", None),
        ("1s garbage", None),
        (None, None),
    ],
)
def test_parse_duration(text: str | None, seconds: float | None) -> None:
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_estimate_tokens_is_about_four_characters_a_token() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("x" * 4000) == 1000


@pytest.mark.parametrize(
    "kwargs", [{"rpm": 0}, {"tpm": -1}, {"concurrency": 0}], ids=["rpm", "tpm", "concurrency"]
)
def test_invalid_limits_are_refused(kwargs: dict[str, int]) -> None:
    arguments: dict[str, Any] = {"rpm": None, "tpm": None, "concurrency": 1, **kwargs}
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RateLimiter(**arguments)
