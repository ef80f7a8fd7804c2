"""RabbitMQ through aio-pika: the broker for stages that run as separate processes.

- **Connection.** Opened lazily by the first call (`declare` at a stage's start, so
  a wrong URL or a server that is down stops the run before any work), with
  `aio_pika.connect_robust`: after a lost connection or a broker restart it
  reconnects, reopens its channels and resumes its consumers on its own. The
  pause between attempts is the URL's `reconnect_interval` (seconds, default 5).
  An operation that fails while the connection is down raises `BrokerError`;
  retrying it is the caller's retry policy.
- **Durability.** Queues are durable classic queues named `<prefix>.<queue>`;
  messages are persistent, and `publish` returns only once the broker confirmed
  the message (publisher confirms); concurrent publishes are in flight together
  on one channel, each answered by its own confirm, nack or return. Publishing to
  a queue nobody declared is an error, not a silent drop (mandatory publishes).
  Publishes go through aiormq (aio-pika's protocol layer) directly.
- **Consumers.** Each `consume` gets its own channel with a prefetch bound and
  manual acknowledgements. Leaving it closes the channel, which makes RabbitMQ
  return every unacknowledged delivery (handed out or still buffered here) to
  the queue, marked redelivered. The acknowledgements asked for during one turn
  of the event loop (`ack_many` calls, a stored batch) go out together in the
  next: one `basic.ack` with `multiple` for those below every delivery still held
  on their channel, one ack each for the others. A delivery counts as held until
  its own ack or nack is sent, so no `multiple` ack covers a requeue on its way.
- **Delays.** RabbitMQ has no delayed delivery without a plugin, so a delayed
  message waits in a delay queue `<prefix>.<queue>.delay.<ms>` whose
  `x-message-ttl` is the delay and whose dead-letter route (the default exchange,
  routing key `<prefix>.<queue>`) moves the message to its queue when the TTL
  runs out. Every message in one delay queue has the same TTL, so the oldest
  always expires first (RabbitMQ only expires messages at the head of a queue).
  Delays are rounded *up* to two significant digits (`delay_bucket_ms`), at most
  10 % late, so jittered retries share a few dozen queues per decade instead of
  one queue each; an idle delay queue deletes itself (`x-expires`).
- **Backpressure.** With `max_length`, a fresh publish waits (polling with
  backoff) while the queue holds `max_length` or more ready messages; the depth
  is asked for only when the room it last showed is spent or a second old
  (`brokers/room.py`). Several publishers may overshoot the bound a little.
  Delayed publishes (retries) skip the bound, as on every broker. It is not an
  `x-max-length` queue argument: RabbitMQ would drop or reject messages at the
  limit instead of slowing the publisher down.
- **Oldest age.** Every message carries the AMQP `timestamp` property (publish
  time, whole seconds) and the header `x-supporter-visible-at`: the publisher's
  wall clock (seconds, as a decimal string) when it becomes visible in its queue (publish time,
  plus the delay queue's TTL for a delayed one). Without the management API
  nothing else tells a message's age, so `oldest_age` peeks at the head of the
  queue: a `basic.get` on a channel opened for that look alone (never a
  consumer's), then `basic.nack` with requeue, which puts the message back at its
  original position, and the channel is closed, which returns once RabbitMQ has
  it back. The costs: the peeked message is marked redelivered (the pipeline does
  not act on that flag; it only tells a consumer "maybe seen before", still true
  of any message), and for the instant it is held a consumer may be handed the
  next message first (competing consumers and prefetch reorder anyway); if the
  channel dies meanwhile, RabbitMQ requeues the message itself. The queues are
  classic queues: on a quorum queue (made so by a policy or the vhost's default
  type) every return counts against its delivery limit (20 by default on 4.x),
  and enough peeks would drop the head message, so do not make them quorum. Only
  ready messages are peeked, never unacknowledged or delayed ones. The age
  compares two hosts' clocks (publisher, inspector), so it is as good as their
  sync, and None for a head message published without either stamp.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import SupportsBytes

import aio_pika
import aiormq.abc
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    DeliveryMode,
)
from aio_pika.connection import make_url
from aio_pika.exceptions import (
    AMQPError,
    ChannelInvalidStateError,
    ChannelNotFoundEntity,
    PublishError,
)
from aiormq.exceptions import (
    AuthenticationError,
    ConnectionNotAllowed,
    IncompatibleProtocolError,
    ProbableAuthenticationError,
)
from pamqp.commands import Basic
from pamqp.common import FieldValue
from yarl import URL

from supporter.brokers.base import (
    BrokerError,
    BrokerUnreachable,
    Delivery,
    ack_each,
    dead_letter_queue,
    masked_url,
    unlogged,
)
from supporter.brokers.room import RoomGauge

# A failed connection attempt: raised by `_connect` as a BrokerError, and when
# aio-pika reconnects, logged by it with the reason.
unlogged("aiormq.connection", "error when creating transport: %r")

ANSWER_TIMEOUT = 30.0
"""Seconds to wait for RabbitMQ to answer one operation before raising BrokerError."""

_DELAY_QUEUE_REFRESH = 60.0
# RabbitMQ's record of the dead-lettering that moved a delayed message out of its
# delay queue: bookkeeping of this adapter, not the publisher's headers.
_DEATH_HEADERS = ("x-death", "x-first-death-", "x-last-death-")
# When the message becomes visible in its queue (wall clock, float seconds): this
# adapter's bookkeeping too, for `oldest_age`.
VISIBLE_AT_HEADER = "x-supporter-visible-at"
_BOOKKEEPING_HEADERS = (*_DEATH_HEADERS, VISIBLE_AT_HEADER)


def delay_bucket_ms(delay: float) -> int:
    """The delay queue TTL (milliseconds) that carries a `delay` (seconds):
    `delay` rounded up to two significant digits (0.5 s -> 500, 1.234 s -> 1300)."""
    ms = max(1, math.ceil(round(delay * 1000, 6)))  # 0.57 * 1000 is 570.0000000000001
    step: int = 10 ** max(0, len(str(ms)) - 2)
    return -(-ms // step) * step


# What RabbitMQ says when it answers and refuses: waiting would not change it.
_REFUSALS = (
    ProbableAuthenticationError,
    AuthenticationError,
    ConnectionNotAllowed,
    IncompatibleProtocolError,
)


@asynccontextmanager
async def _answer(doing: str, *, queue: str | None = None) -> AsyncIterator[None]:
    """Bounds one exchange with RabbitMQ in time and turns its failures into BrokerError
    (naming `queue` when RabbitMQ does not know it)."""
    try:
        async with asyncio.timeout(ANSWER_TIMEOUT):
            yield
    except BrokerError:
        raise
    except ChannelNotFoundEntity as error:
        if queue is None:
            raise BrokerError(f"{doing}: {error!r}") from error
        raise BrokerError(f"queue {queue!r} is not declared") from error
    except TimeoutError as error:
        raise BrokerError(
            f"{doing}: RabbitMQ did not answer within {ANSWER_TIMEOUT:g} s"
        ) from error
    except (AMQPError, OSError, RuntimeError) as error:
        # RuntimeError: aio-pika's word for a channel or connection that is closed
        # (ChannelInvalidStateError, "Connection was not opened").
        raise BrokerError(f"{doing}: {error!r}") from error


def _string_headers(raw: Mapping[str, FieldValue] | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in (raw or {}).items():
        if key.startswith(_BOOKKEEPING_HEADERS):
            continue
        # pamqp reads an AMQP byte array as bytearray, a non-UTF-8 string as bytes.
        if isinstance(value, bytes | bytearray):
            headers[key] = value.decode("utf-8", errors="replace")
        elif isinstance(value, str):
            headers[key] = value
    return headers


def _visible_at(message: AbstractIncomingMessage) -> float | None:
    """When `message` became visible in its queue (wall clock, seconds), from this
    adapter's header or else the AMQP timestamp; None without either."""
    stamp = (message.headers or {}).get(VISIBLE_AT_HEADER)
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        return float(stamp)
    if isinstance(stamp, bytes | bytearray | str):
        with contextlib.suppress(ValueError):
            return float(stamp)
    if isinstance(message.timestamp, datetime):
        return message.timestamp.timestamp()
    return None


