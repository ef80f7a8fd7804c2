"""`supporter status`: what waits in each stage's queue and what the store holds."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from supporter.brokers.base import BrokerError, dead_letter_queue
from supporter.cli import wiring
from supporter.cli.common import fail, settings_from
from supporter.cli.ui import console
from supporter.config import ConfigError, Settings
from supporter.pipeline.heartbeat import ALIVE_INTERVALS
from supporter.pipeline.orchestrator import stage_queues
from supporter.pipeline.write_back import WRITE_BACK
from supporter.store.base import StoreError, WorkerBeat
from supporter.store.workers import SqlWorkerRegistry

STAGE_OF = {
    "tickets": "analyze",
    "analyzed": "respond",
    "responded": "sink",
    WRITE_BACK: "write-back",
}


async def _status(settings: Settings) -> dict[str, object]:
    store = await wiring.store(settings)
    try:
        counts = await store.counts()
        alive = await SqlWorkerRegistry(store.engine).alive(
            seen_within=ALIVE_INTERVALS * settings.heartbeat_interval
        )
    finally:
        await store.close()
    queues: list[dict[str, object]] = []
    if not settings.broker_url.startswith("memory://"):
        broker = wiring.broker(settings)
        try:
            written_back = settings.helpdesk is not None and settings.write_back is not None
            for queue in stage_queues(written_back):
                await broker.declare(queue)
                stage = STAGE_OF[queue]
                queues.append(
                    {
                        "stage": stage,
                        "queue": queue,
                        "waiting": await broker.depth(queue),
                        "oldest_waiting_seconds": _rounded(await broker.oldest_age(queue)),
                        **_in_flight([beat for beat in alive if beat.stage == stage]),
                        "dead_letters_waiting": await broker.depth(dead_letter_queue(queue)),
                    }
                )
        finally:
            await broker.close()
    return {
        "store": counts,
        "queues": queues,
        "workers": [beat.model_dump(mode="json") for beat in alive],
    }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def _in_flight(beats: list[WorkerBeat]) -> dict[str, object]:
    """What the live workers of one stage hold, from their last heartbeats."""
    ages = [b.oldest_in_flight_seconds for b in beats if b.oldest_in_flight_seconds is not None]
    return {
        "workers": len(beats),
        "in_flight": sum(beat.in_flight for beat in beats),
        "oldest_in_flight_seconds": round(max(ages), 1) if ages else None,
        "done": sum(beat.succeeded for beat in beats),
        "retried": sum(beat.retried for beat in beats),
        "dead_lettered": sum(beat.dead_lettered for beat in beats),
    }


def metrics_url(beat: dict[str, object]) -> str | None:
    """Where a worker serves /metrics, from its heartbeat; None when it serves none."""
    port = beat.get("metrics_port")
    return f"http://{beat['host']}:{port}/metrics" if port else None


def _workers_table(workers: list[dict[str, object]]) -> Table:
    table = Table(title="Live workers", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for title in ("stage", "host", "pid", "metrics"):
        table.add_column(title, overflow="fold")
    for beat in workers:
        table.add_row(
            str(beat["stage"]), str(beat["host"]), str(beat["pid"]), metrics_url(beat) or "off"
        )
    return table


def status(
    config: Annotated[Path | None, typer.Option(help="TOML settings file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Per stage: messages waiting and how long the oldest of them has waited, live
    workers and what they hold (in flight, the oldest one's age), done, retried and dead-lettered since those workers started,
    dead letters waiting; and the results in the store."""
    settings = settings_from({}, config)
    try:
        found = asyncio.run(_status(settings))
    except (StoreError, ConfigError) as error:
        fail(str(error))
    except BrokerError as error:
        fail(f"the broker cannot be reached: {error}", code=1)
    if as_json:
        typer.echo(json.dumps(found))
        return
    table = Table(
        title="Supporter status",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
        pad_edge=False,
    )
    columns = {
        "stage": "stage",
        "waiting": "waiting",
        "oldest_waiting_seconds": "oldest waiting s",
        "workers": "workers",
        "in_flight": "in flight",
        "oldest_in_flight_seconds": "oldest s",
        "done": "done",
        "retried": "retried",
        "dead_lettered": "dead",
        "dead_letters_waiting": "DLQ",
    }
    for title in columns.values():
        table.add_column(
            title,
            justify="left" if title == "stage" else "right",
            # Titles wrap at spaces rather than push the last columns off a narrow
            # (80-column) terminal.
            min_width=max(len(word) for word in title.split()),
        )
    queues = found["queues"]
    assert isinstance(queues, list)
    for row in queues:
        table.add_row(*("-" if row[key] is None else str(row[key]) for key in columns))
    if not queues:
        table.add_row("in memory (inside `supporter run`)", *["-"] * (len(columns) - 1))
    console.print(table)
    console.print(
        "oldest waiting s: how long the oldest message in the queue has waited; "
        "in flight, oldest s: what live workers hold now, the longest-held for how long; "
        "done, retried, dead: since those workers started; DLQ: dead letters waiting"
    )
    workers = found["workers"]
    assert isinstance(workers, list)
    if workers:
        console.print(_workers_table(workers))
    store = found["store"]
    assert isinstance(store, dict)
    console.print(
        f"store: {store['responded']:,} responded, {store['failed']:,} failed, "
        f"{store['dead_letters']:,} dead letters pending"
    )
