"""A circuit breaker per stage: when what the stage depends on keeps failing (the model
provider, the store, a helpdesk), stop sending it work.

After `threshold` failures in a row that say a dependency is unavailable (5xx,
timeouts, refused connections; never an answer out of schema) the circuit opens and the stage
stops taking messages (its bounded queue then holds intake back). After
`reset_after` seconds one message is let through as a trial: success closes the
circuit, failure opens it again. Messages are not tried while it is open, so
an outage burns no tries and fills no dead-letter queue; a worker that parks (the
write-back stage of `serve` and `worker write-back`) also spends no try on the
failure that opens the circuit, nor on a failed trial (see worker.py). The failures
before it opens are tries like any other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from supporter.observability.readings import CircuitState

log = logging.getLogger(__name__)


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        threshold: int = 5,
        reset_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1 or reset_after <= 0:
            raise ValueError("threshold must be at least 1 and reset_after positive")
        self.name = name
        self._threshold = threshold
        self._reset_after = reset_after
        self._clock = clock
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False
        self.state = CircuitState.CLOSED
        self._changed = asyncio.Condition()

    async def admit(self) -> None:
        """Wait until a message may be tried: at once while closed, else after the pause."""
        async with self._changed:
            while True:
                if self.state is CircuitState.CLOSED:
                    return
                wait = self._opened_at + self._reset_after - self._clock()
                if self.state is CircuitState.OPEN and wait <= 0:
                    self.state = CircuitState.HALF_OPEN
                if self.state is CircuitState.HALF_OPEN and not self._trial_running:
                    self._trial_running = True
                    log.info("circuit %s half-open: trying one message", self.name)
                    return
                # Wake up at least every half second to re-read the clock.
                timeout = min(max(wait, 0.05), 0.5) if self.state is CircuitState.OPEN else None
                try:
                    async with asyncio.timeout(timeout):
                        await self._changed.wait()
                except TimeoutError:
                    pass

    async def success(self) -> None:
        async with self._changed:
            if self.state is not CircuitState.CLOSED:
                # Neutral on purpose: the breaker does not know whether the provider, the
                # store or a helpdesk was down, only that a trial went through.
                log.warning("circuit %s closed: a trial message went through", self.name)
            self.state = CircuitState.CLOSED
            self._failures = 0
            self._trial_running = False
            self._changed.notify_all()

    async def failure(self) -> bool:
        """Count a failure that says the dependency is unavailable; True when the
        circuit is open after it (this failure opened it, a trial failed, or it was
        open already: a try that began before it opened)."""
        async with self._changed:
            self._failures += 1
            trial_failed = self.state is CircuitState.HALF_OPEN
            if trial_failed or self._failures >= self._threshold:
                if self.state is CircuitState.CLOSED:
                    log.warning(
                        "circuit %s open after %d failures in a row: pausing for %.0fs",
                        self.name,
                        self._failures,
                        self._reset_after,
                    )
                self.state = CircuitState.OPEN
                self._opened_at = self._clock()
                self._trial_running = False
            self._changed.notify_all()
            return self.state is CircuitState.OPEN

    async def inconclusive(self) -> None:
        """A try ended in a way that says nothing about the provider (a bug of ours):
        the state stays, but a half-open circuit may let its next trial through."""
        async with self._changed:
            self._trial_running = False
            self._changed.notify_all()
