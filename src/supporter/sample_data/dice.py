"""Fast seeded random picks: the output depends on the seed and the order of the calls."""

from __future__ import annotations

import math
from bisect import bisect
from collections.abc import Mapping, Sequence
from itertools import accumulate
from random import Random
from typing import Generic, TypeVar

_T = TypeVar("_T")


class Dice(Random):
    """`random.Random` with quick picks (its `choice` and `randrange` are slow pure Python)."""

    def pick(self, options: Sequence[_T]) -> _T:
        return options[int(self.random() * len(options))]

    def below(self, stop: int) -> int:
        return int(self.random() * stop)

    def between(self, start: int, stop: int) -> int:
        """An integer from `start` up to, not including, `stop`."""
        return start + int(self.random() * (stop - start))


class Weighted(Generic[_T]):
    """A weighted choice that costs one `random()` call per pick."""

    __slots__ = ("_cumulative", "_total", "_values")

    def __init__(self, weights: Mapping[_T, float]) -> None:
        self._values = tuple(weights)
        cumulative = list(accumulate(weights.values()))
        self._total = cumulative[-1]
        cumulative[-1] = math.inf  # so rounding in `random() * total` can never pick past the end
        self._cumulative = tuple(cumulative)

    def pick(self, rng: Random) -> _T:
        return self._values[bisect(self._cumulative, rng.random() * self._total)]
