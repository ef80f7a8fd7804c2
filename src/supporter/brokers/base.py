"""The broker port.

A stage consumes deliveries from one queue and settles each one exactly once:

- `ack()` when what it produced is safely published downstream (or stored);
- `requeue()` to hand it back untouched (shutdown, a paused provider); it is
  delivered again with `redelivered` set.

`Broker.ack_many()` acknowledges several deliveries together (the output stage's
stored batch, the inputs another stage saw confirmed during one round trip): one
exchange with the broker where it allows, instead of one per message. It
acknowledges nothing more than it is given.

A consumer that goes away with deliveries unsettled (closed, cancelled,
crashed) returns them to the queue the same way. Retries with a delay and dead
letters are ordinary publishes (`publish(..., delay=...)`, and to
`dead_letter_queue(queue)`), so they behave the same on every broker.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol, SupportsBytes

from supporter.domain.masking import masked_url

__all__ = ["masked_url"]  # shown by every adapter's messages


def dead_letter_queue(queue: str) -> str:
    """The queue where the messages a stage gave up on wait, with their reason."""
    return f"{queue}.dead"


class BrokerError(Exception):
    """The broker could not do what was asked (connection lost, queue missing)."""


class BrokerUnreachable(BrokerError):
    """The broker could not be reached at all: nothing listens at its address yet, the
    network, a server still starting. Worth waiting for, unlike a broker that answers
    and refuses (a wrong password, a virtual host it does not have)."""


class _Without(logging.Filter):
    def __init__(self, templates: frozenset[str]) -> None:
        super().__init__()
        self.templates = templates

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in self.templates


def unlogged(logger: str, *templates: str) -> None:
    """Leave out the lines of a client library's `logger` made from these `templates`
    (its format strings): a failed attempt to connect that it also raises, and that the
    adapter then raises as a BrokerError saying the same. Logged at ERROR on each try,
    they would repeat every try of a process waiting for its broker."""
    target = logging.getLogger(logger)
    target.addFilter(_Without(frozenset(templates)))


class Delivery(Protocol):
    @property
    def body(self) -> bytes: ...

    @property
    def payload(self) -> SupportsBytes:
        """What was published: the body, or where the broker hands over what the
        publisher gave (in this process), that object itself (see `Broker.publish`)."""
        ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def message_id(self) -> str: ...

    @property
    def redelivered(self) -> bool:
        """True when this message was delivered before and not acknowledged."""
        ...

    async def ack(self) -> None: ...

    async def requeue(self) -> None: ...


async def ack_each(deliveries: Sequence[Delivery]) -> int:
    """Acknowledge `deliveries` one by one; returns how many could not be (they come
    back, as unsettled deliveries do). For brokers whose `ack` costs no round trip,
    and for deliveries a broker's batch cannot take."""
    failed = 0
    for delivery in deliveries:
        try:
            await delivery.ack()
        except BrokerError:
            failed += 1
    return failed


class Broker(Protocol):
    async def declare(self, queue: str) -> None:
        """Create `queue` and its dead-letter queue if they do not exist."""
        ...

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
        """Hand a message to the broker; returns once the broker has it.

        `body` is the message's bytes, or an object that makes them (`bytes(body)`).
        A broker that carries messages to other processes sends `bytes(body)`; one
        whose consumers are in this process may keep the object and give it to the
        consumer as `Delivery.payload`, making the bytes only if `Delivery.body` is read.

        With `delay` (seconds) the message becomes visible to consumers no sooner.
        Waits while the queue is full (backpressure) unless the message is a delayed
        retry, which must never wait on the stage that sends it.
        `key` groups messages that must stay in order (the customer's id); brokers
        that partition a queue (Kafka) route on it, the others ignore it.
        """
        ...

    def consume(
        self, queue: str, *, prefetch: int
    ) -> AbstractAsyncContextManager[AsyncIterator[Delivery]]:
        """Deliveries from `queue`, at most `prefetch` unsettled at a time.

        Leaving the context returns every unsettled delivery to the queue.
        """
        ...

    async def ack_many(self, deliveries: Sequence[Delivery]) -> int:
        """Acknowledge `deliveries` (none settled yet) together; returns how many
        could not be acknowledged. Those come back, as unsettled deliveries do; every
        one is settled here either way."""
        ...

    async def depth(self, queue: str) -> int:
        """Messages waiting in `queue` (not counting delayed or unsettled ones)."""
        ...

    async def oldest_age(self, queue: str) -> float | None:
        """Seconds the oldest message waiting in `queue` has waited since it was
        published (or became visible, for a delayed one); None when nothing waits."""
        ...

    async def close(self) -> None: ...
