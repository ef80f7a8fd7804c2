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

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures[key]
        horizon = time.monotonic() - self._window
        while failures and failures[0] < horizon:
            failures.popleft()
        return failures

    def blocked(self, *keys: str) -> bool:
        return any(len(self._recent(key)) >= self._limit for key in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._recent(key).append(now)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)