class RabbitMQDelivery:
    def __init__(
        self,
        message: AbstractIncomingMessage,
        consumer: _Consumer,
        channel: aiormq.abc.AbstractChannel,
    ) -> None:
        self.message = message
        self.consumer = consumer
        # The channel that delivered it (open then): its acks go there, and after a
        # reconnect it is closed, which makes the delivery stale.
        self.channel = channel
        self._headers = _string_headers(message.headers)
        self._settled = False

    @property
    def body(self) -> bytes:
        return self.message.body

    @property
    def payload(self) -> bytes:
        return self.body

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers

    @property
    def message_id(self) -> str:
        return self.message.message_id or ""

    @property
    def redelivered(self) -> bool:
        return bool(self.message.redelivered)

    def settle(self) -> None:
        """Mark this delivery settled; it stays among the consumer's held ones until
        `release` (its `basic.ack` or `basic.nack` is sent), so that no `multiple`
        ack covers it before then."""
        if self._settled:
            raise BrokerError(f"message {self.message_id} is already settled")
        self._settled = True

    def release(self) -> None:
        self.consumer.handed_out.pop(self, None)

    async def ack(self) -> None:
        self.settle()
        try:
            await self.send_ack()
        finally:
            self.release()

    async def send_ack(self, *, multiple: bool = False) -> None:
        """`basic.ack` for this (settled) delivery; with `multiple`, for every delivery
        of its channel up to and including it."""
        async with _answer(f"acknowledging {self.message_id}"):
            await self.message.ack(multiple=multiple)

    async def requeue(self) -> None:
        self.settle()
        try:
            if self.channel.is_closed:
                return  # its channel closed, which already returned it to the queue
            async with _answer(f"requeueing {self.message_id}"):
                await self.message.nack(requeue=True)
        finally:
            self.release()


