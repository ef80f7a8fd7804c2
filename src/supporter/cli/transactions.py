"""`supporter transactions load`: payment transactions into the shared store, where
every analyze worker finds a ticket's window."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from supporter.cli import wiring
from supporter.cli.common import (
    DateOrderOption,
    LogFormatOption,
    SqlBatchSizeOption,
    TransactionsFormatOption,
    TransactionsQueryOption,
    TransactionsTableOption,
    fail,
    settings_from,
    setup_logging,
)
from supporter.cli.ui import console
from supporter.config import ConfigError, Settings
from supporter.pipeline.stats import RunStats
from supporter.sources.base import SourceError
from supporter.store.base import StoreError
from supporter.transactions.sql import SqlTransactionIndex

app = typer.Typer(help="Payment transactions in the shared store.")


@app.command()
def load(
    transactions: Annotated[
        str,
        typer.Argument(
            help="Transactions file (a processor's export or our CSV), or a database URL with --transactions-query or --transactions-table."
        ),
    ],
    transactions_query: TransactionsQueryOption = None,
    transactions_table: TransactionsTableOption = None,
    sql_batch_size: SqlBatchSizeOption = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Rejected rows as JSON Lines. [default: rejects.jsonl]")
    ] = None,
    transactions_format: TransactionsFormatOption = None,
    date_order: DateOrderOption = None,
    config: Annotated[Path | None, typer.Option(help="TOML settings file.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
    log_format: LogFormatOption = None,
) -> None:
    """Add (or update, by transaction_id) the file's transactions in the store.

    Then `supporter ingest --tickets …` without --transactions: the analyze workers
    look up each ticket's recent transactions there.
    """
    settings = settings_from(
        {
            "transactions": transactions,
            "rejects": rejects,
            "transactions_format": transactions_format,
            "date_order": date_order,
            "log_format": log_format,
            "transactions_query": transactions_query,
            "transactions_table": transactions_table,
            "sql_batch_size": sql_batch_size,
        },
        config,
    )
    setup_logging(verbose, settings.log_format)
    stats = RunStats()
    try:
        loaded, total = asyncio.run(_load(settings, stats))
    except (SourceError, StoreError, ConfigError) as error:
        fail(str(error))
    where = make_url(settings.store_url).render_as_string() if settings.store_url else settings.db
    rejected = stats.rejected_transactions
    console.print(
        f"loaded {loaded:,} transactions into {where} ({total:,} there now); "
        f"{rejected:,} row{'' if rejected == 1 else 's'} rejected"
        + (f" (see {settings.rejects})" if rejected else "")
        + _skipped(stats),
        highlight=False,
        soft_wrap=True,
    )


def _skipped(stats: RunStats) -> str:
    if not stats.skipped_transactions:
        return ""
    reasons = ", ".join(
        f"{count:,} {reason}" for reason, count in stats.skipped_transactions.items()
    )
    return f"; skipped as not customer payments: {reasons}"


async def _load(settings: Settings, stats: RunStats) -> tuple[int, int]:
    source = await wiring.transaction_source(settings)
    async with contextlib.AsyncExitStack() as resources:
        on_reject = wiring.reject_handler(settings, stats, resources)
        store = await wiring.store(settings)
        resources.push_async_callback(store.close)
        index = SqlTransactionIndex(store.engine)
        loaded = await wiring.load_transactions(index, source, on_reject, stats)
        return loaded, await index.count()
    raise AssertionError("unreachable")
