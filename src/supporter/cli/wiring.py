"""Builds the service's parts from settings: the one place adapters are chosen."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.base import Broker, dead_letter_queue
from supporter.brokers.memory import MemoryBroker
from supporter.classifier import ModelError, missing_library
from supporter.classifier.metadata import ModelMetadata, read_metadata
from supporter.cli.ui import console
from supporter.config import ConfigError, Settings
from supporter.domain.errors import TransientError
from supporter.domain.models import Reject
from supporter.helpdesks import registry as helpdesk_registry
from supporter.helpdesks.base import Helpdesk, WriteBackMode
from supporter.helpdesks.registry import HelpdeskConfigError
from supporter.knowledge.base import (
    IndexChanges,
    IndexWithVectors,
    KnowledgeIndex,
    KnowledgeIndexError,
)
from supporter.knowledge.documents import KnowledgeError, ProblemHandler
from supporter.knowledge.retrieval import Retriever
from supporter.llm.base import Category, ModelObserver, ModelProvider
from supporter.llm.cache import ResultCache
from supporter.llm.cascade import CascadeProvider
from supporter.llm.catalog import ModelCatalog, ServiceTier, shutdown_notice
from supporter.llm.local import LocalProvider
from supporter.llm.offline import OfflineProvider
from supporter.llm.pricing import PriceTable
from supporter.llm.ratelimit import RateLimiter
from supporter.observability.metrics import Metrics
from supporter.pipeline.ingest import IngestOptions
from supporter.pipeline.orchestrator import SERVICE_STORE_RETRIES, Pipeline, PipelineOptions
from supporter.pipeline.retry import RetryPolicy
from supporter.pipeline.stages import TICKETS
from supporter.pipeline.stats import RunStats
from supporter.pipeline.write_back import WriteBackRoute, WriteBackSetup
from supporter.sinks.base import ResultSink
from supporter.sinks.csv import CsvResultSink
from supporter.sinks.jsonl import JsonlResultSink
from supporter.sinks.rejects import JsonlRejectWriter
from supporter.sources.base import CountsSkips, RejectHandler, TicketSource, TransactionSource
from supporter.sources.formats import FieldLimits, ReadOptions
from supporter.sources.registry import open_tickets, open_transactions
from supporter.sources.sql import SqlTicketSource, SqlTransactionSource, is_database_url
from supporter.store.batches import SqlBatchLedger
from supporter.store.helpdesks import SqlHelpdeskState
from supporter.store.sql import SqlStore, redacted, sqlite_url
from supporter.store.workers import SqlWorkerRegistry
from supporter.transactions.base import TransactionIndex
from supporter.transactions.sql import SqlTransactionIndex
from supporter.transactions.sqlite import SqliteTransactionIndex

# The adapters a run may not use are imported where they are chosen: a run on the
# embedded defaults never loads the OpenAI SDK, the broker clients, Stripe's SDK, the
# knowledge index's libraries or aiohttp, which took a quarter of a 10,000-ticket run
# to import (tests/cli/test_lazy_imports.py keeps it so).
if TYPE_CHECKING:
    from supporter.llm.batch import BatchLedger, BatchProgress, BatchProvider
    from supporter.llm.openai_wire import Api
    from supporter.observability.server import MetricsServer
    from supporter.transactions.stripe import StripeTransactionIndex

log = logging.getLogger(__name__)


def taxonomy(settings: Settings) -> list[Category]:
    configured = list(settings.taxonomy) if settings.taxonomy else list(DEFAULT_TAXONOMY)
    if settings.provider not in ("local", "cascade"):
        return configured
    # A trained model's labels are the taxonomy; a configured category of the same
    # name lends them its description (for the cascade's LLM) and keywords.
    known = {category.name: category for category in configured}
    return [known.get(label) or Category(name=label) for label in _model_metadata(settings).labels]


def _model_path(settings: Settings) -> Path:
    if settings.model_path is None:
        raise ConfigError(
            f"--provider {settings.provider} needs --model-path: a directory made by `supporter train`"
        )
    return settings.model_path


def _model_metadata(settings: Settings) -> ModelMetadata:
    try:
        return read_metadata(_model_path(settings))
    except ModelError as error:
        raise ConfigError(str(error)) from None


def local_provider(settings: Settings) -> LocalProvider:
    """The classifier at `model_path` behind the model port (ConfigError if it cannot load)."""
    path = _model_path(settings)
    try:
        # Imported here: NumPy and scikit-learn are slow to import and an optional extra.
        from supporter.classifier.model import TextClassifier
    except ImportError as error:
        raise ConfigError(str(missing_library(error))) from None
    try:
        classifier = TextClassifier.load(path)
    except ModelError as error:
        raise ConfigError(str(error)) from None
    return LocalProvider(classifier, taxonomy(settings))


def provider(
    settings: Settings,
    resources: contextlib.AsyncExitStack,
    observer: ModelObserver | None = None,
    ledger: BatchLedger | None = None,
) -> ModelProvider:
    """The configured provider; whatever it holds open is closed with `resources`.
    `observer` (the metrics) is told of each call to a remote model; `ledger` (the
    store) remembers the batches of `--batch`.

    Raises ConfigError when it cannot be set up (no API key, a bad price table).
    """
    if settings.batch and settings.provider not in ("openai", "cascade"):
        raise ConfigError("--batch needs --provider openai (or cascade): the Batch API is OpenAI's")
    if settings.provider == "offline":
        return OfflineProvider(taxonomy(settings))
    if settings.provider == "local":
        return local_provider(settings)
    from supporter.llm.openai import OpenAIProvider

    try:
        catalog = ModelCatalog.load(settings.models_file)
        notice = shutdown_notice(catalog.info(settings.model), datetime.now(UTC).date())
        if notice is not None:
            log.warning("%s", notice)
        prices = PriceTable.from_mapping(settings.prices, catalog=catalog)
        limiter = RateLimiter(settings.rpm, settings.tpm, settings.llm_concurrency)
        cache = None
        if settings.llm_cache is not None:
            cache = ResultCache(settings.llm_cache)
            resources.callback(cache.close)
        timeout, deadline = model_timeouts(settings)
        remote: ModelProvider = OpenAIProvider(
            settings.model,
            base_url=settings.base_url,
            limiter=limiter,
            request_timeout=timeout,
            deadline=deadline,
            cache=cache,
            prices=prices,
            service_tier=SETTING_TIERS[settings.service_tier],
            api=model_api(settings),
            observer=observer,
        )
        resources.push_async_callback(remote.aclose)
        if settings.batch:
            remote = _batch_provider(settings, remote, prices, cache, observer, ledger)
            resources.push_async_callback(remote.aclose)
    except ValueError as error:
        raise ConfigError(str(error)) from error
    if settings.provider == "cascade":
        return CascadeProvider(local_provider(settings), remote, settings.threshold)
    return remote


# `--service-tier` as the price table names the tiers.
SETTING_TIERS: dict[str, ServiceTier] = {
    "default": "standard",
    "flex": "flex",
    "priority": "priority",
}
# https://developers.openai.com/api/docs/guides/flex-processing: "increase default
# timeout to 15 minutes"; flex requests may wait for capacity.
FLEX_REQUEST_TIMEOUT = 900.0


def model_api(settings: Settings) -> Api:
    """The API asked for, else Responses where the server is OpenAI's own (no base_url,
    or api.openai.com) and Chat Completions elsewhere: compatible servers speak that."""
    if settings.api is not None:
        return settings.api
    base_url = settings.base_url or os.environ.get("OPENAI_BASE_URL")
    if not base_url:
        return "responses"
    return "responses" if urlsplit(base_url).hostname == "api.openai.com" else "chat"


def model_timeouts(settings: Settings) -> tuple[float, float]:
    """One request's timeout and one call's deadline (waiting for a slot included)."""
    flex = settings.service_tier == "flex"
    timeout = settings.request_timeout or (FLEX_REQUEST_TIMEOUT if flex else 30.0)
    deadline = settings.ticket_deadline or (timeout + 60.0 if flex else 120.0)
    return timeout, deadline


def _batch_provider(
    settings: Settings,
    realtime: ModelProvider,
    prices: PriceTable,
    cache: ResultCache | None,
    observer: ModelObserver | None,
    ledger: BatchLedger | None,
) -> BatchProvider:
    if ledger is None:
        raise ConfigError("--batch is for `supporter run`: its store remembers the batches")
    from supporter.llm.batch import BatchProvider, BatchSettings

    batch_settings = BatchSettings(
        max_requests=settings.batch_max_requests,
        max_bytes=settings.batch_max_bytes,
        gather_seconds=settings.batch_gather_seconds,
        poll_interval=settings.batch_poll_interval,
    )
    return BatchProvider(
        settings.model,
        ledger,
        batch_settings,
        base_url=settings.base_url,
        cache=cache,
        prices=prices,
        observer=observer,
        api=model_api(settings),
        realtime=realtime if settings.batch_fallback == "realtime" else None,
        on_progress=show_batch_progress,
    )


def show_batch_progress(progress: BatchProgress) -> None:
    console.print(
        f"batch {progress.batch_id}: {progress.status}, {progress.completed:,} of "
        f"{progress.total:,} answered, {progress.failed:,} failed",
        highlight=False,
    )


def fallback(settings: Settings) -> ModelProvider | None:
    return OfflineProvider(taxonomy(settings)) if settings.fallback == "offline" else None


def stage_concurrency(settings: Settings, given: int | None) -> int:
    if given is not None:
        return given
    if settings.batch:
        # Every request of a batch waits for it at once: a file's worth in flight.
        return settings.batch_max_requests
    return 8 if settings.provider == "offline" else settings.llm_concurrency


def broker(settings: Settings) -> Broker:
    """The broker named by `broker_url`; queues are bounded by `queue_size` on each.
    ConfigError for a URL that cannot be used (its password masked in the message)."""
    url = settings.broker_url
    if url.startswith("memory://"):
        return MemoryBroker(maxsize=settings.queue_size)
    try:
        if url.startswith(("amqp://", "amqps://")):
            from supporter.brokers.rabbitmq import RabbitMQBroker

            return RabbitMQBroker(
                url, prefix=settings.broker_prefix, max_length=settings.queue_size
            )
        if url.startswith(("redis://", "rediss://")):
            from supporter.brokers.redis import RedisStreamsBroker

            return RedisStreamsBroker(
                url,
                prefix=settings.broker_prefix,
                max_length=settings.queue_size,
                claim_idle=settings.broker_claim_idle,
            )
        if url.startswith("kafka://"):
            from supporter.brokers.kafka import KafkaBroker

            return KafkaBroker(
                url,
                prefix=settings.broker_prefix,
                partitions=settings.kafka_partitions,
                replication_factor=settings.kafka_replication_factor,
                max_length=settings.queue_size,
                session_timeout=settings.kafka_session_timeout,
                revoke_wait=settings.kafka_revoke_wait,
            )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    raise ConfigError(
        f"unknown broker URL {url.split('://')[0]}://…: use memory://, amqp://, redis:// or kafka://"
    )


async def store(settings: Settings) -> SqlStore:
    return await SqlStore.open(settings.store_url or sqlite_url(settings.db))


def sinks(settings: Settings, out: Path | None = None, *, append: bool = False) -> list[ResultSink]:
    """JSON Lines at `out` always, and a CSV beside it (same name, .csv) with `--format csv`."""
    path = out if out is not None else settings.out
    result: list[ResultSink] = [JsonlResultSink(path, append=append)]
    if "csv" in settings.formats:
        result.append(CsvResultSink(path.with_suffix(".csv"), append=append))
    return result


def pipeline_options(settings: Settings, *, service: bool = False) -> PipelineOptions:
    """The pipeline's options from `settings`; a `service` (a worker, `serve`) waits
    minutes for a store that is down, a run seconds. A worker, `serve` and `ingest`
    wait `broker_wait` seconds for a broker they cannot reach yet."""
    options = PipelineOptions(
        ingest=IngestOptions(
            open_statuses=frozenset(settings.open_statuses),
            lookback_days=settings.lookback_days,
            max_transactions=settings.max_transactions,
        ),
        policy=RetryPolicy(
            max_attempts=settings.max_attempts,
            base_delay=settings.retry_base_delay,
            max_delay=max(settings.retry_max_delay, settings.retry_base_delay),
        ),
        analyze_concurrency=stage_concurrency(settings, settings.analyze_concurrency),
        respond_concurrency=stage_concurrency(settings, settings.respond_concurrency),
        circuit_threshold=settings.circuit_threshold,
        circuit_reset_after=settings.circuit_reset_after,
        shutdown_timeout=settings.shutdown_timeout,
        force=settings.force,
        heartbeat_interval=settings.heartbeat_interval,
        broker_wait=settings.broker_wait,
    )
    return dataclasses.replace(options, store_retries=SERVICE_STORE_RETRIES) if service else options


async def pipeline(
    settings: Settings,
    resources: contextlib.AsyncExitStack,
    stats: RunStats,
    out: Path | None = None,
    *,
    one_process: bool = True,
    append: bool = False,
    write_results: bool = True,
    observer: ModelObserver | None = None,
    transactions: TransactionIndex | None = None,
    helpdesk: Helpdesk | None = None,
    service: bool = False,
) -> tuple[Pipeline, SqlStore]:
    """Every part a run needs, opened now and closed with `resources`.

    `one_process` (run, dlq replay) keeps the stages in memory whatever
    `broker_url` says: their completion counting needs queues of their own.
    `append` adds to the results file (a worker that restarts) instead of rewriting it;
    without `write_results` (ingest, analyze and respond workers) no file is opened.
    `observer` (the `Metrics` later given to `serve_metrics`) sees the model calls.
    `transactions` is where the analyze stage looks up the transactions of a ticket
    that came without them (default: the store's table; Stripe's API with stripe://).
    With `helpdesk` and `write_back` set, results (or approved drafts) go back into
    that helpdesk through `helpdesk`, or a connector opened when the stage starts.
    A `service` (a worker, `serve`) outlasts a store that is down for minutes.
    """
    result_sinks = sinks(settings, out, append=append) if write_results else []
    for sink in result_sinks:
        resources.callback(sink.close)
    result_store = await store(settings)
    resources.push_async_callback(result_store.close)
    message_broker = MemoryBroker(maxsize=settings.queue_size) if one_process else broker(settings)
    resources.push_async_callback(message_broker.close)
    built = Pipeline(
        message_broker,
        result_store,
        provider(settings, resources, observer, SqlBatchLedger(result_store.engine)),
        taxonomy(settings),
        result_sinks,
        pipeline_options(settings, service=service),
        stats,
        fallback=fallback(settings),
        transactions=transactions or SqlTransactionIndex(result_store.engine),
        workers=SqlWorkerRegistry(result_store.engine),
        knowledge=await knowledge_retriever(settings, resources),
        write_back=write_back_setup(settings, resources, result_store, helpdesk),
    )
    return built, result_store


def helpdesk_connector(settings: Settings, resources: contextlib.AsyncExitStack) -> Helpdesk:
    """The connector of `settings.helpdesk`, closed with `resources`. Raises
    `HelpdeskConfigError` (a ConfigError) for missing or malformed settings."""
    name = settings.helpdesk
    if name is None:
        raise ConfigError("no helpdesk: pass --helpdesk or set SUPPORTER_HELPDESK")
    try:
        connector = helpdesk_registry.connect(name, config=settings.helpdesks.get(name))
    except HelpdeskConfigError as error:
        raise ConfigError(str(error)) from None
    resources.push_async_callback(connector.aclose)
    return connector


def watch_helpdesk(metrics: Metrics, helpdesk: Helpdesk) -> None:
    """/metrics counts the connector's requests by outcome."""
    metrics.watch_helpdesk(helpdesk.name, helpdesk.request_counts)


def write_back_setup(
    settings: Settings,
    resources: contextlib.AsyncExitStack,
    store: SqlStore,
    helpdesk: Helpdesk | None = None,
) -> WriteBackSetup | None:
    """The write-back `settings` ask for, or None. The connector is `helpdesk`, or opened
    when the write-back stage starts (a sink worker that only routes never opens it)."""
    if settings.helpdesk is None or settings.write_back is None:
        return None
    opened: list[Helpdesk] = [helpdesk] if helpdesk is not None else []

    def connect() -> Helpdesk:
        if not opened:
            opened.append(helpdesk_connector(settings, resources))
        return opened[0]

    return WriteBackSetup(
        route=WriteBackRoute(
            settings.helpdesk, WriteBackMode(settings.write_back), settings.public_replies
        ),
        state=SqlHelpdeskState(store.engine),
        connect=connect,
        public_replies=settings.public_replies,
        concurrency=settings.write_back_concurrency,
    )


async def serve_metrics(
    settings: Settings,
    resources: contextlib.AsyncExitStack,
    pipeline: Pipeline,
    store: SqlStore,
    stages: Sequence[str],
    *,
    default_port: int | None,
    metrics: Metrics | None = None,
) -> MetricsServer | None:
    """Start `/metrics`, `/healthz` and `/readyz` on `metrics_port` (or `default_port`)
    unless it is 0 or unset, on a free port (logged) when that one is taken; stopped
    with `resources`. None when nothing is served. Call it before the pipeline
    runs: the processing-time histogram is hooked to the stages' counters when `Metrics`
    is made (here, unless `metrics` is given: one made before the pipeline, for `stats`
    and `stages`, which also observes the model provider)."""
    port = settings.metrics_port if settings.metrics_port is not None else default_port
    if not port:
        return None
    from supporter.observability.server import MetricsServer

    broker = pipeline.broker

    async def broker_answers() -> None:
        await broker.depth(TICKETS)

    if metrics is None:
        metrics = Metrics(pipeline.stats, stages)
    metrics.watch_breakers(pipeline.breakers)
    server = MetricsServer(
        metrics,
        broker,
        [*pipeline.queues, *(dead_letter_queue(queue) for queue in pipeline.queues)],
        {"broker": broker_answers, "store": store.ping},
        port=port,
    )
    try:
        await server.start()
    except OSError as error:
        # The worker's job is its queue, not this endpoint: another process on the
        # host (a second worker started the same way) may hold the port. Take a free
        # one instead; the heartbeat tells `supporter status` which.
        server.port = 0
        try:
            await server.start()
        except OSError as again:
            log.warning(
                "metrics not served: port %d is unavailable (%s), and so is any other (%s)",
                port,
                _why(error),
                _why(again),
            )
            return None
        log.warning(
            "metrics port %d is unavailable (%s): serving metrics on port %d instead",
            port,
            _why(error),
            server.port,
        )
    resources.push_async_callback(server.stop)
    return server


def _why(error: OSError) -> str:
    # asyncio's bind error carries the errno but words of its own around it.
    return os.strerror(error.errno) if error.errno else str(error)


def read_options(settings: Settings, column_map: dict[str, str]) -> ReadOptions:
    limits = FieldLimits(body=settings.max_body_chars, record=settings.max_record_chars)
    return ReadOptions(column_map=column_map, limits=limits, date_order=settings.date_order)


async def ticket_source(settings: Settings) -> TicketSource:
    """The tickets file or database, checked before any work (SourceError if unusable)."""
    assert settings.tickets is not None
    database = await _database_source(
        SqlTicketSource,
        settings.tickets,
        settings.tickets_query,
        settings.tickets_table,
        settings.ticket_columns,
        settings.sql_batch_size,
    )
    if database is not None:
        return database
    options = read_options(settings, settings.ticket_columns)
    source, _ = open_tickets(settings.tickets, forced=settings.tickets_format, options=options)
    return source


async def transaction_source(settings: Settings) -> TransactionSource:
    """The transactions file or database, checked before any work (SourceError if unusable)."""
    assert settings.transactions is not None
    database = await _database_source(
        SqlTransactionSource,
        settings.transactions,
        settings.transactions_query,
        settings.transactions_table,
        settings.transaction_columns,
        settings.sql_batch_size,
    )
    if database is not None:
        return database
    options = read_options(settings, settings.transaction_columns)
    source, _ = open_transactions(
        settings.transactions, forced=settings.transactions_format, options=options
    )
    return source


_Sql = TypeVar("_Sql", SqlTicketSource, SqlTransactionSource)


async def _database_source(
    kind: type[_Sql],
    location: str,
    query: str | None,
    table: str | None,
    column_map: dict[str, str],
    batch_size: int,
) -> _Sql | None:
    """The checked database source when `location` is a database URL, else None (a file)."""
    if not is_database_url(location):
        _no_sql_options(kind.source_name, query, table)
        return None
    source = kind(
        location, query=query, table_name=table, column_map=column_map, batch_size=batch_size
    )
    await source.check()
    return source


def is_stripe(location: str | None) -> bool:
    """`--transactions stripe://`: Stripe's API, asked when each ticket is analysed."""
    return location is not None and location.strip().lower().startswith("stripe://")


async def stripe_index(
    settings: Settings, resources: contextlib.AsyncExitStack
) -> StripeTransactionIndex:
    """The Stripe index with STRIPE_API_KEY, its key checked by one request before any
    work (ConfigError when it is missing, refused, or Stripe cannot be reached)."""
    from supporter.transactions.stripe import StripeKeyError, StripeTransactionIndex

    key = os.environ.get("STRIPE_API_KEY", "").strip()
    if not key:
        raise ConfigError(
            "--transactions stripe:// needs STRIPE_API_KEY: a secret or restricted key "
            "that may read customers, charges and disputes"
        )
    index = StripeTransactionIndex(
        key,
        base_url=settings.stripe_base_url,
        rate=settings.stripe_rate,
        cache_seconds=settings.stripe_cache_seconds,
    )
    resources.push_async_callback(index.aclose)
    try:
        await index.check()
    except (StripeKeyError, TransientError) as error:
        raise ConfigError(f"Stripe: {error}") from None
    return index


def _no_sql_options(name: str, query: str | None, table: str | None) -> None:
    if query is not None or table is not None:
        option = f"--{name}-query" if query is not None else f"--{name}-table"
        raise ConfigError(
            f"{option} reads a database: give --{name} a database URL "
            "(postgresql://…, mysql://…, mariadb://… or sqlite:///…), not a file"
        )


async def load_transactions(
    index: SqliteTransactionIndex | SqlTransactionIndex,
    source: TransactionSource,
    on_reject: RejectHandler,
    stats: RunStats,
) -> int:
    """Load the source into the index; count what it loaded and what it skipped."""
    stats.transactions = await index.load(source.transactions(on_reject))
    if isinstance(source, CountsSkips):
        stats.skipped_transactions.update(source.skipped)
    return stats.transactions


def reject_handler(
    settings: Settings, stats: RunStats, resources: contextlib.AsyncExitStack
) -> RejectHandler:
    """Counts each rejected row and writes it to the rejects file (closed with `resources`)."""
    writer = JsonlRejectWriter(settings.rejects)
    resources.callback(writer.close)

    def on_reject(reject: Reject) -> None:
        stats.count_reject(reject)
        writer(reject)

    return on_reject


def missing_knowledge_index(settings: Settings, folder: str) -> str | None:
    """Why the local knowledge index file cannot be searched (None when it can, or when
    the index lives in the store); `folder` is what to index, for the hint."""
    if settings.knowledge_in_store:
        return None
    path = settings.knowledge_index_path
    if path.is_dir():
        return f"the knowledge index {path} is a folder; give the path of a file"
    if not path.is_file():
        return f"no knowledge index at {path}: run `supporter knowledge index {folder}` first"
    return None


async def knowledge_retriever(
    settings: Settings, resources: contextlib.AsyncExitStack
) -> Retriever | None:
    """The retriever over the index beside the store when `knowledge` is set (closed
    with `resources`); ConfigError when there is no usable index yet."""
    if settings.knowledge is None:
        return None
    if problem := missing_knowledge_index(settings, str(settings.knowledge)):
        raise ConfigError(problem)
    try:
        index = await open_knowledge_index(settings, complete=True)
    except KnowledgeIndexError as error:
        raise ConfigError(str(error)) from None
    resources.push_async_callback(index.close)
    return Retriever(index, settings.knowledge_passages)


def knowledge_index_name(settings: Settings) -> str:
    """Where the index is, for messages: its file, or the store's database."""
    if settings.knowledge_in_store:
        from supporter.knowledge.postgres import SCHEMA

        return f"{redacted(settings.store_url or '')} (schema {SCHEMA})"
    return str(settings.knowledge_index_path)


async def open_knowledge_index(settings: Settings, *, complete: bool) -> KnowledgeIndex:
    """The index beside the store: tables in a PostgreSQL store's database, else a file
    (made when missing); with `knowledge_embeddings`, fused with the passages'
    embeddings. `complete`: embeddings must be there already (a reader cannot add
    them). KnowledgeIndexError when it cannot be used."""
    # Imported here: the index's stemmer is slow to import, and a run without
    # --knowledge never needs it.
    lexical: IndexWithVectors
    if settings.knowledge_in_store:
        from supporter.knowledge.postgres import PostgresKnowledgeIndex

        lexical = await PostgresKnowledgeIndex.open(settings.store_url or "")
    else:
        from supporter.knowledge.sqlite import SqliteKnowledgeIndex

        path = settings.knowledge_index_path
        path.parent.mkdir(parents=True, exist_ok=True)
        lexical = SqliteKnowledgeIndex(path)
    if not settings.knowledge_embeddings:
        return lexical
    try:
        from supporter.classifier import ModelError
        from supporter.classifier.encoders import load_encoder
        from supporter.classifier.metadata import MINILM
        from supporter.knowledge.fused import FusedKnowledgeIndex

        encoder = load_encoder(MINILM)
        return await FusedKnowledgeIndex.open(lexical, encoder, complete=complete)
    except ImportError as error:
        await lexical.close()
        raise KnowledgeIndexError(
            f"knowledge embeddings need the embeddings extra ({error.name} is missing): "
            "pip install 'supporter[embeddings]'"
        ) from None
    except (ModelError, KnowledgeIndexError) as error:
        await lexical.close()
        raise KnowledgeIndexError(str(error)) from None


async def index_knowledge(
    source: Path, settings: Settings, on_problem: ProblemHandler
) -> IndexChanges:
    """Bring the index beside the store up to date with `source` (a folder or a file).

    A source with nothing usable in it is an error, not an order to empty the index."""
    from supporter.knowledge.folder import read_knowledge

    documents = list(read_knowledge(source, on_problem))
    if not documents:
        raise KnowledgeError(str(source), None, "no usable article or saved reply in it")
    knowledge = await open_knowledge_index(settings, complete=False)
    try:
        return await knowledge.update(documents)
    finally:
        await knowledge.close()
