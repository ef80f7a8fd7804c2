"""Prometheus metrics of a run or a worker, in a registry of their own.

Counters are read from the run's `RunReadings` (`readings.py`: the interface the
pipeline exposes) when scraped (the stages already keep them), so the stages call
nothing here; only the processing-time histogram is fed as
each message is settled, and the queue depths are asked of the broker at each
scrape. Model calls are counted as the provider reports them (`Metrics` is its
`ModelObserver`). Label values are bounded: stage and queue names, categories of the
taxonomy, priorities, statuses, cause classes, provider and configured model names,
call outcomes — never a ticket or customer id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from supporter.brokers.base import Broker
from supporter.llm.base import ModelCall
from supporter.observability.readings import (
    DEAD_LETTER_CAUSES,
    BreakerReadings,
    CircuitState,
    RunReadings,
)

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Where a worker serves its metrics unless told otherwise (`supporter worker`).
DEFAULT_PORT = 9464
# Model calls take from milliseconds (offline) to a minute (a slow LLM answer).
PROCESSING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    """What `/metrics` shows for one pipeline.

    `stages`: the stages this process runs (all three for `supporter run`, one for a
    worker); `breakers`: the pipeline's circuit breakers by stage, read at each scrape
    (the pipeline fills the mapping as it starts its stages; `watch_breakers` gives them
    to a `Metrics` made before its pipeline, as it must be to observe the model provider).
    """

    def __init__(
        self,
        stats: RunReadings,
        stages: Sequence[str],
        *,
        breakers: Mapping[str, BreakerReadings] | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        breakers = breakers if breakers is not None else {}
        self._run = _RunCollector(stats, stages, breakers)
        self.registry.register(self._run)
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
        self._oldest_age = Gauge(
            "supporter_queue_oldest_age_seconds",
            "Seconds the oldest message waiting in a queue has waited (0 when none "
            "waits), as the broker tells it at scrape time.",
            ["queue"],
            registry=self.registry,
        )
        model = ["provider", "model"]
        self._model_requests = Counter(
            "supporter_model_requests",
            "HTTP calls to the model provider, by outcome (ok, rate_limited, server_error, "
            "timeout, refused, invalid, other).",
            [*model, "outcome"],
            registry=self.registry,
        )
        self._model_seconds = Histogram(
            "supporter_model_request_seconds",
            "Seconds each HTTP call to the model provider took.",
            model,
            buckets=PROCESSING_BUCKETS,
            registry=self.registry,
        )
        self._model_tokens = Counter(
            "supporter_model_tokens",
            "Tokens billed by the model provider, by kind (prompt; cached and cache_write, the "
            "parts of the prompt read from and written to the provider's cache; completion; "
            "reasoning, the part of the completion the model spent reasoning).",
            [*model, "kind"],
            registry=self.registry,
        )
        self._model_cost = Counter(
            "supporter_model_cost_usd",
            "What the model calls cost in USD (0 for a model without a known price).",
            model,
            registry=self.registry,
        )
        self._model_remaining = Gauge(
            "supporter_model_ratelimit_remaining",
            "Requests or tokens the provider's rate limit had left at its last answer.",
            [*model, "kind"],
            registry=self.registry,
        )

    def watch_breakers(self, breakers: Mapping[str, BreakerReadings]) -> None:
        """Read the state of these circuit breakers (a pipeline's) at each scrape."""
        self._run.breakers = breakers

    def watch_helpdesk(self, name: str, requests: Callable[[], Mapping[str, int]]) -> None:
        """Read a helpdesk connector's requests by outcome at each scrape."""
        self._run.helpdesk_requests[name] = requests

    def on_call(self, call: ModelCall) -> None:
        """Count one HTTP call to a model provider (the `ModelObserver` protocol)."""
        labels = {"provider": call.provider, "model": call.model}
        self._model_requests.labels(**labels, outcome=call.outcome).inc()
        self._model_seconds.labels(**labels).observe(call.seconds)
        usage = call.usage
        for kind, tokens in (
            ("prompt", usage.prompt_tokens),
            ("cached", usage.cached_tokens),
            ("cache_write", usage.cache_write_tokens),
            ("completion", usage.completion_tokens),
            ("reasoning", usage.reasoning_tokens),
        ):
            # Touched even at 0, so each kind is there from the first call on.
            self._model_tokens.labels(**labels, kind=kind).inc(tokens)
        self._model_cost.labels(**labels).inc(float(usage.cost_usd))
        for kind, left in call.ratelimit_remaining.items():
            self._model_remaining.labels(**labels, kind=kind).set(left)

    async def refresh_queue_depths(
        self, broker: Broker, queues: Iterable[str], *, patience: float = 2.0
    ) -> None:
        """Ask the broker for each queue's depth and the age of its oldest waiting
        message (waiting up to `patience` seconds for each); what it cannot tell is
        left out."""
        for queue in queues:
            try:
                async with asyncio.timeout(patience):
                    depth = await broker.depth(queue)
            except Exception as error:
                log.debug("no depth for queue %s: %s", queue, error)
                with contextlib.suppress(KeyError):
                    self._depth.remove(queue)
                with contextlib.suppress(KeyError):
                    self._oldest_age.remove(queue)
                continue
            self._depth.labels(queue=queue).set(depth)
            try:
                async with asyncio.timeout(patience):
                    age = await broker.oldest_age(queue)
            except Exception as error:
                log.debug("no oldest age for queue %s: %s", queue, error)
                with contextlib.suppress(KeyError):
                    self._oldest_age.remove(queue)
                continue
            # 0 when nothing waits: a steady series that alerts can compare with a bound.
            self._oldest_age.labels(queue=queue).set(age or 0.0)

    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)


