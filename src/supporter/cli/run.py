"""`supporter run`: the whole pipeline in one process on the embedded defaults."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated, Literal

import typer

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
    parse_mapping,
    run_traced,
    settings_from,
    setup_logging,
    sql_options,
)
from supporter.cli.knowledge import update_index
from supporter.cli.ui import console, live_progress, summary
from supporter.config import ConfigError, Settings
from supporter.observability.metrics import Metrics
from supporter.pipeline.orchestrator import RunReport
from supporter.pipeline.stats import RunStats
from supporter.sources.base import SourceError
from supporter.store.base import StoreError
from supporter.transactions.sqlite import SqliteTransactionIndex

Format = Literal["jsonl", "csv"]


def run(
    tickets: Annotated[
        str | None,
        typer.Option(
            help="Tickets file, recognised from its content (a helpdesk export or our CSV: ticket_id, customer_id, subject, body, status, created_at), or a database URL (postgresql://…, mysql://…, mariadb://…, sqlite:///…) with --tickets-query or --tickets-table."
        ),
    ] = None,
    transactions: Annotated[
        str | None,
        typer.Option(
            help="Transactions file, recognised from its content (a processor's export: Stripe, PayPal, Shopify, Square, Adyen, Braintree; or our CSV: transaction_id, customer_id, amount, currency, status, created_at), a database URL with --transactions-query or --transactions-table, or stripe:// (Stripe's API, with STRIPE_API_KEY)."
        ),
    ] = None,
    tickets_query: TicketsQueryOption = None,
    tickets_table: TicketsTableOption = None,
    transactions_query: TransactionsQueryOption = None,
    transactions_table: TransactionsTableOption = None,
    sql_batch_size: SqlBatchSizeOption = None,
    stripe_base_url: Annotated[
        str | None,
        typer.Option(
            help="With --transactions stripe://: another server than Stripe's API, such as `supporter fake-stripe`."
        ),
    ] = None,
    stripe_rate: Annotated[
        float | None,
        typer.Option(
            help="With --transactions stripe://: Stripe requests per second (25 allowed in a sandbox, 100 live). [default: 20]"
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Results as JSON Lines, one object per ticket. [default: results.jsonl]"),
    ] = None,
    formats: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            help="Also write 'csv': a flat CSV beside --out (same name, .csv). JSON Lines is always written.",
        ),
    ] = None,
    knowledge: Annotated[
        Path | None,
        typer.Option(
            help="Help-center articles and saved replies (a folder or file) the replies follow and cite; indexed beside the store first (only what changed)."
        ),
    ] = None,
    knowledge_embeddings: Annotated[
        bool | None,
        typer.Option(
            "--knowledge-embeddings",
            help="Rank help-center passages by all-MiniLM-L6-v2 embeddings as well as by words (fused). Needs supporter[embeddings].",
        ),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(
            help="Rejected input rows as JSON Lines (file, line, reason, raw). [default: rejects.jsonl]"
        ),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option(
            help="SQLite database with tickets, results, attempts and dead letters. [default: supporter.db]"
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML settings file. [default: ./supporter.toml if present]")
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            help="Model provider: 'offline' (rules, no network), 'openai' (needs OPENAI_API_KEY, or --base-url for a local server), 'local' (a model from `supporter train`, with --model-path) or 'cascade' (local where sure, openai elsewhere). [default: offline]"
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Model name for --provider openai or cascade (`supporter models` lists them). [default: gpt-6-luna]"
        ),
    ] = None,
    models_file: Annotated[
        Path | None,
        typer.Option(
            help="A TOML table of models (parameters, prices per tier, shutdown dates) over the packaged one; see docs/models.md."
        ),
    ] = None,
    api: Annotated[
        str | None,
        typer.Option(
            help="'responses' or 'chat' (Chat Completions). [default: responses on OpenAI's endpoint, chat with --base-url]"
        ),
    ] = None,
    service_tier: Annotated[
        str | None,
        typer.Option(
            help="OpenAI processing tier: 'default', 'flex' (batch prices, slower, may be unavailable: retried) or 'priority' (faster, dearer). [default: default]"
        ),
    ] = None,
    model_path: Annotated[
        Path | None,
        typer.Option(
            help="A model directory from `supporter train`, for --provider local or cascade."
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="--provider cascade: the local model answers where its confidence is at least this; the LLM elsewhere. [default: 0.9]"
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            envvar="OPENAI_BASE_URL",
            help="An OpenAI-compatible server (Azure OpenAI, vLLM, Ollama, the simulator).",
        ),
    ] = None,
    rpm: Annotated[
        int | None,
        typer.Option(help="Your requests-per-minute limit: calls are paced evenly under it."),
    ] = None,
    tpm: Annotated[
        int | None, typer.Option(help="Your tokens-per-minute limit: calls are paced under it.")
    ] = None,
    llm_concurrency: Annotated[
        int | None, typer.Option(help="Model calls in flight at most. [default: 64]")
    ] = None,
    request_timeout: Annotated[
        float | None,
        typer.Option(help="Seconds one model request may take. [default: 30; 900 with flex]"),
    ] = None,
    fallback: Annotated[
        str | None,
        typer.Option(
            help="'offline': answer with the rules when the provider cannot (refusal, retries used up); the record's provider says so."
        ),
    ] = None,
    batch: Annotated[
        bool | None,
        typer.Option(
            "--batch/--no-batch",
            help="Send the model requests through OpenAI's Batch API at half price (answers within 24 h): for a backlog. A rerun resumes the batches instead of paying again.",
        ),
    ] = None,
    batch_fallback: Annotated[
        str | None,
        typer.Option(
            help="'realtime': ask in real time what a batch did not answer (expired, failed), instead of in a later batch."
        ),
    ] = None,
    llm_cache: Annotated[
        Path | None,
        typer.Option(
            help="Cache of model answers across runs, so the same input is never paid for twice. [default: supporter-llm-cache.db]"
        ),
    ] = None,
    ticket_columns: Annotated[
        str | None,
        typer.Option(
            help="Map fields to your tickets file's columns: 'ticket_id=Id,body=Description'."
        ),
    ] = None,
    transaction_columns: Annotated[
        str | None,
        typer.Option(
            help="Map fields to your transactions file's columns: 'amount=Total,created_at=Date'."
        ),
    ] = None,
    tickets_format: TicketsFormatOption = None,
    transactions_format: TransactionsFormatOption = None,
    date_order: DateOrderOption = None,
    open_statuses: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated ticket statuses that wait for an answer. [default: new,open]"
        ),
    ] = None,
    lookback_days: Annotated[
        int | None,
        typer.Option(help="How far back a customer's transactions are considered. [default: 90]"),
    ] = None,
    max_transactions: Annotated[
        int | None,
        typer.Option(help="At most this many recent transactions per ticket. [default: 20]"),
    ] = None,
    analyze_concurrency: Annotated[
        int | None, typer.Option(help="Tickets analysed at once. [default: 8]")
    ] = None,
    respond_concurrency: Annotated[
        int | None, typer.Option(help="Replies drafted at once. [default: 8]")
    ] = None,
    queue_size: Annotated[
        int | None,
        typer.Option(help="Bound of each queue between stages (backpressure). [default: 256]"),
    ] = None,
    max_attempts: Annotated[
        int | None,
        typer.Option(help="Tries per stage before a ticket is dead-lettered. [default: 5]"),
    ] = None,
    shutdown_timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds to finish in-flight tickets after SIGINT/SIGTERM. [default: 30]"
        ),
    ] = None,
    force: Annotated[
        bool | None,
        typer.Option("--force/--no-force", help="Redo tickets already done in an earlier run."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Serve /metrics, /healthz and /readyz on this port while the run lasts. [default: off]"
        ),
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show the live progress bar.")
    ] = True,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Log retries and other events (never ticket text)."),
    ] = False,
    log_format: LogFormatOption = None,
) -> None:
    """Read tickets and transactions, analyse every open ticket, draft grounded replies.

    Exit status: 0 every open ticket answered, 1 some ended in the dead-letter queue
    (see `supporter dlq list`), 2 bad options or input headers, 130 interrupted.
    """
    statuses = open_statuses.split(",") if open_statuses is not None else None
    settings = settings_from(
        {
            "tickets": tickets,
            "transactions": transactions,
            "knowledge": knowledge,
            "knowledge_embeddings": knowledge_embeddings,
            "stripe_base_url": stripe_base_url,
            "stripe_rate": stripe_rate,
            **sql_options(
                tickets_query, tickets_table, transactions_query, transactions_table, sql_batch_size
            ),
            "out": out,
            "formats": formats,
            "rejects": rejects,
            "db": db,
            "provider": provider,
            "model": model,
            "models_file": models_file,
            "service_tier": service_tier,
            "api": api,
            "model_path": model_path,
            "threshold": threshold,
            "base_url": base_url,
            "rpm": rpm,
            "tpm": tpm,
            "llm_concurrency": llm_concurrency,
            "request_timeout": request_timeout,
            "fallback": fallback,
            "batch": batch,
            "batch_fallback": batch_fallback,
            "llm_cache": llm_cache,
            "ticket_columns": parse_mapping(ticket_columns, "--ticket-columns"),
            "transaction_columns": parse_mapping(transaction_columns, "--transaction-columns"),
            "tickets_format": tickets_format,
            "transactions_format": transactions_format,
            "date_order": date_order,
            "open_statuses": statuses,
            "lookback_days": lookback_days,
            "max_transactions": max_transactions,
            "analyze_concurrency": analyze_concurrency,
            "respond_concurrency": respond_concurrency,
            "queue_size": queue_size,
            "max_attempts": max_attempts,
            "shutdown_timeout": shutdown_timeout,
            "force": force,
            "metrics_port": metrics_port,
            "log_format": log_format,
        },
        config,
    )
    setup_logging(verbose, settings.log_format)
    if settings.tickets is None:
        fail("no tickets file: pass --tickets PATH (or set tickets in the config file)")
    if settings.transactions is None:
        fail("no transactions file: pass --transactions PATH (or set it in the config file)")
    if settings.knowledge is not None:
        update_index(settings.knowledge, settings)
    stats = RunStats()
    try:
        report = run_traced("supporter", _run(settings, stats, progress))
    except (SourceError, StoreError, ConfigError) as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot write {error.filename or 'an output file'}: {error.strerror or error}")
    except asyncio.CancelledError:
        console.print(summary(stats))
        console.print("[yellow]aborted:[/] unfinished tickets were not stored; rerun to finish.")
        raise typer.Exit(130) from None
    console.print(summary(report.stats))
    if report.fatal:
        console.print(
            f"[bold red]stopped:[/] {report.fatal}. Unfinished tickets are kept for the next run."
        )
    elif report.interrupted:
        console.print("[yellow]interrupted:[/] rerun the same command to finish the rest.")
    elif report.stats.failed or report.stats.earlier_failed:
        console.print("some tickets failed: see `supporter dlq list`, then `supporter dlq replay`.")
    raise typer.Exit(report.exit_code)


async def _run(settings: Settings, stats: RunStats, show_progress: bool) -> RunReport:
    ticket_source = await wiring.ticket_source(settings)
    live = wiring.is_stripe(settings.transactions)
    transaction_source = None if live else await wiring.transaction_source(settings)
    async with contextlib.AsyncExitStack() as resources:
        on_reject = wiring.reject_handler(settings, stats, resources)
        stages = ("analyze", "respond", "sink")
        metrics = Metrics(stats, stages)
        stripe = await wiring.stripe_index(settings, resources) if live else None
        pipeline, store = await wiring.pipeline(
            settings, resources, stats, observer=metrics, transactions=stripe
        )
        await wiring.serve_metrics(
            settings, resources, pipeline, store, stages, default_port=None, metrics=metrics
        )
        index: SqliteTransactionIndex | None = None
        if transaction_source is not None:
            index = SqliteTransactionIndex()
            resources.callback(index.close)
        install_stop_handlers(pipeline.request_stop)
        async with live_progress(stats, enabled=show_progress):
            if index is not None and transaction_source is not None:
                await wiring.load_transactions(index, transaction_source, on_reject, stats)
            # With stripe:// the analyze stage asks Stripe for each ticket's transactions.
            return await pipeline.run(ticket_source, index, on_reject)
    raise AssertionError("unreachable")  # for mypy: the block above always returns or raises
