"""Write-backs per minute against a helpdesk simulator's documented write limit.

A connector paces its write-backs under the helpdesk's documented limit; this measures
how close it gets, and that no request is answered 429 more than once in a row. The
connector and the simulator run in this process, over real HTTP on loopback: `count`
tickets are written back (`note` mode: the draft as an internal note, tags, priority,
category), `concurrency` at a time, as the write-back stage would.

The rate is taken from the simulator's log: the limited write requests answered 2xx,
from the first to the last, so start-up does not count; and over the whole run (all
answers, first to last), which is the fair figure when a write-back is several
requests under one limit (Zammad, Chatwoot). A limit's window may be
shortened (`--window 6`: Zendesk's 100 updates a minute become 100 every 6 s) for a
quicker run; the ratio to the limit is what is compared, but a shorter window also
makes the simulator's one-second bucket hold more, which forgives uneven pacing.

Each helpdesk is one entry of `TARGETS`: a function that fills its simulator with
`count` tickets and returns it (a `Setup`) with how to connect to it, the limit and
which answers were limited writes; `serving` runs it. Another connector adds its own.

    .venv/bin/python benchmarks/helpdesk_writeback.py zendesk [--count 150] [--window 60]
    .venv/bin/python benchmarks/helpdesk_writeback.py zammad|chatwoot [--count …] [--window …]
    .venv/bin/python benchmarks/helpdesk_writeback.py freshdesk|helpscout [--count …] [--window …]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from pydantic import SecretStr

from supporter.domain.models import Priority
from supporter.helpdesks.base import Draft, Helpdesk, RateLimit, WriteBackMode
from supporter.testing.helpdesk_limits import Answered, AnswerLog


class Simulator(Protocol):
    log: AnswerLog

    async def start(self) -> str: ...

    async def stop(self) -> None: ...


@dataclass
class Setup:
    """A simulator filled with tickets, and how to point the connector at it."""

    server: Simulator
    ticket_ids: list[str]
    connect: Callable[[str], Helpdesk]
    """The connector for the simulator's base URL."""
    limit: RateLimit
    """The documented write limit, in the simulator's (possibly shortened) window."""
    is_write: Callable[[Answered], bool]
    """Whether an answer is to a request the write limit counts."""


@dataclass
class Target:
    helpdesk: Helpdesk
    setup: Setup


def answered_to(
    method: str, *, path_starts: str = "", path_ends: str = ""
) -> Callable[[Answered], bool]:
    """Answers to `method` requests on the paths that start and end so."""
    return lambda answer: (
        answer.method == method
        and answer.path.startswith(path_starts)
        and answer.path.endswith(path_ends)
    )


def zendesk(count: int, window: float) -> Setup:
    from supporter.helpdesks.zendesk import UPDATE_LIMIT, Settings, ZendeskHelpdesk
    from supporter.testing.fake_zendesk import (
        DEFAULT_EMAIL,
        DEFAULT_TOKEN,
        FakeZendesk,
        FakeZendeskConfig,
    )

    # An Enterprise account (700 requests a minute): a write-back also reads the ticket
    # and its newest comments, two reads for one update.
    server = FakeZendesk(FakeZendeskConfig(window_seconds=window, account_limit=700))
    field = server.add_ticket_field("Supporter category")
    tickets = [
        str(server.add_ticket(f"Charged twice #{n}", "I was charged twice", tags=["vip"]))
        for n in range(count)
    ]
    scale = window / 60.0
    limit = RateLimit(UPDATE_LIMIT.requests, UPDATE_LIMIT.per_seconds * scale)

    def connect(url: str) -> Helpdesk:
        settings = Settings(
            url=url,
            email=DEFAULT_EMAIL,
            token=SecretStr(DEFAULT_TOKEN),
            category_field=field,
            account_limit=700,
        )
        return ZendeskHelpdesk(
            settings,
            update_limit=limit,
            export_limit=RateLimit(10, 60.0 * scale),
            account_limit=RateLimit(700, 60.0 * scale),
        )

    return Setup(
        server, tickets, connect, limit, answered_to("PUT", path_starts="/api/v2/tickets/")
    )


