"""Structured logs: which ticket, stage and try a line is about, as JSON or for a console.

The context lives in `contextvars`, so each task handling a message carries its own:
`ticket_context(...)` sets it around the work on one ticket, `ContextFilter` copies it
onto every record a handler sees, and the formatters show it. No formatter adds ticket
text: messages name tickets by id, and bodies are never logged at INFO or above.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from supporter.domain.errors import SupporterError
from supporter.observability.tracing import trace_id

LogFormat = Literal["console", "json"]

# The fields every line carries (None where a line is not about a ticket).
CONTEXT_FIELDS = ("ticket_id", "stage", "attempt", "trace_id")

_ticket_id: ContextVar[str | None] = ContextVar("ticket_id", default=None)
_stage: ContextVar[str | None] = ContextVar("stage", default=None)
_attempt: ContextVar[int | None] = ContextVar("attempt", default=None)


def current_context() -> dict[str, Any]:
    """The context fields as they are in the running task."""
    return {
        "ticket_id": _ticket_id.get(),
        "stage": _stage.get(),
        "attempt": _attempt.get(),
        # OpenTelemetry keeps the current span in a contextvar too.
        "trace_id": trace_id(),
    }


@contextlib.contextmanager
def ticket_context(
    ticket_id: str | None = None, stage: str | None = None, attempt: int | None = None
) -> Iterator[None]:
    """Log lines inside are about this ticket, in this stage, on this try.

    Every field is set as given (None clears it), and all are restored on exit.
    A message that cannot be read gets `stage` only.
    """
    ticket_token = _ticket_id.set(ticket_id)
    stage_token = _stage.set(stage)
    attempt_token = _attempt.set(attempt)
    try:
        yield
    finally:
        _attempt.reset(attempt_token)
        _stage.reset(stage_token)
        _ticket_id.reset(ticket_token)


class ContextFilter(logging.Filter):
    """Adds the context fields to every record (unless the call passed them in `extra`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for field, value in current_context().items():
            if not hasattr(record, field):
                setattr(record, field, value)
        return True


def _context_of(record: logging.LogRecord) -> dict[str, Any]:
    # A record that met no ContextFilter still gets the context it was formatted in.
    context = current_context()
    return {field: getattr(record, field, context[field]) for field in CONTEXT_FIELDS}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, context."""

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "time": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context_of(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # json.dumps escapes newlines: a traceback stays on its one line.
        return json.dumps(entry, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    """The message, then the context briefly: `… [T1 analyze try 2]`."""

    def __init__(self) -> None:
        super().__init__("%(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        message = super().formatMessage(record)
        context = _context_of(record)
        parts = [
            str(context["ticket_id"]) if context["ticket_id"] else None,
            str(context["stage"]) if context["stage"] else None,
            f"try {context['attempt']}" if context["attempt"] is not None else None,
        ]
        brief = " ".join(part for part in parts if part)
        return f"{message} [{brief}]" if brief else message


def configure(handler: logging.Handler, log_format: LogFormat, level: int) -> None:
    """Make `handler` the root's only handler, with the context and the chosen format."""
    handler.setFormatter(JsonFormatter() if log_format == "json" else ConsoleFormatter())
    handler.addFilter(ContextFilter())
    logging.basicConfig(level=level, handlers=[handler], force=True)


def error_text(error: BaseException) -> str:
    """What a log line at INFO or above may say about `error`: the words of an error
    Supporter raises on purpose (written to quote no ticket text, no secret), only the
    type of any other (a library's message may quote its input: a pydantic
    ValidationError its `input_value`, a database error its row)."""
    if isinstance(error, SupporterError):
        return str(error) or type(error).__name__
    return type(error).__name__
