"""Client-side pacing under a provider's rate limits: concurrency, requests and tokens per minute.

Providers enforce a per-minute limit over short intervals, so a minute's budget
spent in its first second earns a wall of 429s. Requests are therefore spaced
evenly (a leaky bucket, no burst): 3,000 RPM means one request every 20 ms.
Tokens are budgeted the same way, each request "paying" its estimated tokens
before it is sent (the next request starts that much later) and correcting
with the real count afterwards.

The server's own view wins when it is stricter. `x-ratelimit-limit-*` is the
account's real limit: the spacing never goes below it, configured or not.
When `x-ratelimit-remaining-*` says too little is left for the next request,
every caller waits until enough has refilled (or until `x-ratelimit-reset-*`);
without a limit header, what is left is spread evenly until the reset. A
429's `Retry-After` pauses every caller, not just the one that met it.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["RateLimiter", "Slot", "estimate_tokens", "parse_duration", "remaining_budget"]

# A waiter woken a little late keeps its place on the timeline instead of
# pushing everyone after it back; without this, event-loop lateness (~1 ms a
# wake-up) would cost a few percent of the allowed rate. Small enough that
# it never adds up to a burst.
_SLACK: Final = 0.005

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_Kind = Literal["requests", "tokens"]


def estimate_tokens(text: str) -> int:
    """A rough token count before the call: about four characters a token for English."""
    return math.ceil(len(text) / 4)


def parse_duration(text: str | None) -> float | None:
    """Seconds in an `x-ratelimit-reset-*` value: "1s", "6m0s", "120ms", "1h2m3.5s" or "0.5"."""
    if text is None:
        return None
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(number) * scale[unit] for number, unit in parts)


def remaining_budget(headers: Mapping[str, str]) -> dict[str, int]:
    """What `x-ratelimit-remaining-requests` and `-tokens` say is left, by kind (those sent)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    left: dict[str, int] = {}
    for kind in ("requests", "tokens"):
        value = _parse_int(lowered.get(f"x-ratelimit-remaining-{kind}"))
        if value is not None:
            left[kind] = value
    return left


@dataclass(frozen=True, slots=True)
class _Advice:
    """The server's hint: seconds per request (or per token) until `until`."""

    spacing: float
    until: float


class Slot:
    """Permission to send one request; tell it the real token count once known."""

    def __init__(self, limiter: RateLimiter, estimated_tokens: int) -> None:
        self._limiter = limiter
        self._estimated = estimated_tokens
        self._recorded = False

    def record_usage(self, total_tokens: int) -> None:
        """Correct the token budget by the difference between estimate and real usage (once)."""
        if self._recorded:
            return
        self._recorded = True
        self._limiter._correct_tokens(total_tokens - self._estimated)


