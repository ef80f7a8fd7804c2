"""Traces: one per ticket, a span per stage and per model call, joined up through the
message headers whichever broker carries them; configured by the OTEL_* variables."""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from tests.llm.test_openai import analysis_request
from tests.pipeline.fakes import FlakyProvider
from tests.pipeline.test_orchestrator import FAST_RETRIES, write_tickets
from tests.pipeline.test_worker import TICKET

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.base import Broker
from supporter.brokers.memory import MemoryBroker
from supporter.config import ConfigError
from supporter.domain.errors import PermanentError, TransientError
from supporter.domain.messages import TicketMessage, encode
from supporter.llm.openai import OpenAIProvider
from supporter.llm.ratelimit import RateLimiter
from supporter.observability import tracing
from supporter.observability.logging import ContextFilter, JsonFormatter, current_context
from supporter.pipeline.orchestrator import Pipeline, PipelineOptions
from supporter.pipeline.stats import StageCounters
from supporter.pipeline.worker import Stage, StageWorker
from supporter.sources.csv import CsvTicketSource
from supporter.store.sql import SqlStore, sqlite_url
from supporter.testing.fake_llm import FakeLLM
from supporter.transactions.sqlite import SqliteTransactionIndex


def set_environment(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> None:
    """Exactly `environ` of the OTEL_* variables."""
    for key in list(os.environ):
        if key.startswith("OTEL_"):
            monkeypatch.delenv(key)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    yield exporter
    tracing.use(None)
    provider.shutdown()


def by_ticket(finished: Sequence[ReadableSpan]) -> dict[str, list[ReadableSpan]]:
    found: dict[str, list[ReadableSpan]] = defaultdict(list)
    for span in finished:
        ticket = (span.attributes or {}).get("supporter.ticket_id")
        if ticket is not None:
            found[str(ticket)].append(span)
    return found


def trace_of(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.trace_id


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def assert_one_chain(spans: list[ReadableSpan], names: list[str]) -> None:
    """One trace, spans in order `names`, each the child of the one before: the context
    went from stage to stage only through the message headers."""
    ordered = sorted(spans, key=lambda span: span.start_time or 0)
    assert [span.name for span in ordered] == names
    assert len({trace_of(span) for span in ordered}) == 1
    assert ordered[0].parent is None
    for before, after in itertools.pairwise(ordered):
        assert parent_id(after) == span_id(before), (before.name, after.name)


def assert_no_ticket_data(finished: Sequence[ReadableSpan], *texts: str) -> None:
    for span in finished:
        for value in (span.attributes or {}).values():
            for text in texts:
                assert text not in str(value), (span.name, value)


async def run_pipeline(tmp_path: Path, broker: Broker, provider: FlakyProvider, count: int) -> None:
    tickets = write_tickets(tmp_path / "t.csv", count)
    store = await SqlStore.open(sqlite_url(tmp_path / "run.db"))
    options = PipelineOptions(policy=FAST_RETRIES, shutdown_timeout=5)
    pipeline = Pipeline(broker, store, provider, DEFAULT_TAXONOMY, [], options)
    index = SqliteTransactionIndex()
    try:
        await pipeline.run(CsvTicketSource(tickets), index, lambda reject: None)
    finally:
        index.close()
        await store.close()


def flaky() -> FlakyProvider:
    # T0001 is refused (dead-lettered at once); T0002 fails once and is retried.
    return FlakyProvider(
        {"T0001": 1, "T0002": 1},
        lambda tid: PermanentError("refused") if tid == "T0001" else TransientError("503"),
    )


def assert_traces_per_ticket(finished: Sequence[ReadableSpan], count: int) -> None:
    tickets = by_ticket(finished)
    assert sorted(tickets) == [f"T{i:04d}" for i in range(count)]
    assert len({trace_of(spans[0]) for spans in tickets.values()}) == count
    for ticket, spans in tickets.items():
        if ticket == "T0001":
            assert_one_chain(spans, ["ingest", "analyze", "sink"])
        elif ticket == "T0002":
            assert_one_chain(spans, ["ingest", "analyze", "analyze", "respond", "sink"])
        else:
            assert_one_chain(spans, ["ingest", "analyze", "respond", "sink"])
    # The bodies say "charged twice for my order N"; customers are C0…C6.
    assert_no_ticket_data(finished, "charged twice")
    customers = {f"C{n}" for n in range(7)}
    assert not customers & {
        str(value) for span in finished for value in (span.attributes or {}).values()
    }


async def test_one_trace_per_ticket_through_the_in_memory_broker(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    # Each stage runs in tasks started before any ticket was published: nothing but the
    # message headers can tell a stage which trace a message belongs to.
    await run_pipeline(tmp_path, MemoryBroker(maxsize=16), flaky(), 8)
    finished = spans.get_finished_spans()
    assert_traces_per_ticket(finished, 8)

    tickets = by_ticket(finished)
    kinds = {span.name: span.kind for span in tickets["T0005"]}
    assert kinds == {
        "ingest": SpanKind.PRODUCER,
        "analyze": SpanKind.CONSUMER,
        "respond": SpanKind.CONSUMER,
        "sink": SpanKind.CONSUMER,
    }
    refused = {span.name: span for span in tickets["T0001"]}
    analyze = refused["analyze"]
    assert analyze.status.status_code == StatusCode.ERROR
    assert (analyze.attributes or {})["error.type"] == "PermanentError"
    assert (analyze.attributes or {})["supporter.outcome"] == "dead_lettered"
    assert (refused["sink"].attributes or {})["supporter.status"] == "failed"
    tries = sorted(
        (span for span in tickets["T0002"] if span.name == "analyze"),
        key=lambda span: span.start_time or 0,
    )
    assert [(span.attributes or {})["supporter.attempt"] for span in tries] == [1, 2]
    assert [(span.attributes or {})["supporter.outcome"] for span in tries] == [
        "retried",
        "succeeded",
    ]
    assert tries[0].status.status_code == StatusCode.ERROR
    assert tries[1].status.status_code == StatusCode.UNSET


async def test_one_trace_per_ticket_through_a_real_broker(
    tmp_path: Path, spans: InMemorySpanExporter, real_broker: Broker
) -> None:
    await run_pipeline(tmp_path, real_broker, flaky(), 6)
    assert_traces_per_ticket(spans.get_finished_spans(), 6)


async def test_log_lines_about_a_ticket_carry_its_trace_id(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("supporter")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        await run_pipeline(tmp_path, MemoryBroker(maxsize=16), flaky(), 4)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    traces = {
        ticket: f"{trace_of(found[0]):032x}"
        for ticket, found in by_ticket(spans.get_finished_spans()).items()
    }
    about_tickets = [line for line in lines if line["ticket_id"] is not None]
    # The retry of T0002 and the dead letter of T0001 are logged at INFO and WARNING.
    assert {line["ticket_id"] for line in about_tickets} >= {"T0001", "T0002"}
    for line in about_tickets:
        assert line["trace_id"] == traces[line["ticket_id"]], line


def test_no_trace_id_outside_a_span() -> None:
    assert current_context()["trace_id"] is None
    assert tracing.trace_id() is None
    assert tracing.headers() == {}


def test_the_trace_id_is_the_current_spans(spans: InMemorySpanExporter) -> None:
    with tracing.tracer().start_as_current_span("work") as span:
        expected = f"{span.get_span_context().trace_id:032x}"
        assert current_context()["trace_id"] == expected
        carried = tracing.headers()
    assert carried["traceparent"].split("-")[1] == expected
    # A consumer continues the trace from the headers alone.
    with tracing.tracer().start_as_current_span("next", context=tracing.parent_of(carried)):
        assert tracing.trace_id() == expected


# --------------------------------------------------------------------------- model calls


def provider_for(base_url: str) -> OpenAIProvider:
    return OpenAIProvider(
        "gpt-4o",
        api_key="sk-test-trace",
        base_url=base_url,
        limiter=RateLimiter(rpm=None, tpm=None, concurrency=4),
        request_timeout=5.0,
    )


async def test_each_model_call_is_a_span_under_the_stage(
    llm: tuple[FakeLLM, str], spans: InMemorySpanExporter
) -> None:
    fake, base_url = llm
    provider = provider_for(base_url)
    request = analysis_request("SECRET-BODY-TEXT I was charged twice.")
    with tracing.tracer().start_as_current_span("analyze") as stage:
        fake.config.error_rates = {429: 1.0}
        with pytest.raises(TransientError):
            await provider.analyze(request)
        fake.config.error_rates = {}
        answer = await provider.analyze(request)
    await provider.aclose()

    calls = [span for span in spans.get_finished_spans() if span.kind == SpanKind.CLIENT]
    assert [span.name for span in calls] == ["chat gpt-4o", "chat gpt-4o"]
    limited, ok = sorted(calls, key=lambda span: span.start_time or 0)
    for call in calls:
        assert parent_id(call) == stage.get_span_context().span_id
        assert (call.attributes or {})["gen_ai.request.model"] == "gpt-4o"
    assert limited.status.status_code == StatusCode.ERROR
    assert (limited.attributes or {})["error.type"] == "rate_limited"
    assert (ok.attributes or {})["supporter.model.outcome"] == "ok"
    assert (ok.attributes or {})["gen_ai.usage.input_tokens"] == answer.usage.prompt_tokens > 0
    assert (ok.attributes or {})["gen_ai.usage.output_tokens"] == answer.usage.completion_tokens
    assert_no_ticket_data(calls, "SECRET-BODY-TEXT", "sk-test-trace")


async def test_a_model_call_cut_off_by_the_deadline_ends_its_span(
    llm: tuple[FakeLLM, str], spans: InMemorySpanExporter
) -> None:
    fake, base_url = llm
    fake.config.timeout_rate = 1.0
    provider = OpenAIProvider(
        "gpt-4o",
        api_key="sk-test",
        base_url=base_url,
        limiter=RateLimiter(rpm=None, tpm=None, concurrency=4),
        request_timeout=5.0,
        deadline=0.3,
    )
    with pytest.raises(TransientError, match="deadline"):
        await provider.analyze(analysis_request("Charged twice."))
    await provider.aclose()
    (call,) = spans.get_finished_spans()
    assert (call.attributes or {})["error.type"] == "timeout"
    assert call.end_time is not None


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"OTEL_TRACES_EXPORTER": "none"},
        {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
    ],
)
def test_tracing_is_off_unless_configured(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    set_environment(monkeypatch, environ)
    assert tracing.configure("supporter-test") is None
    assert not tracing.on()
    with tracing.tracer().start_as_current_span("probe"):
        assert tracing.trace_id() is None


def test_a_global_provider_set_before_start_up_gets_the_spans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As OpenTelemetry's auto-instrumentation sets one, with no OTEL_* exporter of ours."""
    set_environment(monkeypatch, {})
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing.trace, "get_tracer_provider", lambda: provider)
    try:
        assert tracing.configure("supporter-test") is None
        assert tracing.on()
        with tracing.stage_span(
            "analyze", kind=SpanKind.CONSUMER, queue="tickets", message_id="m-1"
        ):
            assert tracing.headers()
    finally:
        tracing.use(None)
        provider.shutdown()
    assert [span.name for span in exporter.get_finished_spans()] == ["analyze"]


@pytest.mark.parametrize(
    "environ",
    [
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"},
        {"OTEL_TRACES_EXPORTER": "console"},
    ],
)
def test_tracing_starts_when_an_exporter_is_configured(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    set_environment(monkeypatch, environ)
    session = tracing.configure("supporter-test")
    try:
        assert session is not None
        assert session.provider.resource.attributes["service.name"] == "supporter-test"
        with tracing.tracer().start_as_current_span("probe"):
            assert tracing.trace_id() is not None
    finally:
        tracing.shutdown(session)
    # Shut down, the process is back on the (no-op) global provider.
    with tracing.tracer().start_as_current_span("after"):
        assert tracing.trace_id() is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER=zipkin is not supported"),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported",
        ),
    ],
)
def test_an_exporter_supporter_cannot_use_is_a_clear_error(
    environ: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_environment(monkeypatch, environ)
    with pytest.raises(ConfigError, match=message):
        tracing.configure("supporter-test")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"OTEL_SERVICE_NAME": "billing-support"}, "billing-support"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "service.name=eu-support,team=ops"}, "eu-support"),
        ({}, "supporter-test"),
    ],
)
def test_the_environment_names_the_service_over_the_default(
    environ: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_environment(monkeypatch, {"OTEL_TRACES_EXPORTER": "console", **environ})
    session = tracing.configure("supporter-test")
    assert session is not None
    try:
        assert session.provider.resource.attributes["service.name"] == expected
    finally:
        session.shutdown()


def test_a_collector_that_does_not_answer_holds_up_a_stop_only_briefly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracing, "FLUSH_SECONDS", 0.5)
    with socket.socket() as listener:
        # Takes connections and never answers: each export would wait out its timeout
        # (10 s) and then retry with backoff.
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        port = listener.getsockname()[1]
        set_environment(monkeypatch, {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}"})
        session = tracing.configure("supporter-test")
        assert session is not None
        for _ in range(600):
            with tracing.tracer().start_as_current_span("work"):
                pass
        started = time.monotonic()
        session.shutdown()
        assert time.monotonic() - started < 0.5 + 1.5


async def test_a_fallback_answer_is_a_span_that_did_not_fail_and_continues_the_trace(
    spans: InMemorySpanExporter,
) -> None:
    async def refuse(message: TicketMessage) -> TicketMessage:
        raise PermanentError("refused")

    async def fallback(message: TicketMessage) -> TicketMessage:
        return message

    broker = MemoryBroker()
    for queue in ("in", "out", "in.dead"):
        await broker.declare(queue)
    stage = Stage("analyze", "in", "out", TicketMessage, refuse, fallback=fallback)
    worker = StageWorker(stage, broker, FAST_RETRIES, StageCounters(), lambda error: None)
    # Published without a trace context (a foreign publisher): the stage starts one.
    await broker.publish("in", encode(TicketMessage(ticket=TICKET)), message_id="m1")
    async with broker.consume("in", prefetch=1) as deliveries:
        await worker.process(await anext(deliveries))
    async with broker.consume("out", prefetch=1) as deliveries:
        answered = await anext(deliveries)
        await answered.ack()

    (span,) = spans.get_finished_spans()
    attributes = span.attributes or {}
    assert span.parent is None
    assert attributes["supporter.outcome"] == "fell_back"
    assert attributes["error.type"] == "PermanentError"
    assert span.status.status_code == StatusCode.UNSET
    assert answered.headers["traceparent"].split("-")[1] == f"{trace_of(span):032x}"