class _RunCollector(Collector):
    def __init__(
        self, stats: RunReadings, stages: Sequence[str], breakers: Mapping[str, BreakerReadings]
    ) -> None:
        self._stats = stats
        self._stages = list(stages)
        self.breakers = breakers
        self.helpdesk_requests: dict[str, Callable[[], Mapping[str, int]]] = {}

    def collect(self) -> Iterator[Metric]:
        yield from self._stage_metrics()
        yield from self._ticket_metrics()
        yield from self._helpdesk_metrics()
        states = GaugeMetricFamily(
            "supporter_circuit_state",
            "1 for the state each stage's circuit breaker is in, 0 for the others.",
            labels=["stage", "state"],
        )
        for stage, breaker in sorted(self.breakers.items()):
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
        parked = per_stage(
            "supporter_stage_messages_parked",
            "Messages sent back without spending a try while their circuit is open "
            "(the write-back stage of a service, during a helpdesk outage), by stage.",
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
            parked.add_metric([stage], counters.parked)
            # Every cause from the start, at 0: a series born at 1 hides its first dead
            # letter from increase() and rate(), and so from the alert on them.
            for cause in DEAD_LETTER_CAUSES:
                dead.add_metric([stage, cause], counters.dead_letter_causes[cause])
            in_flight.add_metric([stage], counters.in_flight)
        yield from (consumed, succeeded, retried, fell_back, parked, dead, in_flight)

    def _helpdesk_metrics(self) -> Iterator[Metric]:
        stats = self._stats
        yield _counters(
            "supporter_helpdesk_webhooks",
            "Webhooks taken from a helpdesk, by outcome (accepted; duplicate: a delivery "
            "taken before).",
            ["helpdesk", "outcome"],
            stats.webhooks.items(),
        )
        yield _counters(
            "supporter_helpdesk_webhooks_rejected",
            "Webhooks refused with 401, by reason (missing_signature, bad_signature, replay, "
            "bad_payload).",
            ["helpdesk", "reason"],
            stats.webhooks_rejected.items(),
        )
        yield _counters(
            "supporter_helpdesk_write_backs",
            "Write-backs settled, by outcome (written, updated, reply_withheld: an approved "
            "public reply not sent, the customer had one, unchanged: that version was "
            "written already, not_received: not the helpdesk's ticket, dead_lettered).",
            ["helpdesk", "outcome"],
            stats.write_backs.items(),
        )
        yield _counters(
            "supporter_helpdesk_requests",
            "HTTP requests to a helpdesk, by outcome (ok, rate_limited, unavailable, "
            "refused, rejected).",
            ["helpdesk", "outcome"],
            (
                ((helpdesk, outcome), count)
                for helpdesk, counts in self.helpdesk_requests.items()
                for outcome, count in counts().items()
            ),
        )

    def _ticket_metrics(self) -> Iterator[Metric]:
        stats = self._stats
        yield _counters(
            "supporter_tickets",
            "Ticket outcomes stored by this process, by status, category and priority "
            '("none" for a ticket that failed before analysis).',
            ["status", "category", "priority"],
            stats.outcomes.items(),
        )
        yield CounterMetricFamily(
            "supporter_tickets_needs_human",
            "Stored tickets whose analysis or reply asks for a person.",
            value=stats.needs_human,
        )
        yield CounterMetricFamily(
            "supporter_tickets_resent",
            "Tickets stuck in received (stored, then lost before their result) that "
            "`serve` sent into the pipeline again.",
            value=stats.resent,
        )
        yield GaugeMetricFamily(
            "supporter_tickets_resend_exhausted",
            "Tickets sent again as often as allowed (resend_limit) and still without a "
            "result, at the last sweep: for a person to look at.",
            value=stats.resend_exhausted,
        )
        yield CounterMetricFamily(
            "supporter_tickets_grounding_failed",
            "Stored replies the grounding check did not pass (unsupported amount, date, id "
            "or a refund promise).",
            value=stats.grounding_failed,
        )


def _counters(
    name: str,
    help_text: str,
    labels: Sequence[str],
    counts: Iterable[tuple[tuple[str, ...], int]],
) -> CounterMetricFamily:
    """A counter family of one sample per label values, in the order of those values."""
    family = CounterMetricFamily(name, help_text, labels=labels)
    for values, count in sorted(counts):
        family.add_metric(values, count)
    return family
