"""Redis Streams through redis-py: the second broker for stages in separate processes.

- **Layout.** A queue is the stream `<prefix>:stream:<queue>` read by one consumer
  group (`group`, created from the stream's start by `declare`, with the stream);
  its delayed messages wait in the sorted set `<prefix>:delayed:<queue>`. An entry
  has the fields `body` (bytes), `message_id`, `headers` (JSON) and, once it came
  back, `redelivered`. One group per stream: acknowledged entries are deleted, so
  a second group on the same stream would miss them. A single Redis server (or
  primary) is assumed, not a cluster.
- **Publishing** is an `XADD`; it returns once Redis answered. Publishing to a
  queue nobody declared is an error, not a new stream without a group. Publishes
  made while another batch of them is on its way go together in the next batch:
  one round trip for the batch, as a pipeline (not a transaction), so each
  message is still its own command with its own answer, and one that fails fails
  alone (https://redis.io/docs/latest/develop/using-commands/pipelining/). A batch
  is what arrived during one round trip: no timer, and a lone publish goes at once.
- **A Redis that lost its data** (restarted without persistence, a new primary)
  no longer has the streams and groups: a broker declares a queue it had declared
  again when a publish or a new consumer finds it gone, and logs it, so workers and
  `serve` carry on without waiting for another `declare`. What the queues held is
  lost with them: a rerun of `ingest` publishes the tickets not done, and `serve`
  sends its stuck ones again.
- **Consumers.** Each `consume` is its own Redis consumer,
  `<consumer_name>-<n>` (by default the name is host, pid and a random part). A
  background reader fetches entries with `XREADGROUP ... >` (blocking at most
  `block` seconds, so it notices a stop quickly) into a local buffer while fewer
  than `prefetch` deliveries are unsettled (buffered or handed out). Waiting for
  the next delivery only waits on that buffer, so cancelling the wait (a
  timeout) leaves the delivery there for the next call. Leaving `consume` lets
  a read in progress finish (Redis ends blocked reads on its `hz` tick, so this
  takes up to about `2 * block` with the default `hz 10`) and then returns
  everything the consumer holds. If leaving is itself cancelled, or Redis is
  unreachable then, the entries stay pending and are reclaimed as for a dead
  consumer.
- **Settling.** `ack` is `XACK` + `XDEL` in one transaction: the stream keeps
  only what is waiting or in flight, which is also what makes `depth` exact.
  `ack_many` does the same for a consumer's whole batch with one `XACK` and one
  `XDEL` naming every entry, still one round trip.
  Streams have no "nack", so `requeue` (and leaving `consume`, for every
  unsettled delivery) adds a copy of the entry with `redelivered` set at the end
  of the stream and acknowledges and deletes the original, in one Lua script
  that first checks the entry is still pending for this consumer (a delivery
  reclaimed by someone else is not duplicated). A returned message therefore
  goes to the back of the queue, not the front. `redelivered` is true for such
  copies and for entries taken over from another consumer (below).
- **Dead consumers.** A consumer that dies (killed process, lost host) leaves
  its entries pending. Every live consumer runs `XAUTOCLAIM` about every
  `claim_idle / 2` seconds and takes over entries idle for `claim_idle` seconds,
  delivered with `redelivered` set. A live consumer resets the idle time of what
  it holds (`XCLAIM ... JUSTID` to itself) every `claim_idle / 3` seconds, so a
  slow handler does not lose its message to another consumer; `claim_idle`
  should therefore be well above `block` and above any pause of the event loop.
  A consumer that starts under the name of a dead one (a fixed `consumer_name`
  after a restart) returns that one's pending entries at once; so two live
  processes must never share a `consumer_name`.
- **Delays.** A delayed publish adds the message to the queue's sorted set
  scored by its due time on the Redis clock (the clocks of the hosts do not
  matter). Consumers of the queue move due messages into the stream every
  `block` seconds with a Lua script (range, `XADD`, `ZREM` in one step, so two
  movers never duplicate a message). Until a consumer runs, delayed messages
  stay in the set: they are neither visible nor counted by `depth`.
- **Depth** is the stream's length minus the group's pending entries (exact
  because acknowledged entries are deleted; `XINFO GROUPS` "lag" is often
  unknown after deletions).
- **Oldest age** is exact: the first entry after the group's `last-delivered-id`
  is the oldest message not yet delivered, and its id is the Redis clock (ms) when
  it was added: published, moved in from the delayed set (so a delayed message
  counts from when it became visible, up to `block` late), or added back by a
  requeue (which restarts its wait, as it goes to the back of the queue). Measured
  against the Redis clock in one Lua script, so host clocks do not matter.
- **Backpressure.** With `max_length`, a fresh publish adds its entry only while
  the depth is below `max_length` (checked and added in one Lua script, so the
  bound holds with many publishers and within a batch, whose scripts run one after
  another) and otherwise polls with backoff. Delayed publishes (retries) skip the
  bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, SupportsBytes

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import (
    AuthenticationError,
    AuthorizationError,
    NoScriptError,
    RedisError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT

from supporter.brokers.base import (
    BrokerError,
    BrokerUnreachable,
    Delivery,
    ack_each,
    dead_letter_queue,
    masked_url,
)

log = logging.getLogger(__name__)

# (entry id, fields); the fields are None for an entry deleted while pending.
_Entry = tuple[bytes, dict[bytes, bytes] | None]

_MOVE_BATCH = 100
# Most publishes sent in one pipeline; more wait for the next round trip.
_PUBLISH_BATCH = 256
# How often a full queue is asked again for room: its consumers drain a bound of
# hundreds of messages in tenths of a second, so the longest pause stays below that.
_BACKOFF_START = 0.01
_BACKOFF_MAX = 0.1

# Entries not yet delivered to the group: acknowledged entries are deleted, so the
# rest of the stream is either pending (delivered, unsettled) or waiting.
_LUA_WAITING = """
local function waiting(stream, group)
  local n = redis.call('XLEN', stream) - redis.call('XPENDING', stream, group)[1]
  if n < 0 then return 0 end
  return n
