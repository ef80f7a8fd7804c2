"""Sign-in attempts, counted per account name and per address: after `limit` failures
within `window` seconds, more are refused until the oldest ages out. Kept in memory:
each replica of `serve` counts its own (see docs/deployment.md)."""

from __future__ import annotations

import time
from collections import defaultdict, deque


class SignInLimiter:
    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self._limit = limit
        self._window = window
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)
        self._swept = time.monotonic()

    def _count(self, key: str) -> int:
        """Failures of `key` within the window; a key with none is forgotten (memory stays
        bounded by the attempts of the last window)."""
        failures = self._failures.get(key)
        if failures is None:
            return 0
        horizon = time.monotonic() - self._window
        while failures and failures[0] < horizon:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return len(failures)

    def blocked(self, *keys: str) -> bool:
        return any(self._count(key) >= self._limit for key in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        if now - self._swept >= self._window:
            # Once a window, forget every name and address whose failures have aged out.
            self._swept = now
            for stale in list(self._failures):
                self._count(stale)
        for key in keys:
            self._failures[key].append(now)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def __len__(self) -> int:
        """How many names and addresses are remembered."""
        return len(self._failures)
