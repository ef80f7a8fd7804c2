"""Kafka through aiokafka: the third broker for stages in separate processes.

- **URL.** `kafka://host:port[,host:port…]` lists the bootstrap servers. The query
  option `idempotence=false` turns the idempotent producer off, for servers that
  lack it (Tansu, the test server); a real Kafka cluster keeps the default.
- **Layout.** A queue is the topic `<prefix>.<queue>` with `partitions` partitions
  and `replication_factor` replicas; its delayed messages wait in the topic
  `<prefix>.<queue>.delay`. `declare` creates both, and the same two for the
  queue's dead-letter queue (`<prefix>.<queue>.dead`), when they are missing.
  Every queue is read by its own consumer group, named like its topic, so that a
  worker joining or leaving one stage does not make the other stages rebalance.
  Publishing to (or consuming from) a queue nobody declared is an error, not a
  topic the server creates on the fly.
- **Messages.** The body is the record's value; the message id travels in the
  header `x-supporter-message-id`; every header given to `publish` travels as a
  Kafka header (UTF-8) and arrives unchanged on the delivery (a `traceparent`
  among them). The record key is `key` (the customer's id), so one customer's
  messages share a partition and keep their order; a message without a key goes
  to partition 0, which keeps unkeyed messages in publish order.
- **Publishing** waits for the acknowledgement of every in-sync replica
  (`acks=all`), with the idempotent producer unless the URL turns it off. A stage
  acknowledges its input only after that, so an input offset is never committed
  before what it produced is safe.
- **Acknowledging without acks.** Kafka keeps one committed offset per partition
  and group, not a per-message ack. A consumer tracks, per partition, the offsets
  it fetched and which of them are finished (acknowledged, requeued, or, for the
  delay topic, moved); it commits the lowest offset not finished yet (or the next
  one to fetch when all are). Deliveries of one partition can therefore be worked
  on concurrently and settled in any order, and the commit never passes
  unfinished work. Commits are batched: at most every `commit_interval` seconds
  after an acknowledgement, and once more when a consumer leaves or loses a
  partition. A consumer that crashes leaves its group after the session timeout
  (`session_timeout`); its partitions are then read again from their committed
  offsets by the others: the messages after that offset come again, and the
  idempotent store makes such repeats harmless.
- **Prefetch.** At most `prefetch` deliveries are held (taken from aiokafka and not
  yet handed out, or handed out and not settled). While the bound is reached the
  consumer takes only delay-topic records (the queue's wait in aiokafka's fetch
  buffer, bounded by its fetch sizes) and waits for a settle. Fetches are held by
  the server at most 20 ms (`FETCH_MAX_WAIT_MS`), so a refill is quick.
- **Requeue.** `requeue` publishes a copy of the message (same key, id and
  headers, with the marker header `x-supporter-redelivered`) to the end of the
  queue and then marks the original finished; seeking back instead would replay
  every later message of the partition too. The delivery counts as settled only
  once the copy is published: if publishing fails, `requeue` raises BrokerError
  and the delivery stays handed out and unsettled (a retry of `requeue`, or leaving
  `consume`, gives it back; a rebalance waits for it). Leaving `consume` waits for
  requeues in flight (at most `answer_timeout`), then does the same for every
  delivery handed out and not settled; what was fetched but not handed out is
  simply not committed, so it comes again. `redelivered` is true for such
  copies only: a message read again after a crash or a rebalance is not marked
  (Kafka keeps no record of what was delivered).
- **Rebalances.** When the group takes partitions from a consumer (a worker
  joins or dies), the consumer drops what it fetched from them and did not hand
  out, waits up to `revoke_wait` seconds (the setting `kafka_revoke_wait`, 30 by
  default: at least the usual time a stage holds a message) for what it handed
  out from them to be settled (a requeue in flight included), commits, and lets
  go. A delivery still unsettled after that is read
  again by the partition's next owner (a repeat, not a loss); settling the stale
  copy afterwards changes nothing.
- **Delays.** A delayed message is published to the queue's delay topic with its
  due time (epoch milliseconds, from the publisher's clock) in the header
  `x-supporter-due-ms`. Every consumer of the queue also reads its share of the
  delay topic (in the same group), holds those records in memory ordered by due
  time, and publishes each to the queue when it is due, then marks the delay
  record finished. So a long delay never holds up a shorter one or the queue's
  partition; a consumer that dies before moving a record leaves it uncommitted,
  and the next owner moves it (possibly once more: a repeat). Without a running
  consumer of the queue delayed messages wait in the delay topic, invisible and
  not counted by `depth`. The known limit of this scheme: a delay partition
  commits only up to its lowest record not moved yet, so one long delay (a
  Retry-After of up to 600 s) pins its commit point; a restart or a rebalance then
  replays the delay records behind it that were already moved, so those retries
  run twice (duplicate work, harmless to the results: the store is idempotent by
  origin), and every delayed record is held in the consumer's memory until due.
  Tiered delay topics (one per delay range) would lift this.
- **Depth** is, over the queue's partitions, the end offset minus where waiting
  starts: the group's committed offset (the log start where nothing was
  committed), or, on a partition that a consumer of this same broker object
  reads, the first offset it has not handed out. So it is exact in the process
  that consumes, and elsewhere (`supporter status`, another stage's metrics) it
  also counts what the consumers hold and have not committed yet: a slight
  overcount while they work. `oldest_age` reads, per partition where something
  waits, the record at that offset and returns how long ago the oldest of them
  was written (for a delayed message: moved to the queue), or None. A partition
  whose record there cannot be read after a few short fetches (only markers
  left) is skipped; an offset whose record is gone (retention) reads from the log
  start.
- **Backpressure.** With `max_length`, a fresh publish waits (polling with
  backoff) while the queue's depth is `max_length` or more. The depth is asked
  for again when the room it last showed is spent or a second old
  (`brokers/room.py`), so several publishers may overshoot a little. Delayed
  publishes skip the bound.
- **Failures.** A server that cannot be reached, or that does not answer an
  operation within `answer_timeout` seconds, raises BrokerError (the workers then
  consume again after a pause). aiokafka reconnects on its own underneath; a
  consumer's poll does not fail while the server is away, it just gets nothing.
  Commits that fail are logged (what is not committed is read again); after
  `COMMIT_FAILURES_FATAL` failures in a row that are not due to a rebalance, or
  if the committing task dies, the consumer's next `__anext__` raises BrokerError
  so that the worker consumes anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, SupportsBytes
from urllib.parse import parse_qs, urlsplit

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    TopicPartition,
)
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CommitFailedError,
    IllegalGenerationError,
    KafkaConnectionError,
    KafkaError,
    RebalanceInProgressError,
)

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

log = logging.getLogger(__name__)
# A bootstrap server not reached when a client starts: its start raises, and
# `_connecting` raises that as a BrokerError.
unlogged("aiokafka", 'Unable connect to "%s:%s": %s')

MESSAGE_ID_HEADER = "x-supporter-message-id"
REDELIVERED_HEADER = "x-supporter-redelivered"
DUE_HEADER = "x-supporter-due-ms"
_OWN_HEADERS = frozenset({MESSAGE_ID_HEADER, REDELIVERED_HEADER, DUE_HEADER})
_TOPIC_ALREADY_EXISTS = 36
# How long the server may hold a fetch that finds nothing new. Short, so that a
# partition resumed or refilled is read again soon (Tansu holds fetches this long
# even when another partition in them has records).
FETCH_MAX_WAIT_MS = 20
_URL_OPTIONS = frozenset({"idempotence"})
_REBALANCING = (CommitFailedError, IllegalGenerationError, RebalanceInProgressError)
# This many commits in a row failing for another reason than a rebalance end the
# consumer (its next `__anext__` raises BrokerError, and the worker consumes anew).
COMMIT_FAILURES_FATAL = 5
# How many short fetches `oldest_age` tries per partition before skipping it.
_OLDEST_TRIES = 10

# A record as aiokafka returns it (ConsumerRecord: topic, partition, offset,
# timestamp, key, value, headers); aiokafka ships no type information.
_Record = Any


def parse_url(url: str) -> tuple[str, bool]:
    """The bootstrap servers (`host:port,host:port`) and whether the producer is
    idempotent, from `kafka://host:port[,host:port…][?idempotence=false]`."""
    parts = urlsplit(url)
    if parts.scheme != "kafka" or not parts.netloc:
        raise ValueError(f"not a Kafka URL (kafka://host:port): {masked_url(url)!r}")
    options = parse_qs(parts.query)
    unknown = set(options) - _URL_OPTIONS
    if unknown:
        raise ValueError(f"unknown Kafka URL option(s): {', '.join(sorted(unknown))}")
    idempotence = options.get("idempotence", ["true"])[-1].strip().lower()
    if idempotence not in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
        raise ValueError(f"idempotence must be true or false, not {idempotence!r}")
    return parts.netloc, idempotence in {"true", "1", "yes", "on"}


def _not_declared(queue: str) -> BrokerError:
    return BrokerError(f"queue {queue!r} is not declared: call declare({queue!r}) first")


@contextlib.asynccontextmanager
async def _answer(doing: str, within: float) -> AsyncIterator[None]:
    """Bounds one exchange with Kafka in time and turns its failures into BrokerError."""
    try:
        async with asyncio.timeout(within):
            yield
    except BrokerError:
        raise
    except TimeoutError as error:
        raise BrokerError(f"{doing}: Kafka did not answer within {within:g} s") from error
    except (KafkaError, OSError) as error:
        raise BrokerError(f"{doing}: {error!r}") from error


@contextlib.asynccontextmanager
async def _connecting(address: str, within: float) -> AsyncIterator[None]:
    """Starting one of aiokafka's clients: a server that was not reached (nothing
    listens, no answer within `within` seconds) is BrokerUnreachable."""
    try:
        async with _answer(f"connecting to Kafka at {address}", within):
            yield
    except BrokerError as error:
        if isinstance(error.__cause__, KafkaConnectionError | OSError):
            raise BrokerUnreachable(str(error)) from error.__cause__
        raise


def _header_text(value: bytes | None) -> str:
    return "" if value is None else value.decode("utf-8", errors="replace")


class _Partition:
    """What one consumer fetched from one partition during one assignment, and which
    of it is finished; the offset it may commit follows from that."""

    def __init__(self, tp: TopicPartition, first_offset: int) -> None:
        self.tp = tp
        self.live = True  # false once the partition was taken away (or the consumer left)
        self.committed = first_offset
        self.next_offset = first_offset  # the next one to fetch
        self._open: deque[int] = deque()  # fetched, in order, up to the first unfinished
        self._finished: set[int] = set()

    def fetched(self, offset: int) -> None:
        self._open.append(offset)
        self.next_offset = offset + 1

    def finish(self, offset: int) -> None:
        self._finished.add(offset)
        while self._open and self._open[0] in self._finished:
            self._finished.discard(self._open.popleft())

    def commit_point(self) -> int:
        """The lowest offset not finished (every offset below it is)."""
        return self._open[0] if self._open else self.next_offset


class KafkaDelivery:
    def __init__(self, consumer: KafkaConsumer, partition: _Partition, record: _Record) -> None:
        self._consumer = consumer
        self.partition = partition
        self.offset: int = record.offset
        self.key: bytes | None = record.key
        self._body: bytes = record.value or b""
        headers: dict[str, str] = {}
        message_id = ""
        redelivered = False
        for name, value in record.headers or ():
            if name == MESSAGE_ID_HEADER:
                message_id = _header_text(value)
            elif name == REDELIVERED_HEADER:
                redelivered = _header_text(value) == "1"
            elif name not in _OWN_HEADERS:
                headers[name] = _header_text(value)
        self._headers = headers
        self._message_id = message_id or f"{record.topic}:{record.partition}:{record.offset}"
        self._redelivered = redelivered
        self.settled = False
        self.giving_back = False  # a requeue is publishing its copy

    @property
    def body(self) -> bytes:
        return self._body

    @property
    def payload(self) -> bytes:
        return self.body

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers

    @property
    def message_id(self) -> str:
        return self._message_id

    @property
    def redelivered(self) -> bool:
        return self._redelivered

    async def ack(self) -> None:
        self._consumer.settle(self)
        self._consumer.finish(self)

    async def requeue(self) -> None:
        await self._consumer.requeue(self)


class _Stopped(Exception):
    """The consumer's reader ended; carries its error, if any."""


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(self, consumer: KafkaConsumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self._consumer.revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        mine = sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned)
        log.info(
            "consumer of %r was assigned %s", self._consumer.queue, ", ".join(mine) or "nothing"
        )