end
"""

# The Redis clock in ms, rounded up when scheduling and down when checking, so a
# delayed message is never visible early.
_LUA_NOW_MS = """
local function now_ms(round)
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + round(tonumber(now[2]) / 1000)
end
"""

# KEYS: stream. ARGV: group, max_length, field/value pairs.
# Returns -1 when the queue is not declared, 0 when it is full, 1 when added.
_PUBLISH_BOUNDED = (
    _LUA_WAITING
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if waiting(KEYS[1], ARGV[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
return 1
"""
)

# KEYS: stream, delayed set. ARGV: delay in ms, packed message.
_PUBLISH_DELAYED = (
    _LUA_NOW_MS
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('ZADD', KEYS[2], now_ms(math.ceil) + tonumber(ARGV[1]), ARGV[2])
return 1
"""
)

# KEYS: delayed set, stream. ARGV: most messages to move.
# A packed message is netstrings: nonce, message_id, headers, body.
_MOVE_DUE = (
    _LUA_NOW_MS
    + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms(math.floor), 'LIMIT', 0, ARGV[1])
for _, packed in ipairs(due) do
  local parts = {}
  local pos = 1
  while pos <= #packed do
    local colon = string.find(packed, ':', pos, true)
    local size = tonumber(string.sub(packed, pos, colon - 1))
    parts[#parts + 1] = string.sub(packed, colon + 1, colon + size)
    pos = colon + size + 1
  end
  redis.call('XADD', KEYS[2], 'NOMKSTREAM', '*',
    'body', parts[4], 'message_id', parts[2], 'headers', parts[3])
  redis.call('ZREM', KEYS[1], packed)
end
return #due
"""
)

