"""What only the RabbitMQ broker promises: confirmed, persistent messages on durable
queues, delays through delay queues, and deliveries that survive a lost connection."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import aio_pika
import aiormq
import pytest
from aio_pika.abc import DeliveryMode
from aio_pika.exceptions import ChannelNotFoundEntity
from pamqp.common import FieldValue
from tests.conftest import require_service
from tests.proxy import TcpProxy

from supporter.brokers.base import BrokerError, BrokerUnreachable
from supporter.brokers.rabbitmq import RabbitMQBroker, delay_bucket_ms

HOST, PORT = "127.0.0.1", 5672
URL = f"amqp://guest:guest@{HOST}:{PORT}/"


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def broker(prefix: str) -> AsyncIterator[RabbitMQBroker]:
    """Declares the queues of a test and deletes them afterwards."""
    require_service("RabbitMQ", HOST, PORT)
    broker = RabbitMQBroker(URL, prefix=prefix)
    yield broker
    for queue in broker.declared:
        await broker.delete(queue)
    await broker.close()


@pytest.fixture
async def other_broker(
    prefix: str, broker: RabbitMQBroker
) -> AsyncIterator[Callable[..., RabbitMQBroker]]:
    """More brokers on the same queues (another worker process), each closed afterwards."""
    made: list[RabbitMQBroker] = []

    def make(url: str = URL, **options: int) -> RabbitMQBroker:
        made.append(RabbitMQBroker(url, prefix=prefix, **options))
        return made[-1]

    yield make
    for other in made:
        await other.close()


@pytest.fixture
async def raw_channel() -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A plain aio-pika channel, to look at what the broker put on the server."""
    require_service("RabbitMQ", HOST, PORT)
    connection = await aio_pika.connect(URL)
    async with connection:
        yield await connection.channel()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    """A relay to RabbitMQ that can cut its connections, as a network failure would."""
    proxy = TcpProxy(HOST, PORT)
    proxy.start()
    yield proxy
    proxy.close()


def through(proxy: TcpProxy) -> str:
    return f"amqp://guest:guest@127.0.0.1:{proxy.port}/"


async def test_publish_returns_once_the_broker_has_the_message(broker: RabbitMQBroker) -> None:
    await broker.declare("q")
    for count in range(1, 11):
        await broker.publish("q", b"x", message_id=f"m{count}")
        assert await broker.depth("q") == count


async def test_messages_are_persistent_on_durable_queues(
    broker: RabbitMQBroker, prefix: str, raw_channel: aio_pika.abc.AbstractChannel
) -> None:
    await broker.declare("q")
    await broker.publish("q", b"body", message_id="m1", headers={"trace": "t-1"})
    # Declaring it durable again succeeds only if it is durable already.
    queue = await raw_channel.declare_queue(f"{prefix}.q", durable=True)
    message = await queue.get(timeout=5)
    assert message.delivery_mode == DeliveryMode.PERSISTENT
    assert message.message_id == "m1"
    # On the wire beside the caller's headers: when the message became visible, for
    # `oldest_age` (consumers never see it).
    visible_at = message.headers.pop("x-supporter-visible-at")
    assert message.headers == {"trace": "t-1"}
    assert message.timestamp is not None
    assert abs(float(str(visible_at)) - message.timestamp.timestamp()) < 1
    await message.ack()


async def test_headers_from_other_publishers_are_read_as_strings(
    broker: RabbitMQBroker, prefix: str, raw_channel: aio_pika.abc.AbstractChannel
) -> None:
    await broker.declare("q")
    message = aio_pika.Message(
        b"x", message_id="m1", headers={"raw": bytearray(b"bytes"), "count": 3}
    )
    await raw_channel.default_exchange.publish(message, routing_key=f"{prefix}.q")
    async with broker.consume("q", prefetch=1) as deliveries:
        delivery = await asyncio.wait_for(anext(deliveries), 5)
        assert delivery.headers == {"raw": "bytes"}
        await delivery.ack()


