"""What only the Redis Streams broker promises: dead consumers lose nothing, live
ones keep what they hold, delayed messages move once, bounded queues, and publishes
sent together, each with its own answer."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio.client import Pipeline
from tests.conftest import require_service
from tests.proxy import TcpProxy

from supporter.brokers.base import BrokerError, BrokerUnreachable
from supporter.brokers.redis import RedisConsumer, RedisStreamsBroker
from supporter.testing.tansu import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"

# A consumer in its own process that takes one message and then hangs until killed.
DYING_CONSUMER = """
import asyncio, sys
from supporter.brokers.redis import RedisConsumer, RedisStreamsBroker

async def main(prefix, queue, consumer_name):
    broker = RedisStreamsBroker(sys.argv[1], prefix=prefix, consumer_name=consumer_name)
    async with broker.consume(queue, prefetch=1) as deliveries:
        delivery = await anext(deliveries)
        print("taken", delivery.message_id, flush=True)
        await asyncio.sleep(60)

asyncio.run(main(*sys.argv[2:]))
"""

BrokerFactory = Callable[..., RedisStreamsBroker]


@pytest.fixture
async def make_broker() -> AsyncIterator[BrokerFactory]:
    """Brokers sharing one fresh prefix (as separate processes would); keys removed after."""
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    made: list[RedisStreamsBroker] = []

    def make(url: str = REDIS_URL, **options: Any) -> RedisStreamsBroker:
        broker = RedisStreamsBroker(url, prefix=prefix, **options)
        made.append(broker)
        return broker

    yield make
    for broker in made:
        await broker.close()
    cleaner = RedisStreamsBroker(REDIS_URL, prefix=prefix)
    await cleaner.delete_keys()
    await cleaner.close()


async def kill_after_taking(prefix: str, queue: str, consumer_name: str) -> None:
    """Run DYING_CONSUMER until it holds a message, then SIGKILL it: nothing is settled
    and nothing is returned."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        DYING_CONSUMER,
        REDIS_URL,
        prefix,
        queue,
        consumer_name,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 10)
        assert line.split()[0] == b"taken", line
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()


async def eventually(predicate: Callable[[], Awaitable[bool]], timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.02)


async def test_a_killed_consumers_message_is_reclaimed_marked_redelivered(
    make_broker: BrokerFactory,
) -> None:
    survivor = make_broker(claim_idle=0.2)
    await survivor.declare("q")
    await survivor.publish("q", b"\x00\xffprecious", message_id="m1", headers={"trace": "t"})
    await kill_after_taking(survivor.prefix, "q", "doomed")
    assert await survivor.depth("q") == 0  # pending on the dead consumer

    async with survivor.consume("q", prefetch=1) as deliveries:
        delivery = await asyncio.wait_for(anext(deliveries), 3)
        assert (delivery.body, delivery.message_id) == (b"\x00\xffprecious", "m1")
        assert delivery.headers == {"trace": "t"}
        assert delivery.redelivered is True
        await delivery.ack()
    assert await survivor.depth("q") == 0


async def test_a_restart_under_the_same_name_returns_its_messages_at_once(
    make_broker: BrokerFactory,
) -> None:
    # claim_idle is long: only the restart can bring the message back in time.
    restarted = make_broker(consumer_name="worker-a", claim_idle=60)
    await restarted.declare("q")
    await restarted.publish("q", b"x", message_id="m1")
    await kill_after_taking(restarted.prefix, "q", "worker-a")

    async with restarted.consume("q", prefetch=1) as deliveries:
        delivery = await asyncio.wait_for(anext(deliveries), 1)
        assert delivery.message_id == "m1"
        assert delivery.redelivered is True
        await delivery.ack()


async def test_a_slow_live_consumer_keeps_its_message(make_broker: BrokerFactory) -> None:
    holder = make_broker(claim_idle=0.3)
    other = make_broker(claim_idle=0.3)
    await holder.declare("q")
    await holder.publish("q", b"slow", message_id="m1")
    async with holder.consume("q", prefetch=1) as held:
        delivery = await asyncio.wait_for(anext(held), 3)
        async with other.consume("q", prefetch=1) as deliveries:
            with pytest.raises(TimeoutError):
                # Several claim_idle periods: the holder's heartbeat keeps it.
                await asyncio.wait_for(anext(deliveries), 1.2)
        await delivery.ack()
    assert await holder.depth("q") == 0


