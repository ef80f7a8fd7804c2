"""Rendering a text template: one of its inline alternatives "[a|b]" picked, maybe a typo."""

from __future__ import annotations

import re
from functools import cache

from supporter.sample_data.dice import Dice

_ALTERNATIVES = re.compile(r"\[([^\[\]]*)\]")
# A word a typo may hit: letters only, and not a {placeholder} name.
_TYPO_WORD = re.compile(r"(?<![{\w])[^\W\d_]{5,}(?![}\w])")


@cache
def _parse(template: str) -> tuple[str | tuple[str, ...], ...]:
    parts: list[str | tuple[str, ...]] = []
    position = 0
    for match in _ALTERNATIVES.finditer(template):
        parts.append(template[position : match.start()])
        parts.append(tuple(match.group(1).split("|")))
        position = match.end()
    parts.append(template[position:])
    return tuple(part for part in parts if part)


def render(rng: Dice, choices: tuple[str, ...]) -> str:
    """One of `choices`, with one of each of its inline alternatives picked."""
    parts = _parse(rng.pick(choices))
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0]
    return "".join(part if isinstance(part, str) else rng.pick(part) for part in parts)


def with_typo(rng: Dice, text: str) -> str:
    words = _TYPO_WORD.findall(text)
    if not words:
        return text
    word = rng.pick(words)
    index = rng.below(len(word) - 1)
    if rng.random() < 0.5:
        typo = word[:index] + word[index + 1] + word[index] + word[index + 2 :]
    else:
        typo = word[:index] + word[index + 1 :]
    return text.replace(word, typo, 1)