class _Consumer:
    """Deliveries that RabbitMQ pushed to one consumer channel, buffered until asked for.

    Waiting on the buffer can be cancelled (a timeout) without losing a message:
    RabbitMQ keeps counting a buffered message against the prefetch bound until it
    is settled or its channel closes, so nothing is handed out past the bound.
    """

    def __init__(self) -> None:
        self._arrived: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        # Handed out and not released yet (unsettled, or its ack or nack not sent):
        # what a `multiple` ack must not cover.
        self.handed_out: dict[RabbitMQDelivery, None] = {}
        self._acking: list[RabbitMQDelivery] = []
        self._batch: asyncio.Task[set[RabbitMQDelivery]] | None = None
        self._sending = asyncio.Lock()

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        self._arrived.put_nowait(message)

    def __aiter__(self) -> _Consumer:
        return self

    async def __anext__(self) -> RabbitMQDelivery:
        while True:
            message = await self._arrived.get()
            try:
                channel = message.channel
            except ChannelInvalidStateError:
                continue  # stale: its channel closed, which returned it to the queue
            delivery = RabbitMQDelivery(message, self, channel)
            self.handed_out[delivery] = None
            return delivery

    async def ack_together(self, deliveries: list[RabbitMQDelivery]) -> int:
        """Acknowledge `deliveries` (settled already, all handed out by this consumer);
        returns how many could not be.

        The acknowledgements asked for during one turn of the event loop go out
        together, in the next turn: the stage tasks that one multiple publisher confirm
        (https://www.rabbitmq.com/docs/confirms#server-sent-acks-multiple) woke all ask
        in the same turn, and `basic.ack` has no answer to wait for, so nothing else
        would batch them. One batch is sent at a time.
        """
        self._acking.extend(deliveries)
        if self._batch is None:
            self._batch = asyncio.get_running_loop().create_task(self._send_acks())
        # Shielded: a caller cancelled meanwhile does not withdraw the others' acks.
        failed = await asyncio.shield(self._batch)
        return sum(1 for delivery in deliveries if delivery in failed)

    async def _send_acks(self) -> set[RabbitMQDelivery]:
        """The acknowledgements gathered so far (this runs a turn after the first was
        asked for); returns those that could not be sent.

        A `basic.ack` with `multiple` acknowledges every delivery of its channel up to
        and including its tag (https://www.rabbitmq.com/docs/confirms#consumer-acks-multiple-parameter;
        aio-pika: `IncomingMessage.ack(multiple=True)`,
        https://docs.aio-pika.com/apidoc.html#aio_pika.IncomingMessage.ack). Tags grow
        in delivery order and this consumer hands deliveries out in that order, so the
        deliveries of the batch below every delivery still held on their channel
        (unsettled, or settled with its ack or nack not sent yet) go in one such ack;
        each of the others in an ack of its own. An ack frame costs per frame, not per
        message: one per 32 messages instead of one each saved RabbitMQ 11-16 % and the
        client 14-19 % of their CPU per message (BENCHMARKS.md, `rabbitmq_costs.py`).
        """
        async with self._sending:
            batch, self._acking, self._batch = self._acking, [], None
            failed: set[RabbitMQDelivery] = set()
            in_batch = set(batch)
            by_channel: dict[aiormq.abc.AbstractChannel, list[RabbitMQDelivery]] = {}
            for delivery in batch:
                by_channel.setdefault(delivery.channel, []).append(delivery)
            try:
                for channel, same_channel in by_channel.items():
                    if channel.is_closed:
                        # A reconnect closed it, which returned these to the queue.
                        failed.update(same_channel)
                        continue
                    # Held on a channel that is open: not stale.
                    lowest_held = min(
                        (
                            _tag(held)
                            for held in self.handed_out
                            if held.channel is channel and held not in in_batch
                        ),
                        default=math.inf,
                    )
                    covered = [d for d in same_channel if _tag(d) < lowest_held]
                    alone = [d for d in same_channel if _tag(d) >= lowest_held]
                    if covered:
                        try:
                            await max(covered, key=_tag).send_ack(multiple=len(covered) > 1)
                        except BrokerError:
                            failed.update(covered)
                    sent = await asyncio.gather(
                        *(delivery.send_ack() for delivery in alone), return_exceptions=True
                    )
                    for delivery, outcome in zip(alone, sent, strict=True):
                        if isinstance(outcome, BrokerError):
                            failed.add(delivery)
                        elif isinstance(outcome, BaseException):
                            raise outcome
            finally:
                for delivery in batch:
                    delivery.release()
            return failed