async def test_requeue_after_someone_else_reclaimed_it_adds_no_copy(
    make_broker: BrokerFactory,
) -> None:
    broker = make_broker()
    await broker.declare("q")
    await broker.publish("q", b"x", message_id="m1")
    async with broker.consume("q", prefetch=1) as deliveries:
        delivery = await asyncio.wait_for(anext(deliveries), 3)
        # As if the event loop had stalled past claim_idle and another consumer took it.
        await broker.client.xclaim(
            broker.stream_key("q"), broker.group, "someone-else", 0, [delivery.entry_id]
        )
        await delivery.requeue()
        assert await broker.depth("q") == 0
        assert await broker.client.xlen(broker.stream_key("q")) == 1  # still someone's


async def test_two_movers_never_duplicate_a_delayed_message(make_broker: BrokerFactory) -> None:
    first, second = make_broker(), make_broker()
    await first.declare("q")
    for index in range(50):
        await first.publish("q", str(index).encode(), message_id=f"m{index}", delay=0.05)
    assert await first.delayed("q") == 50
    await asyncio.sleep(0.1)

    async def move(broker: RedisStreamsBroker) -> None:
        await broker.scripts["move_due"](
            keys=[broker.delayed_key("q"), broker.stream_key("q")], args=[7]
        )

    await asyncio.gather(*(move(broker) for _ in range(10) for broker in (first, second)))
    assert await first.delayed("q") == 0
    assert await first.depth("q") == 50

    seen: list[bytes] = []
    async with first.consume("q", prefetch=10) as a, second.consume("q", prefetch=10) as b:

        async def drain(deliveries: RedisConsumer) -> None:
            while True:
                try:
                    delivery = await asyncio.wait_for(anext(deliveries), 0.5)
                except TimeoutError:
                    return
                seen.append(delivery.body)
                await delivery.ack()

        await asyncio.gather(drain(a), drain(b))
    assert sorted(seen, key=int) == [str(index).encode() for index in range(50)]


async def test_concurrent_consumers_move_delayed_messages_once(make_broker: BrokerFactory) -> None:
    first, second = make_broker(), make_broker()
    await first.declare("q")
    for index in range(20):
        await first.publish("q", b"\x00:" + str(index).encode(), message_id=f"m{index}", delay=0.3)
    seen: list[str] = []

    async def worker(broker: RedisStreamsBroker) -> None:
        async with broker.consume("q", prefetch=5) as deliveries:
            while True:
                try:
                    delivery = await asyncio.wait_for(anext(deliveries), 1.0)
                except TimeoutError:
                    return
                assert delivery.body.startswith(b"\x00:")
                seen.append(delivery.message_id)
                await delivery.ack()

    await asyncio.gather(worker(first), worker(second))
    assert sorted(seen) == sorted(f"m{index}" for index in range(20))


async def test_publish_waits_while_the_queue_is_full(make_broker: BrokerFactory) -> None:
    broker = make_broker(max_length=2)
    await broker.declare("q")
    await broker.publish("q", b"1", message_id="1")
    await broker.publish("q", b"2", message_id="2")
    blocked = asyncio.ensure_future(broker.publish("q", b"3", message_id="3"))
    await asyncio.sleep(0.2)
    assert not blocked.done()
    async with broker.consume("q", prefetch=1) as deliveries:
        await (await asyncio.wait_for(anext(deliveries), 3)).ack()
    await asyncio.wait_for(blocked, 2)
    assert await broker.depth("q") == 2


async def test_delayed_retries_skip_the_bound(make_broker: BrokerFactory) -> None:
    broker = make_broker(max_length=1)
    await broker.declare("q")
    await broker.publish("q", b"fresh", message_id="1")
    await asyncio.wait_for(broker.publish("q", b"retry", message_id="2", delay=0.01), 1)
    assert await broker.delayed("q") == 1


