"""What the Kafka adapter does beyond the broker contract, against a real Tansu: keys
and partitions, commits that never pass unfinished work, replay after a crash,
requeue, delays that hold nothing up, rebalances, and its failures."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError
from tests.conftest import start_tansu
from tests.contract.broker_contract import next_delivery

from supporter.brokers.base import BrokerError, BrokerUnreachable
from supporter.brokers.kafka import COMMIT_FAILURES_FATAL, KafkaBroker, KafkaDelivery, parse_url
from supporter.cli.wiring import broker as broker_from_settings
from supporter.config import ConfigError, Settings
from supporter.testing.tansu import TansuServer, free_port

# Tansu lets a consumer group form after half the session timeout.
SESSION = 2.0


@pytest.fixture
async def broker(tansu: TansuServer) -> AsyncIterator[KafkaBroker]:
    kafka = KafkaBroker(tansu.url, prefix=f"t-{uuid.uuid4().hex[:10]}", session_timeout=SESSION)
    yield kafka
    for queue in kafka.declared:
        await kafka.delete(queue)
    await kafka.close()


@pytest.fixture
def queue() -> str:
    return f"q-{uuid.uuid4().hex[:8]}"


async def committed(broker: KafkaBroker, queue: str, partition: int = 0) -> int | None:
    """The offset the queue's group has committed on `partition`, read from outside."""
    reader = AIOKafkaConsumer(
        bootstrap_servers=broker.servers, group_id=broker.group(queue), enable_auto_commit=False
    )
    await reader.start()
    try:
        offset: int | None = await reader.committed(TopicPartition(broker.topic(queue), partition))
        return offset
    finally:
        await reader.stop()


async def test_a_key_keeps_a_customers_messages_on_one_partition_in_order(
    broker: KafkaBroker, queue: str
) -> None:
    await broker.declare(queue)
    for index in range(30):
        customer = f"C{index % 5}"
        await broker.publish(
            queue, f"{customer}:{index}".encode(), message_id=f"m{index}", key=customer
        )
    seen: dict[str, list[int]] = {}
    partitions: dict[str, set[int]] = {}
    async with broker.consume(queue, prefetch=30) as deliveries:
        for _ in range(30):
            delivery = await next_delivery(deliveries)
            assert isinstance(delivery, KafkaDelivery)
            customer, index = delivery.body.decode().split(":")
            seen.setdefault(customer, []).append(int(index))
            partitions.setdefault(customer, set()).add(delivery.partition.tp.partition)
            await delivery.ack()
    assert all(numbers == sorted(numbers) for numbers in seen.values())
    assert sorted(number for numbers in seen.values() for number in numbers) == list(range(30))
    assert all(len(found) == 1 for found in partitions.values())
    assert len(set().union(*partitions.values())) > 1, "five customers on a single partition"


async def test_the_commit_never_passes_a_message_still_in_flight(
    broker: KafkaBroker, queue: str
) -> None:
    await broker.declare(queue)
    for index in range(3):
        await broker.publish(queue, str(index).encode(), message_id=f"m{index}")
    async with broker.consume(queue, prefetch=3) as deliveries:
        first, second, third = [await next_delivery(deliveries) for _ in range(3)]
        await third.ack()
        await second.ack()
        await deliveries.commit()
        assert await committed(broker, queue) in (None, 0)
        await first.ack()
        await deliveries.commit()
        assert await committed(broker, queue) == 3


CRASHING_CONSUMER = textwrap.dedent(
    """
    import asyncio, sys
    from supporter.brokers.kafka import KafkaBroker

    async def main():
        broker = KafkaBroker(sys.argv[1], prefix=sys.argv[2], session_timeout=float(sys.argv[4]))
        async with broker.consume(sys.argv[3], prefetch=3) as deliveries:
            first = await anext(deliveries)
            await anext(deliveries)
            await anext(deliveries)
            await first.ack()
            await deliveries.commit()
            print("ready", flush=True)
            await asyncio.sleep(600)

    asyncio.run(main())
    """
)


