"""Stand-ins for the local classifier and a remote model, whose answers a test chooses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from supporter.domain.models import (
    Analysis,
    Priority,
    Reply,
    Sentiment,
    Ticket,
    TransactionFacts,
    Usage,
)
from supporter.llm.base import AnalysisRequest, Category, ModelResponse, ReplyRequest


class StubClassifier:
    """Probabilities looked up by the ticket's text; records each batch it is asked."""

    def __init__(self, labels: list[str], table: dict[str, list[float]]) -> None:
        self.labels = labels
        self.version = "stub-1"
        self.table = table
        self.batches: list[list[str]] = []

    def probabilities(self, texts: Sequence[str]) -> NDArray[np.float64]:
        self.batches.append(list(texts))
        return np.array([self.table[text] for text in texts], dtype=np.float64)


class PaidModel:
    """A remote model that answers `category` with `confidence` and charges `cost` per call."""

    def __init__(self, category: str, confidence: float = 0.7, cost: str = "0.01") -> None:
        self.category = category
        self.confidence = confidence
        self.cost = Decimal(cost)
        self.analyses: list[str] = []
        self.replies: list[str] = []
        self.closed = False

    @property
    def name(self) -> str:
        return "paid:model"

    @property
    def version(self) -> str:
        return "paid-1"

    async def analyze(self, request: AnalysisRequest) -> ModelResponse[Analysis]:
        self.analyses.append(request.ticket.body)
        analysis = Analysis(
            category=self.category,
            priority=Priority.MEDIUM,
            sentiment=Sentiment.NEUTRAL,
            language="en",
            summary="from the paid model",
            confidence=self.confidence,
            needs_human=False,
        )
        return ModelResponse[Analysis](value=analysis, usage=self._usage(), provider=self.name)

    async def draft_reply(self, request: ReplyRequest) -> ModelResponse[Reply]:
        self.replies.append(request.ticket.body)
        reply = Reply(body="A reply from the paid model.")
        return ModelResponse[Reply](value=reply, usage=self._usage(), provider=self.name)

    async def aclose(self) -> None:
        self.closed = True

    def _usage(self) -> Usage:
        return Usage(prompt_tokens=100, completion_tokens=20, cost_usd=self.cost)


def ticket(body: str, subject: str = "") -> Ticket:
    return Ticket(
        ticket_id="T-1",
        customer_id="C-1",
        subject=subject,
        body=body,
        status="open",
        created_at=datetime(2024, 5, 3, tzinfo=UTC),
    )


def analysis_request(body: str, taxonomy: Sequence[str], subject: str = "") -> AnalysisRequest:
    return AnalysisRequest(
        ticket=ticket(body, subject),
        transactions=[],
        facts=TransactionFacts(),
        taxonomy=[Category(name=name) for name in taxonomy],
    )


def reply_request(request: AnalysisRequest, analysis: Analysis) -> ReplyRequest:
    return ReplyRequest(
        ticket=request.ticket,
        transactions=request.transactions,
        facts=request.facts,
        analysis=analysis,
    )