async def test_undeclared_queue_is_an_error(make_broker: BrokerFactory) -> None:
    broker = make_broker()
    with pytest.raises(BrokerError, match="not declared"):
        await broker.publish("nope", b"x", message_id="1")
    with pytest.raises(BrokerError, match="not declared"):
        await broker.publish("nope", b"x", message_id="1", delay=1)
    with pytest.raises(BrokerError, match="not declared"):
        await broker.depth("nope")
    with pytest.raises(BrokerError, match="not declared"):
        async with broker.consume("nope", prefetch=1):
            pass


async def test_queues_redis_lost_are_declared_again_by_who_declared_them(
    make_broker: BrokerFactory,
) -> None:
    """A Redis restarted without its data has no streams or groups: `serve` and the
    workers declared theirs at start, and go on declaring them again, not failing every
    publish and every reopened consumer until an `ingest` happens to declare them."""
    publisher, worker = make_broker(), make_broker()
    await publisher.declare("q")
    await worker.declare("q")

    await publisher.delete_keys()  # the restart
    await publisher.publish("q", b"x", message_id="m1")
    await publisher.delete_keys()
    await publisher.publish("q", b"y", message_id="m2", delay=0.01)
    async with worker.consume("q", prefetch=1) as deliveries:
        delivery = await asyncio.wait_for(anext(deliveries), 3)
        assert delivery.message_id == "m2"
        await delivery.ack()

    await publisher.delete_keys()
    async with worker.consume("q", prefetch=1) as deliveries:
        await publisher.publish("q", b"z", message_id="m3")
        assert (await asyncio.wait_for(anext(deliveries), 3)).message_id == "m3"
    await publisher.delete_keys()
    async with worker.consume("q.dead", prefetch=1):
        pass  # its dead-letter queue too
    assert await worker.depth("q") == 0  # declared with it

    with pytest.raises(BrokerError, match="'other' is not declared"):
        async with worker.consume("other", prefetch=1):
            pass  # never declared here: still an error


async def test_settling_twice_is_an_error(make_broker: BrokerFactory) -> None:
    broker = make_broker()
    await broker.declare("q")
    await broker.publish("q", b"x", message_id="1")
    async with broker.consume("q", prefetch=1) as deliveries:
        delivery = await asyncio.wait_for(anext(deliveries), 3)
        await delivery.ack()
        with pytest.raises(BrokerError, match="already settled"):
            await delivery.requeue()


async def test_closing_the_broker_returns_what_open_consumers_hold(
    make_broker: BrokerFactory,
) -> None:
    closing, other = make_broker(), make_broker()
    await closing.declare("q")
    await closing.publish("q", b"x", message_id="m1")
    consumer = closing.consume("q", prefetch=1)
    deliveries = await consumer.__aenter__()
    await asyncio.wait_for(anext(deliveries), 3)
    await closing.close()
    with pytest.raises(BrokerError, match="closed"):
        await closing.publish("q", b"y", message_id="m2")
    async with other.consume("q", prefetch=1) as again:
        delivery = await asyncio.wait_for(anext(again), 3)
        assert delivery.redelivered is True
        await delivery.ack()


async def test_acknowledged_entries_leave_the_stream(make_broker: BrokerFactory) -> None:
    broker = make_broker()
    await broker.declare("q")
    for index in range(3):
        await broker.publish("q", b"x", message_id=f"m{index}")
    async with broker.consume("q", prefetch=3) as deliveries:
        for _ in range(3):
            await (await asyncio.wait_for(anext(deliveries), 3)).ack()
    assert await broker.client.xlen(broker.stream_key("q")) == 0
    groups = await broker.client.xinfo_groups(broker.stream_key("q"))
    assert groups[0]["consumers"] == 0  # a consumer that left cleanly leaves no trace


