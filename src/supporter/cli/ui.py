"""What a person sees on the terminal: a live progress line and the closing summary."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from supporter.domain.models import Usage
from supporter.llm.cascade import CASCADE_PREFIX, LOCAL_ANSWER
from supporter.pipeline.stats import RunStats

console = Console(stderr=True)


def _progress_text(stats: RunStats) -> str:
    analysed = stats.stage("analyze").succeeded
    return (
        f"read {stats.read:,} · analysed {analysed:,} · replied {stats.responded:,} · "
        f"failed {stats.failed:,} · rejected {stats.rejected_tickets:,} · "
        f"{stats.rate:,.0f} tickets/s"
    )


@asynccontextmanager
async def live_progress(stats: RunStats, *, enabled: bool) -> AsyncIterator[None]:
    if not enabled:
        yield
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    task_id = progress.add_task(_progress_text(stats), total=None)

    async def refresh() -> None:
        while True:
            total = max(stats.published, 1)
            progress.update(
                task_id, description=_progress_text(stats), completed=stats.finalized, total=total
            )
            await asyncio.sleep(0.1)

    with progress:
        updater = asyncio.create_task(refresh())
        try:
            yield
        finally:
            updater.cancel()
            progress.update(
                task_id,
                description=_progress_text(stats),
                completed=stats.finalized,
                total=max(stats.published, 1),
            )


def _cascade_rows(stats: RunStats) -> list[tuple[str, str]]:
    """How much the cascade's local model spared: its share, and what those tickets would
    have cost at the mean cost of the tickets the LLM answered and was paid for."""
    tallies = stats.providers
    if not any(name.startswith(CASCADE_PREFIX) for name in tallies):
        return []
    answered = sum(tally.answered for tally in tallies.values())
    local = tallies[LOCAL_ANSWER].answered if LOCAL_ANSWER in tallies else 0
    paid = [t for name, t in tallies.items() if name.startswith(CASCADE_PREFIX) and t.paid]
    paid_tickets = sum(tally.paid for tally in paid)
    rows = [("answered without a model call", f"{local:,} ({local / max(answered, 1):.1%})")]
    if paid_tickets:
        mean = sum((tally.cost_usd for tally in paid), Decimal(0)) / paid_tickets
        rows.append(
            (
                "cost saved (USD, est.)",
                f"{mean * local:.4f} (at {mean:.5f} per ticket, the mean of {paid_tickets:,} paid LLM answers)",
            )
        )
    else:
        rows.append(("cost saved (USD, est.)", "unknown: no paid LLM answer to price one by"))
    return rows


def _table(title: str) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    return table


def _read_rows(stats: RunStats) -> list[tuple[str, int]]:
    """What intake made of the tickets it read, in `run` and `ingest` alike."""
    return [
        ("tickets read", stats.read),
        ("skipped (not new/open)", stats.skipped_status),
        ("already done in an earlier run", stats.already_done),
    ]


def ingest_summary(stats: RunStats) -> Table:
    """`supporter ingest` only publishes: what it read and sent, not what the workers
    made of it yet (that is `supporter status`)."""
    table = _table("Supporter ingest")
    rows = [
        *_read_rows(stats),
        ("published now", stats.published),
        ("rejected ticket rows", stats.rejected_tickets),
        ("rejected transaction rows", stats.rejected_transactions),
    ]
    if stats.transactions:
        rows.append(("transactions read", stats.transactions))
    for label, value in rows:
        table.add_row(label, f"{value:,}")
    table.add_row("time", f"{stats.elapsed:.2f} s")
    published_rate = stats.published / stats.elapsed if stats.elapsed > 0 else 0.0
    table.add_row("rate", f"{published_rate:,.0f} tickets published/s")
    table.caption = "the workers' progress: supporter status"
    table.caption_justify = "left"
    return table


def summary(stats: RunStats) -> Table:
    table = _table("Supporter run")
    rows = [
        *_read_rows(stats),
        ("processed now", stats.published),
        ("responded", stats.responded),
        ("failed (dead-lettered)", stats.failed),
        ("needs a human", stats.needs_human),
        ("failed grounding check", stats.grounding_failed),
        ("rejected ticket rows", stats.rejected_tickets),
        ("rejected transaction rows", stats.rejected_transactions),
        ("transactions loaded", stats.transactions),
    ]
    if stats.skipped_transactions:
        skipped = sum(stats.skipped_transactions.values())
        rows.append(("transaction rows skipped (not payments)", skipped))
    if stats.earlier_failed:
        rows.insert(6, ("failed in an earlier run", stats.earlier_failed))
    for label, value in rows:
        table.add_row(label, f"{value:,}")
    retried = sum(counters.retried for counters in stats.stages.values())
    table.add_row("retries", f"{retried:,}")
    table.add_row("time", f"{stats.elapsed:.2f} s")
    table.add_row("rate", f"{stats.rate:,.0f} tickets/s")
    usage = stats.usage
    if usage.prompt_tokens or usage.completion_tokens:
        table.add_row(*token_counts(usage))
        answered = max(stats.responded, 1)
        table.add_row(
            "cost (USD)", f"{usage.cost_usd:.4f} ({usage.cost_usd / answered:.5f} per ticket)"
        )
    fell_back = sum(counters.fell_back for counters in stats.stages.values())
    if fell_back:
        table.add_row("answered by the fallback", f"{fell_back:,}")
    for name, text in _cascade_rows(stats):
        table.add_row(name, text)
    table.add_section()
    for title, counter in (("category", stats.categories), ("priority", stats.priorities)):
        for name, count in counter.most_common():
            table.add_row(f"{title}: {name}", f"{count:,}")
    return table


def token_counts(usage: Usage) -> tuple[str, str]:
    """A summary row: the tokens paid for, reasoning being part of the completion."""
    return (
        "tokens (prompt / cached / completion / of which reasoning)",
        f"{usage.prompt_tokens:,} / {usage.cached_tokens:,} / {usage.completion_tokens:,}"
        f" / {usage.reasoning_tokens:,}",
    )
