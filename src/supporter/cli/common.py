"""Helpers every command shares: parsing options, reporting errors, logging, signals."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.logging import RichHandler
from rich.markup import escape

from supporter.cli.ui import console
from supporter.config import ConfigError, Settings, load_settings
from supporter.observability import tracing
from supporter.observability.logging import LogFormat, configure

try:  # typer 0.29 and later run on their own copy of click
    from typer._click.globals import get_current_context
except ImportError:  # earlier typer, on click itself
    from click import get_current_context  # type: ignore[no-redef]

USAGE_ERROR = 2
T = TypeVar("T")

LogFormatOption = Annotated[
    LogFormat | None,
    typer.Option(
        help="Log lines as 'json' (one object per line on stderr, for a log shipper) or readable 'console' ones. [default: console]"
    ),
]

TicketsQueryOption = Annotated[
    str | None,
    typer.Option(help="With a database URL in --tickets: the SELECT that gives the tickets."),
]
TicketsTableOption = Annotated[
    str | None,
    typer.Option(help="With a database URL in --tickets: the table that holds them."),
]
TransactionsQueryOption = Annotated[
    str | None,
    typer.Option(
        help="With a database URL in --transactions: the SELECT that gives the transactions."
    ),
]
TransactionsTableOption = Annotated[
    str | None,
    typer.Option(help="With a database URL in --transactions: the table that holds them."),
]
SqlBatchSizeOption = Annotated[
    int | None,
    typer.Option(help="Rows fetched at a time from a database source. [default: 1000]"),
]


def sql_options(
    tickets_query: str | None,
    tickets_table: str | None,
    transactions_query: str | None,
    transactions_table: str | None,
    sql_batch_size: int | None,
) -> dict[str, Any]:
    """The database-source options as settings."""
    return {
        "tickets_query": tickets_query,
        "tickets_table": tickets_table,
        "transactions_query": transactions_query,
        "transactions_table": transactions_table,
        "sql_batch_size": sql_batch_size,
    }


TicketsFormatOption = Annotated[
    str | None,
    typer.Option(
        help="The tickets file's format by name (see `supporter inspect`) instead of recognising it: csv, ..."
    ),
]
TransactionsFormatOption = Annotated[
    str | None,
    typer.Option(
        help="The transactions file's format by name instead of recognising it: csv, stripe, paypal, ..."
    ),
]
DateOrderOption = Annotated[
    str | None,
    typer.Option(
        help="'day-first' or 'month-first': how to read dates like 03/04/2024 where the file's format does not say."
    ),
]


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    # Unwrapped: an error names files and commands that must survive a copy and paste.
    # Escaped: "pip install 'supporter[embeddings]'" is a command, not markup.
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def parse_mapping(text: str | None, option: str) -> dict[str, str] | None:
    """`ticket_id=Id,body=Description` → {"ticket_id": "Id", "body": "Description"}."""
    if text is None:
        return None
    mapping: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            fail(f"{option}: expected FIELD=COLUMN pairs separated by commas, got {pair!r}")
        mapping[field.strip()] = column.strip()
    return mapping


def settings_from(options: dict[str, Any], config: Path | None) -> Settings:
    """Settings from `options` over the environment over `config`; a bad one stops the
    command, named where it was set. Each key of `options` is the name of a parameter
    of the running command (its value: None when not given), so that a bad value is
    named as the option the user typed (`formats` is declared as `--format`)."""
    try:
        return load_settings(options, config, command_options())
    except ConfigError as error:
        fail(str(error))


def command_options() -> dict[str, str]:
    """What the user types for each parameter of the running command, by the
    parameter's name: its long option (`--format` for `formats`), or an argument's
    name as its usage line shows it (`TRANSACTIONS`). Empty outside a command."""
    context = get_current_context(silent=True)
    if context is None:
        return {}
    typed: dict[str, str] = {}
    for param in context.command.params:
        if param.name is None:
            continue
        if param.param_type_name == "argument":
            typed[param.name] = param.metavar or param.name.upper()
        else:
            long = [opt for opt in param.opts if opt.startswith("--")]
            typed[param.name] = (long or param.opts)[0]
    return typed


def run_traced(service: str, main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, traced when the OTEL_* environment asks for it (the spans
    still buffered are sent at the end). Raises ConfigError for an unusable exporter."""
    try:
        provider = tracing.configure(service)
    except ConfigError:
        main.close()
        raise
    collect_less()
    try:
        return asyncio.run(main)
    finally:
        tracing.shutdown(provider)


# Young objects the cycle collector looks at once it runs: a message's hop makes
# hundreds, nearly all freed at once by reference counting.
_YOUNG_OBJECTS = 10_000


def collect_less() -> None:
    """Spare the cycle collector work it need not do (it took about 15 % of the CPU
    time of `supporter run` on 10,000 tickets): what the imports made (some 120,000
    objects: schemas, types, modules) lives as long as the process, so it is frozen out
    of the collector's view instead of walked on every full collection; and the
    collector runs every 10,000 new objects instead of every 700."""
    gc.freeze()
    gc.set_threshold(_YOUNG_OBJECTS, *gc.get_threshold()[1:])


def setup_logging(verbose: bool, log_format: LogFormat = "console") -> None:
    """'console': readable lines on the console; 'json': one JSON object per line on
    stderr. Either way each line about a ticket names its ticket, stage and try."""
    handler: logging.Handler
    if log_format == "json":
        handler = logging.StreamHandler(sys.stderr)
    else:
        handler = RichHandler(console=console, show_path=False, rich_tracebacks=False)
    configure(handler, log_format, logging.INFO if verbose else logging.WARNING)


def install_stop_handlers(on_first: Callable[[], None]) -> None:
    """First SIGINT/SIGTERM: `on_first` (stop intake, finish in-flight work).
    Second: cancel the run at once; nothing unfinished is stored, so a rerun redoes it."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    signals_seen = 0

    def handle() -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen == 1:
            console.print("[yellow]stopping: finishing tickets in flight (again to abort)[/]")
            on_first()
        elif main is not None:
            main.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, handle)
