"""How fast each ticket format is read and normalised, beside our CSV: write the same
N tickets as our CSV, JSON Lines, Zendesk incremental export pages (1,000 tickets
and their side-loaded users a page), Freshdesk ticket-list pages (100 a page) and
Help Scout conversation pages (50 a page, two customer threads and an agent reply
each), then read each file whole through its source, one after another.

    .venv/bin/python benchmarks/ticket_formats.py --tickets 100000

Prints tickets/s per format and its ratio to the CSV reader in the same run, and
the peak of Python allocations while reading (tracemalloc, in a second pass) at N
and at N/10, to show memory does not grow with the file.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from supporter.sources.base import Reject, TicketSource
from supporter.sources.csv import CsvTicketSource
from supporter.sources.freshdesk import FreshdeskTicketSource
from supporter.sources.helpscout import HelpScoutTicketSource
from supporter.sources.jsonl import JsonLinesTicketSource
from supporter.sources.zendesk import ZendeskTicketSource

START = datetime(2024, 1, 1, tzinfo=UTC)
BODY = (
    "Hello, I was charged 49.99 twice on my card for order #{n} this month and I would "
    "like one of the charges refunded. Thank you for looking into it."
)


def rows(count: int) -> Iterator[dict[str, Any]]:
    for n in range(count):
        yield {
            "id": 100_000 + n,
            "requester": 1_000 + n % 5_000,
            "subject": f"Charged twice ({n})",
            "body": BODY.format(n=n),
            "created_at": (START + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def write_csv(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["ticket_id", "customer_id", "subject", "body", "status", "created_at"])
        for row in rows(count):
            writer.writerow(
                [
                    row["id"],
                    row["requester"],
                    row["subject"],
                    row["body"],
                    "open",
                    row["created_at"],
                ]
            )


def write_jsonl(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as file:
        for row in rows(count):
            record = {
                "ticket_id": str(row["id"]),
                "customer_id": str(row["requester"]),
                "subject": row["subject"],
                "body": row["body"],
                "status": "open",
                "created_at": row["created_at"],
            }
            file.write(json.dumps(record) + "\n")


def write_pages(
    path: Path, count: int, size: int, page: Callable[[list[dict[str, Any]]], Any]
) -> None:
    with path.open("w", encoding="utf-8") as file:
        batch: list[dict[str, Any]] = []
        for row in rows(count):
            batch.append(row)
            if len(batch) == size:
                file.write(json.dumps(page(batch)) + "\n")
                batch = []
        if batch:
            file.write(json.dumps(page(batch)) + "\n")


def zendesk_page(batch: list[dict[str, Any]]) -> dict[str, Any]:
    tickets = [
        {
            "id": row["id"],
            "requester_id": row["requester"],
            "subject": row["subject"],
            "description": row["body"],
            "status": "open",
            "priority": "normal",
            "created_at": row["created_at"],
            "via": {"channel": "email"},
            "tags": ["billing"],
        }
        for row in batch
    ]
    users = [
        {"id": requester, "email": f"user{requester}@example.com", "external_id": None}
        for requester in sorted({row["requester"] for row in batch})
    ]
    return {"tickets": tickets, "next_page": None, "end_of_stream": False, "users": users}


def freshdesk_page(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": row["id"],
            "requester_id": row["requester"],
            "subject": row["subject"],
            "description": f"<div>{row['body']}</div>",
            "description_text": row["body"],
            "status": 2,
            "priority": 2,
            "source": 1,
            "created_at": row["created_at"],
            "tags": [],
            "requester": {"id": row["requester"], "email": f"user{row['requester']}@example.com"},
        }
        for row in batch
    ]


def helpscout_page(batch: list[dict[str, Any]]) -> dict[str, Any]:
    def thread(kind: str, body: str, minutes: int, row: dict[str, Any]) -> dict[str, Any]:
        at = datetime.fromisoformat(row["created_at"]) + timedelta(minutes=minutes)
        return {"type": kind, "body": f"<p>{body}</p>", "createdAt": at.isoformat()}

    conversations = [
        {
            "id": row["id"],
            "subject": row["subject"],
            "status": "active",
            "type": "email",
            "createdAt": row["created_at"],
            "primaryCustomer": {"id": row["requester"], "email": "a@example.com"},
            "tags": [{"tag": "billing"}],
            "_embedded": {
                "threads": [
                    thread("customer", "Any news?", 90, row),
                    thread("message", "We are looking into it.", 60, row),
                    thread("customer", row["body"], 0, row),
                ]
            },
        }
        for row in batch
    ]
    return {"_embedded": {"conversations": conversations}, "page": {"size": len(batch)}}


FORMATS: dict[str, tuple[Callable[[Path, int], None], Callable[[Path], TicketSource]]] = {
    "csv (ours)": (write_csv, CsvTicketSource),
    "jsonl (ours)": (write_jsonl, JsonLinesTicketSource),
    "zendesk": (lambda p, n: write_pages(p, n, 1000, zendesk_page), ZendeskTicketSource),
    "freshdesk": (lambda p, n: write_pages(p, n, 100, freshdesk_page), FreshdeskTicketSource),
    "helpscout": (lambda p, n: write_pages(p, n, 50, helpscout_page), HelpScoutTicketSource),
}


async def read(source: TicketSource) -> int:
    rejects: list[Reject] = []
    count = 0
    async for _ in source.tickets(rejects.append):
        count += 1
    assert not rejects, rejects[:1]
    return count


def peak_mib(source: TicketSource) -> float:
    tracemalloc.start()
    asyncio.run(read(source))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    count = parser.parse_args().tickets
    with tempfile.TemporaryDirectory() as folder:
        print(
            "| format | tickets | seconds | tickets/s | vs csv "
            f"| peak MiB at {count:,} | at {count // 10:,} |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        baseline = 0.0
        for name, (write, open_source) in FORMATS.items():
            big, small = Path(folder) / f"{name}.big", Path(folder) / f"{name}.small"
            write(big, count)
            write(small, count // 10)
            began = time.perf_counter()
            read_count = asyncio.run(read(open_source(big)))
            seconds = time.perf_counter() - began
            assert read_count == count, (name, read_count)
            rate = count / seconds
            baseline = baseline or rate
            print(
                f"| {name} | {count:,} | {seconds:.2f} | {rate:,.0f} | {rate / baseline:.2f} "
                f"| {peak_mib(open_source(big)):.1f} | {peak_mib(open_source(small)):.1f} |"
            )


if __name__ == "__main__":
    main()
