"""The taxonomy's keywords scored over a ticket, and the category they point to."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from supporter.domain.models import TransactionFacts
from supporter.llm.base import Category
from supporter.llm.offline.matching import CueMatcher, build_cues
from supporter.llm.offline.negation import is_unwanted

FALLBACK_CATEGORY: Final = "general_inquiry"
SUBJECT_WEIGHT: Final = 2.0
# The catch-all category's keywords are topics, not intents: discount them so
# "how do I get a refund" is a refund request, not a question.
FALLBACK_DISCOUNT: Final = 0.5
FALLBACK_PRIOR: Final = 0.6
NO_CUE_CONFIDENCE: Final = 0.2


# A taxonomy as far as the rules see it: names and keywords (descriptions do not matter).
TaxonomyKey = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class CompiledTaxonomy:
    names: tuple[str, ...]
    matcher: CueMatcher
    fallback: int


def taxonomy_key(taxonomy: Sequence[Category]) -> TaxonomyKey:
    return tuple((category.name, tuple(category.keywords)) for category in taxonomy)


def compile_taxonomy(taxonomy: Sequence[Category]) -> CompiledTaxonomy:
    names = tuple(category.name for category in taxonomy)
    fallback = names.index(FALLBACK_CATEGORY) if FALLBACK_CATEGORY in names else len(names) - 1
    lexicon = [
        (index, category.keywords, FALLBACK_DISCOUNT if index == fallback else 1.0)
        for index, category in enumerate(taxonomy)
    ]
    return CompiledTaxonomy(names, CueMatcher(build_cues(lexicon)), fallback)


# Facts that code established support a category even when the words are vague;
# they never create evidence on their own for a message that is not about money.
FACT_SUPPORT: Final[tuple[tuple[str, str, float], ...]] = (
    ("duplicate_charge_ids", "duplicate_charge", 1.5),
    ("failed_ids", "payment_failed", 1.0),
    ("chargeback_ids", "unrecognized_charge", 0.5),
    ("refund_ids", "refund_request", 0.5),
    ("pending_ids", "billing_question", 0.5),
)


def score_categories(
    compiled: CompiledTaxonomy,
    subject: Sequence[str],
    body: Sequence[str],
    facts: TransactionFacts,
    about_money: bool,
) -> list[float]:
    scores = [0.0] * len(compiled.names)
    for tokens, factor in ((subject, SUBJECT_WEIGHT), (body, 1.0)):
        counted: set[str] = set()
        for hit in compiled.matcher.find(tokens):
            # A repeated keyword is emphasis, not new evidence.
            if hit.cue.text in counted or is_unwanted(tokens, hit.positions[0]):
                continue
            counted.add(hit.cue.text)
            scores[hit.cue.label] += hit.cue.weight * factor
    # The catch-all starts a little ahead, so one weak cue ("app") is not enough
    # to leave it.
    scores[compiled.fallback] = max(scores[compiled.fallback], FALLBACK_PRIOR)
    for field, name, support in FACT_SUPPORT:
        if name in compiled.names and getattr(facts, field):
            index = compiled.names.index(name)
            if scores[index] > 0 or about_money:
                scores[index] += support
    return scores


def pick_category(compiled: CompiledTaxonomy, scores: Sequence[float]) -> tuple[int, float]:
    """The best category and an honest confidence from how clearly it beat the rest."""
    ranked = sorted(range(len(scores)), key=lambda index: (-scores[index], index))
    top = scores[ranked[0]]
    if top <= FALLBACK_PRIOR and ranked[0] == compiled.fallback:
        return compiled.fallback, NO_CUE_CONFIDENCE
    second = scores[ranked[1]] if len(ranked) > 1 else 0.0
    # Evidence saturates: one strong cue (about 2.5) is already most of what
    # more cues can add. The margin says whether another category was close.
    evidence = 1.0 - math.exp(-top / 1.5)
    margin = (top - second) / top
    confidence = 0.15 + 0.8 * evidence * (0.3 + 0.7 * margin)
    # Rules are never certain; on Banking77 even the top band is wrong about 1 in 20.
    return ranked[0], round(min(confidence, 0.95), 2)