async def test_an_undeclared_queue_is_an_error(broker: RabbitMQBroker) -> None:
    with pytest.raises(BrokerError, match="'nope' is not declared"):
        await broker.publish("nope", b"x", message_id="m1")
    with pytest.raises(BrokerError, match="'nope' is not declared"):
        await broker.publish("nope", b"x", message_id="m1", delay=0.1)
    with pytest.raises(BrokerError, match="'nope' is not declared"):
        await broker.depth("nope")
    with pytest.raises(BrokerError, match="'nope' is not declared"):
        async with broker.consume("nope", prefetch=1):
            pass
    # The broker is still usable after RabbitMQ closed a channel over the error.
    await broker.declare("q")
    await broker.publish("q", b"x", message_id="m1")
    assert await broker.depth("q") == 1


async def test_a_delayed_message_keeps_its_id_and_headers(broker: RabbitMQBroker) -> None:
    await broker.declare("q")
    await broker.publish("q", b"later", message_id="m1", headers={"attempt": "2"}, delay=0.1)
    async with broker.consume("q", prefetch=1) as deliveries:
        delivery = await asyncio.wait_for(anext(deliveries), 5)
        assert delivery.message_id == "m1"
        # Without RabbitMQ's x-death record of the delay queue it passed through.
        assert delivery.headers == {"attempt": "2"}
        assert delivery.redelivered is False
        await delivery.ack()


def test_delays_round_up_to_two_significant_digits() -> None:
    assert delay_bucket_ms(0.0001) == 1
    assert delay_bucket_ms(0.5) == 500
    assert delay_bucket_ms(0.57) == 570
    assert delay_bucket_ms(1.234) == 1300
    assert delay_bucket_ms(37.2) == 38_000
    assert delay_bucket_ms(300) == 300_000


async def test_delete_removes_the_delay_queues_too(
    broker: RabbitMQBroker, prefix: str, raw_channel: aio_pika.abc.AbstractChannel
) -> None:
    await broker.declare("q")
    await broker.publish("q", b"x", message_id="m1", delay=10)
    await broker.delete("q")
    assert broker.declared == ()
    with pytest.raises(ChannelNotFoundEntity):
        await raw_channel.declare_queue(f"{prefix}.q.delay.10000", passive=True)


async def test_publish_waits_while_the_queue_is_full(
    broker: RabbitMQBroker, other_broker: Callable[..., RabbitMQBroker]
) -> None:
    await broker.declare("q")
    bounded = other_broker(max_length=2)
    await bounded.publish("q", b"1", message_id="1")
    await bounded.publish("q", b"2", message_id="2")
    blocked = asyncio.ensure_future(bounded.publish("q", b"3", message_id="3"))
    await asyncio.sleep(0.3)
    assert not blocked.done()
    # A delayed retry is admitted work: it never waits on the bound.
    await asyncio.wait_for(bounded.publish("q", b"retry", message_id="4", delay=0.01), 2)
    async with broker.consume("q", prefetch=1) as deliveries:
        await (await asyncio.wait_for(anext(deliveries), 5)).ack()
        await (await asyncio.wait_for(anext(deliveries), 5)).ack()
    await asyncio.wait_for(blocked, 5)
    assert await broker.depth("q") == 2
    await bounded.delete("q")  # and the delay queue that only it knows of


async def test_a_consumer_cut_off_abruptly_returns_its_deliveries(
    broker: RabbitMQBroker, other_broker: Callable[..., RabbitMQBroker], proxy: TcpProxy
) -> None:
    await broker.declare("q")
    for index in range(2):
        await broker.publish("q", str(index).encode(), message_id=f"m{index}")
    # The crashed worker must not reconnect and take them again during the test.
    crashed = other_broker(f"{through(proxy)}?reconnect_interval=60")
    async with crashed.consume("q", prefetch=2) as taken:
        for _ in range(2):
            await asyncio.wait_for(anext(taken), 5)
        proxy.sever()
        got = []
        async with broker.consume("q", prefetch=2) as deliveries:
            for _ in range(2):
                delivery = await asyncio.wait_for(anext(deliveries), 5)
                assert delivery.redelivered is True
                got.append(delivery.body)
                await delivery.ack()
    assert sorted(got) == [b"0", b"1"]


