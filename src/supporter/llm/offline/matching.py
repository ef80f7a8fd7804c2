"""Keywords and phrases found in tokens: the cue matcher every lexicon goes through.

A keyword is written as in the taxonomy: words, `*` for any ending
(`refund*`), `^2` to weigh it double. The words of a phrase may stand a
little apart, and where two phrases overlap the longer wins.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

from supporter.llm.offline.text import fold, normalize_tokens

# Words of a phrase may be this many tokens apart ("cancel my yearly subscription").
MAX_GAP: Final = 2
_MIN_PREFIX: Final = 3
_MEMO_LIMIT: Final = 50_000

_KEYWORD_TOKEN = re.compile(r"[a-z0-9]+\*?")
_KEYWORD_BOOST = re.compile(r"\^\s*(\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True, slots=True)
class Cue:
    """One keyword or phrase: its words as (stem, matches-any-ending) and what it is evidence of."""

    label: int
    words: tuple[tuple[str, bool], ...]
    weight: float
    text: str
    # Whole words after the first: a phrase missing one of them cannot match.
    later_words: frozenset[str]


class Hit(NamedTuple):
    """A cue found at `positions` (a tuple: made for every hit, it must be cheap to make)."""

    cue: Cue
    positions: tuple[int, ...]


def _split_boost(keyword: str) -> tuple[str, float]:
    """`refund*^2` -> ("refund*", 2.0); a malformed boost is read as part of the text."""
    match = _KEYWORD_BOOST.search(keyword)
    if match is None:
        return keyword, 1.0
    boost = float(match.group(1))
    if not math.isfinite(boost) or boost <= 0:
        return keyword, 1.0
    return keyword[: match.start()], boost


def _keyword_words(keyword: str) -> tuple[tuple[str, bool], ...]:
    words: list[tuple[str, bool]] = []
    for token in normalize_tokens(_KEYWORD_TOKEN.findall(fold(keyword))):
        stem = token.rstrip("*")
        # A very short stem with a wildcard would match nearly everything.
        words.append((stem, token.endswith("*") and len(stem) >= _MIN_PREFIX))
    return tuple(words)


class CueMatcher:
    """Finds phrases in a token list with dictionary look-ups instead of one regex per cue."""

    def __init__(self, cues: Iterable[Cue]) -> None:
        self._exact: dict[str, list[Cue]] = {}
        self._prefix: dict[str, list[Cue]] = {}
        for cue in cues:
            stem, is_prefix = cue.words[0]
            index = self._prefix if is_prefix else self._exact
            index.setdefault(stem, []).append(cue)
        self._prefix_lengths = sorted({len(stem) for stem in self._prefix})
        # Most tokens ("the", "my", "card") recur in every ticket: remember each token
        # looked up, and the cues of those that start any. Which tokens of a ticket start
        # cues is then a set intersection, and only their positions are walked.
        self._looked_up: set[str] = set()
        self._starting: dict[str, tuple[Cue, ...]] = {}

    def find(self, tokens: Sequence[str]) -> list[Hit]:
        """All non-overlapping hits; where phrases overlap the longest wins."""
        present = frozenset(tokens)
        unknown = present - self._looked_up
        if unknown:
            self._learn(unknown, present)
        starting = self._starting.keys() & present
        if not starting:
            return []
        hits: list[Hit] = []
        for start in [at for at, token in enumerate(tokens) if token in starting]:
            for cue in self._starting[tokens[start]]:
                if len(cue.words) == 1:
                    hits.append(Hit(cue, (start,)))
                    continue
                if not cue.later_words <= present:
                    continue
                positions = _match_rest(cue, tokens, start)
                if positions is not None:
                    hits.append(Hit(cue, positions))
        if len(hits) < 2:
            return hits
        hits.sort(key=lambda hit: (-len(hit.positions), -hit.cue.weight, hit.positions[0]))
        used: set[int] = set()
        chosen: list[Hit] = []
        for hit in hits:
            if used.isdisjoint(hit.positions):
                used.update(hit.positions)
                chosen.append(hit)
        return chosen

    def _learn(self, unknown: frozenset[str], present: frozenset[str]) -> None:
        """Look up the `unknown` tokens of a ticket's `present` ones; past the limit, forget
        all others first (the ticket's tokens are then all looked up again)."""
        if len(self._looked_up) + len(unknown) > _MEMO_LIMIT:
            self._looked_up.clear()
            self._starting.clear()
            unknown = present
        self._looked_up.update(unknown)
        for token in unknown:
            cues = self._look_up(token)
            if cues:
                self._starting[token] = cues

    def _look_up(self, token: str) -> tuple[Cue, ...]:
        found = list(self._exact.get(token, ()))
        for length in self._prefix_lengths:
            if length > len(token):
                break
            found.extend(self._prefix.get(token[:length], ()))
        return tuple(found)


def _match_rest(cue: Cue, tokens: Sequence[str], start: int) -> tuple[int, ...] | None:
    positions = [start]
    position = start
    for stem, is_prefix in cue.words[1:]:
        limit = position + 2 + MAX_GAP
        if limit > len(tokens):
            limit = len(tokens)
        for candidate in range(position + 1, limit):
            token = tokens[candidate]
            if token.startswith(stem) if is_prefix else token == stem:
                break
        else:
            return None
        positions.append(candidate)
        position = candidate
    return tuple(positions)


def _phrase_weight(words: int) -> float:
    # A phrase is more specific than any of its words, but not twice as telling.
    return 1.0 + 0.5 * (words - 1)


def build_cues(lexicon: Sequence[tuple[int, Iterable[str], float]]) -> list[Cue]:
    """Cues from (label, keywords, factor); a phrase under several labels is split between them."""
    owners: dict[tuple[tuple[str, bool], ...], set[int]] = {}
    entries: list[tuple[int, tuple[tuple[str, bool], ...], float, str]] = []
    for label, keywords, factor in lexicon:
        for keyword in keywords:
            text, boost = _split_boost(keyword)
            words = _keyword_words(text)
            if not words or label in owners.get(words, set()):
                continue
            owners.setdefault(words, set()).add(label)
            entries.append((label, words, factor * boost, text))
    return [
        Cue(
            label,
            words,
            _phrase_weight(len(words)) * factor / len(owners[words]),
            keyword,
            frozenset(stem for stem, is_prefix in words[1:] if not is_prefix),
        )
        for label, words, factor, keyword in entries
    ]
