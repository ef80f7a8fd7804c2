"""`supporter dlq`: see the tickets that failed, and send them through again."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
from supporter.domain.messages import WriteBackMessage, decode
from supporter.pipeline.orchestrator import RunReport
from supporter.pipeline.stats import RunStats
from supporter.pipeline.write_back import WRITE_BACK, unrecorded_public_reply
from supporter.store.base import DeadLetterRecord, StoreError

if TYPE_CHECKING:
    from supporter.store.sql import SqlStore

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
            help="Write the replayed tickets' results here as JSON Lines (only when some "
            "were replayed: it is left as it is otherwise). [default: replayed.jsonl]"
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
    allow_provider_change: Annotated[
        bool,
        typer.Option(
            "--allow-provider-change",
            help="Replay tickets with this replay's provider and model even where their "
            "dead letters were made with others (refused otherwise).",
        ),
    ] = False,
    public_replies: Annotated[
        bool | None,
        typer.Option(
            "--public-replies/--no-public-replies",
            help="Only for approved write-backs dead-lettered by a version that did not "
            "record it: post them as the public reply (or as notes). Newer ones are "
            "written as recorded when approved.",
        ),
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    log_format: LogFormatOption = None,
) -> None:
    """Send dead letters back to the stage that gave up on them.

    A replayed ticket (or write-back) that now succeeds resolves its dead letter; one
    that fails again replaces it with a new one. Exit status 0 when all succeeded, 1
    otherwise, 2 when nothing was replayed because the replay cannot be done as asked.
    """
    settings = existing_store(
        db, config, provider=provider, model=model, base_url=base_url, log_format=log_format
    )
    setup_logging(verbose, settings.log_format)
    stats = RunStats()
    request = ReplayRequest(
        ids=id_,
        out=out or Path("replayed.jsonl"),
        allow_provider_change=allow_provider_change,
        public_replies=public_replies,
        show_progress=progress,
    )
    try:
        report = run_traced("supporter-replay", _replay(settings, request, stats))
    except (StoreError, ConfigError, ReplayRefused) as error:
        fail(str(error))
    if report is None:
        console.print("no pending dead letters: nothing to replay")
        return
    if stats.published:
        console.print(summary(report.stats))
    failed_write_backs = _show_write_backs(stats)
    if report.not_replayable:
        console.print(f"not replayable (unreadable original message): {report.not_replayable}")
    code = report.exit_code
    if code == 0 and (report.not_replayable or failed_write_backs):
        code = 1
    raise typer.Exit(code)


class ReplayRefused(Exception):
    """The replay cannot be done as asked: nothing was replayed (exit status 2)."""


@dataclass(frozen=True)
class ReplayRequest:
    ids: list[int] | None
    out: Path
    allow_provider_change: bool
    public_replies: bool | None
    show_progress: bool


def _show_write_backs(stats: RunStats) -> int:
    """Print what became of the write-backs sent again; returns how many failed again."""
    if not stats.write_backs_published:
        return 0
    outcomes: Counter[str] = Counter()
    for (_, outcome), count in stats.write_backs.items():
        outcomes[outcome] += count
    shown = [
        f"{outcomes[outcome]} {label}"
        for outcome, label in (
            ("written", "written"),
            ("updated", "updated"),
            ("reply_withheld", "reply withheld (the customer has one)"),
            ("unchanged", "written before (nothing sent)"),
            ("not_received", "not the helpdesk's ticket"),
            ("dead_lettered", "failed again (a new dead letter: dlq list)"),
        )
        if outcomes[outcome]
    ]
    console.print(f"write-backs sent again: {stats.write_backs_published}: {', '.join(shown)}")
    return outcomes["dead_lettered"]


def _ids(numbers: Iterable[int]) -> str:
    return ", ".join(str(number) for number in sorted(numbers))


def _named(numbers: Iterable[int]) -> str:
    """`dead letter 3` or `dead letters 1, 2`."""
    listed = sorted(numbers)
    return f"dead letter{'s' if len(listed) > 1 else ''} {_ids(listed)}"


async def _missing(settings: Settings, ids: list[int], letters: list[DeadLetterRecord]) -> None:
    """Raise ReplayRefused naming the ids asked for that are not pending."""
    missing = sorted(set(ids) - {letter.id for letter in letters})
    if not missing:
        return
    resolved = {letter.id for letter in await _letters(settings, missing, True)}
    parts = []
    if unknown := [number for number in missing if number not in resolved]:
        parts.append(f"no dead letter with id {_ids(unknown)}")
    if resolved:
        parts.append(f"{_named(resolved)} already resolved (dlq list --all)")
    raise ReplayRefused("; ".join(parts) + ": nothing replayed")


def _write_backs_replayable(
    settings: Settings, letters: list[DeadLetterRecord], public_replies: bool | None
) -> tuple[list[DeadLetterRecord], bool]:
    """The letters, with the write-backs' checked against this replay's settings (raise
    ReplayRefused when one cannot be written as it was meant to) and, for approved ones
    made before the public/note choice was recorded, `public_replies` recorded in them;
    and whether any write-back is to be written (not just reported as unreadable)."""
    write_backs: dict[int, WriteBackMessage] = {}
    for letter in letters:
        if letter.queue != WRITE_BACK:
            continue
        with contextlib.suppress(ValueError):
            message = decode(letter.original)
            if isinstance(message, WriteBackMessage):
                write_backs[letter.id] = message
    if not write_backs:
        return letters, False
    helpdesks = sorted({message.helpdesk for message in write_backs.values()})
    missing = []
    if settings.helpdesk is None:
        missing.append(f"SUPPORTER_HELPDESK={' or '.join(helpdesks)}")
    if settings.write_back is None:
        missing.append("SUPPORTER_WRITE_BACK (tags, note or after-review)")
    if missing:
        raise ReplayRefused(
            f"replaying the write-backs to {', '.join(helpdesks)} ({_named(write_backs)}) "
            f"needs {' and '.join(missing)} (or helpdesk and write_back in "
            "the --config file) and the helpdesk's own settings (SUPPORTER_<HELPDESK>_…, "
            "docs/helpdesks.md); or choose the others with --id"
        )
    elsewhere = [number for number, m in write_backs.items() if m.helpdesk != settings.helpdesk]
    if elsewhere:
        raise ReplayRefused(
            f"the write-backs in {_named(elsewhere)} go to another helpdesk than "
            f"SUPPORTER_HELPDESK={settings.helpdesk}: replay them with that helpdesk's "
            "settings, or choose the others with --id"
        )
    unrecorded = [number for number, m in write_backs.items() if unrecorded_public_reply(m)]
    if unrecorded and public_replies is None:
        raise ReplayRefused(
            f"the approved drafts in {_named(unrecorded)} were dead-lettered before "
            "Supporter recorded whether they go out as the public reply or as a note: "
            "pass --public-replies if serve ran with it (the customer gets the reply), "
            "else --no-public-replies"
        )
    replayable = []
    for letter in letters:
        if letter.id in unrecorded:
            message = write_backs[letter.id].model_copy(update={"public_reply": public_replies})
            letter = letter.model_copy(update={"original": message.model_dump_json()})
        replayable.append(letter)
    return replayable, True


def _provider_of(version: str | None) -> str | None:
    """The provider (and model) a result version names (`openai:gpt-4o:<digest>`); a
    batch and a real-time run of one model count as the same."""
    if version is None or ":" not in version:
        return None
    name = version.rsplit(":", 1)[0]
    return name.replace("openai-batch:", "openai:", 1)


async def _check_provider(
    store: SqlStore, version: str, letters: list[DeadLetterRecord], allow: bool
) -> None:
    """Refuse (unless `allow`) to redo tickets with another provider or model than the
    one their dead letters were made with (their stored failed result's version)."""
    # A ticket may have a dead letter in more than one stage: each is named.
    tickets: dict[str, list[int]] = {}
    for letter in letters:
        if letter.queue != WRITE_BACK and letter.ticket_id:
            tickets.setdefault(letter.ticket_id, []).append(letter.id)
    if not tickets:
        return
    used = _provider_of(version)
    others: dict[str, list[int]] = {}
    for ticket_id, recorded in (await store.result_versions(tickets)).items():
        made_with = _provider_of(recorded)
        if made_with is not None and made_with != used:
            others.setdefault(made_with, []).extend(tickets[ticket_id])
    if not others:
        return
    named = "; ".join(f"{_ids(ids)} with {name}" for name, ids in sorted(others.items()))
    if not allow:
        raise ReplayRefused(
            f"dead letters were made with another model than this replay's {used}: "
            f"{named}. Pass the run's --provider and --model (or its config file), or "
            "--allow-provider-change to redo them with this one"
        )
    console.print(f"[yellow]replaying with {used}; the dead letters were made: {named}[/]")


def _staged(out: Path) -> Path:
    """Where the results are written until something was replayed (beside `out`, so
    moving it in place is a rename)."""
    return out.with_name(f".{out.stem}.replaying-{os.getpid()}{out.suffix}")


def _settle_files(settings: Settings, out: Path, staged: Path, keep: bool) -> None:
    """Move the staged results (and their CSV) in place when `keep`, else drop them."""
    pairs = [(staged, out)]
    if "csv" in settings.formats:
        pairs.append((staged.with_suffix(".csv"), out.with_suffix(".csv")))
    for made, final in pairs:
        if not made.exists():
            continue
        if keep:
            made.replace(final)
        else:
            made.unlink()


async def _replay(settings: Settings, request: ReplayRequest, stats: RunStats) -> RunReport | None:
    """None when there is nothing to replay. Raises ReplayRefused before anything is
    replayed (and before the results file is touched) when the replay cannot be done."""
    letters = await _letters(settings, request.ids, False)
    if request.ids:
        await _missing(settings, request.ids, letters)
    if not letters:
        return None
    letters, writes_back = _write_backs_replayable(settings, letters, request.public_replies)
    redoes_tickets = any(letter.queue != WRITE_BACK for letter in letters)
    staged = _staged(request.out)
    report: RunReport | None = None
    try:
        async with contextlib.AsyncExitStack() as resources:
            helpdesk = None
            if writes_back:
                # Opened now: missing settings stop the replay before anything is sent.
                helpdesk = wiring.helpdesk_connector(settings, resources)
            pipeline, store = await wiring.pipeline(
                settings,
                resources,
                stats,
                staged,
                write_results=redoes_tickets,
                helpdesk=helpdesk,
            )
            await _check_provider(store, pipeline.version, letters, request.allow_provider_change)
            install_stop_handlers(pipeline.request_stop)
            async with live_progress(stats, enabled=request.show_progress):
                report = await pipeline.replay(letters)
    finally:
        _settle_files(settings, request.out, staged, keep=stats.published > 0)
    return report
