"""What the metrics read of a pipeline: the interface its stages, circuit breakers and
run counters expose, and the label values they take.

The pipeline imports this module and satisfies these protocols (`RunStats`,
`StageCounters`, `CircuitBreaker`); observability never imports the pipeline, so the
two packages do not depend on each other both ways.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Literal, Protocol

# Why a message was dead-lettered, as a bounded class (a metric label).
DeadLetterCause = Literal["invalid", "permanent", "retries_exhausted"]
DEAD_LETTER_CAUSES: tuple[DeadLetterCause, ...] = typing.get_args(DeadLetterCause)


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerReadings(Protocol):
    """A stage's circuit breaker, read at each scrape."""

    @property
    def state(self) -> CircuitState: ...


class StageReadings(Protocol):
    """One stage's counters, read at each scrape; `on_end` is told the seconds each
    message was held as it is settled (the processing-time histogram)."""

    on_end: Callable[[float], None] | None

    @property
    def consumed(self) -> int: ...
    @property
    def succeeded(self) -> int: ...
    @property
    def retried(self) -> int: ...
    @property
    def fell_back(self) -> int: ...
    @property
    def parked(self) -> int: ...
    @property
    def in_flight(self) -> int: ...
    @property
    def dead_letter_causes(self) -> Mapping[str, int]: ...


class RunReadings(Protocol):
    """A run's counters, read at each scrape."""

    def stage(self, name: str) -> StageReadings:
        """The counters of stage `name` (the same object each time it is asked)."""
        ...

    @property
    def outcomes(self) -> Mapping[tuple[str, str, str], int]:
        """Stored results by (status, category, priority)."""
        ...

    @property
    def needs_human(self) -> int: ...
    @property
    def resent(self) -> int: ...
    @property
    def resend_exhausted(self) -> int: ...
    @property
    def grounding_failed(self) -> int: ...

    @property
    def webhooks(self) -> Mapping[tuple[str, str], int]:
        """Webhooks taken by (helpdesk, outcome)."""
        ...

    @property
    def webhooks_rejected(self) -> Mapping[tuple[str, str], int]:
        """Webhooks refused by (helpdesk, reason)."""
        ...

    @property
    def write_backs(self) -> Mapping[tuple[str, str], int]:
        """Write-backs settled by (helpdesk, outcome)."""
        ...