async def test_iteration_stops_with_the_context(make_broker: BrokerFactory) -> None:
    broker = make_broker()
    await broker.declare("q")
    for index in range(3):
        await broker.publish("q", b"x", message_id=f"m{index}")
    async with broker.consume("q", prefetch=3) as deliveries:
        taken = await asyncio.wait_for(anext(deliveries), 3)
        await asyncio.sleep(0.1)  # the other two are buffered by now
    with pytest.raises(StopAsyncIteration):
        await anext(deliveries)  # buffered deliveries went back, not out
    with pytest.raises(BrokerError, match="already settled"):
        await taken.ack()
    assert await broker.depth("q") == 3


async def test_a_failing_read_surfaces_as_broker_error(make_broker: BrokerFactory) -> None:
    broker = make_broker()
    await broker.declare("q")
    async with broker.consume("q", prefetch=1) as deliveries:
        await broker.client.delete(broker.stream_key("q"))  # the queue vanishes
        with pytest.raises(BrokerError, match="reading queue 'q' from Redis at redis://"):
            await asyncio.wait_for(anext(deliveries), 3)


async def test_a_batch_redis_cannot_acknowledge_is_counted_and_stays_pending(
    make_broker: BrokerFactory,
) -> None:
    broker = make_broker()
    await broker.declare("q")
    for index in range(2):
        await broker.publish("q", b"x", message_id=f"m{index}")
    proxy = TcpProxy("127.0.0.1", 6379)
    proxy.start()
    cut_off = RedisStreamsBroker(f"redis://127.0.0.1:{proxy.port}/0", prefix=broker.prefix)
    try:
        deliveries = await cut_off.consume("q", prefetch=2).__aenter__()
        taken = [await asyncio.wait_for(anext(deliveries), 3) for _ in range(2)]
        proxy.close()  # Redis is gone for this consumer
        assert await cut_off.ack_many(taken) == 2
        with pytest.raises(BrokerError):
            await deliveries.close()  # nor can it return them
    finally:
        proxy.close()
        await cut_off.close()
    # Neither was acknowledged: both still pending, to be claimed once idle.
    pending = await broker.client.xpending(broker.stream_key("q"), broker.group)
    assert pending["pending"] == 2
    assert await broker.client.xlen(broker.stream_key("q")) == 2


