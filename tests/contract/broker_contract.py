"""The behaviour every broker adapter must show. Subclass `BrokerContract` and
provide a `broker` fixture; the same tests then run against that adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from supporter.brokers.base import Broker, BrokerError, Delivery, dead_letter_queue


async def next_delivery(deliveries: AsyncIterator[Delivery], timeout: float = 5.0) -> Delivery:
    return await asyncio.wait_for(anext(deliveries), timeout)


async def no_delivery(deliveries: AsyncIterator[Delivery], wait: float = 0.3) -> bool:
    """True when nothing is delivered within `wait` seconds."""
    task = asyncio.ensure_future(anext(deliveries))
    done, _ = await asyncio.wait({task}, timeout=wait)
    if done:
        return False
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
        await task
    return True


class BrokerContract:
    @pytest.fixture
    def queue(self) -> str:
        return f"contract-{uuid.uuid4().hex[:12]}"

    async def _declare(self, broker: Broker, queue: str) -> None:
        await broker.declare(queue)

    async def _publish_numbered(self, broker: Broker, queue: str, count: int) -> None:
        """Publish bodies b"0", b"1", ... with message ids m0, m1, ..., in that order."""
        for index in range(count):
            await broker.publish(queue, str(index).encode(), message_id=f"m{index}")

    async def test_published_message_is_delivered_with_id_and_headers(
        self, broker: Broker, queue: str
    ) -> None:
        await self._declare(broker, queue)
        await broker.publish(queue, b'{"a": 1}', message_id="m1", headers={"trace": "t-1"})
        async with broker.consume(queue, prefetch=1) as deliveries:
            delivery = await next_delivery(deliveries)
            assert delivery.body == b'{"a": 1}'
            assert delivery.message_id == "m1"
            assert delivery.headers.get("trace") == "t-1"
            assert delivery.redelivered is False
            await delivery.ack()

    async def test_a_body_made_by_bytes_is_delivered_as_those_bytes(
        self, broker: Broker, queue: str
    ) -> None:
        """`publish` takes whatever `bytes()` turns into the body; the delivery's
        payload is that object or the bytes, and makes the same body either way."""

        class Made:
            def __bytes__(self) -> bytes:
                return b'{"made": 1}'

        await self._declare(broker, queue)
        await broker.publish(queue, Made(), message_id="m1")
        async with broker.consume(queue, prefetch=1) as deliveries:
            delivery = await next_delivery(deliveries)
            assert delivery.body == b'{"made": 1}'
            assert bytes(delivery.payload) == delivery.body
            await delivery.ack()

    async def test_acknowledged_message_is_gone(self, broker: Broker, queue: str) -> None:
        await self._declare(broker, queue)
        await broker.publish(queue, b"x", message_id="m1")
        async with broker.consume(queue, prefetch=1) as deliveries:
            await (await next_delivery(deliveries)).ack()
        async with broker.consume(queue, prefetch=1) as deliveries:
            assert await no_delivery(deliveries)
        assert await broker.depth(queue) == 0

    async def test_single_consumer_sees_publish_order(self, broker: Broker, queue: str) -> None:
        await self._declare(broker, queue)
        await self._publish_numbered(broker, queue, 20)
        seen = []
        async with broker.consume(queue, prefetch=5) as deliveries:
            for _ in range(20):
                delivery = await next_delivery(deliveries)
                seen.append(int(delivery.body))
                await delivery.ack()
        assert seen == list(range(20))

    async def test_requeued_message_comes_back_marked_redelivered(
        self, broker: Broker, queue: str
    ) -> None:
        await self._declare(broker, queue)
        await broker.publish(queue, b"again", message_id="m1")
        async with broker.consume(queue, prefetch=1) as deliveries:
            first = await next_delivery(deliveries)
            await first.requeue()
            second = await next_delivery(deliveries)
            assert second.body == b"again"
            assert second.message_id == "m1"
            assert second.redelivered is True
            await second.ack()

    async def test_unsettled_messages_return_when_consumer_goes_away(
        self, broker: Broker, queue: str
    ) -> None:
        await self._declare(broker, queue)
        await self._publish_numbered(broker, queue, 3)
        async with broker.consume(queue, prefetch=3) as deliveries:
            taken = [await next_delivery(deliveries) for _ in range(3)]
            await taken[1].ack()
        got = []
        async with broker.consume(queue, prefetch=3) as deliveries:
            for _ in range(2):
                delivery = await next_delivery(deliveries)
                assert delivery.redelivered is True
                got.append(delivery.body)
                await delivery.ack()
            assert await no_delivery(deliveries)
        assert sorted(got) == [b"0", b"2"]

    async def test_a_batch_acknowledged_together_is_gone_and_the_rest_comes_back(
        self, broker: Broker, queue: str
    ) -> None:
        await self._declare(broker, queue)
        await self._publish_numbered(broker, queue, 6)
        async with broker.consume(queue, prefetch=6) as deliveries:
            taken = [await next_delivery(deliveries) for _ in range(6)]
            # Two batches in delivery order, as the output stage acknowledges them.
            assert await broker.ack_many(taken[:2]) == 0
            assert await broker.ack_many(taken[2:4]) == 0
        got = []
        async with broker.consume(queue, prefetch=6) as deliveries:
            for _ in range(2):
                delivery = await next_delivery(deliveries)
                assert delivery.redelivered is True
                got.append(delivery.body)
                await delivery.ack()
            assert await no_delivery(deliveries)
        assert sorted(got) == [b"4", b"5"]
        assert await broker.depth(queue) == 0

    async def test_a_batch_acknowledges_nothing_it_was_not_given(
        self, broker: Broker, queue: str
    ) -> None:
        await self._declare(broker, queue)
        await self._publish_numbered(broker, queue, 6)
        async with broker.consume(queue, prefetch=6) as deliveries:
            taken = [await next_delivery(deliveries) for _ in range(6)]
            # Held before the batch's last one (0, 2) and after it (5): all still held.
            assert await broker.ack_many([taken[1], taken[3], taken[4]]) == 0
        got = []
        async with broker.consume(queue, prefetch=6) as deliveries:
            for _ in range(3):
                delivery = await next_delivery(deliveries)
                assert delivery.redelivered is True
                got.append(delivery.body)
                await delivery.ack()
            assert await no_delivery(deliveries)
        assert sorted(got) == [b"0", b"2", b"5"]

    async def test_a_batch_counts_what_it_could_not_acknowledge(
        self, broker: Broker, queue: str
    ) -> None:
        await self._declare(broker, queue)
        await self._publish_numbered(broker, queue, 3)
        async with broker.consume(queue, prefetch=3) as deliveries:
            taken = [await next_delivery(deliveries) for _ in range(3)]
            await taken[1].ack()
            # Settled already: not acknowledged again, the others are.
            assert await broker.ack_many(taken) == 1
        async with broker.consume(queue, prefetch=3) as deliveries:
            assert await no_delivery(deliveries)
        assert await broker.depth(queue) == 0

    async def test_a_cancelled_consumer_loses_nothing(self, broker: Broker, queue: str) -> None:
        await self._declare(broker, queue)
        await broker.publish(queue, b"precious", message_id="m1")
        taken = asyncio.Event()

        async def crash_midway() -> None:
            async with broker.consume(queue, prefetch=1) as deliveries:
                await next_delivery(deliveries)
                taken.set()
                await asyncio.sleep(30)

        task = asyncio.create_task(crash_midway())
        await asyncio.wait_for(taken.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with broker.consume(queue, prefetch=1) as deliveries:
            delivery = await next_delivery(deliveries)
            assert delivery.body == b"precious"
            await delivery.ack()

    async def test_prefetch_bounds_unsettled_deliveries(self, broker: Broker, queue: str) -> None:
        await self._declare(broker, queue)
        await self._publish_numbered(broker, queue, 3)
        async with broker.consume(queue, prefetch=2) as deliveries:
            first = await next_delivery(deliveries)
            second = await next_delivery(deliveries)
            pending = asyncio.ensure_future(anext(deliveries))
            await asyncio.sleep(0.3)
            assert not pending.done(), "a third delivery arrived past prefetch=2"
            await first.ack()
            third = await asyncio.wait_for(pending, 5)
            await second.ack()
            await third.ack()

    async def test_delayed_message_is_not_visible_before_its_delay(
        self, broker: Broker, queue: str
    ) -> None:
        await self._declare(broker, queue)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await broker.publish(queue, b"later", message_id="m1", delay=0.5)
        async with broker.consume(queue, prefetch=1) as deliveries:
            delivery = await next_delivery(deliveries)
            assert loop.time() - start >= 0.45
            assert delivery.body == b"later"
            await delivery.ack()

    async def test_competing_consumers_each_get_a_message_once(
        self, broker: Broker, queue: str
    ) -> None:
        await self._declare(broker, queue)
        total = 40
        await self._publish_numbered(broker, queue, total)
        seen: list[int] = []
        done = asyncio.Event()

        async def worker() -> None:
            async with broker.consume(queue, prefetch=4) as deliveries:
                while not done.is_set():
                    try:
                        delivery = await asyncio.wait_for(anext(deliveries), 0.5)
                    except TimeoutError:
                        continue
                    seen.append(int(delivery.body))
                    await delivery.ack()
                    if len(seen) == total:
                        done.set()

        await asyncio.wait_for(asyncio.gather(worker(), worker()), 20)
        assert sorted(seen) == list(range(total))

    async def test_dead_letter_queue_is_declared_with_its_queue(
        self, broker: Broker, queue: str
    ) -> None:
        await self._declare(broker, queue)
        dead = dead_letter_queue(queue)
        await broker.publish(dead, b"gave up", message_id="d1", headers={"reason": "bad"})
        async with broker.consume(dead, prefetch=1) as deliveries:
            delivery = await next_delivery(deliveries)
            assert delivery.headers.get("reason") == "bad"
            await delivery.ack()

    async def test_depth_counts_waiting_messages(self, broker: Broker, queue: str) -> None:
        await self._declare(broker, queue)
        for index in range(5):
            await broker.publish(queue, b"x", message_id=f"m{index}")
        for _ in range(50):
            if await broker.depth(queue) == 5:
                break
            await asyncio.sleep(0.05)
        assert await broker.depth(queue) == 5

    async def test_a_timed_out_wait_loses_no_message(self, broker: Broker, queue: str) -> None:
        await self._declare(broker, queue)
        async with broker.consume(queue, prefetch=1) as deliveries:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(deliveries), 0.2)
            await broker.publish(queue, b"after", message_id="m1")
            delivery = await next_delivery(deliveries)
            assert delivery.body == b"after"
            await delivery.ack()

    # ----------------------------------------------------------------- oldest_age

    async def _make_due_visible(self, broker: Broker, queue: str) -> None:
        """Wait until the delayed messages that are due have entered `queue` (a broker
        that moves them only while a consumer runs overrides this)."""
        for _ in range(100):
            if await broker.depth(queue) > 0:
                return
            await asyncio.sleep(0.05)

    async def test_oldest_age_is_none_for_an_empty_queue(self, broker: Broker, queue: str) -> None:
        await self._declare(broker, queue)
        assert await broker.oldest_age(queue) is None
        assert await broker.oldest_age(dead_letter_queue(queue)) is None

    async def test_oldest_age_is_how_long_the_head_has_waited(
        self, broker: Broker, queue: str
    ) -> None:
        await self._declare(broker, queue)
        published = time.time()
        await broker.publish(queue, b"0", message_id="m0")
        await asyncio.sleep(0.2)
        await broker.publish(queue, b"1", message_id="m1")
        await asyncio.sleep(0.2)
        third = time.time()
        await broker.publish(queue, b"2", message_id="m2")
        await asyncio.sleep(0.4)
        age = await broker.oldest_age(queue)
        assert age is not None
        assert 0.78 <= age <= time.time() - published + 0.05

        async with broker.consume(queue, prefetch=1) as deliveries:
            oldest = await next_delivery(deliveries)
            assert oldest.body == b"0"
            await oldest.ack()
            held = await next_delivery(deliveries)  # in flight, so no longer waiting
            assert held.body == b"1"
            age = await broker.oldest_age(queue)
            assert age is not None
            assert 0.38 <= age <= time.time() - third + 0.05
            await held.ack()
            last = await next_delivery(deliveries)
            assert last.body == b"2"
            assert await broker.oldest_age(queue) is None
            await last.ack()
        assert await broker.oldest_age(queue) is None

    async def test_asking_the_oldest_age_leaves_the_queue_as_it_was(
        self, broker: Broker, queue: str
    ) -> None:
        await self._declare(broker, queue)
        await self._publish_numbered(broker, queue, 3)
        for _ in range(5):
            assert await broker.oldest_age(queue) is not None
        assert await broker.depth(queue) == 3
        seen = []
        async with broker.consume(queue, prefetch=1) as deliveries:
            for _ in range(3):
                delivery = await next_delivery(deliveries)
                seen.append(delivery.body)
                assert delivery.message_id == f"m{int(delivery.body)}"
                assert dict(delivery.headers) == {}
                await delivery.ack()
        assert seen == [b"0", b"1", b"2"]

    async def test_a_failed_look_at_a_missing_queue_leaves_the_broker_working(
        self, broker: Broker, queue: str
    ) -> None:
        await self._declare(broker, queue)
        await broker.publish(queue, b"0", message_id="m0")
        # At the same time as other calls: the failed look must take none of them down
        # (on whatever channel or connection they share).
        missing, depth, age = await asyncio.gather(
            broker.oldest_age(f"{queue}-never-declared"),
            broker.depth(queue),
            broker.oldest_age(queue),
            return_exceptions=True,
        )
        assert isinstance(missing, BrokerError)
        assert depth == 1
        assert isinstance(age, float)
        assert await broker.oldest_age(queue) is not None
        assert await broker.depth(queue) == 1
        await broker.publish(queue, b"1", message_id="m1")
        assert await broker.depth(queue) == 2

    async def test_a_delayed_message_does_not_wait_before_its_delay(
        self, broker: Broker, queue: str
    ) -> None:
        await self._declare(broker, queue)
        await broker.publish(queue, b"later", message_id="d1", delay=1.0)
        assert await broker.oldest_age(queue) is None
        await asyncio.sleep(0.2)
        assert await broker.oldest_age(queue) is None
        fresh = time.time()
        await broker.publish(queue, b"now", message_id="m1")
        await asyncio.sleep(0.2)
        age = await broker.oldest_age(queue)
        assert age is not None
        assert 0.18 <= age <= time.time() - fresh + 0.05

    async def test_a_delayed_message_waits_from_when_it_became_visible(
        self, broker: Broker, queue: str
    ) -> None:
        await self._declare(broker, queue)
        published = time.time()
        await broker.publish(queue, b"later", message_id="d1", delay=0.3)
        await asyncio.sleep(0.8)
        await self._make_due_visible(broker, queue)
        age = await broker.oldest_age(queue)
        assert age is not None
        assert age <= time.time() - published - 0.3 + 0.05
