"""Prometheus metrics of a run or a worker, in a registry of their own.

Counters are read from `RunStats` when scraped (the stages already keep them),
so the stages call nothing here; only the processing-time histogram is fed as
each message is settled, and the queue depths are asked of the broker at each
scrape. Label values are bounded: stage and queue names, categories of the
taxonomy, priorities, statuses, cause classes — never a ticket or customer id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from supporter.brokers.base import Broker
from supporter.pipeline.circuit import CircuitBreaker, CircuitState
from supporter.pipeline.stats import RunStats

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Model calls take from milliseconds (offline) to a minute (a slow LLM answer).
PROCESSING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    """What `/metrics` shows for one pipeline.

    `stages`: the stages this process runs (all three for `supporter run`, one for a
    worker); `breakers`: the pipeline's circuit breakers by stage, read at each scrape
    (the pipeline fills the mapping as it starts its stages).
    """

    def __init__(
        self,
        stats: RunStats,
        stages: Sequence[str],
        *,
        breakers: Mapping[str, CircuitBreaker] | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        breakers = breakers if breakers is not None else {}
        self.registry.register(_RunCollector(stats, stages, breakers))
        processing = Histogram(
            "supporter_stage_processing_seconds",
            "Seconds from taking a message to settling it, by stage.",
            ["stage"],
            buckets=PROCESSING_BUCKETS,
            registry=self.registry,
        )
        for stage in stages:
            # The same counters the pipeline will use: `stats.stage` keeps the first one.
            stats.stage(stage).on_end = processing.labels(stage=stage).observe
        self._depth = Gauge(
            "supporter_queue_depth",
            "Messages waiting in a queue, as the broker tells it at scrape time.",
            ["queue"],
            registry=self.registry,
        )

    async def refresh_queue_depths(
        self, broker: Broker, queues: Iterable[str], *, patience: float = 2.0
    ) -> None:
        """Ask the broker for each queue's depth (waiting up to `patience` seconds for
        each); a queue it cannot tell is left out."""
        for queue in queues:
            try:
                async with asyncio.timeout(patience):
                    depth = await broker.depth(queue)
            except Exception as error:
                log.debug("no depth for queue %s: %s", queue, error)
                with contextlib.suppress(KeyError):
                    self._depth.remove(queue)
                continue
            self._depth.labels(queue=queue).set(depth)

    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)


class _RunCollector(Collector):
    def __init__(
        self, stats: RunStats, stages: Sequence[str], breakers: Mapping[str, CircuitBreaker]
    ) -> None:
        self._stats = stats
        self._stages = list(stages)
        self._breakers = breakers

    def collect(self) -> Iterator[Metric]:
        yield from self._stage_metrics()
        yield from self._ticket_metrics()
        states = GaugeMetricFamily(
            "supporter_circuit_state",
            "1 for the state each stage's circuit breaker is in, 0 for the others.",
            labels=["stage", "state"],
        )
        for stage, breaker in sorted(self._breakers.items()):
            for state in CircuitState:
                states.add_metric([stage, state.value], 1.0 if breaker.state is state else 0.0)
        yield states

    def _stage_metrics(self) -> Iterator[Metric]:
        def per_stage(name: str, help_text: str) -> CounterMetricFamily:
            return CounterMetricFamily(name, help_text, labels=["stage"])

        consumed = per_stage("supporter_stage_messages_consumed", "Messages taken, by stage.")
        succeeded = per_stage(
            "supporter_stage_messages_succeeded",
            "Messages handled and passed on (or stored, by the sink), by stage.",
        )
        retried = per_stage(
            "supporter_stage_messages_retried", "Messages sent back for a later try, by stage."
        )
        fell_back = per_stage(
            "supporter_stage_messages_fell_back",
            "Messages the fallback provider answered after the provider gave up, by stage.",
        )
        dead = CounterMetricFamily(
            "supporter_stage_messages_dead_lettered",
            "Messages sent to the dead-letter queue, by stage and cause "
            "(invalid, permanent, retries_exhausted).",
            labels=["stage", "reason"],
        )
        in_flight = GaugeMetricFamily(
            "supporter_stage_in_flight",
            "Messages taken and not yet settled, by stage.",
            labels=["stage"],
        )
        for stage in self._stages:
            counters = self._stats.stage(stage)
            consumed.add_metric([stage], counters.consumed)
            succeeded.add_metric([stage], counters.succeeded)
            retried.add_metric([stage], counters.retried)
            fell_back.add_metric([stage], counters.fell_back)
            for cause, count in sorted(counters.dead_letter_causes.items()):
                dead.add_metric([stage, cause], count)
            in_flight.add_metric([stage], counters.in_flight)
        yield from (consumed, succeeded, retried, fell_back, dead, in_flight)

    def _ticket_metrics(self) -> Iterator[Metric]:
        stats = self._stats
        tickets = CounterMetricFamily(
            "supporter_tickets",
            "Ticket outcomes stored by this process, by status, category and priority "
            '("none" for a ticket that failed before analysis).',
            labels=["status", "category", "priority"],
        )
        for (status, category, priority), count in sorted(stats.outcomes.items()):
            tickets.add_metric([status, category, priority], count)
        yield tickets
        yield CounterMetricFamily(
            "supporter_tickets_needs_human",
            "Stored tickets whose analysis or reply asks for a person.",
            value=stats.needs_human,
        )
        yield CounterMetricFamily(
            "supporter_tickets_grounding_failed",
            "Stored replies the grounding check did not pass (unsupported amount, date, id "
            "or a refund promise).",
            value=stats.grounding_failed,
        )
