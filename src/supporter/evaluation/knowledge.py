"""How well the knowledge base answers labelled tickets: retrieval and citations.

Each example is a ticket (subject and body, no transactions) labelled with the
article that answers it. It is analysed and answered as in the pipeline; the
retrieval is scored on the articles of the passages the responder searches, in
order (recall@1, recall@5, mean reciprocal rank over the first `RANKED` passages),
and the draft on what it cites: citation accuracy is the share of drafts that cite
the labelled article and no other.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict

from supporter.analysis.analyzer import Analyzer
from supporter.domain.errors import FatalError, SupporterError
from supporter.domain.knowledge import article_of
from supporter.domain.models import Ticket
from supporter.knowledge.retrieval import Retriever
from supporter.llm.base import Category, ModelProvider
from supporter.replies.responder import Responder
from supporter.sources.labelled import LabelledExample

RANKED: Final = 30
_CREATED_AT: Final = datetime(2024, 6, 1, tzinfo=UTC)


class KnowledgeScores(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    provider: str
    examples: int
    failed: int  # no analysis or no draft
    recall_at_1: float
    recall_at_5: float
    mrr: float
    cites_label: float  # drafts citing the labelled article (perhaps among others)
    citation_accuracy: float  # drafts citing the labelled article and no other
    uncited: float  # drafts citing nothing
    grounding_passed: float
    seconds: float


class _Outcome(BaseModel):
    rank: int | None = None  # 1-based rank of the labelled article; None: not in RANKED
    cited: frozenset[str] = frozenset()
    grounded: bool = False
    failed: bool = False


async def evaluate_knowledge(
    provider: ModelProvider,
    taxonomy: Sequence[Category],
    retriever: Retriever,
    examples: Sequence[LabelledExample],
    *,
    file: str,
    concurrency: int = 8,
) -> KnowledgeScores:
    """Score `examples` (text: the ticket, label: the article id). A fatal provider
    error (quota, credentials) stops it; any other failure counts the example failed."""
    analyzer = Analyzer(provider, taxonomy)
    responder = Responder(provider, retriever)
    gate = asyncio.Semaphore(concurrency)

    async def one(example: LabelledExample) -> _Outcome:
        ticket = Ticket(
            ticket_id=f"line-{example.line}",
            customer_id="eval",
            subject="",
            body=example.text,
            status="open",
            created_at=_CREATED_AT,
        )
        async with gate:
            try:
                facts, analysis = await analyzer.analyze(ticket, [])
                hits = await retriever.search(ticket, analysis.value, RANKED)
                drafted = await responder.respond(ticket, [], facts, analysis.value)
            except FatalError:
                raise
            except (SupporterError, ValueError):
                return _Outcome(failed=True)
        articles = list(dict.fromkeys(hit.passage.article_id for hit in hits))
        rank = articles.index(example.label) + 1 if example.label in articles else None
        cited = frozenset(article_of(pid) for pid in drafted.reply.cited_articles)
        return _Outcome(rank=rank, cited=cited, grounded=drafted.grounding.passed)

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(one(example) for example in examples))
    count = max(len(outcomes), 1)

    def share(hits: int) -> float:
        return hits / count

    labels = [example.label for example in examples]
    return KnowledgeScores(
        file=file,
        provider=provider.name,
        examples=len(outcomes),
        failed=sum(o.failed for o in outcomes),
        recall_at_1=share(sum(o.rank == 1 for o in outcomes)),
        recall_at_5=share(sum(o.rank is not None and o.rank <= 5 for o in outcomes)),
        mrr=sum(1 / o.rank for o in outcomes if o.rank) / count,
        cites_label=share(sum(label in o.cited for o, label in zip(outcomes, labels, strict=True))),
        citation_accuracy=share(
            sum(o.cited == {label} for o, label in zip(outcomes, labels, strict=True))
        ),
        uncited=share(sum(not o.cited and not o.failed for o in outcomes)),
        grounding_passed=share(sum(o.grounded for o in outcomes)),
        seconds=time.perf_counter() - started,
    )
