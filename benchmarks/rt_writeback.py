"""Write-backs per minute into a real Request Tracker 5, against the connector's pace.

RT documents no API limit, so the connector paces itself (`SUPPORTER_RT_RATE_LIMIT`,
600 requests a minute by default) and RT's own speed is the other bound. This starts
RT as the tests do (`supporter.testing.rt`: Debian's packages, SQLite, `rt-server` on
loopback), creates `count` tickets in one bulk request, and writes a draft back into
each (`note` mode: the comment, priority, category and tags), `concurrency` at a time
as the write-back stage would. It reports write-backs per minute from the first to the
last, the requests a write-back took, and the pace's ceiling for that many requests.

    .venv/bin/python benchmarks/rt_writeback.py [--count 60] [--concurrency 4]
        [--rate-limit 600] [--workers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx2 as httpx

from supporter.domain.models import Priority
from supporter.helpdesks.base import Draft, WriteBackMode
from supporter.helpdesks.rt import RequestTracker, Settings
from supporter.testing.rt import QUEUE, ROOT_PASSWORD, ROOT_USER, RTServer, RTTemplate


def create_tickets(server: RTServer, count: int) -> list[str]:
    """`count` tickets with a requester each, in one `POST /tickets/bulk`."""
    tickets = [
        {
            "Queue": QUEUE,
            "Subject": f"Charged twice ({n})",
            "Requestor": f"customer{n}@example.com",
            "Content": "I was charged twice for order 1234, please refund one.",
            "ContentType": "text/plain",
        }
        for n in range(count)
    ]
    answer = httpx.post(
        f"{server.url}/REST/2.0/tickets/bulk",
        json=tickets,
        auth=httpx.BasicAuth(ROOT_USER, ROOT_PASSWORD),
        timeout=600,
    )
    answer.raise_for_status()
    return [str(item["id"]) for item in answer.json()]


async def write_backs(
    server: RTServer, ticket_ids: list[str], concurrency: int, rate_limit: int
) -> dict[str, float]:
    connector = RequestTracker(
        Settings.model_validate(
            {
                "url": server.url,
                "token": server.template.token,
                "queue": QUEUE,
                "rate_limit": rate_limit,
            }
        )
    )
    slots = asyncio.Semaphore(concurrency)
    finished: list[float] = []

    async def write(ticket_id: str) -> None:
        draft = Draft(
            ticket_id=ticket_id,
            category="double_charge",
            priority=Priority.HIGH,
            tags=("supporter", "billing"),
            note="Draft: we refunded the second charge of $49.99.",
            version=f"bench-{ticket_id}",
        )
        async with slots:
            await connector.write_back(draft, WriteBackMode.NOTE, None)
            finished.append(time.monotonic())

    started = time.monotonic()
    try:
        await asyncio.gather(*(write(ticket_id) for ticket_id in ticket_ids))
    finally:
        await connector.aclose()
    requests = sum(connector.http.stats.values())
    per_write_back = requests / len(ticket_ids)
    span = finished[-1] - finished[0] if len(finished) > 1 else finished[-1] - started
    return {
        "write_backs": len(ticket_ids),
        "seconds": round(time.monotonic() - started, 1),
        "write_backs_per_minute": round((len(finished) - 1) * 60 / span, 1),
        "requests_per_write_back": round(per_write_back, 2),
        "pace_ceiling_per_minute": round(rate_limit / per_write_back, 1),
        "rate_limited": connector.http.stats["rate_limited"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rate-limit", type=int, default=600)
    parser.add_argument("--workers", type=int, default=4, help="rt-server's worker processes")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rt-bench-") as folder:
        started = time.monotonic()
        template = RTTemplate.create(Path(folder))
        initialised = time.monotonic() - started
        with RTServer(template, workers=arguments.workers) as server:
            answering = time.monotonic() - started - initialised
            ticket_ids = create_tickets(server, arguments.count)
            result = asyncio.run(
                write_backs(server, ticket_ids, arguments.concurrency, arguments.rate_limit)
            )
    result |= {
        "concurrency": arguments.concurrency,
        "rt_workers": arguments.workers,
        "rt_database_seconds": round(initialised, 1),
        "rt_server_seconds": round(answering, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
