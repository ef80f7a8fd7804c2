"""Backpressure for brokers that cannot bound a queue for the publisher themselves
(RabbitMQ drops or rejects at `x-max-length`; a Kafka topic has no bound at all).

Asking the broker for a queue's depth before every publish would cost a round trip
each and serialise a publisher's window of publishes. Instead a publisher asks once,
then spends the room that answer left (consumers only ever make more), and asks
again when it is spent or older than `recheck` seconds. Publishes to one queue take
room one at a time, so a window of them in flight cannot overshoot together;
several publishers may still overshoot by what they each believe is left.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager


class RoomGauge:
    def __init__(
        self,
        max_length: int,
        depth: Callable[[str], Awaitable[int]],
        *,
        recheck: float = 1.0,
        first_poll: float = 0.05,
        max_poll: float = 1.0,
    ) -> None:
        self._max_length = max_length
        self._depth = depth
        self._recheck = recheck
        self._first_poll = first_poll
        self._max_poll = max_poll
        # Per queue: the room believed left, and when the broker last told its depth.
        self._known: dict[str, tuple[int, float]] = {}
        self._turns: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._sending: Counter[str] = Counter()

    @asynccontextmanager
    async def taken(self, queue: str) -> AsyncIterator[None]:
        """Hold room for one message in `queue` while the block publishes it; waits
        (polling with backoff) until there is some."""
        loop = asyncio.get_running_loop()
        async with self._turns[queue]:
            room, checked = self._known.get(queue, (0, -float("inf")))
            if room <= 0 or loop.time() - checked >= self._recheck:
                pause = self._first_poll
                while (room := await self._room(queue)) <= 0:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, self._max_poll)
                checked = loop.time()
            self._known[queue] = (room - 1, checked)
            self._sending[queue] += 1
        try:
            yield
        finally:
            self._sending[queue] -= 1

    async def _room(self, queue: str) -> int:
        # The publishes in flight as the depth is asked for may not show in it yet:
        # count them too (those that land meanwhile are then counted twice, which
        # only makes the answer cautious until the next check).
        sending = self._sending[queue]
        return self._max_length - await self._depth(queue) - sending
