"""Test doubles: the real offline provider and the in-memory broker, with failures injected."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.base import BrokerError, Delivery
from supporter.brokers.memory import MemoryBroker, MemoryDelivery
from supporter.domain.models import Analysis, Reply
from supporter.llm.base import AnalysisRequest, ModelResponse, ReplyRequest
from supporter.llm.offline import OfflineProvider


class FlakyProvider:
    """Raises `error(ticket_id)` for a ticket's first `failures[ticket_id]` analyze calls."""

    def __init__(
        self,
        failures: dict[str, int],
        error: Callable[[str], BaseException],
        *,
        on_reply: bool = False,
    ) -> None:
        self._inner = OfflineProvider(list(DEFAULT_TAXONOMY))
        self._failures = failures
        self._error = error
        self._on_reply = on_reply
        self.calls: Counter[str] = Counter()

    @property
    def name(self) -> str:
        return "offline"

    @property
    def version(self) -> str:
        return self._inner.version

    def _maybe_fail(self, ticket_id: str) -> None:
        self.calls[ticket_id] += 1
        if self.calls[ticket_id] <= self._failures.get(ticket_id, 0):
            raise self._error(ticket_id)

    async def analyze(self, request: AnalysisRequest) -> ModelResponse[Analysis]:
        if not self._on_reply:
            self._maybe_fail(request.ticket.ticket_id)
        return await self._inner.analyze(request)

    async def draft_reply(self, request: ReplyRequest) -> ModelResponse[Reply]:
        if self._on_reply:
            self._maybe_fail(request.ticket.ticket_id)
        return await self._inner.draft_reply(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class DroppingBroker(MemoryBroker):
    """An in-memory broker whose connection drops as a real one's does: the first
    `lost_consumers` consumers fail on their first read, and the first `lost_acks`
    acknowledgements fail (the message goes back to its queue, as it would when its
    channel closes)."""

    def __init__(self, *, lost_consumers: int = 0, lost_acks: int = 0) -> None:
        super().__init__()
        self.lost_consumers = lost_consumers
        self.lost_acks = lost_acks
        self.consumers = 0

    @asynccontextmanager
    async def consume(  # type: ignore[override]
        self, queue: str, *, prefetch: int
    ) -> AsyncIterator[AsyncIterator[Delivery]]:
        self.consumers += 1
        async with super().consume(queue, prefetch=prefetch) as deliveries:
            if self.lost_consumers > 0:
                self.lost_consumers -= 1
                yield _broken()
            else:
                yield _AcksMayFail(self, deliveries)


async def _broken() -> AsyncIterator[Delivery]:
    raise BrokerError("connection reset by peer")
    yield  # an async generator that fails on its first read


class _AcksMayFail:
    # A class, not an async generator: a read cancelled by a timeout must leave the
    # iterator usable, as a real broker's is.
    def __init__(self, broker: DroppingBroker, deliveries: AsyncIterator[MemoryDelivery]) -> None:
        self._broker = broker
        self._deliveries = deliveries

    def __aiter__(self) -> _AcksMayFail:
        return self

    async def __anext__(self) -> Delivery:
        return _LosingAck(self._broker, await anext(self._deliveries))


class _LosingAck:
    def __init__(self, broker: DroppingBroker, delivery: MemoryDelivery) -> None:
        self._broker = broker
        self._delivery = delivery
        self.payload = delivery.payload
        self.message_id = delivery.message_id
        self.headers = delivery.headers
        self.redelivered = delivery.redelivered

    @property
    def body(self) -> bytes:
        return self._delivery.body

    async def ack(self) -> None:
        if self._broker.lost_acks > 0:
            self._broker.lost_acks -= 1
            await self._delivery.requeue()
            raise BrokerError("acknowledging: channel closed")
        await self._delivery.ack()

    async def requeue(self) -> None:
        await self._delivery.requeue()


class LostAfterOne(MemoryBroker):
    """Its consumer hands out one delivery, then its connection drops."""

    @asynccontextmanager
    async def consume(  # type: ignore[override]
        self, queue: str, *, prefetch: int
    ) -> AsyncIterator[AsyncIterator[Delivery]]:
        async with super().consume(queue, prefetch=prefetch) as deliveries:
            yield self._one_then_lost(deliveries)

    async def _one_then_lost(self, deliveries: AsyncIterator[Delivery]) -> AsyncIterator[Delivery]:
        yield await anext(deliveries)
        raise BrokerError("connection reset by peer")