async def test_a_lost_connection_is_restored_with_its_consumer(
    broker: RabbitMQBroker, other_broker: Callable[..., RabbitMQBroker], proxy: TcpProxy
) -> None:
    await broker.declare("q")
    await broker.publish("q", b"before", message_id="m1")
    worker = other_broker(f"{through(proxy)}?reconnect_interval=0.1")
    async with worker.consume("q", prefetch=1) as deliveries:
        before = await asyncio.wait_for(anext(deliveries), 5)
        proxy.sever()
        for _ in range(50):
            with contextlib.suppress(BrokerError):
                await worker.publish("q", b"after", message_id="m2")
                break
            await asyncio.sleep(0.1)
        # Reconnected on another channel: RabbitMQ put it back, it cannot be settled.
        with pytest.raises(BrokerError):
            await before.ack()
        got = {}
        for _ in range(2):
            delivery = await asyncio.wait_for(anext(deliveries), 5)
            got[delivery.body] = delivery.redelivered
            await delivery.ack()
    assert got == {b"before": True, b"after": False}
    assert await broker.depth("q") == 0


async def test_settling_twice_is_an_error(broker: RabbitMQBroker) -> None:
    await broker.declare("q")
    await broker.publish("q", b"x", message_id="m1")
    async with broker.consume("q", prefetch=1) as deliveries:
        delivery = await asyncio.wait_for(anext(deliveries), 5)
        await delivery.ack()
        with pytest.raises(BrokerError, match="already settled"):
            await delivery.requeue()


async def test_an_unreachable_server_says_so_without_the_password() -> None:
    broker = RabbitMQBroker("amqp://guest:s3cret@127.0.0.1:1/")
    # Nothing listens: worth waiting for at a worker's start.
    with pytest.raises(BrokerUnreachable, match="cannot connect to RabbitMQ") as raised:
        await broker.declare("q")
    assert "amqp://guest:***@127.0.0.1:1/" in str(raised.value)
    assert "s3cret" not in str(raised.value)
    await broker.close()


async def test_a_wrong_password_is_refused_not_unreachable() -> None:
    require_service("RabbitMQ", HOST, PORT)
    broker = RabbitMQBroker("amqp://guest:wrong-s3cret@127.0.0.1:5672/")
    try:
        with pytest.raises(BrokerError, match="refused the connection") as raised:
            await broker.declare("q")
    finally:
        await broker.close()
    assert not isinstance(raised.value, BrokerUnreachable)
    assert "ACCESS_REFUSED" in str(raised.value)
    assert "amqp://guest:***@127.0.0.1:5672/" in str(raised.value)
    assert "wrong-s3cret" not in str(raised.value)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("amqp://guest:s3cret@127.0.0.1:port/", "port can't be converted to integer"),
        ("amqp://guest:s3cret@/vhost", "no host"),
    ],
)
def test_a_malformed_url_is_said_without_the_password(url: str, why: str) -> None:
    with pytest.raises(
        ValueError, match="malformed RabbitMQ URL amqp://guest:\\*\\*\\*@"
    ) as raised:
        RabbitMQBroker(url)
    assert why in str(raised.value)
    assert "s3cret" not in str(raised.value)


async def test_a_closed_broker_refuses_work(broker: RabbitMQBroker, prefix: str) -> None:
    closed = RabbitMQBroker(URL, prefix=prefix)
    await closed.close()
    with pytest.raises(BrokerError, match="closed"):
        await closed.publish("q", b"x", message_id="m1")


async def test_a_batch_across_a_reconnect_acknowledges_only_what_the_new_channel_holds(
    broker: RabbitMQBroker, other_broker: Callable[..., RabbitMQBroker], proxy: TcpProxy
) -> None:
    await broker.declare("q")
    await broker.publish("q", b"before", message_id="m1")
    worker = other_broker(f"{through(proxy)}?reconnect_interval=0.1")
    async with worker.consume("q", prefetch=3) as deliveries:
        stale = await asyncio.wait_for(anext(deliveries), 5)
        proxy.sever()
        for _ in range(50):
            with contextlib.suppress(BrokerError):
                await worker.publish("q", b"after", message_id="m2")
                break
            await asyncio.sleep(0.1)
        fresh = [await asyncio.wait_for(anext(deliveries), 5) for _ in range(2)]
        # The old channel's delivery cannot be settled (RabbitMQ put it back and
        # delivered it again, among `fresh`); the new channel's two are acknowledged.
        assert await worker.ack_many([stale, *fresh]) == 1
    assert sorted(delivery.body for delivery in fresh) == [b"after", b"before"]
    assert await broker.depth("q") == 0
    async with broker.consume("q", prefetch=1) as again:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(again), 0.5)