def zammad(count: int, window: float) -> Setup:
    from supporter.helpdesks.zammad import Settings, Zammad
    from supporter.testing.fake_zammad import DEFAULT_TOKEN, FakeZammad, FakeZammadConfig

    # Zammad documents no API limit: the simulator enforces the connector's default pace
    # (300 requests a minute). A write-back is five requests (the ticket's articles, the
    # note, the update, two tags), so 60 write-backs a minute is the most there is.
    per_minute, per_write_back = 300, 5
    server = FakeZammad(FakeZammadConfig(rate_per_minute=per_minute, window_seconds=window))
    tickets = [
        str(server.add_ticket(f"Charged twice #{n}", "I was charged twice", tags=("vip",)))
        for n in range(count)
    ]
    pace = round(per_minute * 60.0 / window)  # the same limit, in a shortened window
    return Setup(
        server,
        tickets,
        lambda url: Zammad(Settings(url=url, token=SecretStr(DEFAULT_TOKEN), rate_limit=pace)),
        RateLimit(per_minute // per_write_back, window),
        answered_to("PUT", path_starts="/api/v1/tickets/"),
    )


def chatwoot(count: int, window: float) -> Setup:
    from supporter.helpdesks.chatwoot import Chatwoot, Settings
    from supporter.testing.fake_chatwoot import (
        DEFAULT_ACCOUNT,
        DEFAULT_TOKEN,
        FakeChatwoot,
        FakeChatwootConfig,
    )

    # 60 requests a minute per address, as Chatwoot's rate-limiting page documents, in
    # Rack::Attack's fixed windows. A write-back to a fresh conversation is six requests
    # (the conversation, its messages, the note, labels, priority, the attribute): at
    # most 10 write-backs a minute.
    per_window, per_write_back = 60, 6
    server = FakeChatwoot(FakeChatwootConfig(rate_per_window=per_window, window_seconds=window))
    tickets = [
        str(server.add_conversation(f"I was charged twice #{n}", labels=("vip",)))
        for n in range(count)
    ]

    def connect(url: str) -> Helpdesk:
        settings = Settings(
            url=url,
            account_id=DEFAULT_ACCOUNT,
            token=SecretStr(DEFAULT_TOKEN),
            rate_limit=per_window,
            rate_window=window,
        )
        return Chatwoot(settings)

    return Setup(
        server,
        tickets,
        connect,
        RateLimit(per_window // per_write_back, window),
        answered_to("POST", path_ends="/messages"),
    )


def freshdesk(count: int, window: float) -> Setup:
    from supporter.helpdesks.freshdesk import PLANS, Freshdesk, Settings
    from supporter.testing.fake_freshdesk import (
        DEFAULT_API_KEY,
        FakeFreshdesk,
        FakeFreshdeskConfig,
    )

    # A Growth account: 200 credits a minute, ticket updates 80. A write-back reads the
    # ticket with its conversations (two credits), updates it and adds the note: four
    # credits, so 50 write-backs a minute is the most there is.
    plan, per_write_back = PLANS["growth"], 4
    server = FakeFreshdesk(
        FakeFreshdeskConfig(
            per_minute=plan.account,
            endpoint_limits={
                "ticket_update": plan.ticket_update,
                "tickets_list": plan.tickets_list,
            },
            window_seconds=window,
        )
    )
    tickets = [
        str(server.add_ticket(f"Charged twice #{n}", "I was charged twice", f"c{n}@example.com"))
        for n in range(count)
    ]
    # The same limits in a shortened window: a bought limit scales the endpoints' too.
    bought = None if window == 60.0 else round(plan.account * 60.0 / window)

    def connect(url: str) -> Helpdesk:
        settings = Settings(
            url=url,
            api_key=SecretStr(DEFAULT_API_KEY),
            category_field="cf_category",
            plan="growth",
            rate_limit=bought,
        )
        return Freshdesk(settings, url)

    return Setup(
        server,
        tickets,
        connect,
        RateLimit(plan.account // per_write_back, window),
        answered_to("POST", path_ends="/notes"),
    )


def helpscout(count: int, window: float) -> Setup:
    from supporter.helpdesks.helpscout import PLANS, HelpScout, Settings
    from supporter.testing.fake_helpscout import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        FakeHelpScout,
        FakeHelpScoutConfig,
    )

    # A Standard account: 200 a minute, a write counting two. A write-back reads the
    # conversation (1), sets the tags (2) and adds the note (2): five, so 40 write-backs
    # a minute is the most there is (with a category field, 2 more: about 28.6).
    per_minute, per_write_back = PLANS["standard"], 5
    server = FakeHelpScout(FakeHelpScoutConfig(per_minute=per_minute, window_seconds=window))
    tickets = [
        str(server.add_conversation(f"Charged twice #{n}", "I was charged", f"c{n}@example.com"))
        for n in range(count)
    ]

    def connect(url: str) -> Helpdesk:
        settings = Settings(
            url=url,
            client_id=DEFAULT_CLIENT_ID,
            client_secret=SecretStr(DEFAULT_CLIENT_SECRET),
            rate_limit=round(per_minute * 60.0 / window),
        )
        return HelpScout(settings, url)

    return Setup(
        server,
        tickets,
        connect,
        RateLimit(per_minute // per_write_back, window),
        answered_to("POST", path_ends="/notes"),
    )


TARGETS: dict[str, Callable[[int, float], Setup]] = {
    "zendesk": zendesk,
    "zammad": zammad,
    "chatwoot": chatwoot,
    "freshdesk": freshdesk,
    "helpscout": helpscout,
}


@asynccontextmanager
async def serving(setup: Setup) -> AsyncIterator[Target]:
    """The simulator served and the connector pointed at it, both closed after."""
    url = await setup.server.start()
    try:
        helpdesk = setup.connect(url)
        try:
            yield Target(helpdesk, setup)
        finally:
            await helpdesk.aclose()
    finally:
        await setup.server.stop()


async def measure(name: str, count: int, window: float, concurrency: int) -> dict[str, object]:
    async with serving(TARGETS[name](count, window)) as target:
        setup = target.setup
        queue: asyncio.Queue[str] = asyncio.Queue()
        for ticket_id in setup.ticket_ids:
            queue.put_nowait(ticket_id)
        failures: list[str] = []

        async def worker() -> None:
            while not queue.empty():
                ticket_id = queue.get_nowait()
                draft = Draft(
                    ticket_id=ticket_id,
                    category="billing_double_charge",
                    priority=Priority.HIGH,
                    tags=("supporter", "billing"),
                    note="The customer was charged twice on 2 May: refund the second charge.",
                    version="bench-1",
                )
                try:
                    await target.helpdesk.write_back(draft, WriteBackMode.NOTE, None)
                except Exception as error:  # a benchmark reports failures, it does not stop
                    failures.append(f"{ticket_id}: {type(error).__name__}: {error}")

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.monotonic() - started
        writes = [a for a in setup.server.log.answered if setup.is_write(a) and a.status < 300]
        limited = [a for a in setup.server.log.answered if a.status == 429]
        span = writes[-1].at - writes[0].at if len(writes) > 1 else float("nan")
        per_second = (len(writes) - 1) / span if len(writes) > 1 else float("nan")
        allowed = setup.limit.requests / setup.limit.per_seconds
        # Over the whole run, from the first answer to the last: unbiased when a
        # write-back is several requests of which the limited write is one (the first
        # writes wait for reads, the last are followed by other requests).
        answered = setup.server.log.answered
        whole = answered[-1].at - answered[0].at if len(answered) > 1 else float("nan")
        whole_rate = len(writes) / whole if whole > 0 else float("nan")
        return {
            "helpdesk": name,
            "write-backs": len(writes),
            "failures": len(failures),
            "first failures": failures[:3],
            "window (s)": window,
            "limit per window": setup.limit.requests,
            "write-backs per window": round(per_second * window, 1),
            "ratio to limit": round(per_second / allowed, 3),
            "write-backs per window (whole run)": round(whole_rate * window, 2),
            "ratio to limit (whole run)": round(whole_rate / allowed, 3),
            "429 answered": len(limited),
            "most 429 in a row": setup.server.log.max_429_in_a_row,
            "requests": len(setup.server.log.answered),
            "wall (s)": round(wall, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("helpdesk", choices=sorted(TARGETS))
    parser.add_argument("--count", type=int, default=150, help="write-backs to make")
    parser.add_argument(
        "--window",
        type=float,
        default=60.0,
        help="the limits' window in seconds (60 as documented)",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="write-backs in flight")
    args = parser.parse_args()
    result = asyncio.run(measure(args.helpdesk, args.count, args.window, args.concurrency))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