class KafkaConsumer:
    """One member of a queue's consumer group: an async context manager and, inside
    it, an async iterator of deliveries. See the module docs."""

    def __init__(self, broker: KafkaBroker, queue: str, *, prefetch: int) -> None:
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        self._broker = broker
        self.queue = queue
        self._topic = broker.topic(queue)
        self._delay_topic = broker.delay_topic(queue)
        self._prefetch = prefetch
        self._client: Any = None  # the AIOKafkaConsumer, once started
        self._partitions: dict[TopicPartition, _Partition] = {}
        self._buffer: deque[KafkaDelivery] = deque()
        self._handed: set[KafkaDelivery] = set()
        # Delay records waiting to be due: (due ms, sequence, record, partition).
        self._delayed: list[tuple[int, int, _Record, _Partition]] = []
        self._sequence = itertools.count()
        self._arrived = asyncio.Event()
        self._settled = asyncio.Event()
        self._dirty = asyncio.Event()
        self._commit_lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._committer: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._commit_failures = 0  # in a row, not counting rebalances
        self._stopping = False
        self._closed = False

    async def __aenter__(self) -> KafkaConsumer:
        broker = self._broker
        await broker.require_declared(self.queue)
        client = AIOKafkaConsumer(
            bootstrap_servers=broker.servers,
            group_id=broker.group(self.queue),
            client_id=broker.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            session_timeout_ms=round(broker.session_timeout * 1000),
            heartbeat_interval_ms=max(100, round(broker.session_timeout * 1000 / 5)),
            request_timeout_ms=round(broker.answer_timeout * 1000) + 5000,
        )
        client.subscribe([self._topic, self._delay_topic], listener=_Listener(self))
        try:
            async with _answer(f"joining the consumers of {self.queue!r}", broker.answer_timeout):
                await client.start()
        except BaseException:  # BrokerError, or cancelled while joining
            await _stop_quietly(client.stop, broker.answer_timeout)
            raise
        self._client = client
        self._reader = asyncio.create_task(self._read(), name=f"kafka-reader-{self.queue}")
        self._committer = asyncio.create_task(
            self._commit_loop(), name=f"kafka-committer-{self.queue}"
        )
        self._committer.add_done_callback(self._committer_done)
        broker.consumers.add(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Shielded: a cancelled consumer task must still give back what it holds.
        await asyncio.shield(self.close())

    def __aiter__(self) -> KafkaConsumer:
        return self

    async def __anext__(self) -> KafkaDelivery:
        if self._client is None:
            raise BrokerError("iterate inside `async with broker.consume(...)`")
        while True:
            if self._error is not None:
                # What is buffered is not handed out: never finished, it comes again.
                raise BrokerError(
                    f"consuming queue {self.queue!r} from Kafka failed: {self._error}"
                ) from self._error
            if self._buffer:
                delivery = self._buffer.popleft()
                self._handed.add(delivery)
                return delivery
            if self._stopping:
                raise StopAsyncIteration
            self._arrived.clear()
            await self._arrived.wait()

    # --- settling -----------------------------------------------------------------

    def _check_unsettled(self, delivery: KafkaDelivery) -> None:
        if delivery.settled:
            raise BrokerError(f"message {delivery.message_id} is already settled")
        if delivery.giving_back:
            raise BrokerError(f"message {delivery.message_id} is being requeued")

    def settle(self, delivery: KafkaDelivery) -> None:
        self._check_unsettled(delivery)
        delivery.settled = True
        self._handed.discard(delivery)
        self._settled.set()

    def finish(self, delivery: KafkaDelivery) -> None:
        """Its offset may be committed (once every earlier one of its partition is)."""
        if delivery.partition.live:
            delivery.partition.finish(delivery.offset)
            self._dirty.set()

    async def requeue(self, delivery: KafkaDelivery) -> None:
        """Give the delivery back; it counts as settled only once the copy is published.
        If publishing fails it stays handed out and unsettled (BrokerError): a retry of
        `requeue`, or the give-back on leaving, still handles it, and a rebalance still
        waits for it."""
        self._check_unsettled(delivery)
        delivery.giving_back = True
        try:
            await self.give_back(delivery)
        finally:
            delivery.giving_back = False
            self._settled.set()  # wakes whoever waits for give-backs in flight
        if not delivery.settled:  # close() may have taken it over meanwhile
            self.settle(delivery)

    async def give_back(self, delivery: KafkaDelivery) -> None:
        """A copy marked redelivered at the end of the queue, then the original is
        finished. If publishing fails the original stays unfinished, so it is read
        again once this consumer lets its partition go."""
        if not delivery.partition.live:
            return  # the partition's next owner reads it again anyway
        headers = {**delivery.headers, REDELIVERED_HEADER: "1"}
        await self._broker.send(
            self._topic, delivery.body, delivery.message_id, headers, delivery.key
        )
        self.finish(delivery)

    async def commit(self, only: set[TopicPartition] | None = None) -> None:
        """Commit, for each live partition (of `only`), the offset below which every
        message is finished, if it moved. Failures are logged: what is not committed
        is read again later, which the idempotent store absorbs."""
        async with self._commit_lock:
            chosen = [
                state
                for tp, state in self._partitions.items()
                if state.live and (only is None or tp in only)
            ]
            offsets = {
                state.tp: point
                for state in chosen
                if (point := state.commit_point()) > state.committed
            }
            if not offsets or self._client is None:
                return
            try:
                async with asyncio.timeout(self._broker.answer_timeout):
                    await self._client.commit(offsets)
            except (KafkaError, OSError, TimeoutError) as error:
                # A rebalance under way is routine (the listener commits what it may);
                # anything else is worth a warning, and several in a row end the consumer.
                if isinstance(error, _REBALANCING):
                    log.info("could not commit offsets of %r: %r", self.queue, error)
                    return
                self._commit_failures += 1
                log.warning(
                    "could not commit offsets of %r (%d in a row): %r",
                    self.queue,
                    self._commit_failures,
                    error,
                )
                if self._commit_failures >= COMMIT_FAILURES_FATAL and not self._stopping:
                    self._fail(
                        BrokerError(
                            f"{self._commit_failures} commits in a row failed, the last"
                            f" with {error!r}"
                        )
                    )
                return
            self._commit_failures = 0
            for state in chosen:
                if state.tp in offsets:
                    state.committed = max(state.committed, offsets[state.tp])

    async def _commit_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            await self.commit()
            await asyncio.sleep(self._broker.commit_interval)

    def waiting_from(self) -> dict[TopicPartition, int]:
        """Per partition of the queue this consumer reads: the first offset it has not
        handed out (what is before it is in flight or done, not waiting)."""
        found = {
            tp: state.next_offset
            for tp, state in self._partitions.items()
            if state.live and tp.topic == self._topic
        }
        for delivery in self._buffer:
            tp = delivery.partition.tp
            found[tp] = min(found.get(tp, delivery.offset), delivery.offset)
        return found

    # --- rebalances -----------------------------------------------------------------

    async def revoked(self, revoked: set[TopicPartition]) -> None:
        """Called by aiokafka before partitions go to another member."""
        if not revoked:
            return
        self._buffer = deque(d for d in self._buffer if d.partition.tp not in revoked)
        kept = [item for item in self._delayed if item[3].tp not in revoked]
        heapq.heapify(kept)
        self._delayed = kept
        # A requeue in flight stays handed out until its copy is published: waited for.
        await self._wait_until(
            lambda: not any(d.partition.tp in revoked for d in self._handed),
            self._broker.revoke_wait,
        )
        unsettled = sum(d.partition.tp in revoked for d in self._handed)
        if unsettled:
            log.warning(
                "%d unsettled message(s) of %r go to the partitions' next owner",
                unsettled,
                self.queue,
            )
        await self.commit(revoked)
        for tp in revoked:
            state = self._partitions.pop(tp, None)
            if state is not None:
                state.live = False

    async def _wait_until(self, done: Callable[[], bool], within: float) -> None:
        """Wait, at most `within` seconds, until `done()` holds (checked at each settle)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not done():
            left = deadline - loop.time()
            if left <= 0:
                return
            self._settled.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._settled.wait()

    # --- reading ------------------------------------------------------------------

    def _fail(self, error: BaseException) -> None:
        """Ends the consumer: its next `__anext__` raises BrokerError."""
        if self._error is None:
            self._error = error
        self._arrived.set()

    def _committer_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._stopping:
            return
        error = task.exception() or RuntimeError("the committer ended")
        log.error("committing offsets of %r failed: %r", self.queue, error)
        self._fail(error)

    def _room(self) -> int:
        return self._prefetch - len(self._handed) - len(self._buffer)

    async def _read(self) -> None:
        block = self._broker.block
        try:
            while not self._stopping:
                await self._move_due()
                wait = block
                if self._delayed:
                    wait = min(wait, max(0.0, self._delayed[0][0] / 1000 - time.time()))
                room = self._room()
                if room > 0:
                    fetched = await self._client.getmany(
                        timeout_ms=max(1, round(wait * 1000)), max_records=room
                    )
                else:
                    # Full: only the delay topic's records that arrived are taken; the
                    # queue's stay in aiokafka's fetch buffer (pausing would drop and
                    # fetch them again). Then wait for a settle (or the next due time).
                    delay = [
                        tp for tp in self._client.assignment() if tp.topic == self._delay_topic
                    ]
                    fetched = await self._client.getmany(*delay, timeout_ms=0) if delay else {}
                    if not any(fetched.values()):
                        self._settled.clear()
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(wait):
                                await self._settled.wait()
                self._take(fetched)
        except Exception as error:
            log.error("reading queue %r failed: %r", self.queue, error)
            self._error = error
        finally:
            self._arrived.set()

    def _take(self, fetched: Mapping[TopicPartition, Sequence[_Record]]) -> None:
        for tp, records in fetched.items():
            if not records:
                continue
            state = self._partitions.get(tp)
            if state is None:
                state = self._partitions[tp] = _Partition(tp, records[0].offset)
            for record in records:
                state.fetched(record.offset)
                if tp.topic == self._delay_topic:
                    due = _due_ms(record)
                    heapq.heappush(self._delayed, (due, next(self._sequence), record, state))
                else:
                    self._buffer.append(KafkaDelivery(self, state, record))
            self._arrived.set()

    async def _move_due(self) -> None:
        now = time.time() * 1000
        while self._delayed and self._delayed[0][0] <= now:
            _, _, record, state = heapq.heappop(self._delayed)
            if not state.live:
                continue
            headers = [(name, value) for name, value in record.headers or () if name != DUE_HEADER]
            await self._broker.send_raw(self._topic, record.value or b"", headers, record.key)
            state.finish(record.offset)
            self._dirty.set()

    # --- leaving --------------------------------------------------------------------

    async def close(self) -> None:
        """Give back what was handed out and not settled, commit, leave the group."""
        if self._closed:
            return
        self._closed = True
        self._stopping = True
        self._broker.consumers.discard(self)
        for task in (self._reader, self._committer):
            if task is not None:
                task.cancel()
                # A committer that failed was reported already (see _committer_done).
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._buffer.clear()
        self._delayed.clear()
        # Requeues in flight publish their copies themselves (each bounded by the
        # answer timeout): wait for them, so as not to publish a second copy.
        await self._wait_until(
            lambda: not any(d.giving_back for d in self._handed), self._broker.answer_timeout
        )
        for delivery in sorted(self._handed, key=lambda d: (d.partition.tp, d.offset)):
            if delivery.giving_back:
                continue  # still publishing its copy; not finished, so read again anyway
            delivery.settled = True
            try:
                await self.give_back(delivery)
            except BrokerError as error:
                log.warning("could not give back %s: %s", delivery.message_id, error)
                break  # the rest is read again from the committed offset
        self._handed.clear()
        try:
            await self.commit()
        except Exception as error:  # what is not committed is read again
            log.warning("could not commit offsets of %r on leaving: %r", self.queue, error)
        for state in self._partitions.values():
            state.live = False
        self._arrived.set()
        if self._client is not None:
            await _stop_quietly(self._client.stop, self._broker.answer_timeout)


async def _stop_quietly(stop: Callable[[], Awaitable[None]], within: float) -> None:
    """Stop an aiokafka client, waiting at most `within` seconds. Its stop can fail when
    the server is gone (even with a CancelledError of its own fetch tasks, which must not
    pass for a cancellation of the caller); the client is done with either way."""
    stopping = asyncio.ensure_future(stop())
    await asyncio.wait({stopping}, timeout=within)
    if not stopping.done():
        stopping.cancel()
    elif not stopping.cancelled() and stopping.exception() is not None:
        log.debug("an aiokafka client stopped with %r", stopping.exception())


def _due_ms(record: _Record) -> int:
    for name, value in record.headers or ():
        if name == DUE_HEADER:
            with contextlib.suppress(ValueError):
                return int(_header_text(value))
    return 0  # not written by this adapter: due now


class KafkaBroker:
    """Queues as Kafka topics, each read by a consumer group of its own. See the module
    docs for what the options mean."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "supporter",
        partitions: int = 6,
        replication_factor: int = 1,
        max_length: int | None = None,
        session_timeout: float = 10.0,
        revoke_wait: float = 30.0,
        commit_interval: float = 0.05,
        answer_timeout: float = 30.0,
        block: float = 0.1,
    ) -> None:
        if partitions < 1 or replication_factor < 1:
            raise ValueError("partitions and replication_factor must be at least 1")
        if max_length is not None and max_length < 1:
            raise ValueError("max_length must be at least 1 (or None for unbounded)")
        if (
            min(session_timeout, answer_timeout, block) <= 0
            or min(revoke_wait, commit_interval) < 0
        ):
            raise ValueError("timeouts and intervals must be positive")
        self.servers, self._idempotence = parse_url(url)
        # The URL for messages, a password masked.
        self.address = masked_url(url)
        self.prefix = prefix
        self.partitions = partitions
        self.replication_factor = replication_factor
        self.max_length = max_length
        self.session_timeout = session_timeout
        self.revoke_wait = revoke_wait
        self.commit_interval = commit_interval
        self.answer_timeout = answer_timeout
        self.block = block
        self.client_id = f"supporter-{prefix}" if prefix else "supporter"
        self.consumers: set[KafkaConsumer] = set()
        self._producer: Any = None
        self._admin: Any = None
        self._inspectors: dict[str, tuple[Any, asyncio.Lock]] = {}
        self._starting = asyncio.Lock()
        self._topics: set[str] = set()
        self._declared: dict[str, None] = {}
        self._room = (
            None
            if max_length is None
            else RoomGauge(max_length, self.depth, first_poll=0.02, max_poll=0.5)
        )
        self._closed = False

    # --- names ----------------------------------------------------------------------

    def topic(self, queue: str) -> str:
        return f"{self.prefix}.{queue}" if self.prefix else queue

    def delay_topic(self, queue: str) -> str:
        return f"{self.topic(queue)}.delay"

    def group(self, queue: str) -> str:
        return self.topic(queue)

    @property
    def declared(self) -> tuple[str, ...]:
        """The queues declared through this broker, in order."""
        return tuple(self._declared)

    # --- clients --------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise BrokerError("broker is closed")

    async def _producer_client(self) -> Any:
        async with self._starting:
            self._check_open()
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.servers,
                    client_id=self.client_id,
                    acks="all",
                    enable_idempotence=self._idempotence,
                    request_timeout_ms=round(self.answer_timeout * 1000),
                )
                try:
                    async with _connecting(self.address, self.answer_timeout):
                        await producer.start()
                except BrokerUnreachable:
                    await _stop_quietly(producer.stop, self.answer_timeout)
                    raise
                except BrokerError as error:
                    await _stop_quietly(producer.stop, self.answer_timeout)
                    hint = (
                        " If the server does not support idempotent producers, add"
                        " ?idempotence=false to the URL."
                        if self._idempotence
                        else ""
                    )
                    raise BrokerError(f"{error}.{hint}") from error
                self._producer = producer
            return self._producer

    async def _admin_client(self) -> Any:
        async with self._starting:
            self._check_open()
            if self._admin is None:
                admin = AIOKafkaAdminClient(
                    bootstrap_servers=self.servers,
                    client_id=self.client_id,
                    request_timeout_ms=round(self.answer_timeout * 1000),
                )
                try:
                    async with _connecting(self.address, self.answer_timeout):
                        await admin.start()
                except BrokerError:
                    await _stop_quietly(admin.close, self.answer_timeout)
                    raise
                self._admin = admin
            return self._admin

    async def _inspector(self, queue: str) -> tuple[Any, asyncio.Lock]:
        """A client that reads the committed offsets of the queue's group (it never
        joins the group nor commits) and, by manual assignment, its records."""
        async with self._starting:
            self._check_open()
            found = self._inspectors.get(queue)
            if found is None:
                client = AIOKafkaConsumer(
                    bootstrap_servers=self.servers,
                    group_id=self.group(queue),
                    client_id=self.client_id,
                    enable_auto_commit=False,
                    # A committed offset whose record is gone (retention) reads from
                    # the log start instead of waiting at the end for nothing.
                    auto_offset_reset="earliest",
                    fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
                    request_timeout_ms=round(self.answer_timeout * 1000) + 5000,
                )
                try:
                    async with _connecting(self.address, self.answer_timeout):
                        await client.start()
                except BrokerError:
                    await _stop_quietly(client.stop, self.answer_timeout)
                    raise
                found = self._inspectors[queue] = (client, asyncio.Lock())
            return found

    # --- topics ---------------------------------------------------------------------

    def _topics_of(self, queue: str) -> list[str]:
        dead = dead_letter_queue(queue)
        return [
            self.topic(queue),
            self.delay_topic(queue),
            self.topic(dead),
            self.delay_topic(dead),
        ]

    async def declare(self, queue: str) -> None:
        wanted = [name for name in self._topics_of(queue) if name not in self._topics]
        if wanted:
            admin = await self._admin_client()
            async with _answer(f"declaring queue {queue!r}", self.answer_timeout):
                response = await admin.create_topics(
                    [NewTopic(name, self.partitions, self.replication_factor) for name in wanted]
                )
            for name, code, message in response.topic_errors:
                if code not in (0, _TOPIC_ALREADY_EXISTS):
                    raise BrokerError(
                        f"Kafka could not create topic {name!r} (error {code}): {message}"
                    )
            self._topics.update(wanted)
        self._declared.setdefault(queue)

    async def require_declared(self, queue: str) -> None:
        """BrokerError unless the queue's topic exists (asking the server once)."""
        topic = self.topic(queue)
        if topic in self._topics:
            return
        admin = await self._admin_client()
        async with _answer(f"listing the topics for {queue!r}", self.answer_timeout):
            self._topics.update(await admin.list_topics())
        if topic not in self._topics or self.delay_topic(queue) not in self._topics:
            raise _not_declared(queue)

    async def _partitions_of(self, queue: str) -> list[TopicPartition]:
        await self.require_declared(queue)
        producer = await self._producer_client()
        topic = self.topic(queue)
        async with _answer(f"reading the partitions of {queue!r}", self.answer_timeout):
            numbers = await producer.partitions_for(topic)
        return [TopicPartition(topic, number) for number in sorted(numbers)]

    # --- publishing -----------------------------------------------------------------

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
        self._check_open()
        await self.require_declared(queue)
        data = bytes(body)
        encoded_key = key.encode() if key is not None else None
        given = {name: value for name, value in (headers or {}).items() if name not in _OWN_HEADERS}
        if delay > 0:
            due = math.ceil(time.time() * 1000 + delay * 1000)
            await self.send(
                self.delay_topic(queue),
                data,
                message_id,
                {**given, DUE_HEADER: str(due)},
                encoded_key,
            )
            return
        if self._room is None:
            await self.send(self.topic(queue), data, message_id, given, encoded_key)
            return
        async with self._room.taken(queue):
            await self.send(self.topic(queue), data, message_id, given, encoded_key)

    async def send(
        self,
        topic: str,
        body: bytes,
        message_id: str,
        headers: Mapping[str, str],
        key: bytes | None,
    ) -> None:
        encoded = [(name, value.encode()) for name, value in headers.items()]
        encoded.append((MESSAGE_ID_HEADER, message_id.encode()))
        await self.send_raw(topic, body, encoded, key)

    async def send_raw(
        self, topic: str, body: bytes, headers: list[tuple[str, bytes]], key: bytes | None
    ) -> None:
        """One record, returning once every in-sync replica has it. Without a key it
        goes to partition 0, so unkeyed messages keep their order."""
        producer = await self._producer_client()
        async with _answer(f"publishing to {topic!r}", self.answer_timeout):
            await producer.send_and_wait(
                topic,
                body,
                key=key,
                headers=headers,
                partition=0 if key is None else None,
            )

    # --- consuming ------------------------------------------------------------------

    def consume(self, queue: str, *, prefetch: int) -> KafkaConsumer:
        self._check_open()
        return KafkaConsumer(self, queue, prefetch=prefetch)

    # --- inspecting -----------------------------------------------------------------

    async def _offsets(
        self, queue: str
    ) -> tuple[Any, asyncio.Lock, dict[TopicPartition, tuple[int, int]]]:
        """Per partition: (committed offset of the group or the log start, end offset)."""
        tps = await self._partitions_of(queue)
        client, lock = await self._inspector(queue)
        found: dict[TopicPartition, tuple[int, int]] = {}
        async with lock, _answer(f"reading the offsets of {queue!r}", self.answer_timeout):
            ends = await client.end_offsets(tps)
            starts = await client.beginning_offsets(tps)
            for tp in tps:
                committed = await client.committed(tp)
                start = starts[tp] if committed is None else max(committed, starts[tp])
                found[tp] = (start, ends[tp])
        # What this process's own consumers hold is in flight, not waiting; other
        # processes' holdings are only known up to their last commit.
        for consumer in self.consumers:
            if consumer.queue == queue:
                for tp, offset in consumer.waiting_from().items():
                    if tp in found:
                        start, end = found[tp]
                        found[tp] = (min(max(start, offset), end), end)
        return client, lock, found

    async def ack_many(self, deliveries: Sequence[Delivery]) -> int:
        # An ack only marks the record finished here; the committer sends the offsets
        # of everything finished together (see "Acknowledging without acks").
        return await ack_each(deliveries)

    async def depth(self, queue: str) -> int:
        _, _, offsets = await self._offsets(queue)
        return sum(max(0, end - start) for start, end in offsets.values())

    async def oldest_age(self, queue: str) -> float | None:
        client, lock, offsets = await self._offsets(queue)
        waiting = {tp: start for tp, (start, end) in offsets.items() if end > start}
        if not waiting:
            return None
        oldest: float | None = None
        async with lock, _answer(f"reading the oldest message of {queue!r}", self.answer_timeout):
            client.assign(list(waiting))
            try:
                for tp, start in waiting.items():
                    client.seek(tp, start)
                for tp in waiting:
                    # Bounded: where only markers (or nothing readable) remain, the
                    # partition is skipped rather than waited on until the timeout.
                    for _ in range(_OLDEST_TRIES):
                        fetched = await client.getmany(tp, timeout_ms=200, max_records=1)
                        records: Sequence[_Record] = fetched.get(tp, [])
                        if records:
                            written = records[0].timestamp / 1000
                            oldest = written if oldest is None else min(oldest, written)
                            break
            finally:
                client.unsubscribe()
        if oldest is None:
            return None
        return max(0.0, time.time() - oldest)

    # --- cleaning up ----------------------------------------------------------------

    async def delete(self, queue: str) -> None:
        """Delete the topics of `queue` and of its dead-letter queue (with every message
        in them). For tests and tools, not for stages. The consumer groups stay."""
        names = self._topics_of(queue)
        admin = await self._admin_client()
        async with _answer(f"deleting queue {queue!r}", self.answer_timeout):
            existing = set(await admin.list_topics())
            present = [name for name in names if name in existing]
            if present:
                await admin.delete_topics(present)
        self._topics.difference_update(names)
        self._declared.pop(queue, None)

    async def close(self) -> None:
        """Give back what open consumers hold, then close the connections."""
        self._closed = True
        for consumer in list(self.consumers):
            await consumer.close()
        async with self._starting:
            clients = [client for client, _ in self._inspectors.values()]
            self._inspectors.clear()
            producer, self._producer = self._producer, None
            admin, self._admin = self._admin, None
        for client in [*clients, producer]:
            if client is not None:
                await _stop_quietly(client.stop, self.answer_timeout)
        if admin is not None:
            await _stop_quietly(admin.close, self.answer_timeout)
