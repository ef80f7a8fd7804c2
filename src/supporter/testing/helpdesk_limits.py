"""What the helpdesk simulators share: their rate limits and the log of what they answered.

Two ways vendors enforce a per-minute limit, both simulated as the vendor's own
software does it:

- `TokenBucket`: one second's worth of the limit (at least one request), refilled
  continuously, as the project's other simulators enforce per-minute limits over
  short intervals (see the design notes on pacing).
- `FixedWindow`: a count per window aligned on the epoch, reset when the window
  ends, as Rack::Attack's `throttle` does (the key is `now / period`); Chatwoot
  throttles its API this way.

`Spending` is what a limit admitted lately, for the remaining-requests headers;
`AnswerLog` records every answer, so tests can check that a client never met a 429
twice in a row for the same request; `Faults` are the failures a test injects.
"""

from __future__ import annotations

import asyncio
import collections
import math
import random
import time
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True)
class Answered:
    """One request as a simulator saw it."""

    method: str
    path: str
    key: str
    status: int
    at: float
    retry_after: float | None = None


@dataclass
class AnswerLog:
    """Every answer, and the longest run of 429s answered to one request (method, path
    and query) before it succeeded."""

    answered: list[Answered] = field(default_factory=list)
    outcomes: collections.Counter[int] = field(default_factory=collections.Counter)
    max_429_in_a_row: int = 0
    _in_a_row: collections.Counter[str] = field(default_factory=collections.Counter)

    def record(
        self, request: web.Request, response: web.StreamResponse, retry_after: str = "Retry-After"
    ) -> None:
        """The answer to `request`; `retry_after` names the header its wait is in."""
        key = f"{request.method} {request.path_qs}"
        status = response.status
        wait = response.headers.get(retry_after)
        self.answered.append(
            Answered(
                request.method,
                request.path,
                key,
                status,
                time.monotonic(),
                float(wait) if wait else None,
            )
        )
        self.outcomes[status] += 1
        if status == 429:
            self._in_a_row[key] += 1
            self.max_429_in_a_row = max(self.max_429_in_a_row, self._in_a_row[key])
        else:
            self._in_a_row.pop(key, None)

    def count(self, method: str, path_prefix: str, status: int | None = None) -> int:
        """Requests by method whose path starts with `path_prefix` (and answered `status`)."""
        return sum(
            1
            for answer in self.answered
            if answer.method == method
            and answer.path.startswith(path_prefix)
            and (status is None or answer.status == status)
        )


class TokenBucket:
    """A per-window limit enforced over short intervals; `admit` spends one request or
    says how many seconds until one fits (a refused request spends nothing)."""

    __slots__ = ("capacity", "level", "limit", "rate", "updated", "window")

    def __init__(self, limit: int, window: float, now: float) -> None:
        self.limit = limit
        self.window = window
        self.rate = limit / window
        self.capacity = max(self.rate, 1.0)
        self.level = self.capacity
        self.updated = now

    def admit(self, now: float, cost: int = 1) -> float | None:
        """`cost` is what the request counts for (some vendors count some requests as
        several); one above a second's worth fits a full bucket, leaving it in debt."""
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now
        need = min(float(cost), self.capacity)
        if self.level < need:
            return (need - self.level) / self.rate
        self.level -= cost
        return None

    def refund(self, cost: int = 1) -> None:
        """Give back what `admit` spent on a request that another limit then refused."""
        self.level += cost


class Spending:
    """What a limit admitted in the last window, for the headers that say how much of it
    is left (`X-RateLimit-Remaining` and the like)."""

    def __init__(self) -> None:
        self._spent: collections.deque[tuple[float, int]] = collections.deque()

    def spend(self, now: float, units: int) -> None:
        self._spent.append((now, units))

    def remaining(self, now: float, limit: int, window: float) -> int:
        while self._spent and self._spent[0][0] <= now - window:
            self._spent.popleft()
        return max(0, limit - sum(units for _, units in self._spent))


class FixedWindow:
    """Rack::Attack's throttle: at most `limit` requests while `int(now / period)` stays
    the same. `admit` counts one request or says how many seconds until the window ends."""

    __slots__ = ("count", "limit", "period", "window")

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.window = -1
        self.count = 0

    def admit(self, now: float) -> float | None:
        window = math.floor(now / self.period)
        if window != self.window:
            self.window, self.count = window, 0
        # Rack::Attack counts the refused requests too (the counter is incremented
        # before it is compared), which is why a client must wait for the next window.
        self.count += 1
        if self.count > self.limit:
            return (window + 1) * self.period - now
        return None


@dataclass
class Faults:
    """Failures a simulator injects; read on every request, so a test may change them."""

    latency: float = 0.0
    """Seconds every answer waits (a slow helpdesk)."""
    outage: int | None = None
    """Every request is answered with this status (say 503) while set."""
    hang: bool = False
    """Every request waits until the client gives up (or the simulator stops)."""
    error_rates: dict[int, float] = field(default_factory=dict)
    """Shares of requests answered with a status, e.g. {500: 0.1, 429: 0.05}."""

    async def status(self, rng: random.Random, stopping: asyncio.Event) -> int | None:
        """The status to answer instead of the real answer, or None; after the latency."""
        if self.hang:
            await stopping.wait()
            return 503
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.outage is not None:
            return self.outage
        draw = rng.random()
        for status, share in self.error_rates.items():
            if draw < share:
                return status
            draw -= share
        return None
