"""Builds the service's parts from settings: the one place adapters are chosen."""

from __future__ import annotations

from pathlib import Path

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.base import Broker
from supporter.brokers.memory import MemoryBroker
from supporter.config import Settings
from supporter.llm.base import Category, ModelProvider
from supporter.llm.offline import OfflineProvider
from supporter.pipeline.ingest import IngestOptions
from supporter.pipeline.orchestrator import PipelineOptions
from supporter.pipeline.retry import RetryPolicy
from supporter.sinks.base import ResultSink
from supporter.sinks.csv import CsvResultSink
from supporter.sinks.jsonl import JsonlResultSink
from supporter.store.sql import SqlStore, sqlite_url


def taxonomy(settings: Settings) -> list[Category]:
    return list(settings.taxonomy) if settings.taxonomy else list(DEFAULT_TAXONOMY)


def provider(settings: Settings) -> ModelProvider:
    # Only the offline provider exists so far; `provider` is validated by Settings.
    return OfflineProvider(taxonomy(settings))


def broker(settings: Settings) -> Broker:
    return MemoryBroker(maxsize=settings.queue_size)


async def store(settings: Settings) -> SqlStore:
    return await SqlStore.open(sqlite_url(settings.db))


def sinks(settings: Settings, out: Path | None = None) -> list[ResultSink]:
    """JSON Lines at `out` always, and a CSV beside it (same name, .csv) with `--format csv`."""
    path = out if out is not None else settings.out
    result: list[ResultSink] = [JsonlResultSink(path)]
    if "csv" in settings.formats:
        result.append(CsvResultSink(path.with_suffix(".csv")))
    return result


def pipeline_options(settings: Settings) -> PipelineOptions:
    return PipelineOptions(
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
        analyze_concurrency=settings.analyze_concurrency,
        respond_concurrency=settings.respond_concurrency,
        shutdown_timeout=settings.shutdown_timeout,
        force=settings.force,
    )