async def test_publishes_in_flight_together_each_get_their_own_answer(
    broker: RabbitMQBroker, prefix: str, raw_channel: aio_pika.abc.AbstractChannel
) -> None:
    await broker.declare("q")
    # RabbitMQ refuses (basic.nack) what does not fit in a full reject-publish queue.
    arguments: dict[str, FieldValue] = {"x-max-length": 1, "x-overflow": "reject-publish"}
    full = await raw_channel.declare_queue(f"{prefix}.full", arguments=arguments)
    try:
        await broker.publish("full", b"fits", message_id="f0")
        answers = await asyncio.gather(
            broker.publish("q", b"1", message_id="q1"),
            broker.publish("full", b"nacked", message_id="f1"),
            broker.publish("nope", b"returned", message_id="n1"),
            broker.publish("q", b"2", message_id="q2"),
            return_exceptions=True,
        )
        assert answers[0] is None
        assert answers[3] is None
        assert isinstance(answers[1], BrokerError)
        assert isinstance(answers[2], BrokerError)
        assert "'nope' is not declared" in str(answers[2])
        assert await broker.depth("q") == 2
        declared = await raw_channel.declare_queue(f"{prefix}.full", passive=True)
        assert declared.declaration_result.message_count == 1
    finally:
        await full.delete(if_unused=False, if_empty=False)


@pytest.fixture
def ack_frames(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """Every `basic.ack` sent: (delivery tag, multiple)."""
    sent: list[tuple[int, bool]] = []
    send = aiormq.Channel.basic_ack

    async def recorded(
        channel: aiormq.Channel, delivery_tag: int, multiple: bool = False, wait: bool = True
    ) -> None:
        sent.append((delivery_tag, multiple))
        await send(channel, delivery_tag, multiple=multiple, wait=wait)

    monkeypatch.setattr(aiormq.Channel, "basic_ack", recorded)
    return sent


async def test_acks_asked_for_together_share_a_frame_that_covers_no_held_delivery(
    broker: RabbitMQBroker, ack_frames: list[tuple[int, bool]]
) -> None:
    await broker.declare("q")
    for index in range(5):
        await broker.publish("q", str(index).encode(), message_id=f"m{index}")
    async with broker.consume("q", prefetch=5) as deliveries:
        taken = [await asyncio.wait_for(anext(deliveries), 5) for _ in range(5)]
        tags = [delivery.message.delivery_tag for delivery in taken]
        # Three tasks ask in the same turn, as those one publisher confirm woke do.
        failed = await asyncio.gather(
            broker.ack_many([taken[0]]), broker.ack_many([taken[1]]), broker.ack_many([taken[3]])
        )
        assert list(failed) == [0, 0, 0]
        # m0 and m1 in one ack with `multiple`; m3 alone, as m2 is still held below it.
        assert ack_frames == [(tags[1], True), (tags[3], False)]
        await taken[2].requeue()
        await taken[4].ack()
    async with broker.consume("q", prefetch=5) as again:
        back = await asyncio.wait_for(anext(again), 5)
        assert (back.body, back.redelivered) == (b"2", True)
        await back.ack()
    assert await broker.depth("q") == 0


async def test_a_look_at_a_queue_cancelled_midway_fails_no_other_look(
    broker: RabbitMQBroker,
) -> None:
    """A stop cancels one caller's depth check while another waits to use the same
    channel (serve's sweep and intake's room check share it): the cancelled one drops
    the channel, and the other must get its answer on a fresh one, not an error."""
    await broker.declare("q")
    await broker.publish("q", b"x", message_id="m0")
    for turn in range(60):
        cancelled = asyncio.ensure_future(broker.depth("q"))
        other = asyncio.ensure_future(broker.depth("q"))
        # Both on their way; the first cancelled at points from before its question
        # to mid-answer.
        for _ in range(turn % 6):
            await asyncio.sleep(0)
        await asyncio.sleep(0.0005 * (turn // 6))
        cancelled.cancel()
        await asyncio.gather(cancelled, return_exceptions=True)
        assert await other == 1
