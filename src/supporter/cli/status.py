"""`supporter status`: what waits in each stage's queue and what the store holds."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from supporter.brokers.base import dead_letter_queue
from supporter.cli import wiring
from supporter.cli.common import fail, settings_from
from supporter.cli.ui import console
from supporter.config import ConfigError, Settings
from supporter.pipeline.orchestrator import QUEUES
from supporter.store.base import StoreError

STAGE_OF = {"tickets": "analyze", "analyzed": "respond", "responded": "sink"}


async def _status(settings: Settings) -> dict[str, object]:
    store = await wiring.store(settings)
    try:
        counts = await store.counts()
    finally:
        await store.close()
    queues: list[dict[str, object]] = []
    if not settings.broker_url.startswith("memory://"):
        broker = wiring.broker(settings)
        try:
            for queue in QUEUES:
                await broker.declare(queue)
                queues.append(
                    {
                        "stage": STAGE_OF[queue],
                        "queue": queue,
                        "waiting": await broker.depth(queue),
                        "dead_letters_waiting": await broker.depth(dead_letter_queue(queue)),
                    }
                )
        finally:
            await broker.close()
    return {"store": counts, "queues": queues}


def status(
    config: Annotated[Path | None, typer.Option(help="TOML settings file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Queue depths per stage (on a shared broker) and results in the store."""
    settings = settings_from({}, config)
    try:
        found = asyncio.run(_status(settings))
    except (StoreError, ConfigError) as error:
        fail(str(error))
    if as_json:
        typer.echo(json.dumps(found))
        return
    table = Table(title="Supporter status", title_justify="left")
    for column in ("stage", "queue", "waiting", "dead letters waiting"):
        table.add_column(column)
    queues = found["queues"]
    assert isinstance(queues, list)
    for row in queues:
        table.add_row(
            row["stage"], row["queue"], str(row["waiting"]), str(row["dead_letters_waiting"])
        )
    if not queues:
        table.add_row("-", "in memory (inside `supporter run`)", "-", "-")
    console.print(table)
    store = found["store"]
    assert isinstance(store, dict)
    console.print(
        f"store: {store['responded']:,} responded, {store['failed']:,} failed, "
        f"{store['dead_letters']:,} dead letters pending"
    )
