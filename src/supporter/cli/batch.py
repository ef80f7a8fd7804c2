"""`supporter batch`: the Batch API batches of `supporter run --batch`: see, cancel."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table

from supporter.cli import wiring
from supporter.cli.common import fail
from supporter.cli.dlq import ConfigOption, DbOption, existing_store
from supporter.cli.ui import console
from supporter.config import Settings
from supporter.domain.batches import StoredBatch
from supporter.store.base import StoreError
from supporter.store.batches import SqlBatchLedger

app = typer.Typer(help="See and cancel the batches of `supporter run --batch`.")

BaseUrlOption = Annotated[
    str | None,
    typer.Option(envvar="OPENAI_BASE_URL", help="An OpenAI-compatible server, as for `run`."),
]


@app.command()
def status(
    db: DbOption = None, config: ConfigOption = None, base_url: BaseUrlOption = None
) -> None:
    """Each batch of the run's database, newest first; unfinished ones as OpenAI reports them
    now (without a key or server, as last seen)."""
    settings = existing_store(db, config, base_url=base_url)
    try:
        batches, note = asyncio.run(_status(settings))
    except StoreError as error:
        fail(str(error))
    table = Table(title=f"{len(batches)} batches", title_justify="left")
    # Ids and states are copied into commands: never wrapped.
    table.add_column("batch", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("answered / failed / requests")
    table.add_column("results")
    table.add_column("created")
    for batch in batches:
        table.add_row(
            batch.batch_id or f"(not created: {batch.input_file_id})",
            batch.status,
            f"{batch.completed:,} / {batch.failed:,} / {batch.requests:,}",
            "stored" if batch.collected else "to collect: rerun `run --batch`",
            batch.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
    if note:
        console.print(f"[yellow]{note}[/]", highlight=False)


@app.command()
def cancel(
    batch_ids: Annotated[
        list[str] | None,
        typer.Argument(help="Batches to cancel. [default: every unfinished one]"),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Cancel unfinished batches: what they answered so far is kept (and paid for); a rerun
    of `run --batch` stores it and sends the rest in a new batch."""
    settings = existing_store(db, config, base_url=base_url)
    try:
        cancelled, problems = asyncio.run(_cancel(settings, batch_ids))
    except StoreError as error:
        fail(str(error))
    for batch_id in cancelled:
        console.print(f"cancelling {batch_id}", highlight=False)
    for problem in problems:
        console.print(f"[red]{problem}[/]", highlight=False)
    if not cancelled and not problems:
        console.print("no unfinished batch to cancel")
    raise typer.Exit(1 if problems else 0)


async def _status(settings: Settings) -> tuple[list[StoredBatch], str | None]:
    # Imported here: the OpenAI SDK is slow to import, and no other command needs it.
    import openai

    from supporter.llm.batch import batch_client

    store = await wiring.store(settings)
    try:
        ledger = SqlBatchLedger(store.engine)
        unfinished = [b for b in await ledger.batches(uncollected_only=True) if b.batch_id]
        note = None
        if unfinished:
            try:
                async with batch_client(settings.base_url) as client:
                    for stored in unfinished:
                        assert stored.batch_id is not None
                        batch = await client.batches.retrieve(stored.batch_id)
                        counts = batch.request_counts
                        await ledger.progressed(
                            stored.input_file_id,
                            batch.status,
                            counts.completed if counts else stored.completed,
                            counts.failed if counts else stored.failed,
                        )
            except (openai.OpenAIError, ValueError) as error:
                note = f"as last seen: OpenAI not asked ({type(error).__name__})"
        return await ledger.batches(), note
    finally:
        await store.close()


async def _cancel(settings: Settings, batch_ids: list[str] | None) -> tuple[list[str], list[str]]:
    import openai

    from supporter.llm.batch import TERMINAL, batch_client

    store = await wiring.store(settings)
    try:
        ledger = SqlBatchLedger(store.engine)
        known = {b.batch_id: b for b in await ledger.batches() if b.batch_id}
        wanted = batch_ids or [
            batch_id for batch_id, b in known.items() if b.status not in TERMINAL
        ]
        cancelled: list[str] = []
        problems: list[str] = []
        async with batch_client(settings.base_url) as client:
            for batch_id in wanted:
                stored = known.get(batch_id)
                if stored is None:
                    problems.append(f"{batch_id}: not a batch of this database")
                    continue
                try:
                    batch = await client.batches.cancel(batch_id)
                except openai.APIStatusError as error:
                    problems.append(f"{batch_id}: OpenAI refused (HTTP {error.status_code})")
                    continue
                await ledger.progressed(
                    stored.input_file_id, batch.status, stored.completed, stored.failed
                )
                cancelled.append(batch_id)
        return cancelled, problems
    finally:
        await store.close()
