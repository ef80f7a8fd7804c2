"""`supporter serve` under load: tickets posted through the API while the in-memory
pipeline answers them, and the queue page's latency over 100,000 stored tickets.

Intake: sample tickets (`supporter sample-data`) are posted to a fresh `serve` on an
SQLite file, in requests of `--batch` tickets from `--clients` concurrent clients,
then one ticket per request. Queues between stages are bounded, so when the
pipeline is slower than the API, posting waits on it (backpressure): the API is the
bottleneck only if tickets are answered about as fast as they are posted *and*
the pipeline stays idle part of the time. Reported: tickets posted per second,
tickets answered per second from the first post to the last answer, and the same
posts repeated (every ticket a duplicate: the API and store alone, no pipeline).

Queue: `--queue-tickets` answered tickets are written straight into a fresh
PostgreSQL database (random categories, priorities, review states), `serve` runs
on it, a reviewer signs in, and the queue page (`/`, HTML), the API's first page
and a page deep into the queue (by cursor) are fetched one after another.

    .venv/bin/python benchmarks/api_load.py [--tickets 5000] [--queue-tickets 100000]
        [--requests 300] [--postgres postgresql://postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from supporter.domain.models import Analysis, GroundingCheck, Reply, Ticket, TicketResult
from supporter.domain.people import ReviewAction
from supporter.sample_data.files import write_sample_data
from supporter.sample_data.records import TICKET_COLUMNS
from supporter.store.base import Outcome
from supporter.store.reviews import Review, SqlReviews
from supporter.store.sql import SqlStore
from supporter.testing.serve import SUPPORTER, serve_process

PASSWORD = "benchmark password 1"


def cli(*arguments: str, env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run(
        [*SUPPORTER, *arguments], env=env, input=stdin, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def sample_tickets(folder: Path, count: int) -> tuple[list[dict[str, Any]], Path]:
    files = write_sample_data(folder / "sample", count, seed=7)
    with files.tickets_path.open(encoding="utf-8", newline="") as handle:
        rows = [
            {field: row[field] or None for field in TICKET_COLUMNS if field in row}
            for row in csv.DictReader(handle)
        ]
    for row in rows:
        row["subject"] = row["subject"] or ""
        row["body"] = row["body"] or ""
    return rows, files.transactions_path


async def post_all(
    url: str, token: str, tickets: Sequence[dict[str, Any]], batch: int, clients: int
) -> tuple[float, int]:
    """Seconds to post every ticket, and how many were accepted."""
    chunks = [list(tickets[i : i + batch]) for i in range(0, len(tickets), batch)]
    accepted = 0
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:

        async def worker() -> None:
            nonlocal accepted
            while chunks:
                chunk = chunks.pop()
                body: Any = chunk if batch > 1 else chunk[0]
                answer = await client.post("/api/v1/tickets", json=body)
                assert answer.status_code in (202, 422), answer.text
                accepted += len(answer.json()["accepted"])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return time.perf_counter() - started, accepted


def waiting(url: str, token: str) -> int:
    answer = httpx.get(
        f"{url}/api/v1/tickets",
        params={"status": "received", "limit": 200},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    return len(answer.json()["tickets"])


def pipeline_alone(folder: Path, tickets: Path, transactions: Path, env: dict[str, str]) -> float:
    """Seconds `supporter run` takes over the same tickets: the pipeline without the API."""
    started = time.perf_counter()
    subprocess.run(
        [
            *SUPPORTER,
            "run",
            "--tickets",
            str(tickets),
            "--transactions",
            str(transactions),
            "--no-progress",
            "--db",
            str(folder / "run.db"),
            "--out",
            str(folder / "run.jsonl"),
            "--rejects",
            str(folder / "run-rejects.jsonl"),
        ],
        env=env,
        cwd=folder,
        capture_output=True,
        check=False,
    )
    return time.perf_counter() - started


def intake(folder: Path, count: int, batch: int, clients: int) -> list[str]:
    env = {**os.environ, "SUPPORTER_DB": str(folder / "intake.db"), "SUPPORTER_LLM_CACHE": ""}
    env.pop("SUPPORTER_STORE_URL", None)
    tickets, transactions = sample_tickets(folder, count)
    open_tickets = sum(ticket["status"] in ("new", "open") for ticket in tickets)
    alone = pipeline_alone(folder, folder / "sample" / "tickets.csv", transactions, env)
    cli("transactions", "load", str(transactions), "--rejects", str(folder / "r.jsonl"), env=env)
    token = cli("tokens", "create", "--name", "bench", "--role", "admin", env=env)
    lines = []
    with serve_process(folder, env) as url:
        half = len(tickets) // 2
        for label, part, size, many in (
            (f"{batch} per request, {clients} clients", tickets[:half], batch, clients),
            (f"1 per request, {clients * 2} clients", tickets[half:], 1, clients * 2),
        ):
            started = time.perf_counter()
            seconds, accepted = asyncio.run(post_all(url, token, part, size, many))
            while waiting(url, token):
                time.sleep(0.05)
            answered = time.perf_counter() - started
            again, _ = asyncio.run(post_all(url, token, part, size, many))
            lines.append(
                f"| {label} | {len(part):,} ({accepted:,} open) | {len(part) / seconds:,.0f} | "
                f"{accepted / answered:,.0f} | {len(part) / again:,.0f} |"
            )
    lines.append(
        f"| `supporter run` on the same file (no API) | {len(tickets):,} ({open_tickets:,} open) "
        f"| – | {open_tickets / alone:,.0f} | – |"
    )
    return lines


async def fill(store_url: str, count: int) -> None:
    store = await SqlStore.open(store_url)
    rng = random.Random(7)
    categories = ["duplicate_charge", "refund_request", "failed_payment", "fraud", "other"]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    try:
        for first in range(0, count, 1000):
            outcomes = []
            for n in range(first, min(first + 1000, count)):
                ticket_id = f"T{n:07d}"
                ticket = Ticket(
                    ticket_id=ticket_id,
                    customer_id=f"C{n % 20000:05d}",
                    subject=f"Question {n}",
                    body="I was charged twice for my order, please help.",
                    status="open",
                    created_at=start + timedelta(minutes=n),
                )
                result = TicketResult(
                    ticket_id=ticket_id,
                    customer_id=ticket.customer_id,
                    status="responded",
                    analysis=Analysis(
                        category=rng.choice(categories),
                        priority=rng.choice(["low", "medium", "medium", "high", "urgent"]),
                        sentiment="neutral",
                        language="en",
                        summary="charged twice",
                        confidence=0.9,
                        needs_human=rng.random() < 0.2,
                    ),
                    reply=Reply(body="Hello, we are looking into the two charges."),
                    grounding=GroundingCheck(passed=rng.random() > 0.1),
                    provider="offline",
                    attempts=1,
                )
                outcomes.append(Outcome(result=result, ticket=ticket))
            await store.save("bench", outcomes)
        reviews = SqlReviews(store.engine)
        for n in range(0, min(count, 8000), 4):  # 2,000 reviewed: the rest wait
            ticket_id = f"T{n:07d}"
            version = (await reviews.detail(ticket_id)).draft_version
            assert version is not None
            action = ReviewAction.APPROVE if n % 8 else ReviewAction.REJECT
            await reviews.review(ticket_id, Review(action, version, "bench", reason="bench"))
    finally:
        await store.close()


def timed(client: httpx.Client, path: str, requests: int, **options: Any) -> list[float]:
    for _ in range(10):
        client.get(path, **options).raise_for_status()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(path, **options).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


def queue_latency(folder: Path, server: str, count: int, requests: int) -> list[str]:
    name = f"supporter_bench_{uuid.uuid4().hex[:10]}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(f"{server}/postgres")
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = f"{server}/{name}"
    try:
        started = time.perf_counter()
        asyncio.run(fill(url, count))
        print(f"filled {count:,} tickets in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        env = {**os.environ, "SUPPORTER_STORE_URL": url, "SUPPORTER_LLM_CACHE": ""}
        cli(
            "users", "add", "rui", "--role", "reviewer", "--password-stdin", env=env, stdin=PASSWORD
        )
        token = cli("tokens", "create", "--name", "bench", "--role", "reviewer", env=env)
        lines = []
        with serve_process(folder, env) as base, httpx.Client(base_url=base, timeout=30) as client:
            form = client.get("/login").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert csrf is not None
            signed = client.post(
                "/login", data={"name": "rui", "password": PASSWORD, "csrf_token": csrf.group(1)}
            )
            assert signed.status_code in (200, 303), signed.text
            bearer = {"Authorization": f"Bearer {token}"}
            deep = None
            for _ in range(100):  # the cursor of page 101 (5,000 rows in)
                page = client.get(
                    "/api/v1/tickets", params={"cursor": deep} if deep else {}, headers=bearer
                ).json()
                deep = page["next_cursor"]
            for label, path, options in (
                ("queue page `/` (HTML, pending drafts)", "/", {}),
                (
                    "queue page, one category, needs a human",
                    "/",
                    {"params": {"category": "fraud", "needs_human": "yes"}},
                ),
                ("`GET /api/v1/tickets` first page", "/api/v1/tickets", {"headers": bearer}),
                (
                    "`GET /api/v1/tickets` page 101 by cursor",
                    "/api/v1/tickets",
                    {"headers": bearer, "params": {"cursor": deep}},
                ),
            ):
                times = sorted(timed(client, path, requests, **options))
                p50 = statistics.median(times)
                p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
                lines.append(f"| {label} | {requests} | {p50:.1f} | {p99:.1f} |")
        return lines
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--queue-tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--skip", choices=["intake", "queue"], action="append", default=[])
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if "intake" not in options.skip:
            print("| posting | tickets | posted/s | answered/s | reposted (duplicates)/s |")
            print("|---|---:|---:|---:|---:|")
            for line in intake(folder, options.tickets, options.batch, options.clients):
                print(line, flush=True)
        if "queue" not in options.skip:
            stored = f"{options.queue_tickets:,} tickets, PostgreSQL"
            print(f"\n| request ({stored}) | requests | p50 (ms) | p99 (ms) |")
            print("|---|---:|---:|---:|")
            for line in queue_latency(
                folder, options.postgres, options.queue_tickets, options.requests
            ):
                print(line, flush=True)


if __name__ == "__main__":
    main()