def _tag(delivery: RabbitMQDelivery) -> int:
    return delivery.message.delivery_tag or 0


async def _close_unconnected(connection: AbstractRobustConnection) -> None:
    """Close a connection whose first connect failed or was cancelled, so it does not
    go on trying by itself; a second cancellation does not cut the close short."""
    closing = asyncio.ensure_future(connection.close())
    with contextlib.suppress(Exception, asyncio.CancelledError):
        async with asyncio.timeout(ANSWER_TIMEOUT):
            await asyncio.shield(closing)


async def _close_quietly(channel: AbstractRobustChannel) -> None:
    # A channel that fails to close (in time) is gone or going with its connection,
    # and RabbitMQ returns its deliveries either way.
    with contextlib.suppress(AMQPError, OSError, RuntimeError):
        async with asyncio.timeout(ANSWER_TIMEOUT):
            await channel.close()


class RabbitMQBroker:
    """Queues on a RabbitMQ server at `url` (`amqp://user:password@host:5672/vhost`).

    `prefix` namespaces the queue names (`supporter.tickets`). `max_length` bounds
    each queue for fresh publishes (backpressure); None leaves queues unbounded.
    """

    def __init__(
        self, url: str, *, prefix: str = "supporter", max_length: int | None = None
    ) -> None:
        if max_length is not None and max_length < 1:
            raise ValueError("max_length must be at least 1 (or None for unbounded queues)")
        self.address = masked_url(url)
        try:
            host = URL(url).host
        except ValueError as error:
            raise ValueError(f"malformed RabbitMQ URL {self.address}: {error}") from None
        if not host:
            raise ValueError(f"malformed RabbitMQ URL {self.address}: no host")
        self._url = url
        self._prefix = prefix
        self._room = None if max_length is None else RoomGauge(max_length, self.depth)
        self._connection: AbstractRobustConnection | None = None
        self._publisher: AbstractRobustChannel | None = None
        self._inspector: AbstractRobustChannel | None = None
        self._connecting = asyncio.Lock()
        self._opening = asyncio.Lock()  # of the shared channels
        self._inspecting = asyncio.Lock()
        self._closed = False
        self._declared: dict[str, None] = {}
        # Per queue: the delay queues made for it, with when each was last declared.
        self._delay_queues: dict[str, dict[str, float]] = {}

    @property
    def declared(self) -> tuple[str, ...]:
        """The queues declared through this broker, in order."""
        return tuple(self._declared)

    def _name(self, queue: str) -> str:
        return f"{self._prefix}.{queue}" if self._prefix else queue

    async def _connect(self) -> AbstractRobustConnection:
        """The connection, opened on first use."""
        async with self._connecting:
            if self._closed:
                raise BrokerError("broker is closed")
            if self._connection is None:
                # What `aio_pika.connect_robust` does, keeping hold of the connection:
                # one whose first connect is cancelled (a stop while the broker does not
                # answer) would otherwise go on reconnecting on its own, unclosed, and
                # keep the process from exiting.
                connection = aio_pika.RobustConnection(make_url(self._url))
                try:
                    try:
                        await connection.connect(timeout=ANSWER_TIMEOUT)
                    except BaseException:
                        await _close_unconnected(connection)
                        raise
                    self._connection = connection
                except _REFUSALS as error:
                    raise BrokerError(
                        f"RabbitMQ at {self.address} refused the connection: {error!r}. "
                        "Check the URL's user, password and virtual host."
                    ) from error
                except OSError as error:  # refused, reset, no answer in time, no such host
                    raise BrokerUnreachable(
                        f"cannot connect to RabbitMQ at {self.address}: {error!r}. "
                        "Check that the server is running and that the URL's host and port "
                        "are right."
                    ) from error
                except AMQPError as error:
                    raise BrokerError(
                        f"cannot connect to RabbitMQ at {self.address}: {error!r}. "
                        "Check that the URL's host, port, user, password and virtual host "
                        "are right."
                    ) from error
            return self._connection

    async def _open_channel(self, doing: str, *, confirms: bool = False) -> AbstractRobustChannel:
        connection = await self._connect()
        async with _answer(doing):
            # Opening a channel while the connection is being restored fails at once.
            await connection.ready()
            return await connection.channel(publisher_confirms=confirms, on_return_raises=confirms)

    async def _publisher_channel(self) -> AbstractRobustChannel:
        async with self._opening:
            if self._publisher is None:
                self._publisher = await self._open_channel("opening a channel", confirms=True)
            return self._publisher

    @asynccontextmanager
    async def _inspection(
        self, doing: str, *, queue: str | None = None
    ) -> AsyncIterator[AbstractRobustChannel]:
        """The channel for declares, depth checks and deletes, with errors translated.

        One inspection at a time: a channel answers one question at a time anyway,
        and one that fails or is cancelled midway closes the channel (aiormq does so
        itself for a cancelled question), which must not fail the next one waiting
        for it. Taking turns, the next finds the channel gone and opens another."""
        async with self._inspecting:
            async with self._opening:
                if self._inspector is None:
                    self._inspector = await self._open_channel("opening a channel")
                channel = self._inspector
            async with self._inspected(channel, doing, queue=queue):
                yield channel

    @asynccontextmanager
    async def _inspected(
        self, channel: AbstractRobustChannel, doing: str, *, queue: str | None
    ) -> AsyncIterator[None]:
        async with _answer(doing, queue=queue):
            try:
                yield
            except BaseException:
                # RabbitMQ closes a channel on any error (a missing queue, other
                # arguments), and one left mid-answer (a timeout) is no better: drop it,
                # the next inspection opens another.
                if self._inspector is channel:
                    self._inspector = None
                await _close_quietly(channel)
                raise

    async def _declare_queue(
        self, name: str, arguments: dict[str, FieldValue] | None = None
    ) -> None:
        async with self._inspection(f"declaring queue {name!r}") as channel:
            # Not robust: a queue recorded by a robust channel is declared again on
            # every reconnect, even after `delete`.
            await channel.declare_queue(name, durable=True, arguments=arguments, robust=False)

    async def declare(self, queue: str) -> None:
        for name in (queue, dead_letter_queue(queue)):
            await self._declare_queue(self._name(name))
        self._declared.setdefault(queue)

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
        data = bytes(body)
        if delay > 0 or self._room is None:
            await self._send(queue, data, message_id, headers, delay)
            return
        async with self._room.taken(queue):
            await self._send(queue, data, message_id, headers, delay)

    async def _send(
        self,
        queue: str,
        body: bytes,
        message_id: str,
        headers: Mapping[str, str] | None,
        delay: float,
    ) -> None:
        fields: dict[str, FieldValue] = dict(headers or {})
        if delay > 0:
            routing_key = await self._delay_queue(queue, delay)
            visible_in = delay_bucket_ms(delay) / 1000
        else:
            routing_key = self._name(queue)
            visible_in = 0.0
        now = time.time()
        # A string: pamqp would write a float as single precision, off by seconds.
        fields[VISIBLE_AT_HEADER] = f"{now + visible_in:.6f}"
        # Straight through aiormq, the protocol library under aio-pika: aio-pika's
        # `Message` and `Exchange.publish` only build these properties and call
        # `basic_publish` (https://docs.aio-pika.com/apidoc.html#aio_pika.Exchange.publish),
        # at a cost per message measured in BENCHMARKS.md. The answer is the same:
        # `mandatory` makes RabbitMQ return a message no queue takes, which aiormq
        # raises as `PublishError` (the channel has `on_return_raises`), a `basic.nack`
        # raises `DeliveryError`, and only a `basic.ack` returns
        # (https://www.rabbitmq.com/docs/confirms#when-publishes-are-confirmed).
        properties = Basic.Properties(
            message_id=message_id,
            headers=fields,
            delivery_mode=DeliveryMode.PERSISTENT.value,
            timestamp=datetime.fromtimestamp(now, tz=UTC),
        )
        channel = await self._publisher_channel()
        async with _answer(f"publishing {message_id} to {queue!r}"):
            try:
                underlay = await channel.get_underlay_channel()
                answer = await underlay.basic_publish(
                    body, routing_key=routing_key, properties=properties, mandatory=True
                )
            except PublishError as error:
                raise BrokerError(f"queue {queue!r} is not declared") from error
            if not isinstance(answer, Basic.Ack):
                raise BrokerError(f"RabbitMQ did not take {message_id}: {answer!r}")

    async def _delay_queue(self, queue: str, delay: float) -> str:
        """The delay queue for `delay`, declared if this broker has not lately."""
        ttl = delay_bucket_ms(delay)
        name = f"{self._name(queue)}.delay.{ttl}"
        made = self._delay_queues.setdefault(queue, {})
        now = asyncio.get_running_loop().time()
        last = made.get(name)
        if last is None or now - last > _DELAY_QUEUE_REFRESH:
            # RabbitMQ drops a message dead-lettered to a missing queue: check first.
            await self.depth(queue)
            # Declaring again renews `x-expires`; since that outlasts the TTL by twice
            # the refresh interval, the queue never expires with messages still in it.
            await self._declare_queue(
                name,
                {
                    "x-message-ttl": ttl,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": self._name(queue),
                    "x-expires": ttl + int(2 * _DELAY_QUEUE_REFRESH * 1000),
                },
            )
            made[name] = now
        return name

    @asynccontextmanager
    async def consume(
        self, queue: str, *, prefetch: int
    ) -> AsyncIterator[AsyncIterator[RabbitMQDelivery]]:
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        await self.depth(queue)  # a clear error for a queue nobody declared
        channel = await self._open_channel(f"opening a channel to consume {queue!r}")
        consumer = _Consumer()
        try:
            async with _answer(f"consuming from {queue!r}"):
                await channel.set_qos(prefetch_count=prefetch)
                # Robust, so that the channel declares it again and resumes this
                # consumer after a reconnect; a durable queue survives that anyway.
                amqp_queue = await channel.declare_queue(self._name(queue), durable=True)
                await amqp_queue.consume(consumer.on_message)
            yield consumer
        finally:
            # Closing the channel returns every unacknowledged delivery to the queue.
            # Shielded: a cancelled consumer task must not leave the channel open.
            await asyncio.shield(_close_quietly(channel))

    async def ack_many(self, deliveries: Sequence[Delivery]) -> int:
        by_consumer: dict[_Consumer, list[RabbitMQDelivery]] = {}
        others: list[Delivery] = []
        failed = 0
        for delivery in deliveries:
            if not isinstance(delivery, RabbitMQDelivery):
                others.append(delivery)
                continue
            try:
                delivery.settle()
            except BrokerError:
                failed += 1
                continue
            by_consumer.setdefault(delivery.consumer, []).append(delivery)
        for consumer, settled in by_consumer.items():
            failed += await consumer.ack_together(settled)
        return failed + await ack_each(others)

    async def depth(self, queue: str) -> int:
        doing = f"counting the messages in {queue!r}"
        async with self._inspection(doing, queue=queue) as channel:
            counted = await channel.declare_queue(self._name(queue), passive=True, robust=False)
        return counted.declaration_result.message_count or 0

    async def oldest_age(self, queue: str) -> float | None:
        doing = f"peeking at the oldest message in {queue!r}"
        # A channel of its own, closed after each look: a failed or cut-short peek then
        # takes no other call down with it, and closing it waits until RabbitMQ has the
        # message back (a nack has no answer of its own).
        channel = await self._open_channel(doing)
        try:
            async with _answer(doing, queue=queue):
                amqp_queue = await channel.get_queue(self._name(queue), ensure=False)
                head = await amqp_queue.get(no_ack=False, fail=False, timeout=ANSWER_TIMEOUT)
                if head is None:
                    return None
                try:
                    visible_at = _visible_at(head)
                finally:
                    # Back to its original place in the queue.
                    await head.nack(requeue=True)
        finally:
            await _close_quietly(channel)
        return None if visible_at is None else max(0.0, time.time() - visible_at)

    async def delete(self, queue: str) -> None:
        """Delete `queue`, its dead-letter queue and the delay queues this broker made
        for them, with every message in them. For tests and tools, not for stages."""
        dead = dead_letter_queue(queue)
        names = [
            self._name(queue),
            self._name(dead),
            *self._delay_queues.pop(queue, {}),
            *self._delay_queues.pop(dead, {}),
        ]
        async with self._inspection(f"deleting queue {queue!r}") as channel:
            for name in names:
                await channel.queue_delete(name)
        self._declared.pop(queue, None)

    async def close(self) -> None:
        self._closed = True
        async with self._connecting:
            connection, self._connection = self._connection, None
        self._publisher = self._inspector = None
        if connection is not None:
            await connection.close()
