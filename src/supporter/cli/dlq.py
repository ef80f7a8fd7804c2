"""`supporter dlq`: see the tickets that failed, and send them through again."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from supporter.cli import wiring
from supporter.cli.common import (
    LogFormatOption,
    fail,
    install_stop_handlers,
    run_traced,
    settings_from,
    setup_logging,
)
from supporter.cli.ui import console, live_progress, summary
from supporter.config import ConfigError, Settings
from supporter.pipeline.orchestrator import RunReport
from supporter.pipeline.stats import RunStats
from supporter.store.base import DeadLetterRecord, StoreError

app = typer.Typer(help="List and replay dead letters (tickets a stage gave up on).")

DbOption = Annotated[
    Path | None, typer.Option(help="The run's SQLite database. [default: supporter.db]")
]
ConfigOption = Annotated[Path | None, typer.Option(help="TOML settings file.")]


def existing_store(db: Path | None, config: Path | None, **options: str | None) -> Settings:
    settings = settings_from({"db": db, **options}, config)
    if settings.store_url is None and not settings.db.is_file():
        # Opening would create an empty database and report nothing: say so instead.
        fail(f"no database at {settings.db}: pass the --db of the run")
    return settings


async def _letters(
    settings: Settings, ids: list[int] | None, every: bool
) -> list[DeadLetterRecord]:
    store = await wiring.store(settings)
    try:
        return await store.dead_letters(ids=ids, include_resolved=every)
    finally:
        await store.close()


@app.command("list")
def list_(
    db: DbOption = None,
    config: ConfigOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Include resolved (replayed) ones.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line on stdout.")
    ] = False,
) -> None:
    """Show the dead letters waiting for attention: which ticket, which stage, why."""
    settings = existing_store(db, config)
    try:
        letters = asyncio.run(_letters(settings, None, all_))
    except StoreError as error:
        fail(str(error))
    if as_json:
        for letter in letters:
            typer.echo(json.dumps(letter.model_dump(mode="json", exclude={"original"})))
        return
    table = Table(title=f"{len(letters)} dead letters", title_justify="left")
    for column in ("id", "ticket", "stage", "tries", "reason", "when", "resolved"):
        table.add_column(column)
    for letter in letters:
        table.add_row(
            str(letter.id),
            letter.ticket_id or "(unreadable)",
            letter.stage,
            str(letter.attempts),
            letter.reason,
            letter.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            letter.resolved_at.strftime("%Y-%m-%d %H:%M:%S") if letter.resolved_at else "",
        )
    console.print(table)


@app.command()
def replay(
    id_: Annotated[
        list[int] | None,
        typer.Option("--id", help="Replay only these dead letters (repeat the option)."),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write the replayed tickets' results here as JSON Lines. [default: replayed.jsonl]"
        ),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            help="Model provider, as for `run` (default from the config file or environment)."
        ),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name, as for `run`.")] = None,
    base_url: Annotated[
        str | None,
        typer.Option(envvar="OPENAI_BASE_URL", help="An OpenAI-compatible server, as for `run`."),
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    log_format: LogFormatOption = None,
) -> None:
    """Send dead letters back to the stage that gave up on them.

    A replayed ticket that now succeeds resolves its dead letter; one that fails
    again gets a new one. Exit status 0 when all succeeded, 1 otherwise.
    """
    settings = existing_store(
        db, config, provider=provider, model=model, base_url=base_url, log_format=log_format
    )
    setup_logging(verbose, settings.log_format)
    stats = RunStats()
    try:
        report = run_traced(
            "supporter-replay",
            _replay(settings, id_, out or Path("replayed.jsonl"), stats, progress),
        )
    except (StoreError, ConfigError) as error:
        fail(str(error))
    console.print(summary(report.stats))
    if report.not_replayable:
        console.print(f"not replayable (unreadable original message): {report.not_replayable}")
    raise typer.Exit(1 if report.not_replayable else report.exit_code)


async def _replay(
    settings: Settings, ids: list[int] | None, out: Path, stats: RunStats, show_progress: bool
) -> RunReport:
    async with contextlib.AsyncExitStack() as resources:
        pipeline, store = await wiring.pipeline(settings, resources, stats, out)
        letters = await store.dead_letters(ids=ids)
        if ids:
            missing = sorted(set(ids) - {letter.id for letter in letters})
            if missing:
                console.print(f"[yellow]no pending dead letter with id {missing}[/]")
        install_stop_handlers(pipeline.request_stop)
        async with live_progress(stats, enabled=show_progress):
            return await pipeline.replay(letters)
    raise AssertionError("unreachable")  # for mypy: the block above always returns or raises
