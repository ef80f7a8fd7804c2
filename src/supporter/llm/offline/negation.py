"""Negation: "not urgent" denies a cue, "I don't want a refund" is no refund request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

NEGATORS: Final = frozenset({
    "not", "no", "never", "nothing", "without", "nicht", "kein", "keine", "keinen", "keiner",
    "nie", "niemals", "pas", "ne", "jamais", "sans", "non", "nao", "nunca", "sem", "senza",
    "ohne", "niet", "geen", "nooit", "ni", "sin", "nem",
})  # fmt: skip
# "I don't want a refund" is not a refund request: a negator plus one of these
# just before a category cue cancels it.
DESIRE_WORDS: Final = frozenset({
    "want", "need", "asking", "ask", "looking", "request", "requesting", "wish", "expect",
    "quiero", "necesito", "pido", "busco", "solicito", "veux", "voulais", "demande",
    "souhaite", "besoin", "will", "mochte", "moechte", "brauche", "verlange", "quero",
    "preciso", "peco", "voglio", "chiedo", "bisogno", "wil", "hoef",
})  # fmt: skip
NEGATION_WINDOW: Final = 2
_DESIRE_WINDOW: Final = 4


def is_negated(tokens: Sequence[str], start: int, window: int) -> bool:
    return any(token in NEGATORS for token in tokens[max(0, start - window) : start])


def is_unwanted(tokens: Sequence[str], start: int) -> bool:
    window = tokens[max(0, start - _DESIRE_WINDOW) : start]
    return any(token in NEGATORS for token in window) and any(
        token in DESIRE_WORDS for token in window
    )
