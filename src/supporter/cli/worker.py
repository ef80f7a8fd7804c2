"""`supporter worker` and `supporter ingest`: the stages as separate processes on a
shared broker (SUPPORTER_BROKER_URL) and store (SUPPORTER_STORE_URL)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from supporter.brokers.base import BrokerError
from supporter.cli import wiring
from supporter.cli.common import (
    DateOrderOption,
    LogFormatOption,
    SqlBatchSizeOption,
    TicketsFormatOption,
    TicketsQueryOption,
    TicketsTableOption,
    TransactionsFormatOption,
    TransactionsQueryOption,
    TransactionsTableOption,
    fail,
    install_stop_handlers,
    run_traced,
    settings_from,
    setup_logging,
    sql_options,
)
from supporter.cli.ui import console, ingest_summary
from supporter.config import ConfigError, Settings
from supporter.observability.metrics import DEFAULT_PORT, Metrics
from supporter.pipeline.orchestrator import RunReport, StageName
from supporter.pipeline.stats import RunStats
from supporter.sources.base import SourceError
from supporter.store.base import StoreError
from supporter.transactions.sql import SqlTransactionIndex
from supporter.transactions.sqlite import SqliteTransactionIndex

app = typer.Typer(help="Run one stage against the shared broker until SIGTERM.")

ConfigOption = Annotated[Path | None, typer.Option(help="TOML settings file.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log retries and other events.")]
MetricsPort = Annotated[
    int | None,
    typer.Option(
        help=f"Serve /metrics, /healthz and /readyz on this port; 0 turns it off. [default: {DEFAULT_PORT}]"
    ),
]


def _shared_settings(
    options: dict[str, object], config: Path | None, verbose: bool, log_format: str | None
) -> Settings:
    settings = settings_from({**options, "log_format": log_format}, config)
    setup_logging(verbose, settings.log_format)
    if settings.broker_url.startswith("memory://"):
        fail("a worker needs a shared broker: set SUPPORTER_BROKER_URL to amqp://… or redis://…")
    return settings


def _serve(
    stage: StageName,
    options: dict[str, object],
    config: Path | None,
    out: Path | None,
    verbose: bool,
    log_format: str | None,
) -> None:
    settings = _shared_settings(options, config, verbose, log_format)
    if stage == "write-back" and (settings.helpdesk is None or settings.write_back is None):
        fail(
            "a write-back worker needs --helpdesk and --write-back (or SUPPORTER_HELPDESK and SUPPORTER_WRITE_BACK)"
        )
    stats = RunStats()

    async def main() -> RunReport:
        async with contextlib.AsyncExitStack() as resources:
            metrics = Metrics(stats, (stage,))
            # SUPPORTER_TRANSACTIONS=stripe://: analyze workers ask Stripe, not the store.
            live = stage == "analyze" and wiring.is_stripe(settings.transactions)
            stripe = await wiring.stripe_index(settings, resources) if live else None
            helpdesk = None
            if stage == "write-back":
                helpdesk = wiring.helpdesk_connector(settings, resources)
                wiring.watch_helpdesk(metrics, helpdesk)
            pipeline, store = await wiring.pipeline(
                settings,
                resources,
                stats,
                out,
                one_process=False,
                append=True,
                write_results=out is not None,
                observer=metrics,
                transactions=stripe,
                helpdesk=helpdesk,
                service=True,
            )
            served = await wiring.serve_metrics(
                settings,
                resources,
                pipeline,
                store,
                (stage,),
                default_port=DEFAULT_PORT,
                metrics=metrics,
            )
            install_stop_handlers(pipeline.request_stop)
            console.print(f"worker {stage} started on {settings.broker_prefix}")
            return await pipeline.serve(stage, metrics_port=served.port if served else None)
        raise AssertionError("unreachable")

    try:
        report = run_traced(f"supporter-{stage}", main())
    except (StoreError, ConfigError) as error:
        fail(str(error))
    except BrokerError as error:
        fail(f"the broker cannot be reached: {error}", code=1)
    if report.fatal:
        console.print(f"[bold red]stopped:[/] {report.fatal}")
        raise typer.Exit(1)
    console.print(f"worker {stage} stopped")


@app.command()
def analyze(
    analyze_concurrency: Annotated[
        int | None, typer.Option("--concurrency", help="Tickets analysed at once.")
    ] = None,
    metrics_port: MetricsPort = None,
    config: ConfigOption = None,
    verbose: Verbose = False,
    log_format: LogFormatOption = None,
) -> None:
    """Consume the tickets queue: classify each ticket."""
    _serve(
        "analyze",
        {"analyze_concurrency": analyze_concurrency, "metrics_port": metrics_port},
        config,
        None,
        verbose,
        log_format,
    )


@app.command()
def respond(
    respond_concurrency: Annotated[
        int | None, typer.Option("--concurrency", help="Replies drafted at once.")
    ] = None,
    metrics_port: MetricsPort = None,
    config: ConfigOption = None,
    verbose: Verbose = False,
    log_format: LogFormatOption = None,
) -> None:
    """Consume the analyzed queue: draft and check each reply."""
    _serve(
        "respond",
        {"respond_concurrency": respond_concurrency, "metrics_port": metrics_port},
        config,
        None,
        verbose,
        log_format,
    )


@app.command()
def sink(
    out: Annotated[
        Path | None, typer.Option(help="Also append results to this JSON Lines file.")
    ] = None,
    metrics_port: MetricsPort = None,
    config: ConfigOption = None,
    verbose: Verbose = False,
    log_format: LogFormatOption = None,
) -> None:
    """Consume the responded and dead-letter queues: store results (and write --out)."""
    _serve("sink", {"metrics_port": metrics_port}, config, out, verbose, log_format)


@app.command("write-back")
def write_back(
    helpdesk: Annotated[
        str | None,
        typer.Option(help="The helpdesk written into (its settings: SUPPORTER_<NAME>_…)."),
    ] = None,
    write_back: Annotated[
        str | None,
        typer.Option(
            "--write-back",
            help="tags, note or after-review: as given to `serve` and the sink workers.",
        ),
    ] = None,
    public_replies: Annotated[
        bool | None,
        typer.Option(
            "--public-replies/--no-public-replies",
            help="Post approved drafts as the public reply. [default: no]",
        ),
    ] = None,
    write_back_concurrency: Annotated[
        int | None, typer.Option("--concurrency", help="Write-backs at once.")
    ] = None,
    metrics_port: MetricsPort = None,
    config: ConfigOption = None,
    verbose: Verbose = False,
    log_format: LogFormatOption = None,
) -> None:
    """Consume the write-back queue: write classifications and drafts into the helpdesk.

    The sink workers route results here when SUPPORTER_HELPDESK and SUPPORTER_WRITE_BACK
    are set for them too."""
    _serve(
        "write-back",
        {
            "helpdesk": helpdesk,
            "write_back": write_back,
            "public_replies": public_replies,
            "write_back_concurrency": write_back_concurrency,
            "metrics_port": metrics_port,
        },
        config,
        None,
        verbose,
        log_format,
    )


def ingest(
    tickets: Annotated[
        str | None,
        typer.Option(
            help="Tickets CSV, or a database URL with --tickets-query or --tickets-table."
        ),
    ] = None,
    transactions: Annotated[
        str | None,
        typer.Option(
            help="Transactions CSV or database URL: each ticket carries the customer's recent ones. Without it the analyze workers look them up in the store (`supporter transactions load`)."
        ),
    ] = None,
    tickets_query: TicketsQueryOption = None,
    tickets_table: TicketsTableOption = None,
    transactions_query: TransactionsQueryOption = None,
    transactions_table: TransactionsTableOption = None,
    sql_batch_size: SqlBatchSizeOption = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Rejected rows as JSON Lines. [default: rejects.jsonl]")
    ] = None,
    force: Annotated[
        bool | None, typer.Option("--force/--no-force", help="Publish tickets already done too.")
    ] = None,
    tickets_format: TicketsFormatOption = None,
    transactions_format: TransactionsFormatOption = None,
    date_order: DateOrderOption = None,
    config: ConfigOption = None,
    verbose: Verbose = False,
    log_format: LogFormatOption = None,
) -> None:
    """Publish the open tickets not done yet to the shared broker, then exit."""
    settings = _shared_settings(
        {
            "tickets": tickets,
            "transactions": transactions,
            "rejects": rejects,
            "force": force,
            "tickets_format": tickets_format,
            "transactions_format": transactions_format,
            "date_order": date_order,
            **sql_options(
                tickets_query, tickets_table, transactions_query, transactions_table, sql_batch_size
            ),
        },
        config,
        verbose,
        log_format,
    )
    if settings.tickets is None:
        fail("pass --tickets (or set it in the config file)")
    stats = RunStats()
    try:
        report = run_traced("supporter-ingest", _ingest(settings, stats))
    except (SourceError, StoreError, ConfigError) as error:
        fail(str(error))
    except BrokerError as error:
        fail(f"the broker cannot be reached: {error}", code=1)
    console.print(ingest_summary(report.stats))
    raise typer.Exit(130 if report.interrupted else 0)


async def _ingest(settings: Settings, stats: RunStats) -> RunReport:
    ticket_source = await wiring.ticket_source(settings)
    live = wiring.is_stripe(settings.transactions)
    transaction_source = (
        await wiring.transaction_source(settings) if settings.transactions and not live else None
    )
    async with contextlib.AsyncExitStack() as resources:
        on_reject = wiring.reject_handler(settings, stats, resources)
        pipeline, store = await wiring.pipeline(
            settings, resources, stats, one_process=False, write_results=False
        )
        index: SqliteTransactionIndex | None = None
        if live:
            # The analyze workers ask Stripe; the key is checked here before any work.
            await wiring.stripe_index(settings, resources)
        elif transaction_source is None:
            if not await SqlTransactionIndex(store.engine).count():
                raise ConfigError(
                    "the store holds no transactions: load them with "
                    "`supporter transactions load FILE`, or pass --transactions"
                )
        else:
            index = SqliteTransactionIndex()
            resources.callback(index.close)
            await wiring.load_transactions(index, transaction_source, on_reject, stats)
        install_stop_handlers(pipeline.request_stop)
        return await pipeline.ingest(ticket_source, index, on_reject)
    raise AssertionError("unreachable")
