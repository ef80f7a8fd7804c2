"""In-process queues that behave like a real broker.

What a publisher gives reaches the consumer as it was given (`Delivery.payload`):
a message's payload is handed over without its JSON being made, which happens only
if something reads `Delivery.body` (a dead letter quotes it). Queues are bounded
for fresh publishes (backpressure), unsettled deliveries return to the front of
the queue when their consumer goes away, and delayed publishes wait on the event
loop's timer. Nothing survives the process: a rerun resumes from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import SupportsBytes

from supporter.brokers.base import BrokerError, Delivery, ack_each, dead_letter_queue


@dataclass(slots=True)
class _Message:
    payload: SupportsBytes
    message_id: str
    headers: Mapping[str, str]
    redelivered: bool = False
    # The event loop's clock when the message first became visible in its queue
    # (published, or its delay over); a requeued message keeps it.
    visible_at: float | None = None


@dataclass(eq=False)
class _Queue:
    """Ready messages, and who waits for one or for room: each change wakes the one
    waiter it can serve (as `asyncio.Queue` does), not every waiter to look again."""

    maxsize: int
    ready: deque[_Message] = field(default_factory=deque)
    delayed: set[asyncio.TimerHandle] = field(default_factory=set)
    _getters: deque[asyncio.Future[None]] = field(default_factory=deque)
    _putters: deque[asyncio.Future[None]] = field(default_factory=deque)

    async def put(self, message: _Message, *, bounded: bool, front: bool = False) -> None:
        while bounded and len(self.ready) >= self.maxsize:
            await _wait(self._putters, lambda: len(self.ready) < self.maxsize)
        if message.visible_at is None:
            message.visible_at = asyncio.get_running_loop().time()
        if front:
            self.ready.appendleft(message)
        else:
            self.ready.append(message)
        _wake_one(self._getters)

    async def get(self) -> _Message:
        while not self.ready:
            await _wait(self._getters, lambda: bool(self.ready))
        message = self.ready.popleft()
        _wake_one(self._putters)
        return message


async def _wait(waiters: deque[asyncio.Future[None]], ready: Callable[[], bool]) -> None:
    """Wait in line until woken; a waiter cancelled after it was woken passes the
    wake-up on when what it was woken for is still there."""
    waiter = asyncio.get_running_loop().create_future()
    waiters.append(waiter)
    try:
        await waiter
    except BaseException:
        waiter.cancel()
        with contextlib.suppress(ValueError):  # already taken off the line by a wake-up
            waiters.remove(waiter)
        if ready() and not waiter.cancelled():
            _wake_one(waiters)
        raise


def _wake_one(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return


class MemoryDelivery:
    def __init__(self, queue: _Queue, message: _Message, consumer: _Consumer) -> None:
        self._queue = queue
        self._message = message
        self._consumer = consumer
        self._settled = False

    @property
    def body(self) -> bytes:
        return bytes(self._message.payload)

    @property
    def payload(self) -> SupportsBytes:
        return self._message.payload

    @property
    def headers(self) -> Mapping[str, str]:
        return self._message.headers

    @property
    def message_id(self) -> str:
        return self._message.message_id

    @property
    def redelivered(self) -> bool:
        return self._message.redelivered

    def _settle(self) -> None:
        if self._settled:
            raise BrokerError(f"message {self.message_id} is already settled")
        self._settled = True
        self._consumer.settled(self)

    async def ack(self) -> None:
        self._settle()

    async def requeue(self) -> None:
        self._settle()
        await self._return()

    async def _return(self) -> None:
        self._message.redelivered = True
        await self._queue.put(self._message, bounded=False, front=True)


class _Consumer:
    """Deliveries from one queue. Waiting for the next one can be cancelled (a timeout)
    without losing a message or a prefetch slot."""

    def __init__(self, queue: _Queue, prefetch: int) -> None:
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        self._queue = queue
        self._slots = asyncio.Semaphore(prefetch)
        # A dict keeps delivery order, so close() can put them back in order.
        self._unsettled: dict[MemoryDelivery, None] = {}

    def settled(self, delivery: MemoryDelivery) -> None:
        self._unsettled.pop(delivery, None)
        self._slots.release()

    def __aiter__(self) -> _Consumer:
        return self

    async def __anext__(self) -> MemoryDelivery:
        await self._slots.acquire()
        try:
            message = await self._queue.get()
        except BaseException:
            self._slots.release()
            raise
        delivery = MemoryDelivery(self._queue, message, self)
        self._unsettled[delivery] = None
        return delivery

    async def close(self) -> None:
        # Returned newest first, each to the front, so the oldest ends up first again.
        for delivery in reversed(list(self._unsettled)):
            if not delivery._settled:
                delivery._settled = True
                await delivery._return()
        self._unsettled.clear()


class MemoryBroker:
    """The default broker: one process, no server. `maxsize` bounds each queue."""

    def __init__(self, *, maxsize: int = 1000) -> None:
        self._maxsize = maxsize
        self._queues: dict[str, _Queue] = {}
        self._closed = False
        self._background: set[asyncio.Task[None]] = set()

    def _queue(self, name: str) -> _Queue:
        try:
            return self._queues[name]
        except KeyError:
            raise BrokerError(f"queue {name!r} is not declared") from None

    async def declare(self, queue: str) -> None:
        for name in (queue, dead_letter_queue(queue)):
            self._queues.setdefault(name, _Queue(self._maxsize))

    async def publish(
        self,
        queue: str,
        body: SupportsBytes,
        *,
        message_id: str,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        key: str | None = None,
    ) -> None:
        if self._closed:
            raise BrokerError("broker is closed")
        target = self._queue(queue)
        message = _Message(body, message_id, dict(headers or {}))
        if delay <= 0:
            await target.put(message, bounded=True)
            return
        loop = asyncio.get_running_loop()

        def release() -> None:
            target.delayed.discard(handle)
            # A delayed retry is already admitted work: it skips the bound.
            task = loop.create_task(target.put(message, bounded=False))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

        handle = loop.call_later(delay, release)
        target.delayed.add(handle)

    @asynccontextmanager
    async def consume(
        self, queue: str, *, prefetch: int
    ) -> AsyncIterator[AsyncIterator[MemoryDelivery]]:
        consumer = _Consumer(self._queue(queue), prefetch)
        try:
            yield consumer
        finally:
            await consumer.close()

    async def ack_many(self, deliveries: Sequence[Delivery]) -> int:
        # An in-memory ack is no exchange with anyone: one by one costs nothing.
        return await ack_each(deliveries)

    async def depth(self, queue: str) -> int:
        return len(self._queue(queue).ready)

    async def oldest_age(self, queue: str) -> float | None:
        ready = self._queue(queue).ready
        times = [message.visible_at for message in ready if message.visible_at is not None]
        if not times:
            return None
        return max(0.0, asyncio.get_running_loop().time() - min(times))

    async def delayed(self, queue: str) -> int:
        """Messages published with a delay that is not over yet."""
        return len(self._queue(queue).delayed)

    async def close(self) -> None:
        self._closed = True
        for queue in self._queues.values():
            for handle in queue.delayed:
                handle.cancel()
            queue.delayed.clear()
