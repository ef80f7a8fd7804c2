"""Counters a run keeps about itself: what the progress bar and the summary show."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from supporter.domain.models import Reject, TicketResult, Usage


@dataclass
class StageCounters:
    consumed: int = 0
    succeeded: int = 0
    retried: int = 0
    dead_lettered: int = 0
    fell_back: int = 0


@dataclass
class RunStats:
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    read: int = 0
    skipped_status: int = 0
    already_done: int = 0
    earlier_failed: int = 0
    rejected_tickets: int = 0
    rejected_transactions: int = 0
    transactions: int = 0
    published: int = 0
    responded: int = 0
    failed: int = 0
    dropped: int = 0
    needs_human: int = 0
    grounding_failed: int = 0
    stages: dict[str, StageCounters] = field(default_factory=dict)
    categories: Counter[str] = field(default_factory=Counter)
    priorities: Counter[str] = field(default_factory=Counter)
    usage: Usage = field(default_factory=Usage)

    def stage(self, name: str) -> StageCounters:
        return self.stages.setdefault(name, StageCounters())

    @property
    def finalized(self) -> int:
        """Published messages that reached their end (stored, or dropped as unreadable)."""
        return self.responded + self.failed + self.dropped

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        """Tickets finalized per second of this run."""
        return self.finalized / self.elapsed if self.elapsed > 0 else 0.0

    def count_reject(self, reject: Reject) -> None:
        if reject.source == "tickets":
            self.rejected_tickets += 1
        else:
            self.rejected_transactions += 1

    def count_result(self, result: TicketResult) -> None:
        if result.status == "responded":
            self.responded += 1
        else:
            self.failed += 1
        if result.analysis is not None:
            self.categories[result.analysis.category] += 1
            self.priorities[result.analysis.priority.value] += 1
            if result.analysis.needs_human:
                self.needs_human += 1
        if result.grounding is not None and not result.grounding.passed:
            self.grounding_failed += 1
        self.usage = self.usage + result.usage
