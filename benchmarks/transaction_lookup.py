"""How fast the analyze workers find a ticket's transactions in the shared store,
as the table grows: load N synthetic transactions into a fresh PostgreSQL
database through `SqlTransactionIndex.load` (what `supporter transactions load`
does), then time random window lookups (`recent`, 90 days, newest 20), and the
join of a ticket that shares no id with the payments (`TransactionWindow.of`: by
customer id, then by its e-mail, then by the order number it quotes).

    .venv/bin/python benchmarks/transaction_lookup.py --rows 100000 2000000

Each size gets its own database, dropped afterwards. Customers hold 20
transactions each on average, spread over two years; lookups ask for random
customers at random moments, one at a time (what one worker's task does).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from supporter.domain.models import Ticket, Transaction, TransactionType
from supporter.store.sql import SqlStore
from supporter.transactions.base import TransactionWindow
from supporter.transactions.sql import SqlTransactionIndex

SERVER = "postgresql://postgres@127.0.0.1:5432"
START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
PER_CUSTOMER = 20


async def transactions(rows: int, seed: int) -> AsyncIterator[Transaction]:
    dice = random.Random(seed)
    customers = max(1, rows // PER_CUSTOMER)
    for number in range(rows):
        customer = dice.randrange(customers)
        yield Transaction(
            transaction_id=f"tx_{number:09d}",
            customer_id=f"C{customer:08d}",
            # As processors write them: another case, a stray space.
            customer_email=f"Customer{customer:08d}@Example.com ",
            references=(f"SO-{number:09d}",),
            amount=Decimal(dice.randrange(100, 50_000)) / 100,
            currency="EUR",
            status="succeeded",
            created_at=START + SPAN * dice.random(),
            type=TransactionType.CHARGE,
            card_last4=f"{dice.randrange(10_000):04d}",
        )


async def measure(rows: int, lookups: int) -> dict[str, float]:
    name = f"supporter_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(f"{SERVER}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        store = await SqlStore.open(f"{SERVER}/{name}")
        index = SqlTransactionIndex(store.engine)
        began = time.perf_counter()
        await index.load(transactions(rows, seed=rows))
        load_seconds = time.perf_counter() - began
        async with store.engine.connect() as connection:
            await connection.exec_driver_sql("ANALYZE transactions")
        dice = random.Random(7)
        customers = max(1, rows // PER_CUSTOMER)
        times: list[float] = []
        joins: list[float] = []
        found = joined = 0
        for _ in range(lookups):
            customer = dice.randrange(customers)
            until = START + SPAN * dice.random()
            began = time.perf_counter()
            window = await index.recent(f"C{customer:08d}", until=until, days=90, limit=20)
            times.append(time.perf_counter() - began)
            found += len(window)
            ticket = Ticket(
                ticket_id="T1",
                customer_id=f"zendesk:{customer}",
                subject="Order",
                body=f"Where is my order SO-{dice.randrange(rows):09d}?",
                status="open",
                created_at=until,
                customer_email=f"customer{customer:08d}@example.com",
            )
            began = time.perf_counter()
            joined += len(await TransactionWindow(days=90, limit=20).of(index, ticket))
            joins.append(time.perf_counter() - began)
        await store.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
    times.sort()
    joins.sort()
    return {
        "rows": rows,
        "load_seconds": load_seconds,
        "rows_per_second": rows / load_seconds,
        "lookup_p50_ms": statistics.median(times) * 1000,
        "lookup_p99_ms": times[int(len(times) * 0.99)] * 1000,
        "lookups_per_second": len(times) / sum(times),
        "mean_found": found / lookups,
        "join_p50_ms": statistics.median(joins) * 1000,
        "join_p99_ms": joins[int(len(joins) * 0.99)] * 1000,
        "mean_joined": joined / lookups,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 2_000_000])
    parser.add_argument("--lookups", type=int, default=5000)
    args = parser.parse_args()
    print(
        "| rows | load s | rows/s loaded | lookup p50 ms | lookup p99 ms | lookups/s "
        "| transactions per window | join p50 ms | join p99 ms | transactions per join |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for rows in args.rows:
        figures = asyncio.run(measure(rows, args.lookups))
        print(
            f"| {rows:,} | {figures['load_seconds']:.1f} | {figures['rows_per_second']:,.0f} "
            f"| {figures['lookup_p50_ms']:.2f} | {figures['lookup_p99_ms']:.2f} "
            f"| {figures['lookups_per_second']:,.0f} | {figures['mean_found']:.1f} "
            f"| {figures['join_p50_ms']:.2f} | {figures['join_p99_ms']:.2f} "
            f"| {figures['mean_joined']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
