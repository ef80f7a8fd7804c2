"""The one retry policy: exponential backoff with full jitter, a cap, and a try limit."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    # A Retry-After longer than this stops the run instead of parking tickets for it.
    max_retry_after: float = 600.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("need 0 <= base_delay <= max_delay")

    def retry_after_acceptable(self, retry_after: float | None) -> bool:
        return retry_after is None or retry_after <= self.max_retry_after

    def can_retry(self, attempt: int) -> bool:
        """Whether try number `attempt` (from 1) may be followed by another."""
        return attempt < self.max_attempts

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number `attempt`.

        Full jitter (uniform in [0, base * 2^(attempt-1)]) spreads retries of many
        tickets that failed together. A server's `retry_after` is a floor: waiting
        less would only earn another refusal, so it is honoured even above `max_delay`.
        """
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        delay = self.rng.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay


def stop_if_cancelled() -> None:
    """Raise CancelledError if the running task is being cancelled.

    For consuming loops: a cancellation that a library swallowed on the way (as
    asyncio.wait_for can on 3.11, and a client library settling a message may) must
    still end them, not leave them taking messages forever.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class Reconnects:
    """The pause before consuming again after a lost consumer: doubling from `base` up
    to `cap` while the broker keeps failing, back to `base` once work flowed again."""

    def __init__(self, base: float = 0.5, cap: float = 15.0) -> None:
        self._base = base
        self._cap = cap
        self._next = base
        self._seen = -1

    def pause(self, progress: int) -> float:
        """The pause after a failure; `progress` is any count that grows with work done."""
        if progress != self._seen:
            self._seen, self._next = progress, self._base
        pause, self._next = self._next, min(self._next * 2, self._cap)
        return pause
