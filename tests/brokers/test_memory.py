"""What only the in-memory broker promises: bounded queues, clean shutdown, and a
message handed over without being serialised."""

import asyncio
from datetime import UTC, datetime

import pytest

from supporter.brokers.base import BrokerError
from supporter.brokers.memory import MemoryBroker
from supporter.domain.messages import TicketMessage, encode
from supporter.domain.models import Ticket


async def test_publish_waits_while_the_queue_is_full() -> None:
    broker = MemoryBroker(maxsize=2)
    await broker.declare("q")
    await broker.publish("q", b"1", message_id="1")
    await broker.publish("q", b"2", message_id="2")
    blocked = asyncio.ensure_future(broker.publish("q", b"3", message_id="3"))
    await asyncio.sleep(0.05)
    assert not blocked.done()
    async with broker.consume("q", prefetch=1) as deliveries:
        await (await anext(deliveries)).ack()
    await asyncio.wait_for(blocked, 1)
    assert await broker.depth("q") == 2


async def test_delayed_retries_skip_the_bound() -> None:
    broker = MemoryBroker(maxsize=1)
    await broker.declare("q")
    await broker.publish("q", b"fresh", message_id="1")
    await broker.publish("q", b"retry", message_id="2", delay=0.01)
    await asyncio.sleep(0.1)
    assert await broker.depth("q") == 2


async def test_undeclared_queue_is_an_error() -> None:
    broker = MemoryBroker()
    with pytest.raises(BrokerError, match="not declared"):
        await broker.publish("nope", b"x", message_id="1")


async def test_settling_twice_is_an_error() -> None:
    broker = MemoryBroker()
    await broker.declare("q")
    await broker.publish("q", b"x", message_id="1")
    async with broker.consume("q", prefetch=1) as deliveries:
        delivery = await anext(deliveries)
        await delivery.ack()
        with pytest.raises(BrokerError, match="already settled"):
            await delivery.requeue()


async def test_close_drops_pending_delays() -> None:
    broker = MemoryBroker()
    await broker.declare("q")
    await broker.publish("q", b"x", message_id="1", delay=0.05)
    assert await broker.delayed("q") == 1
    await broker.close()
    await asyncio.sleep(0.1)
    assert await broker.depth("q") == 0
    with pytest.raises(BrokerError, match="closed"):
        await broker.publish("q", b"y", message_id="2")


async def test_a_payload_is_handed_over_and_its_bytes_made_only_when_the_body_is_read() -> None:
    broker = MemoryBroker()
    await broker.declare("q")
    ticket = Ticket(
        ticket_id="T1",
        customer_id="C1",
        subject="Charged twice",
        body="Order 1001",
        status="open",
        created_at=datetime(2024, 5, 2, 10, tzinfo=UTC),
    )
    message = TicketMessage(ticket=ticket)
    payload = encode(message)
    await broker.publish("q", payload, message_id=message.message_id)
    async with broker.consume("q", prefetch=1) as deliveries:
        delivery = await anext(deliveries)
        assert delivery.payload is payload
        assert payload._json is None  # nothing has read the body: no JSON made
        assert delivery.body == message.model_dump_json().encode()
        await delivery.ack()


async def test_a_consumer_cancelled_after_its_wake_up_passes_the_message_on() -> None:
    """A publish wakes one waiting consumer; if that one is cancelled before it runs
    (a timeout), the message goes to the next one in line, not nowhere."""
    broker = MemoryBroker()
    await broker.declare("q")
    async with (
        broker.consume("q", prefetch=1) as first,
        broker.consume("q", prefetch=1) as second,
    ):
        early = asyncio.ensure_future(anext(first))
        late = asyncio.ensure_future(anext(second))
        await asyncio.sleep(0.01)  # both wait in line, `early` first
        await broker.publish("q", b"one", message_id="1")
        early.cancel()  # woken, but cancelled before it could take the message
        delivery = await asyncio.wait_for(late, 1)
        assert delivery.body == b"one"
        assert early.cancelled()
        await delivery.ack()


async def test_a_publisher_cancelled_after_its_wake_up_passes_the_room_on() -> None:
    broker = MemoryBroker(maxsize=1)
    await broker.declare("q")
    await broker.publish("q", b"0", message_id="0")
    early = asyncio.ensure_future(broker.publish("q", b"1", message_id="1"))
    late = asyncio.ensure_future(broker.publish("q", b"2", message_id="2"))
    await asyncio.sleep(0.01)  # both wait for room, `early` first
    async with broker.consume("q", prefetch=1) as deliveries:
        taken = await anext(deliveries)
        early.cancel()  # woken by the room just made, but cancelled before it used it
        await asyncio.wait_for(late, 1)
        await taken.ack()
        assert early.cancelled()
        assert (await anext(deliveries)).body == b"2"
