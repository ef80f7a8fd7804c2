"""OpenTelemetry traces: one trace per ticket, a span per stage and per model call.

Off unless configured by the standard environment variables: tracing starts when
`OTEL_TRACES_EXPORTER` names an exporter (`otlp`, or `console` to print spans) or an
`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, and
`OTEL_SDK_DISABLED` is not true. The OTLP exporter (HTTP/protobuf) then reads its
endpoint, headers, timeout and compression from the `OTEL_EXPORTER_OTLP_*` variables,
and the resource its `service.name` from `OTEL_SERVICE_NAME`.

A ticket's trace begins where the ticket is published (ingest, or a dead-letter
replay). Every message carries the context of the span that published it in its
headers (W3C `traceparent`, or whatever `OTEL_PROPAGATORS` chooses), and each stage
continues it, whichever broker and process the message went through.

Spans name tickets by id and stages by name; they never hold ticket text, customer
data or error messages (which can quote them): an error is recorded by its type.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from supporter.config import ConfigError

if TYPE_CHECKING:
    # The SDK is loaded only when tracing is configured: a run without traces needs
    # the API alone.
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)

INSTRUMENTATION = "supporter"
_EXPORTERS = ("otlp", "console")
# How long a stopping process waits to send its last spans.
FLUSH_SECONDS = 5.0
_AFTER_SHUTDOWN_SECONDS = 0.5

# The tracer spans go to, decided once at start-up (`configure`, or `use`); None while
# tracing is off. The pipeline asks `on()` several times per message: one global read,
# where asking OpenTelemetry for its global provider looks up the environment each time.
_tracer: trace.Tracer | None = None


def tracer() -> trace.Tracer:
    if _tracer is not None:
        return _tracer
    return trace.get_tracer_provider().get_tracer(INSTRUMENTATION)


def on() -> bool:
    """Whether spans go anywhere. When off, the pipeline skips spans altogether."""
    return _tracer is not None


def use(provider: trace.TracerProvider | None) -> None:
    """Make spans go to `provider` (None: tracing off)."""
    global _tracer
    _tracer = None if provider is None else provider.get_tracer(INSTRUMENTATION)


def _adopt_global() -> None:
    """Send spans to the global provider when someone set one before start-up (the
    OpenTelemetry auto-instrumentation does), else leave tracing off."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        use(provider)


def enabled(environ: Mapping[str, str]) -> bool:
    """Whether the environment asks for traces (see the module's doc)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = _named_exporters(environ)
    if exporters is not None:
        return bool(exporters)
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _named_exporters(environ: Mapping[str, str]) -> list[str] | None:
    """`OTEL_TRACES_EXPORTER` as a list (`none` → empty), or None when unset."""
    raw = environ.get("OTEL_TRACES_EXPORTER")
    if raw is None or not raw.strip():
        return None
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    return [name for name in names if name != "none"]


def _exporter(name: str, environ: Mapping[str, str]) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    if protocol != "http/protobuf":
        raise ConfigError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol} is not supported: Supporter exports "
            "traces over http/protobuf (a collector's port 4318)"
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


@dataclass(frozen=True)
class Tracing:
    """Tracing as configured for this process; `shutdown` sends what is left."""

    provider: TracerProvider
    exporters: tuple[SpanExporter, ...]
    names: tuple[str, ...]

    def shutdown(self) -> None:
        """Send the spans still buffered, waiting at most FLUSH_SECONDS for a collector
        that does not answer (its exporter would otherwise retry for half a minute and
        hold up a stopping worker), then stop."""
        # The SDK's own flush ignores its timeout (opentelemetry-python#4568): stop in a
        # thread, and past the deadline shut the exporters, which ends their retries.
        stopper = threading.Thread(target=self._stop, name="otel-shutdown", daemon=True)
        try:
            stopper.start()
            stopper.join(FLUSH_SECONDS)
            if stopper.is_alive():
                log.warning(
                    "could not send the last spans to %s within %gs: dropped",
                    ", ".join(self.names),
                    FLUSH_SECONDS,
                )
                for exporter in self.exporters:
                    exporter.shutdown()
                # A request in the air ends at its own timeout: not waited for (the
                # thread is a daemon), so the whole stop stays within the bound.
                stopper.join(_AFTER_SHUTDOWN_SECONDS)
        finally:
            use(None)

    def _stop(self) -> None:
        try:
            self.provider.shutdown()
        except Exception as error:
            # Traces help; they must never fail the command that made them.
            log.warning("could not send the last spans: %s", type(error).__name__)


def configure(service: str) -> Tracing | None:
    """Start tracing if the environment (`os.environ`, which the SDK's exporter reads
    too) asks for it; None when it does not (spans then go to a global provider set
    before start-up, as by auto-instrumentation, or nowhere).

    `service` names the process (`supporter-analyze`, …) unless `OTEL_SERVICE_NAME`
    (or `service.name` in `OTEL_RESOURCE_ATTRIBUTES`) does. Raises ConfigError for an
    exporter Supporter cannot use.
    """
    environ = os.environ
    if not enabled(environ):
        _adopt_global()
        return None
    names = tuple(_named_exporters(environ) or ["otlp"])
    unknown = sorted(set(names) - set(_EXPORTERS))
    if unknown:
        raise ConfigError(
            f"OTEL_TRACES_EXPORTER={','.join(unknown)} is not supported: use otlp, console or none"
        )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporters = tuple(_exporter(name, environ) for name in names)
    # Resource.create() reads OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, and names
    # an unnamed service `unknown_service…`: ours is the name then.
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = Resource.create({"service.name": service})
    provider = TracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    use(provider)
    log.info("tracing on: spans go to %s", ", ".join(names))
    return Tracing(provider, exporters, names)


def shutdown(session: Tracing | None) -> None:
    """`session.shutdown()`, for a process that may have no tracing (None)."""
    if session is not None:
        session.shutdown()


# --------------------------------------------------------------------------- context


def headers() -> dict[str, str]:
    """The current span's context as message headers (empty when there is none)."""
    carrier: dict[str, str] = {}
    if on():
        propagate.inject(carrier)
    return carrier


def parent_of(message_headers: Mapping[str, str]) -> otel_context.Context:
    """The context a message was published in, from its headers (an empty one while
    tracing is off: no span continues it)."""
    if not on():
        return _NO_CONTEXT
    return propagate.extract(message_headers)


_NO_CONTEXT = otel_context.Context()


def trace_id() -> str | None:
    """The current trace's id as 32 hex digits, or None outside any trace."""
    span_context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(span_context.trace_id) if span_context.is_valid else None


@contextlib.contextmanager
def stage_span(
    name: str,
    *,
    kind: SpanKind,
    queue: str,
    message_id: str,
    parent: otel_context.Context | None = None,
) -> Iterator[Span]:
    """A span around one message's work in one stage, current inside the block.

    An exception leaving the block marks the span as an error by the exception's type
    only (its text could quote the ticket). With tracing off, a span that records
    nothing, at no cost."""
    if not on():
        yield trace.INVALID_SPAN
        return
    attributes = {
        "messaging.destination.name": queue,
        "messaging.message.id": message_id,
        "messaging.operation.type": "send" if kind == SpanKind.PRODUCER else "process",
        "supporter.stage": name,
    }
    with tracer().start_as_current_span(
        name,
        context=parent,
        kind=kind,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except BaseException as error:
            failed(span, type(error).__name__)
            raise


def failed(span: Span, error_type: str) -> None:
    """Mark `span` as failed with an error type (never an error's text)."""
    span.set_attribute("error.type", error_type)
    span.set_status(Status(StatusCode.ERROR, error_type))