# KEYS: stream. ARGV: group. Returns -1 when the queue is not declared, else
# {now in microseconds, id of the first entry not yet delivered to the group (none
# when every entry was delivered)}, both on the Redis clock.
_OLDEST = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local now = redis.call('TIME')
local now_us = string.format('%.0f', tonumber(now[1]) * 1000000 + tonumber(now[2]))
for _, info in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local fields = {}
  for i = 1, #info, 2 do fields[info[i]] = info[i + 1] end
  if fields['name'] == ARGV[1] then
    local first = redis.call('XRANGE', KEYS[1], '(' .. fields['last-delivered-id'], '+', 'COUNT', 1)
    if #first == 0 then return {now_us} end
    return {now_us, first[1][1]}
  end
end
return -1
"""

# KEYS: stream. ARGV: group, consumer, entry ids (none: every entry the consumer
# holds, and then the consumer itself is removed from the group).
# Each entry still pending for the consumer is added again, marked redelivered,
# and the original acknowledged and deleted. Returns how many came back.
_RETURN = """
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local function give_back(id)
  local entry = redis.call('XRANGE', stream, id, id)
  if #entry > 0 then
    local fields, copy = entry[1][2], {}
    for i = 1, #fields, 2 do
      if fields[i] ~= 'redelivered' then
        copy[#copy + 1] = fields[i]
        copy[#copy + 1] = fields[i + 1]
      end
    end
    copy[#copy + 1] = 'redelivered'
    copy[#copy + 1] = '1'
    redis.call('XADD', stream, '*', unpack(copy))
  end
  redis.call('XACK', stream, group, id)
  redis.call('XDEL', stream, id)
end
local returned = 0
if #ARGV > 2 then
  for i = 3, #ARGV do
    if #redis.call('XPENDING', stream, group, ARGV[i], ARGV[i], 1, consumer) > 0 then
      give_back(ARGV[i])
      returned = returned + 1
    end
  end
  return returned
end
while true do
  local pending = redis.call('XPENDING', stream, group, '-', '+', 100, consumer)
  if #pending == 0 then break end
  for _, item in ipairs(pending) do
    give_back(item[1])
    returned = returned + 1
  end
end
redis.call('XGROUP', 'DELCONSUMER', stream, group, consumer)
return returned
"""

# KEYS: stream. ARGV: group, consumer, entry ids. Resets the idle time of the
# entries still pending for this consumer, so nobody reclaims them.
_TOUCH = """
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local args = {stream, group, consumer, 0}
for i = 3, #ARGV do
  if #redis.call('XPENDING', stream, group, ARGV[i], ARGV[i], 1, consumer) > 0 then
    args[#args + 1] = ARGV[i]
  end
end
if #args == 4 then return 0 end
args[#args + 1] = 'JUSTID'
return #redis.call('XCLAIM', unpack(args))
"""


def _failure(address: str, action: str, error: RedisError) -> BrokerError:
    """The BrokerError for `error`, naming the server at `address` (password masked): a
    refused login said plainly, and BrokerUnreachable when the server was not reached
    (nothing listens, no answer in time, still loading its data)."""
    if isinstance(error, AuthenticationError | AuthorizationError):
        said = str(error).rstrip(".")
        return BrokerError(
            f"Redis at {address} refused the login: {said}. Check the URL's user and password."
        )
    message = f"Redis at {address} could not {action}: {error}"
    if isinstance(error, RedisConnectionError | RedisTimeoutError):
        return BrokerUnreachable(message)
    return BrokerError(message)


@contextlib.contextmanager
def _translated(address: str, action: str) -> Iterator[None]:
    try:
        yield
    except RedisError as error:
        raise _failure(address, action, error) from error


def _not_declared(queue: str) -> BrokerError:
    return BrokerError(f"queue {queue!r} is not declared: call declare({queue!r}) first")


class _QueueGone(Exception):
    """The queue's stream or group is not in Redis (never declared, or lost)."""


def _pack(*parts: bytes) -> bytes:
    """Netstrings (`<length>:<bytes>`): binary-safe and easy to split in Lua."""
    return b"".join(b"%d:%s" % (len(part), part) for part in parts)


class RedisDelivery:
    def __init__(
        self,
        consumer: RedisConsumer,
        entry_id: bytes,
        fields: Mapping[bytes, bytes],
        *,
        claimed: bool,
    ) -> None:
        self.consumer = consumer
        self.entry_id = entry_id
        self._body = fields.get(b"body", b"")
        self._message_id = fields.get(b"message_id", entry_id).decode()
        self._headers = _decode_headers(fields.get(b"headers", b"{}"), self._message_id)
        self._redelivered = claimed or fields.get(b"redelivered") == b"1"
        self.settled = False

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
        self.consumer.settle(self)
        await self.consumer.acknowledge([self.entry_id])

    async def requeue(self) -> None:
        self.consumer.settle(self)
        await self.consumer.give_back(self.entry_id)


def _decode_headers(raw: bytes, message_id: str) -> dict[str, str]:
    try:
        headers = json.loads(raw)
    except ValueError:
        headers = None
    if not isinstance(headers, dict):
        # Not written by this adapter; deliver the message rather than wedge the queue.
        log.warning("message %s has unreadable headers; delivering it without them", message_id)
        return {}
    return {str(key): str(value) for key, value in headers.items()}


class _Stopped:
    """Placed in a consumer's buffer when it stops; carries the reader's error, if any."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class RedisConsumer:
    """One Redis consumer of one queue: an async context manager and, inside it, an
    async iterator of deliveries."""

    def __init__(self, broker: RedisStreamsBroker, queue: str, name: str, *, prefetch: int) -> None:
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        self._broker = broker
        self._client = broker.client
        self._queue = queue
        self._stream = broker.stream_key(queue)
        self._delayed = broker.delayed_key(queue)
        self._group = broker.group
        self.name = name
        self._prefetch = prefetch
        # Buffered and handed-out deliveries not settled yet, by entry id.
        self._held: dict[bytes, RedisDelivery] = {}
        self._buffer: asyncio.Queue[RedisDelivery | _Stopped] = asyncio.Queue()
        self._room = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._stopping = False
        self._claim_cursor = b"0-0"

    async def __aenter__(self) -> RedisConsumer:
        # Also the check that the queue is declared (the group exists).
        try:
            await self._return_all()
        except _QueueGone:
            if not await self._broker.declare_again(self._queue):
                raise _not_declared(self._queue) from None
        self._reader = asyncio.create_task(self._read(), name=f"redis-reader-{self.name}")
        self._broker.consumers.add(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __aiter__(self) -> RedisConsumer:
        return self

    async def __anext__(self) -> RedisDelivery:
        if self._reader is None:
            raise BrokerError("iterate inside `async with broker.consume(...)`")
        item = await self._buffer.get()
        if isinstance(item, _Stopped):
            self._buffer.put_nowait(item)  # every later call stops too
            if item.error is not None:
                raise BrokerError(
                    f"reading queue {self._queue!r} from Redis at {self._broker.address} "
                    f"failed: {item.error}"
                ) from item.error
            raise StopAsyncIteration
        return item

    def settle(self, delivery: RedisDelivery) -> None:
        if delivery.settled:
            raise BrokerError(f"message {delivery.message_id} is already settled")
        delivery.settled = True
        self._held.pop(delivery.entry_id, None)
        self._room.set()

    async def acknowledge(self, entry_ids: Sequence[bytes]) -> None:
        """One `XACK` and one `XDEL` for all of `entry_ids`, in one transaction: a
        single round trip however many there are (both commands take many ids:
        https://redis.io/docs/latest/commands/xack/, .../commands/xdel/)."""
        what = f"entry {entry_ids[0]!r}" if len(entry_ids) == 1 else f"{len(entry_ids)} entries"
        with _translated(self._broker.address, f"acknowledge {what} of queue {self._queue!r}"):
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.xack(self._stream, self._group, *entry_ids)
                pipe.xdel(self._stream, *entry_ids)
                await pipe.execute()

    async def give_back(self, entry_id: bytes) -> None:
        with _translated(
            self._broker.address, f"requeue entry {entry_id!r} of queue {self._queue!r}"
        ):
            await self._broker.scripts["return"](
                keys=[self._stream], args=[self._group, self.name, entry_id]
            )

    async def _return_all(self, *, closing: bool = False) -> None:
        try:
            returned = await self._broker.scripts["return"](
                keys=[self._stream], args=[self._group, self.name]
            )
        except RedisError as error:
            if "NOGROUP" not in str(error):
                raise _failure(self._broker.address, "return deliveries", error) from error
            if not closing:
                raise _QueueGone from error
            return  # the queue was deleted meanwhile: nothing to return to
        if returned:
            log.info(
                "returned %d unsettled message(s) of %s to %r", returned, self.name, self._queue
            )

    async def close(self) -> None:
        if self._reader is None or self._stopping:
            return
        self._stopping = True
        self._room.set()
        self._broker.consumers.discard(self)
        try:
            # A read in progress ends within `block`; letting it finish (rather than
            # cancelling it) means Redis never hands out an entry nobody receives.
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the cancellation
            # of the task that closes, which then never stops.
            async with asyncio.timeout(self._broker.block + 5):
                await self._reader
        except TimeoutError:
            log.warning("the reader of %s did not stop in time; cancelled it", self.name)
        finally:
            for delivery in self._held.values():
                delivery.settled = True
            self._held.clear()
            while not self._buffer.empty():  # nothing returned may still be handed out
                self._buffer.get_nowait()
            self._buffer.put_nowait(_Stopped())
        # Everything this consumer holds goes back: handed out, buffered, or read by
        # a cancelled command whose reply never arrived.
        await self._return_all(closing=True)

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        block = self._broker.block
        claim_idle = self._broker.claim_idle
        next_move = next_touch = next_claim = loop.time()
        try:
            while not self._stopping:
                now = loop.time()
                if now >= next_move:
                    await self._move_due()
                    next_move = now + block
                if now >= next_touch:
                    await self._touch()
                    next_touch = now + max(block, claim_idle / 3)
                free = self._prefetch - len(self._held)
                if free <= 0:
                    self._room.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(block):
                            await self._room.wait()
                    continue
                entries: list[_Entry] = []
                claimed = False
                if now >= next_claim:
                    entries = await self._claim(free)
                    claimed = bool(entries)
                    if self._claim_cursor == b"0-0":
                        next_claim = now + max(block, claim_idle / 2)
                if not entries:
                    entries = await self._read_new(free)
                for entry_id, fields in entries:
                    if fields is None or entry_id in self._held:
                        continue
                    delivery = RedisDelivery(self, entry_id, fields, claimed=claimed)
                    self._held[entry_id] = delivery
                    self._buffer.put_nowait(delivery)
        except Exception as error:
            log.error("reading queue %r failed: %s", self._queue, error)
            self._buffer.put_nowait(_Stopped(error))

    async def _read_new(self, count: int) -> list[_Entry]:
        # [[stream, [(id, fields), ...]]]: redis-py's default ("legacy") shape.
        response: Any = await self._client.xreadgroup(
            self._group,
            self.name,
            {self._stream: ">"},
            count=count,
            block=max(1, round(self._broker.block * 1000)),
        )
        if not response:
            return []
        entries: list[_Entry] = response[0][1]
        return entries

    async def _claim(self, count: int) -> list[_Entry]:
        cursor, entries, *_deleted = await self._client.xautoclaim(
            self._stream,
            self._group,
            self.name,
            min_idle_time=max(1, round(self._broker.claim_idle * 1000)),
            start_id=self._claim_cursor,
            count=count,
        )
        self._claim_cursor = cursor
        if entries:
            log.info(
                "%s reclaimed %d abandoned message(s) of %r", self.name, len(entries), self._queue
            )
        claimed: list[_Entry] = entries
        return claimed

    async def _touch(self) -> None:
        if self._held:
            await self._broker.scripts["touch"](
                keys=[self._stream], args=[self._group, self.name, *self._held]
            )

    async def _move_due(self) -> None:
        await self._broker.scripts["move_due"](
            keys=[self._delayed, self._stream], args=[_MOVE_BATCH]
        )


# A command as sent to Redis: its name and arguments.
_Command = tuple[EncodableT, ...]


class _Publisher:
    """Publishes of one client that are waiting meanwhile go together: one pipeline
    (`transaction=False`) per round trip, one batch in flight at a time. Each command
    keeps its own reply or error, so a failing one fails only its own publish
    (https://redis.io/docs/latest/develop/using-commands/pipelining/)."""

    def __init__(self, client: Redis, scripts: Sequence[AsyncScript]) -> None:
        self._client = client
        self._scripts = {script.sha: script for script in scripts}
        self._waiting: list[tuple[_Command, asyncio.Future[Any]]] = []
        self._sender: asyncio.Task[None] | None = None
        self._closed = False

    async def send(self, command: _Command) -> Any:
        """Redis's reply to `command`; raises its error (a `RedisError`). Cancelled
        before its batch leaves, the command is not sent; after, it may have been."""
        if self._closed:
            raise RedisError("the broker is closed")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((command, future))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_waiting())
        return await future

    async def close(self) -> None:
        """Stop sending; publishes still waiting fail, and so do later ones (a publish
        polling a full queue among them)."""
        self._closed = True
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender

    async def _send_waiting(self) -> None:
        batch: list[tuple[_Command, asyncio.Future[Any]]] = []
        try:
            while self._waiting:
                batch = self._waiting[:_PUBLISH_BATCH]
                del self._waiting[:_PUBLISH_BATCH]
                batch = [(command, future) for command, future in batch if not future.done()]
                if batch:
                    await self._exchange(batch)
        finally:
            self._sender = None
            stopped = RedisError("the publisher stopped before this message was sent")
            for _, future in [*batch, *self._waiting]:
                if not future.done():
                    future.set_exception(stopped)
            self._waiting.clear()

    async def _exchange(self, batch: list[tuple[_Command, asyncio.Future[Any]]]) -> None:
        try:
            replies = await self._pipeline([command for command, _ in batch])
            unknown = {
                str(command[1])
                for (command, _), reply in zip(batch, replies, strict=True)
                if isinstance(reply, NoScriptError)
            }
            if unknown:
                # Redis lost its scripts (restarted, SCRIPT FLUSH): load them, send again.
                for sha in unknown:
                    await self._client.script_load(self._scripts[sha].script)
                again = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
                for i, reply in zip(
                    again, await self._pipeline([batch[i][0] for i in again]), strict=True
                ):
                    replies[i] = reply
        except Exception as error:
            # The connection failed (or a bug): none of the batch is known to be added.
            replies = [error] * len(batch)
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, BaseException):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _pipeline(self, commands: list[_Command]) -> list[Any]:
        async with self._client.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies


class RedisStreamsBroker:
    """Queues as Redis streams with one consumer group each. See the module docs."""

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "supporter",
        group: str = "supporter",
        consumer_name: str | None = None,
        claim_idle: float = 30.0,
        max_length: int | None = None,
        block: float = 0.1,
    ) -> None:
        if claim_idle <= 0 or block <= 0:
            raise ValueError("claim_idle and block must be positive")
        if max_length is not None and max_length < 1:
            raise ValueError("max_length must be at least 1 (or None for unbounded)")
        # The URL for messages, password masked.
        self.address = masked_url(url)
        try:
            self.client: Redis = Redis.from_url(url)
        except ValueError as error:
            raise ValueError(f"malformed Redis URL {self.address}: {error}") from None
        self.prefix = prefix
        self.group = group
        self.claim_idle = claim_idle
        self.max_length = max_length
        self.block = block
        self._consumer_base = consumer_name or (
            f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        )
        self._consumer_numbers = itertools.count(1)
        self.consumers: set[RedisConsumer] = set()
        # Per queue found full: set once the publish that polls it found room.
        self._full: dict[str, asyncio.Event] = {}
        self.scripts = {
            name: self.client.register_script(source)
            for name, source in {
                "publish_bounded": _PUBLISH_BOUNDED,
                "publish_delayed": _PUBLISH_DELAYED,
                "move_due": _MOVE_DUE,
                "return": _RETURN,
                "touch": _TOUCH,
                "oldest": _OLDEST,
            }.items()
        }
        self._publisher = _Publisher(self.client, list(self.scripts.values()))
        self._closed = False
        # Each queue this broker declared (and its dead-letter queue), by the name
        # `declare` was given: what to declare again if Redis loses them.
        self._declared: dict[str, str] = {}

    def stream_key(self, queue: str) -> str:
        return f"{self.prefix}:stream:{queue}"

    def delayed_key(self, queue: str) -> str:
        return f"{self.prefix}:delayed:{queue}"

    async def declare(self, queue: str) -> None:
        for name in (queue, dead_letter_queue(queue)):
            try:
                await self.client.xgroup_create(
                    self.stream_key(name), self.group, id="0", mkstream=True
                )
            except RedisError as error:
                if "BUSYGROUP" not in str(error):
                    raise _failure(self.address, f"declare queue {name!r}", error) from error
            self._declared[name] = queue

    async def declare_again(self, queue: str) -> bool:
        """Declare `queue` again if this broker declared it before and Redis lost it
        (see the module docs); False for a queue it never declared."""
        declared = self._declared.get(queue)
        if declared is None:
            return False
        log.warning(
            "queue %r was gone from Redis (restarted without its data?): declared it again",
            queue,
        )
        await self.declare(declared)
        return True

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
        encoded_id = message_id.encode()
        encoded_headers = json.dumps(dict(headers or {})).encode()
        for again in (False, True):
            try:
                with _translated(self.address, f"publish to queue {queue!r}"):
                    await self._add(queue, data, encoded_id, encoded_headers, delay)
                return
            except _QueueGone:
                if again or not await self.declare_again(queue):
                    raise _not_declared(queue) from None

    async def _add(
        self, queue: str, body: bytes, encoded_id: bytes, encoded_headers: bytes, delay: float
    ) -> None:
        stream = self.stream_key(queue)
        if delay > 0:
            packed = _pack(uuid.uuid4().hex.encode(), encoded_id, encoded_headers, body)
            keys = [stream, self.delayed_key(queue)]
            if await self._eval("publish_delayed", keys, math.ceil(delay * 1000), packed) == -1:
                raise _QueueGone
            return
        fields = (b"body", body, b"message_id", encoded_id, b"headers", encoded_headers)
        if self.max_length is None:
            if await self._publisher.send((b"XADD", stream, b"NOMKSTREAM", b"*", *fields)):
                return
            raise _QueueGone
        await self._publish_bounded(queue, stream, self.max_length, fields)

    async def _publish_bounded(
        self, queue: str, stream: str, max_length: int, fields: tuple[bytes, ...]
    ) -> None:
        """Add the entry once the queue has room. While a queue is full, one of the
        publishes waiting for it polls (with backoff) and the others wait until it
        found room, then try together: a full queue costs one round trip per poll,
        not one per waiting message."""

        async def add() -> int:
            """1: added; 0: the queue is full; -1: it is gone (or never declared)."""
            return int(
                await self._eval("publish_bounded", [stream], self.group, max_length, *fields)
            )

        while True:
            while (full := self._full.get(queue)) is not None:
                await full.wait()
            added = await add()
            if added == 0 and queue not in self._full:
                added = await self._poll(queue, add)
            if added == -1:
                raise _QueueGone
            if added == 1:
                return

    async def _poll(self, queue: str, add: Callable[[], Awaitable[int]]) -> int:
        """`add` until the full `queue` has room (1) or is gone (-1), while the other
        publishes to it wait."""
        self._full[queue] = full = asyncio.Event()
        pause = _BACKOFF_START
        try:
            while True:
                await asyncio.sleep(pause)
                pause = min(pause * 2, _BACKOFF_MAX)
                if (added := await add()) != 0:
                    return added
        finally:
            del self._full[queue]
            full.set()

    async def _eval(self, script: str, keys: Sequence[str], *args: EncodableT) -> Any:
        """Run one of `scripts` (`EVALSHA`) in the next batch of publishes."""
        sha = self.scripts[script].sha
        return await self._publisher.send((b"EVALSHA", sha, len(keys), *keys, *args))

    def consume(self, queue: str, *, prefetch: int) -> RedisConsumer:
        if self._closed:
            raise BrokerError("broker is closed")
        name = f"{self._consumer_base}-{next(self._consumer_numbers)}"
        return RedisConsumer(self, queue, name, prefetch=prefetch)

    async def ack_many(self, deliveries: Sequence[Delivery]) -> int:
        """One transaction per consumer for its deliveries (a stage's batch comes from
        one consumer, so one round trip); other deliveries are acknowledged one by one."""
        by_consumer: dict[RedisConsumer, list[bytes]] = {}
        others: list[Delivery] = []
        failed = 0
        for delivery in deliveries:
            if not isinstance(delivery, RedisDelivery):
                others.append(delivery)
                continue
            try:
                delivery.consumer.settle(delivery)
            except BrokerError:
                failed += 1
                continue
            by_consumer.setdefault(delivery.consumer, []).append(delivery.entry_id)
        for consumer, entry_ids in by_consumer.items():
            try:
                await consumer.acknowledge(entry_ids)
            except BrokerError:
                # Still pending, no longer held: once idle they are claimed again,
                # as a dead consumer's entries are.
                failed += len(entry_ids)
        return failed + await ack_each(others)

    async def depth(self, queue: str) -> int:
        stream = self.stream_key(queue)
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.xlen(stream)
                pipe.xpending(stream, self.group)
                length, pending = await pipe.execute()
        except RedisError as error:
            if "NOGROUP" in str(error):
                raise _not_declared(queue) from error
            raise _failure(self.address, f"measure queue {queue!r}", error) from error
        return max(0, int(length) - int(pending["pending"]))

    async def oldest_age(self, queue: str) -> float | None:
        with _translated(self.address, f"find the oldest message of queue {queue!r}"):
            found = await self.scripts["oldest"](keys=[self.stream_key(queue)], args=[self.group])
        if found == -1:
            raise _not_declared(queue)
        if len(found) < 2:
            return None
        now_ms = int(found[0]) / 1000
        added_ms = int(bytes(found[1]).split(b"-")[0])
        return max(0.0, (now_ms - added_ms) / 1000)

    async def delayed(self, queue: str) -> int:
        """Messages published with a delay that no consumer has moved to the queue yet."""
        with _translated(self.address, f"count delayed messages of {queue!r}"):
            return int(await self.client.zcard(self.delayed_key(queue)))

    async def delete_keys(self) -> int:
        """Delete every key under this broker's prefix (queues, delayed messages and
        consumer groups) and return how many there were. For tests and resets."""
        pattern = "".join(f"\\{char}" if char in "*?[]\\" else char for char in self.prefix)
        deleted = 0
        with _translated(self.address, f"delete the keys under {self.prefix!r}"):
            batch: list[bytes] = []
            async for key in self.client.scan_iter(match=f"{pattern}:*", count=500):
                batch.append(key)
                if len(batch) == 500:
                    deleted += await self.client.unlink(*batch)
                    batch.clear()
            if batch:
                deleted += await self.client.unlink(*batch)
        return deleted

    async def close(self) -> None:
        """Return what open consumers hold, then close the connections."""
        self._closed = True
        for consumer in list(self.consumers):
            await consumer.close()
        await self._publisher.close()
        await self.client.aclose()
