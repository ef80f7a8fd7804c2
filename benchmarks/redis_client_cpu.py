"""CPU time of the Redis Streams adapter itself, per message: what a stage pays the
client (redis-py, the adapter) to publish a message and to consume and acknowledge
one, apart from its work. CPU seconds of this process, which a machine shared with
other work inflates far less than wall time.

Publishes `--messages` messages (`--body-bytes` each, about a ticket message) to a
bounded queue with `--window` publishes in flight, as `ingest` and the stages do,
then consumes them with a stage's prefetch and acknowledges them in batches of
`--ack-batch` (`Broker.ack_many`). The queue's bound is above `--messages`, so no
publish waits for room: this measures the client, not backpressure.

    .venv/bin/python benchmarks/redis_client_cpu.py --messages 10000
    .venv/bin/python benchmarks/redis_client_cpu.py --messages 10000 --without-hiredis

`--without-hiredis` hides the hiredis package, so redis-py parses replies and packs
commands in Python, as it does where hiredis is not installed. To compare versions of
the code, run the script from each checkout with `PYTHONPATH=<checkout>/src`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Figures:
    hiredis: bool
    publish_us: float
    consume_us: float


async def measure(args: argparse.Namespace) -> Figures:
    import redis.utils

    from supporter.brokers.redis import RedisStreamsBroker

    broker = RedisStreamsBroker(
        args.redis_url, prefix=f"bench-{uuid.uuid4().hex[:10]}", max_length=args.messages + 1
    )
    body = os.urandom(args.body_bytes // 2).hex().encode()
    try:
        await broker.declare("q")
        room = asyncio.Semaphore(args.window)

        async def publish(number: int) -> None:
            async with room:
                await broker.publish("q", body, message_id=f"m{number}", headers={"t": "1"})

        started = time.process_time()
        await asyncio.gather(*(publish(number) for number in range(args.messages)))
        published = time.process_time()
        taken = 0
        async with broker.consume("q", prefetch=args.window + 8) as deliveries:
            batch = []
            async for delivery in deliveries:
                batch.append(delivery)
                taken += 1
                if len(batch) == args.ack_batch or taken == args.messages:
                    if await broker.ack_many(batch):
                        raise RuntimeError("Redis did not acknowledge a batch")
                    batch = []
                if taken == args.messages:
                    break
        consumed = time.process_time()
    finally:
        await broker.delete_keys()
        await broker.close()
    per_message = 1e6 / args.messages
    return Figures(
        redis.utils.HIREDIS_AVAILABLE,
        (published - started) * per_message,
        (consumed - published) * per_message,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--body-bytes", type=int, default=1_800)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--ack-batch", type=int, default=16)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--without-hiredis", action="store_true")
    args = parser.parse_args()
    if args.without_hiredis:
        sys.modules["hiredis"] = None  # type: ignore[assignment]  # import fails: redis-py's fallback
    figures = asyncio.run(measure(args))
    print(
        f"hiredis {'on' if figures.hiredis else 'off'}: "
        f"publish {figures.publish_us:.0f} µs CPU per message, "
        f"consume and acknowledge {figures.consume_us:.0f} µs CPU per message"
    )


if __name__ == "__main__":
    main()
