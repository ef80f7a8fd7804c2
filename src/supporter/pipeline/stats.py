"""Counters a run keeps about itself: what the progress bar and the summary show."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from supporter.domain.models import Reject, TicketResult, Usage


@dataclass
class StageCounters:
    consumed: int = 0
    succeeded: int = 0
    retried: int = 0
    dead_lettered: int = 0
    fell_back: int = 0
    # Sent back to wait while the stage's circuit is open, no try spent (a parking worker).
    parked: int = 0
    # Dead letters by the class of their cause (`invalid`, `permanent`, `retries_exhausted`).
    dead_letter_causes: Counter[str] = field(default_factory=Counter)
    # Told the seconds each message was held, as it is settled (the metrics' histogram).
    on_end: Callable[[float], None] | None = field(default=None, repr=False)
    # When each message now being handled was taken (monotonic), by a token per message.
    _started: dict[int, float] = field(default_factory=dict, repr=False)
    _tokens: itertools.count[int] = field(default_factory=itertools.count, repr=False)

    def begin(self) -> int:
        """A message is taken: count it and mark it in flight until `end(token)`."""
        self.consumed += 1
        token = next(self._tokens)
        self._started[token] = time.monotonic()
        return token

    def end(self, token: int) -> None:
        started = self._started.pop(token, None)
        if started is not None and self.on_end is not None:
            self.on_end(time.monotonic() - started)

    @property
    def in_flight(self) -> int:
        return len(self._started)

    def oldest_in_flight(self) -> float | None:
        """Seconds the longest-held message in flight has been held; None when idle."""
        if not self._started:
            return None
        return time.monotonic() - min(self._started.values())


@dataclass
class ProviderTally:
    """The results one provider answered, and those of them that cost money."""

    answered: int = 0
    paid: int = 0
    cost_usd: Decimal = Decimal(0)


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
    # Transaction rows that are not customer payments (payouts, fees, ...), by reason.
    skipped_transactions: Counter[str] = field(default_factory=Counter)
    published: int = 0
    responded: int = 0
    failed: int = 0
    dropped: int = 0
    needs_human: int = 0
    grounding_failed: int = 0
    stages: dict[str, StageCounters] = field(default_factory=dict)
    categories: Counter[str] = field(default_factory=Counter)
    priorities: Counter[str] = field(default_factory=Counter)
    # Stored results by (status, category, priority); "none" where there is no analysis.
    outcomes: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    usage: Usage = field(default_factory=Usage)
    # By the result's `provider` (`offline`, `cascade:local`, ...).
    providers: dict[str, ProviderTally] = field(default_factory=dict)
    # Helpdesks: write-backs sent to their queue and settled (written, unchanged, dead-
    # lettered, ...), outcomes by (helpdesk, outcome), webhooks by (helpdesk, outcome:
    # accepted, duplicate, ignored), rejected ones by (helpdesk, reason).
    write_backs_published: int = 0
    write_backs: Counter[tuple[str, str]] = field(default_factory=Counter)
    webhooks: Counter[tuple[str, str]] = field(default_factory=Counter)
    webhooks_rejected: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Tickets stuck in `received` sent into the pipeline again (`pipeline/resend.py`), and
    # those sent again as often as allowed and still without a result.
    resent: int = 0
    resend_exhausted: int = 0

    def stage(self, name: str) -> StageCounters:
        return self.stages.setdefault(name, StageCounters())

    @property
    def finalized(self) -> int:
        """Published messages that reached their end (stored, or dropped as unreadable)."""
        return self.responded + self.failed + self.dropped

    @property
    def write_backs_settled(self) -> int:
        """Write-backs that reached their end, whatever the outcome."""
        return self.write_backs.total()

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
        analysis = result.analysis
        self.outcomes[
            (
                result.status,
                analysis.category if analysis else "none",
                analysis.priority.value if analysis else "none",
            )
        ] += 1
        if result.analysis is not None:
            self.categories[result.analysis.category] += 1
            self.priorities[result.analysis.priority.value] += 1
            if result.analysis.needs_human:
                self.needs_human += 1
        if result.grounding is not None and not result.grounding.passed:
            self.grounding_failed += 1
        self.usage = self.usage + result.usage
        if result.provider is not None and result.analysis is not None:
            tally = self.providers.setdefault(result.provider, ProviderTally())
            tally.answered += 1
            if result.usage.cost_usd > 0:
                tally.paid += 1
                tally.cost_usd += result.usage.cost_usd