async def test_a_killed_consumer_is_replayed_from_its_last_commit(
    broker: KafkaBroker, queue: str, tansu: TansuServer
) -> None:
    await broker.declare(queue)
    for index in range(3):
        await broker.publish(queue, str(index).encode(), message_id=f"m{index}")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CRASHING_CONSUMER,
        tansu.url,
        broker.prefix,
        queue,
        str(SESSION),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    assert child.stderr is not None
    try:
        line = await asyncio.wait_for(child.stdout.readline(), 60)
        if line.strip() != b"ready":
            child.kill()
            pytest.fail((await child.stderr.read()).decode())
    finally:
        if child.returncode is None:
            child.kill()  # SIGKILL: nothing given back, nothing committed after "ready"
        await child.wait()
    assert await committed(broker, queue) == 1
    async with broker.consume(queue, prefetch=3) as deliveries:
        replayed = [await next_delivery(deliveries, timeout=30) for _ in range(2)]
        assert [d.body for d in replayed] == [b"1", b"2"]
        for delivery in replayed:
            await delivery.ack()
    assert await broker.depth(queue) == 0


async def test_requeue_puts_a_marked_copy_at_the_end_and_finishes_the_original(
    broker: KafkaBroker, queue: str
) -> None:
    await broker.declare(queue)
    await broker.publish(queue, b"a", message_id="ma", headers={"traceparent": "00-abc-01"})
    await broker.publish(queue, b"b", message_id="mb")
    async with broker.consume(queue, prefetch=1) as deliveries:
        first = await next_delivery(deliveries)
        assert first.body == b"a"
        await first.requeue()
        following = await next_delivery(deliveries)
        assert (following.body, following.redelivered) == (b"b", False)
        await following.ack()
        again = await next_delivery(deliveries)
        assert (again.body, again.message_id, again.redelivered) == (b"a", "ma", True)
        assert dict(again.headers) == {"traceparent": "00-abc-01"}
        await again.ack()
        await deliveries.commit()
    assert await broker.depth(queue) == 0
    assert await committed(broker, queue) == 3  # a, b and the copy of a


async def test_a_delayed_retry_holds_up_nothing_behind_it(broker: KafkaBroker, queue: str) -> None:
    await broker.declare(queue)
    loop = asyncio.get_running_loop()
    started = loop.time()  # before the publish: the due time counts from there
    await broker.publish(queue, b"later", message_id="d1", delay=2.0, key="C1")
    await broker.publish(queue, b"now", message_id="n1", key="C1")
    assert await broker.depth(queue) == 1  # the delayed one waits elsewhere, uncounted
    async with broker.consume(queue, prefetch=2) as deliveries:
        now = await next_delivery(deliveries)
        assert now.body == b"now"
        await now.ack()
        later = await next_delivery(deliveries, timeout=10)
        assert later.body == b"later"
        assert loop.time() - started >= 1.95
        assert (later.message_id, later.redelivered, dict(later.headers)) == ("d1", False, {})
        await later.ack()


async def test_every_header_arrives_as_given_and_the_adapters_own_stay_hidden(
    broker: KafkaBroker, queue: str
) -> None:
    await broker.declare(queue)
    headers = {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "reason": "gave up: zürich 🙂",
        "stage": "analyze",
        "empty": "",
    }
    await broker.publish(queue, b"x", message_id="m1", headers=headers)
    await broker.publish(queue, b"y", message_id="m2", headers=headers, delay=0.1)
    async with broker.consume(queue, prefetch=2) as deliveries:
        for _ in range(2):
            delivery = await next_delivery(deliveries)
            assert dict(delivery.headers) == headers
            await delivery.ack()


async def test_a_rebalance_waits_for_work_in_flight_and_hands_nothing_out_twice(
    broker: KafkaBroker, queue: str
) -> None:
    await broker.declare(queue)
    total = 60
    for index in range(total):
        await broker.publish(queue, str(index).encode(), message_id=f"m{index}", key=f"C{index}")
    seen: list[int] = []
    done = asyncio.Event()
    first_taken = asyncio.Event()

    async def worker() -> None:
        async with broker.consume(queue, prefetch=4) as deliveries:
            while not done.is_set():
                try:
                    delivery = await asyncio.wait_for(anext(deliveries), 0.5)
                except TimeoutError:
                    continue
                first_taken.set()
                await asyncio.sleep(0.05)  # work: a rebalance finds some of it in flight
                seen.append(int(delivery.body))
                await delivery.ack()
                if len(seen) >= total:
                    done.set()

    first = asyncio.create_task(worker())
    await asyncio.wait_for(first_taken.wait(), 15)
    second = asyncio.create_task(worker())  # joins: the group rebalances mid-work
    await asyncio.wait_for(asyncio.gather(first, second), 60)
    assert sorted(seen) == list(range(total)), "a message was lost or handed out twice"


