"""CPU per message on RabbitMQ, client and server, for the ways of publishing and
acknowledging that the broker adapter chooses between.

Each variant pushes `--messages` persistent messages of `--size` bytes through one
durable classic queue: a publisher with confirms keeps `--window` publishes in
flight while a consumer (prefetch 72) takes and acknowledges them, both in this
process. It reports this process's CPU time (`time.process_time`) and, when
RabbitMQ runs on this host and /proc shows it, the server's (`beam.smp`, user and
system time), each per message. Other load on the host adds to the server's
figure: compare variants run back to back, several rounds.

- `aio-pika`: `aio_pika.Message` and `Exchange.publish`, one ack per message;
- `aiormq`: the same through aiormq's `basic_publish` (what `publish` does);
- `aiormq-multiple`: and one `basic.ack` with `multiple` per 32 messages.

    .venv/bin/python benchmarks/rabbitmq_costs.py --rounds 3

`--queue-version 2` declares the queue as a version 2 classic queue, `--transient`
publishes transient messages instead of persistent ones.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, DeliveryMode
from pamqp.commands import Basic
from pamqp.common import FieldValue

VARIANTS = ("aio-pika", "aiormq", "aiormq-multiple")
PREFETCH = 72
MULTIPLE_EVERY = 32


def server_pid() -> int | None:
    """The local RabbitMQ server's process, if /proc shows one."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"beam.smp" in command and b"rabbit" in command:
                return int(entry.name)
    return None


def cpu_seconds(pid: int | None) -> float | None:
    if pid is None:
        return None
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Result:
    variant: str
    seconds: float
    client_us: float
    server_us: float | None


@dataclass(frozen=True)
class Options:
    url: str
    messages: int
    size: int
    window: int
    queue_version: int | None
    transient: bool


async def run(variant: str, options: Options) -> Result:
    url, messages, size, window = options.url, options.messages, options.size, options.window
    mode = DeliveryMode.NOT_PERSISTENT if options.transient else DeliveryMode.PERSISTENT
    arguments: dict[str, FieldValue] | None = (
        None if options.queue_version is None else {"x-queue-version": options.queue_version}
    )
    name = f"bench-costs-{uuid.uuid4().hex[:10]}"
    body = b"x" * size
    connection = await aio_pika.connect_robust(url)
    async with connection:
        publisher = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await publisher.declare_queue(name, durable=True, arguments=arguments, robust=False)
        consumer = await connection.channel()
        await consumer.set_qos(prefetch_count=PREFETCH)
        queue = await consumer.declare_queue(name, durable=True, arguments=arguments, robust=False)
        taken = 0
        done = asyncio.Event()

        async def on_message(message: AbstractIncomingMessage) -> None:
            nonlocal taken
            taken += 1
            if variant != "aiormq-multiple":
                await message.ack()
            elif taken % MULTIPLE_EVERY == 0 or taken == messages:
                await message.ack(multiple=True)
            if taken == messages:
                done.set()

        tag = await queue.consume(on_message)
        room = asyncio.Semaphore(window)

        async def publish(number: int) -> None:
            try:
                if variant == "aio-pika":
                    message = aio_pika.Message(
                        body,
                        message_id=str(number),
                        headers={"traceparent": "00-0-0-01"},
                        delivery_mode=mode,
                        timestamp=time.time(),
                    )
                    await publisher.default_exchange.publish(message, routing_key=name)
                else:
                    channel = await publisher.get_underlay_channel()
                    properties = Basic.Properties(
                        message_id=str(number),
                        headers={"traceparent": "00-0-0-01"},
                        delivery_mode=mode.value,
                        timestamp=datetime.now(tz=UTC),
                    )
                    answer = await channel.basic_publish(
                        body, routing_key=name, properties=properties, mandatory=True
                    )
                    assert isinstance(answer, Basic.Ack), answer
            finally:
                room.release()

        pid = server_pid()
        server_before = cpu_seconds(pid)
        client_before = time.process_time()
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for number in range(messages):
                await room.acquire()
                group.create_task(publish(number))
        await done.wait()
        seconds = time.perf_counter() - started
        client = time.process_time() - client_before
        server_after = cpu_seconds(pid)
        await queue.cancel(tag)
        await publisher.queue_delete(name)
    server = (
        None
        if server_before is None or server_after is None
        else (server_after - server_before) / messages * 1e6
    )
    return Result(variant, seconds, client / messages * 1e6, server)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=3000, help="bytes per message")
    parser.add_argument("--window", type=int, default=64, help="publishes in flight")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queue-version", type=int, choices=(1, 2), default=None)
    parser.add_argument("--transient", action="store_true")
    args = parser.parse_args()
    options = Options(
        args.url, args.messages, args.size, args.window, args.queue_version, args.transient
    )
    print("| round | variant | seconds | client µs/message | server µs/message |")
    print("|---|---|---:|---:|---:|")
    for round_number in range(1, args.rounds + 1):
        for variant in VARIANTS:
            result = await run(variant, options)
            server = "" if result.server_us is None else f"{result.server_us:.0f}"
            print(
                f"| {round_number} | {variant} | {result.seconds:.1f} | "
                f"{result.client_us:.0f} | {server} |",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
