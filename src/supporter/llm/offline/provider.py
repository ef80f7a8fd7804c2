"""The offline provider: the rules behind the model port."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from supporter.domain.errors import PermanentError
from supporter.domain.models import Analysis, Reply
from supporter.llm.base import AnalysisRequest, Category, ModelResponse, ReplyRequest
from supporter.llm.offline.categories import (
    CompiledTaxonomy,
    TaxonomyKey,
    compile_taxonomy,
    pick_category,
    score_categories,
    taxonomy_key,
)
from supporter.llm.offline.language import detect_language
from supporter.llm.offline.priority import has_large_amount, needs_human, pick_priority
from supporter.llm.offline.replies import compose_reply
from supporter.llm.offline.signals import Signals, read_signals
from supporter.llm.offline.summary import summarize
from supporter.llm.offline.text import tokenize
from supporter.llm.offline.transactions import related_transactions
from supporter.llm.offline.version import version_for

_CACHE_LIMIT: Final = 16


class OfflineProvider:
    """Classifies and answers tickets with rules: no network, no key, the same answer every time.

    `taxonomy` is the one the pipeline sends in its requests; it is part of
    `version`. A request carrying another taxonomy is still served (its rules
    are compiled once and kept), but the version only describes this one.
    """

    def __init__(self, taxonomy: Sequence[Category]) -> None:
        if not taxonomy:
            raise ValueError("OfflineProvider needs a taxonomy with at least one category")
        key = taxonomy_key(taxonomy)
        self._compiled: dict[TaxonomyKey, CompiledTaxonomy] = {key: compile_taxonomy(taxonomy)}
        # The taxonomy of the last request, by its Category objects, and its rules.
        self._last: tuple[tuple[Category, ...], CompiledTaxonomy] | None = None
        self._version = version_for(taxonomy)

    @property
    def name(self) -> str:
        return "offline"

    @property
    def version(self) -> str:
        return self._version

    async def analyze(self, request: AnalysisRequest) -> ModelResponse[Analysis]:
        return ModelResponse[Analysis](value=self._analyze(request), provider=self.name)

    async def draft_reply(self, request: ReplyRequest) -> ModelResponse[Reply]:
        return ModelResponse[Reply](value=compose_reply(request), provider=self.name)

    async def aclose(self) -> None:
        return None

    def _analyze(self, request: AnalysisRequest) -> Analysis:
        compiled = self._compiled_for(request.taxonomy)
        reading = _read(request)
        facts = request.facts
        scores = score_categories(
            compiled,
            reading.subject,
            reading.body,
            facts,
            about_money="money" in reading.signals.found or bool(facts.mentioned_amounts),
        )
        index, confidence = pick_category(compiled, scores)
        return _describe(request, reading, compiled.names[index], confidence)

    def _compiled_for(self, taxonomy: Sequence[Category]) -> CompiledTaxonomy:
        if not taxonomy:
            raise PermanentError("the analysis request has an empty taxonomy")
        # A pipeline sends the same (frozen) Category objects with every request: the
        # same objects are the same taxonomy, known without reading all their keywords.
        last = self._last
        if (
            last is not None
            and len(last[0]) == len(taxonomy)
            and all(map(operator.is_, last[0], taxonomy))
        ):
            return last[1]
        compiled = self._compiled_by_key(taxonomy)
        self._last = (tuple(taxonomy), compiled)
        return compiled

    def _compiled_by_key(self, taxonomy: Sequence[Category]) -> CompiledTaxonomy:
        key = taxonomy_key(taxonomy)
        compiled = self._compiled.get(key)
        if compiled is None:
            if len(self._compiled) >= _CACHE_LIMIT:
                # Keep the constructor's taxonomy (first entry); drop the rest.
                first = next(iter(self._compiled.items()))
                self._compiled = dict([first])
            compiled = self._compiled[key] = compile_taxonomy(taxonomy)
        return compiled


@dataclass(frozen=True, slots=True)
class _Reading:
    subject: list[str]
    body: list[str]
    tokens: list[str]  # the subject's, then the body's
    raw_text: str
    signals: Signals


def _read(request: AnalysisRequest) -> _Reading:
    ticket = request.ticket
    subject = tokenize(ticket.subject)
    body = tokenize(ticket.body)
    tokens = [*subject, *body]
    raw_text = f"{ticket.subject}\n{ticket.body}"
    return _Reading(subject, body, tokens, raw_text, read_signals(tokens, raw_text))


def _describe(
    request: AnalysisRequest, reading: _Reading, category: str, confidence: float
) -> Analysis:
    facts = request.facts
    signals = reading.signals
    language = detect_language(reading.tokens, reading.raw_text)
    related = related_transactions(request.transactions, facts)
    priority = pick_priority(category, signals, facts, has_large_amount(related, facts))
    return Analysis(
        category=category,
        priority=priority,
        sentiment=signals.sentiment,
        language=language,
        summary=summarize(category, language, signals, related, facts),
        confidence=confidence,
        needs_human=needs_human(confidence, priority, signals, facts),
        related_transaction_ids=list(facts.related_transaction_ids),
    )


def rules_analysis(request: AnalysisRequest, category: str, confidence: float) -> Analysis:
    """The rules' priority, sentiment, language, summary and review flag around a category
    and confidence chosen elsewhere (by the local classifier, say)."""
    return _describe(request, _read(request), category, confidence)