# --- failures ---------------------------------------------------------------------


async def test_an_unreachable_server_raises_broker_error() -> None:
    port = free_port()
    kafka = KafkaBroker(f"kafka://127.0.0.1:{port}", answer_timeout=3.0)
    try:
        # Not reached at all: worth waiting for at a worker's start, and named.
        with pytest.raises(BrokerUnreachable, match=f"Kafka at kafka://127.0.0.1:{port}:"):
            await kafka.declare("tickets")
        with pytest.raises(BrokerError):
            await kafka.publish("tickets", b"x", message_id="m1")
        with pytest.raises(BrokerError):
            await kafka.depth("tickets")
        with pytest.raises(BrokerError):
            async with kafka.consume("tickets", prefetch=1):
                pass
    finally:
        await kafka.close()


async def test_a_queue_nobody_declared_is_an_error(broker: KafkaBroker, queue: str) -> None:
    with pytest.raises(BrokerError, match="not declared"):
        await broker.publish(queue, b"x", message_id="m1")
    with pytest.raises(BrokerError, match="not declared"):
        async with broker.consume(queue, prefetch=1):
            pass
    with pytest.raises(BrokerError, match="not declared"):
        await broker.depth(queue)


async def test_an_idempotent_producer_the_server_refuses_is_a_broker_error_with_a_hint(
    tansu: TansuServer, queue: str
) -> None:
    url = tansu.url.replace("?idempotence=false", "")
    kafka = KafkaBroker(url, prefix=f"t-{uuid.uuid4().hex[:10]}", answer_timeout=10.0)
    try:
        await kafka.declare(queue)
        with pytest.raises(BrokerError, match=r"idempotence=false"):
            await kafka.publish(queue, b"x", message_id="m1")
    finally:
        await kafka.delete(queue)
        await kafka.close()


async def test_a_server_that_goes_away_makes_publish_raise_broker_error(queue: str) -> None:
    server = TansuServer()
    start_tansu(server)
    kafka = KafkaBroker(server.url, prefix="gone", answer_timeout=3.0)
    try:
        await kafka.declare(queue)
        await kafka.publish(queue, b"before", message_id="m1")
        server.stop()
        with pytest.raises(BrokerError):
            await kafka.publish(queue, b"after", message_id="m2")
    finally:
        server.stop()
        await kafka.close()


def test_urls_and_settings() -> None:
    assert parse_url("kafka://a:9092,b:9092") == ("a:9092,b:9092", True)
    assert parse_url("kafka://a:9092?idempotence=false") == ("a:9092", False)
    for wrong in ("kafka://", "redis://a:1", "kafka://a:1?acks=1", "kafka://a:1?idempotence=x"):
        with pytest.raises(ValueError, match=r"Kafka URL|idempotence"):
            parse_url(wrong)
    chosen = broker_from_settings(
        Settings(broker_url="kafka://127.0.0.1:9092", kafka_partitions=3, broker_prefix="p")
    )
    assert isinstance(chosen, KafkaBroker)
    assert (chosen.partitions, chosen.topic("tickets")) == (3, "p.tickets")
    assert isinstance(chosen, KafkaBroker)
    assert chosen.revoke_wait == 30.0
    waiting = broker_from_settings(
        Settings(broker_url="kafka://127.0.0.1:9092", kafka_revoke_wait=12.5)
    )
    assert isinstance(waiting, KafkaBroker)
    assert waiting.revoke_wait == 12.5
    with pytest.raises(ConfigError):
        broker_from_settings(Settings(broker_url="kafka://127.0.0.1:9092?acks=0"))