def batches_of(broker: RedisStreamsBroker, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each batch of publishes sent from now on (one pipeline each)."""
    sizes: list[int] = []
    real = broker.client.pipeline

    def pipeline(transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        pipe = real(transaction=transaction, shard_hint=shard_hint)
        if not transaction:
            execute = pipe.execute

            async def counted(raise_on_error: bool = True) -> list[Any]:
                sizes.append(len(pipe.command_stack))
                return await execute(raise_on_error=raise_on_error)

            monkeypatch.setattr(pipe, "execute", counted)
        return pipe

    monkeypatch.setattr(broker.client, "pipeline", pipeline)
    return sizes


async def entries(broker: RedisStreamsBroker, queue: str) -> list[bytes]:
    found: Any = await broker.client.xrange(broker.stream_key(queue))
    return [fields[b"message_id"] for _, fields in found]


@pytest.mark.parametrize("max_length", [None, 100])
async def test_publishes_made_together_go_in_one_round_trip(
    make_broker: BrokerFactory, monkeypatch: pytest.MonkeyPatch, max_length: int | None
) -> None:
    broker = make_broker(max_length=max_length)
    await broker.declare("q")
    sizes = batches_of(broker, monkeypatch)
    await asyncio.gather(*(broker.publish("q", b"x", message_id=f"m{n}") for n in range(20)))
    assert sizes == [20]
    assert sorted(await entries(broker, "q")) == sorted(f"m{n}".encode() for n in range(20))


@pytest.mark.parametrize("max_length", [None, 100])
async def test_a_command_that_fails_in_a_batch_fails_only_its_own_publish(
    make_broker: BrokerFactory, monkeypatch: pytest.MonkeyPatch, max_length: int | None
) -> None:
    broker = make_broker(max_length=max_length)
    await broker.declare("q")
    await broker.client.set(broker.stream_key("broken"), "not a stream")
    sizes = batches_of(broker, monkeypatch)
    outcomes = await asyncio.gather(
        broker.publish("q", b"x", message_id="first"),
        broker.publish("broken", b"x", message_id="wrong type"),
        broker.publish("nope", b"x", message_id="not declared"),
        broker.publish("q", b"x", message_id="last"),
        return_exceptions=True,
    )
    assert sizes == [4]
    assert outcomes[0] is None
    assert outcomes[3] is None
    assert isinstance(outcomes[1], BrokerError)
    assert "publish to queue 'broken'" in str(outcomes[1])
    assert "WRONGTYPE" in str(outcomes[1])
    assert isinstance(outcomes[2], BrokerError)
    assert "'nope' is not declared" in str(outcomes[2])
    assert await entries(broker, "q") == [b"first", b"last"]


@contextlib.asynccontextmanager
async def through_a_proxy(
    make_broker: BrokerFactory,
) -> AsyncIterator[tuple[RedisStreamsBroker, TcpProxy, RedisStreamsBroker]]:
    """Queue "q" declared by a broker that reaches Redis directly, and a second broker
    that reaches it through a proxy the test can hold, release or cut."""
    direct = make_broker()
    await direct.declare("q")
    proxy = TcpProxy("127.0.0.1", 6379)
    proxy.start()
    try:
        yield direct, proxy, make_broker(url=f"redis://127.0.0.1:{proxy.port}/0")
    finally:
        proxy.close()


async def test_publishes_made_while_a_batch_is_on_its_way_go_together_next(
    make_broker: BrokerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with through_a_proxy(make_broker) as (direct, proxy, broker):
        sizes = batches_of(broker, monkeypatch)
        proxy.hold()
        first = asyncio.ensure_future(broker.publish("q", b"x", message_id="m0"))
        await asyncio.sleep(0.1)
        rest = asyncio.gather(*(broker.publish("q", b"x", message_id=f"m{n}") for n in (1, 2, 3)))
        await asyncio.sleep(0.1)
        assert sizes == [1]  # one batch in flight at a time; the next waits for it
        proxy.release()
        await asyncio.wait_for(asyncio.gather(first, rest), 5)
    assert sizes == [1, 3]
    assert await entries(direct, "q") == [b"m0", b"m1", b"m2", b"m3"]


async def test_a_publish_cancelled_before_its_batch_leaves_is_not_sent(
    make_broker: BrokerFactory,
) -> None:
    async with through_a_proxy(make_broker) as (direct, proxy, broker):
        proxy.hold()
        first = asyncio.ensure_future(broker.publish("q", b"x", message_id="sent"))
        await asyncio.sleep(0.1)
        withdrawn = asyncio.ensure_future(broker.publish("q", b"x", message_id="withdrawn"))
        await asyncio.sleep(0.1)
        withdrawn.cancel()
        proxy.release()
        await asyncio.wait_for(first, 5)
        await asyncio.sleep(0.1)  # a batch for the withdrawn one would be answered by now
    assert withdrawn.cancelled()
    assert await entries(direct, "q") == [b"sent"]


async def test_closing_the_broker_fails_the_publishes_it_has_not_seen_answered(
    make_broker: BrokerFactory,
) -> None:
    async with through_a_proxy(make_broker) as (_, proxy, broker):
        proxy.hold()
        on_its_way = asyncio.ensure_future(broker.publish("q", b"x", message_id="m0"))
        await asyncio.sleep(0.1)
        waiting = asyncio.ensure_future(broker.publish("q", b"x", message_id="m1"))
        await asyncio.sleep(0.1)
        await asyncio.wait_for(broker.close(), 5)
        for publish in (on_its_way, waiting):
            with pytest.raises(BrokerError, match="publish to queue 'q'"):
                await asyncio.wait_for(publish, 10)  # at once, but the machine may be busy


async def test_a_batch_cut_off_from_redis_fails_every_publish_in_it(
    make_broker: BrokerFactory,
) -> None:
    async with through_a_proxy(make_broker) as (direct, proxy, broker):
        proxy.close()  # Redis is gone for this publisher
        outcomes = await asyncio.gather(
            *(broker.publish("q", b"x", message_id=f"m{n}") for n in range(3)),
            return_exceptions=True,
        )
    assert all(isinstance(outcome, BrokerError) for outcome in outcomes)
    assert await entries(direct, "q") == []


async def test_scripts_redis_has_lost_are_loaded_again(make_broker: BrokerFactory) -> None:
    broker = make_broker(max_length=10)
    await broker.declare("q")
    await broker.client.script_flush()  # as after a restart of Redis
    await asyncio.gather(*(broker.publish("q", b"x", message_id=f"m{n}") for n in range(3)))
    await broker.client.script_flush()
    await broker.publish("q", b"x", message_id="retry", delay=0.01)
    assert len(await entries(broker, "q")) == 3
    assert await broker.delayed("q") == 1


async def test_while_a_queue_is_full_one_publish_polls_for_all_that_wait(
    make_broker: BrokerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = make_broker(max_length=1)
    await broker.declare("q")
    await broker.publish("q", b"x", message_id="m0")
    sizes = batches_of(broker, monkeypatch)
    waiting = asyncio.gather(*(broker.publish("q", b"x", message_id=f"m{n}") for n in range(1, 11)))
    await asyncio.sleep(0.5)
    # Ten tries together, then one poll at a time (not ten, one per waiting message).
    assert sizes[0] == 10
    assert len(sizes) > 2
    assert set(sizes[1:]) == {1}
    taken: list[str] = []
    async with broker.consume("q", prefetch=1) as deliveries:
        while len(taken) < 11:
            delivery = await asyncio.wait_for(anext(deliveries), 3)
            assert await broker.depth("q") <= 1  # the bound holds throughout
            taken.append(delivery.message_id)
            await delivery.ack()
    await asyncio.wait_for(waiting, 3)
    assert sorted(taken) == sorted(f"m{n}" for n in range(11))


async def test_a_publish_waiting_for_room_fails_once_the_broker_closes(
    make_broker: BrokerFactory,
) -> None:
    broker = make_broker(max_length=1)
    await broker.declare("q")
    await broker.publish("q", b"x", message_id="m0")
    polling = asyncio.ensure_future(broker.publish("q", b"x", message_id="m1"))
    waiting = asyncio.ensure_future(broker.publish("q", b"x", message_id="m2"))
    await asyncio.sleep(0.2)
    await broker.close()
    for publish in (polling, waiting):
        with pytest.raises(BrokerError, match="closed"):
            await asyncio.wait_for(publish, 10)  # at once, but the machine may be busy


async def test_an_unreachable_server_is_named_without_its_password() -> None:
    port = free_port()
    broker = RedisStreamsBroker(f"redis://default:s3cret@127.0.0.1:{port}/0")
    try:
        # Nothing listens: worth waiting for at a worker's start.
        with pytest.raises(BrokerUnreachable) as raised:
            await broker.declare("q")
        with pytest.raises(BrokerUnreachable) as measured:
            await broker.depth("q")
    finally:
        await broker.close()
    for error in (raised.value, measured.value):
        assert f"Redis at redis://default:***@127.0.0.1:{port}/0 could not" in str(error)
        assert "s3cret" not in str(error)


async def test_a_refused_login_names_the_server_and_is_not_unreachable() -> None:
    require_service("Redis", "127.0.0.1", 6379)
    broker = RedisStreamsBroker("redis://nobody:s3cret@127.0.0.1:6379/0")
    try:
        with pytest.raises(BrokerError, match="refused the login") as raised:
            await broker.declare("q")
    finally:
        await broker.close()
    assert not isinstance(raised.value, BrokerUnreachable)
    assert "Redis at redis://nobody:***@127.0.0.1:6379/0" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_a_malformed_url_is_said_without_the_password() -> None:
    with pytest.raises(ValueError, match="malformed Redis URL redis://:\\*\\*\\*@") as raised:
        RedisStreamsBroker("redis://:s3cret@127.0.0.1:port/0")
    assert "s3cret" not in str(raised.value)