class RateLimiter:
    """Shared by every call to one provider account; see the module docstring.

    `rpm` and `tpm` of None mean "no limit known": headers can still slow us down.
    """

    def __init__(self, rpm: int | None, tpm: int | None, concurrency: int) -> None:
        if rpm is not None and rpm <= 0:
            raise ValueError("rpm must be positive (or None for no limit)")
        if tpm is not None and tpm <= 0:
            raise ValueError("tpm must be positive (or None for no limit)")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.rpm = rpm
        self.tpm = tpm
        self.concurrency = concurrency
        self._semaphore = asyncio.Semaphore(concurrency)
        # One waiter at a time checks the timeline, in arrival order (asyncio.Lock is FIFO).
        self._turn = asyncio.Lock()
        # Seconds per request and per token, as configured and as the server's limit says.
        self._configured: dict[_Kind, float] = {
            "requests": 60.0 / rpm if rpm else 0.0,
            "tokens": 60.0 / tpm if tpm else 0.0,
        }
        self._server: dict[_Kind, float] = {}
        self._advice: dict[_Kind, _Advice] = {}
        # When the next request (and its tokens) may go: a leaky bucket's timeline.
        self._next_at: dict[_Kind, float] = {"requests": -math.inf, "tokens": -math.inf}
        self._paused_until = -math.inf
        self._last_tokens = 0

    @asynccontextmanager
    async def slot(self, estimated_tokens: int = 0) -> AsyncIterator[Slot]:
        """Wait for a concurrency slot and for this request's turn, then hold the slot."""
        tokens = max(0, estimated_tokens)
        async with self._semaphore:
            await self._wait_turn(tokens)
            yield Slot(self, tokens)

    def pause_for(self, seconds: float) -> None:
        """Hold every caller back for `seconds` (a 429's Retry-After applies to the account)."""
        if seconds > 0:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def give_back(self, estimated_tokens: int = 0) -> None:
        """Return the turn a slot just took, unused (its request must wait for something
        else first): the next caller may go that much sooner."""
        now = time.monotonic()
        costs: tuple[tuple[_Kind, int], ...] = (("requests", 1), ("tokens", estimated_tokens))
        for kind, cost in costs:
            if self._next_at[kind] > -math.inf:
                self._next_at[kind] -= cost * self._spacing(kind, now)

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        """Learn from the `x-ratelimit-limit-*`, `-remaining-*` and `-reset-*` response headers."""
        lowered = {key.lower(): value for key, value in headers.items()}
        kinds: tuple[_Kind, ...] = ("requests", "tokens")
        for kind in kinds:
            limit = _parse_int(lowered.get(f"x-ratelimit-limit-{kind}"))
            if limit is not None and limit > 0:
                self._server[kind] = 60.0 / limit
            remaining = _parse_int(lowered.get(f"x-ratelimit-remaining-{kind}"))
            reset = parse_duration(lowered.get(f"x-ratelimit-reset-{kind}"))
            if remaining is not None and reset is not None and reset > 0:
                self._heed_remaining(kind, remaining, reset)

    def _heed_remaining(self, kind: _Kind, remaining: int, reset: float) -> None:
        spacing = self._server.get(kind)
        if spacing is None:
            # No limit to refill by: make what is left last until the reset.
            if remaining <= 0:
                self.pause_for(reset)
            else:
                self._advice[kind] = _Advice(reset / remaining, time.monotonic() + reset)
            return
        # The limit refills one unit per `spacing`; pacing already keeps to it. But
        # when others share the account (or an estimate fell short) what is left may
        # not cover the next request: wait until it does, at most until the reset.
        needed = 1 if kind == "requests" else self._last_tokens
        if remaining < needed:
            self.pause_for(min(reset, (needed - remaining) * spacing))

    async def _wait_turn(self, tokens: int) -> None:
        async with self._turn:
            while True:
                now = time.monotonic()
                ready_at = max(*self._next_at.values(), self._paused_until)
                if ready_at <= now:
                    break
                # Re-checked after the sleep: a pause may have begun meanwhile.
                await asyncio.sleep(ready_at - now)
            costs: tuple[tuple[_Kind, int], ...] = (("requests", 1), ("tokens", tokens))
            for kind, cost in costs:
                start = max(self._next_at[kind], now - _SLACK)
                self._next_at[kind] = start + cost * self._spacing(kind, now)
            self._last_tokens = tokens

    def _spacing(self, kind: _Kind, now: float) -> float:
        spacing = max(self._configured[kind], self._server.get(kind, 0.0))
        advice = self._advice.get(kind)
        if advice is not None:
            if advice.until > now:
                spacing = max(spacing, advice.spacing)
            else:
                del self._advice[kind]
        return spacing

    def _correct_tokens(self, difference: int) -> None:
        # Fewer tokens than estimated hand the difference back to the next caller;
        # more push it later. A timeline already in the past gives no credit.
        if difference and self._next_at["tokens"] > -math.inf:
            self._next_at["tokens"] += difference * self._spacing("tokens", time.monotonic())


def _parse_int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(float(text.strip()))
    except (ValueError, OverflowError):  # "inf" and "nan" too
        return None