async def test_a_server_lost_while_consuming_leaves_the_messages_for_later(
    queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the commit nor the give-back on leaving can reach the server: both are
    logged, and leaving `consume` does not raise (the workers then consume again)."""
    server = TansuServer()
    start_tansu(server)
    kafka = KafkaBroker(server.url, prefix="lost", session_timeout=SESSION, answer_timeout=2.0)
    try:
        await kafka.declare(queue)
        for index in range(2):
            await kafka.publish(queue, str(index).encode(), message_id=f"m{index}")
        async with kafka.consume(queue, prefetch=2) as deliveries:
            first = await next_delivery(deliveries)
            await next_delivery(deliveries)  # left unsettled
            server.stop()
            await first.ack()
            await deliveries.commit()  # fails: logged, not raised
        assert "could not commit offsets" in caplog.text
        assert "could not give back m1" in caplog.text
    finally:
        server.stop()
        await kafka.close()


async def test_settling_twice_is_an_error(broker: KafkaBroker, queue: str) -> None:
    await broker.declare(queue)
    await broker.publish(queue, b"x", message_id="m1")
    async with broker.consume(queue, prefetch=1) as deliveries:
        delivery = await next_delivery(deliveries)
        await delivery.ack()
        with pytest.raises(BrokerError, match="already settled"):
            await delivery.requeue()


async def test_a_topic_the_server_will_not_create_is_a_broker_error() -> None:
    """Tansu creates any topic; a Kafka cluster refuses some (here: too many replicas).
    The refusal, as the admin client returns it, becomes a BrokerError."""

    class Refusing:
        async def create_topics(self, topics: list[object]) -> object:
            reason = "Replication factor: 3 > brokers: 1"
            errors = [(getattr(topic, "name", ""), 38, reason) for topic in topics]
            return type("Response", (), {"topic_errors": errors})()

    kafka = KafkaBroker("kafka://127.0.0.1:9", replication_factor=3)
    kafka._admin = Refusing()
    with pytest.raises(BrokerError, match="Replication factor"):
        await kafka.declare("tickets")
    assert kafka.declared == ()


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        KafkaBroker("kafka://a:1", partitions=0)
    with pytest.raises(ValueError, match="max_length"):
        KafkaBroker("kafka://a:1", max_length=0)
    with pytest.raises(ValueError, match="positive"):
        KafkaBroker("kafka://a:1", session_timeout=0)
    with pytest.raises(ValueError, match="prefetch"):
        KafkaBroker("kafka://a:1").consume("q", prefetch=0)


# --- requeue failures, give-backs in flight, commit failures, oldest_age -----------


def failing_sends(broker: KafkaBroker, monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    """The broker's next `times` publishes to the server fail like a lost server."""
    real = broker.send
    left = [times]

    async def send(*args: Any, **kwargs: Any) -> None:
        if left[0] > 0:
            left[0] -= 1
            raise BrokerError("publishing: Kafka did not answer")
        await real(*args, **kwargs)

    monkeypatch.setattr(broker, "send", send)


def slow_sends(broker: KafkaBroker, monkeypatch: pytest.MonkeyPatch, pause: float) -> None:
    real = broker.send

    async def send(*args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(pause)
        await real(*args, **kwargs)

    monkeypatch.setattr(broker, "send", send)


async def test_a_requeue_that_fails_leaves_the_delivery_unsettled_for_a_retry(
    broker: KafkaBroker, queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await broker.declare(queue)
    await broker.publish(queue, b"a", message_id="ma")
    async with broker.consume(queue, prefetch=2) as deliveries:
        first = await next_delivery(deliveries)
        failing_sends(broker, monkeypatch, times=1)
        with pytest.raises(BrokerError):
            await first.requeue()
        await first.requeue()  # the worker's retry: not "already settled"
        again = await next_delivery(deliveries)
        assert (again.body, again.redelivered) == (b"a", True)
        await again.ack()
        await deliveries.commit()
    assert await committed(broker, queue) == 2  # the original is finished, and its copy


async def test_a_rebalance_waits_for_a_requeue_in_flight(
    broker: KafkaBroker, queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await broker.declare(queue)
    await broker.publish(queue, b"a", message_id="ma")
    async with broker.consume(queue, prefetch=1) as deliveries:
        delivery = await next_delivery(deliveries)
        assert isinstance(delivery, KafkaDelivery)
        slow_sends(broker, monkeypatch, pause=1.0)
        requeuing = asyncio.create_task(delivery.requeue())
        await asyncio.sleep(0.1)  # the copy is being published
        await deliveries.revoked({delivery.partition.tp})  # what the listener calls
        assert requeuing.done(), "the partition was let go with a requeue in flight"
        await requeuing
    # The original was finished before the commit: its next owner reads only the copy.
    assert await committed(broker, queue) == 1


async def test_leaving_waits_for_a_requeue_in_flight_and_gives_nothing_back_twice(
    broker: KafkaBroker, queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await broker.declare(queue)
    await broker.publish(queue, b"a", message_id="ma")
    async with broker.consume(queue, prefetch=1) as deliveries:
        delivery = await next_delivery(deliveries)
        slow_sends(broker, monkeypatch, pause=1.0)
        requeuing = asyncio.create_task(delivery.requeue())
        await asyncio.sleep(0.1)
    await requeuing
    assert await committed(broker, queue) == 1
    assert await broker.depth(queue) == 1  # one copy, not two


async def test_a_committer_that_dies_makes_the_consumer_raise(
    broker: KafkaBroker, queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await broker.declare(queue)
    for index in range(2):
        await broker.publish(queue, str(index).encode(), message_id=f"m{index}")
    async with broker.consume(queue, prefetch=1) as deliveries:
        first = await next_delivery(deliveries)
        client = deliveries._client
        real_commit = client.commit

        async def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(client, "commit", broken)
        await first.ack()
        committer = deliveries._committer
        assert committer is not None
        await asyncio.wait({committer}, timeout=10)
        assert committer.done()
        with pytest.raises(BrokerError, match="boom"):
            await asyncio.wait_for(anext(deliveries), 5)
        monkeypatch.setattr(client, "commit", real_commit)


async def test_commits_failing_again_and_again_make_the_consumer_raise(
    broker: KafkaBroker, queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await broker.declare(queue)
    for index in range(2):
        await broker.publish(queue, str(index).encode(), message_id=f"m{index}")
    async with broker.consume(queue, prefetch=1) as deliveries:
        first = await next_delivery(deliveries)
        client = deliveries._client

        async def refused(*args: Any, **kwargs: Any) -> None:
            raise KafkaConnectionError("the coordinator is gone")

        monkeypatch.setattr(client, "commit", refused)
        await first.ack()
        for _ in range(COMMIT_FAILURES_FATAL):
            await deliveries.commit()  # each one logged, not raised
        with pytest.raises(BrokerError, match="commits in a row failed"):
            await asyncio.wait_for(anext(deliveries), 5)


async def test_oldest_age_skips_a_partition_with_nothing_readable(
    tansu: TansuServer, queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where only markers remain past the committed offset, nothing is fetched there:
    the partition is skipped instead of waited on until the answer timeout."""
    kafka = KafkaBroker(tansu.url, prefix=f"t-{uuid.uuid4().hex[:10]}", answer_timeout=8.0)
    try:
        await kafka.declare(queue)
        await kafka.publish(queue, b"x", message_id="m1")  # unkeyed: partition 0
        client, _ = await kafka._inspector(queue)
        real_getmany = client.getmany

        async def markers_only(*partitions: TopicPartition, **kwargs: Any) -> Any:
            found = await real_getmany(*partitions, **kwargs)
            return {tp: records for tp, records in found.items() if tp.partition != 0}

        monkeypatch.setattr(client, "getmany", markers_only)
        assert await kafka.depth(queue) == 1
        assert await asyncio.wait_for(kafka.oldest_age(queue), 6) is None
    finally:
        await kafka.delete(queue)
        await kafka.close()


async def test_oldest_age_does_not_wait_for_a_record_that_is_gone(
    tansu: TansuServer, queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A committed offset whose record is gone (deleted by retention since the offsets
    were read): the inspector resets to the log start (a Kafka server answers such a
    fetch with "offset out of range"; Tansu answers it empty), and a partition where
    nothing can be read is skipped instead of waited on until the answer timeout."""
    kafka = KafkaBroker(tansu.url, prefix=f"t-{uuid.uuid4().hex[:10]}", answer_timeout=8.0)
    try:
        await kafka.declare(queue)
        await kafka.publish(queue, b"x", message_id="m1")  # partition 0, offset 0
        client, _ = await kafka._inspector(queue)
        real_committed, real_ends = client.committed, client.end_offsets

        async def committed_far(tp: TopicPartition) -> int | None:
            return 5 if tp.partition == 0 else await real_committed(tp)

        async def ends_far(tps: list[TopicPartition]) -> dict[TopicPartition, int]:
            ends: dict[TopicPartition, int] = await real_ends(tps)
            return {tp: 10 if tp.partition == 0 else end for tp, end in ends.items()}

        monkeypatch.setattr(client, "committed", committed_far)
        monkeypatch.setattr(client, "end_offsets", ends_far)
        assert client._auto_offset_reset == "earliest"
        assert await asyncio.wait_for(kafka.oldest_age(queue), 6) is None
    finally:
        await kafka.delete(queue)
        await kafka.close()
