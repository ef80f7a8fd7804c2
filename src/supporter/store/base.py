"""The store port. The sink is its only writer; everything it writes is keyed by
`ticket_id` (and the pipeline version), so writing the same outcome twice
changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from supporter.domain.messages import AttemptRecord, DeadLetterMessage
from supporter.domain.models import Ticket, TicketResult


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one ticket, as the sink stores it."""

    result: TicketResult
    ticket: Ticket | None
    history: Sequence[AttemptRecord] = ()
    dead_letter: DeadLetterMessage | None = None
    origin_id: str | None = None


class DeadLetterRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    message_id: str
    ticket_id: str | None
    customer_id: str | None
    stage: str
    queue: str
    reason: str
    error_type: str
    attempts: int
    history: list[AttemptRecord]
    original: str
    created_at: datetime
    resolved_at: datetime | None = None


class WorkerBeat(BaseModel):
    """One worker's state at `seen_at`; counters are since the worker started."""

    model_config = ConfigDict(frozen=True)

    worker_id: str
    stage: str
    host: str
    pid: int
    started_at: datetime
    seen_at: datetime
    in_flight: int
    oldest_in_flight_seconds: float | None
    consumed: int
    succeeded: int
    retried: int
    dead_lettered: int
    # Where this worker serves /metrics on `host` (None: not served).
    metrics_port: int | None = None


class WorkerRegistry(Protocol):
    """Where workers say what they hold (`supporter status` reads it)."""

    async def beat(self, beat: WorkerBeat) -> None: ...

    async def retire(self, worker_id: str) -> None: ...

    async def alive(self, *, seen_within: float) -> list[WorkerBeat]: ...


@dataclass(frozen=True, slots=True)
class Citation:
    """The passages a stored reply cites and the digest of their text it was drafted from."""

    passage_ids: tuple[str, ...]
    knowledge_version: str | None


class StoreError(Exception):
    """The store cannot be opened or written."""


class ResultStore(Protocol):
    async def done_ticket_ids(self, version: str) -> set[str]:
        """Tickets with a final outcome (responded or failed) under this version."""
        ...

    async def save(self, version: str, outcomes: Sequence[Outcome]) -> list[Outcome]:
        """Store a batch atomically: all of it or none of it.

        Returns the outcomes that were new: not a repeat, from the same origin
        message, of what is stored already (a redelivered message's result).
        """
        ...

    async def keep_dead_letters(self, letters: Sequence[DeadLetterMessage]) -> None:
        """Store dead letters that leave the ticket's result as it is (the write-back's)."""
        ...

    async def results(self, ticket_ids: Iterable[str]) -> list[TicketResult]:
        """Stored results for these tickets (missing ones are left out)."""
        ...

    async def citations(self, version: str) -> dict[str, Citation]:
        """What the replies stored under this version cite, by ticket id: only replies
        that cite knowledge passages, and only that, not the whole results."""
        ...

    async def dead_letters(
        self, *, ids: Sequence[int] | None = None, include_resolved: bool = False
    ) -> list[DeadLetterRecord]: ...

    async def counts(self) -> dict[str, int]:
        """Tickets by final status (`responded`, `failed`) and `dead_letters` pending."""
        ...

    async def close(self) -> None: ...
