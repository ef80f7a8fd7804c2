"""The model port: ask for a structured analysis or reply, get it validated with usage.

Providers raise `TransientError` (retry later), `PermanentError` (refusal,
unusable answer) or `FatalError` (quota, credentials) from `supporter.domain.errors`;
the pipeline owns the one retry policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from supporter.domain.knowledge import Passage
from supporter.domain.models import (
    Analysis,
    Reply,
    Ticket,
    Transaction,
    TransactionFacts,
    Usage,
)

T = TypeVar("T", bound=BaseModel)

# How one HTTP call to a model provider ended: `rate_limited` a 429, `server_error` a 5xx,
# `timeout` no answer in time, `refused` the model declined, `invalid` an answer that
# could not be used (malformed, cut off, unreadable), `other` anything else.
CallOutcome = Literal[
    "ok", "rate_limited", "server_error", "timeout", "refused", "invalid", "other"
]


class Category(BaseModel):
    """One class of the taxonomy; `keywords` help rule-based providers, `description` models."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str = ""
    keywords: list[str] = Field(default_factory=list)


class AnalysisRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    ticket: Ticket
    transactions: list[Transaction]
    facts: TransactionFacts
    taxonomy: list[Category]


class ReplyRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    ticket: Ticket
    transactions: list[Transaction]
    facts: TransactionFacts
    analysis: Analysis
    # Help-center passages and saved replies retrieved for this ticket, best first: a
    # reply may rely on them, and must cite (`Reply.cited_articles`) those it does.
    passages: list[Passage] = Field(default_factory=list)


class ModelResponse(BaseModel, Generic[T]):
    model_config = ConfigDict(frozen=True)

    value: T
    usage: Usage = Field(default_factory=Usage)
    provider: str


class ModelProvider(Protocol):
    """Anything that can classify a ticket and draft a reply."""

    @property
    def name(self) -> str:
        """Short name recorded with each result (`offline`, `openai:gpt-4o`, ...)."""
        ...

    @property
    def version(self) -> str:
        """Changes whenever answers could change (model, prompts, rules): part of the
        idempotency key, so a new version redoes tickets and an old one never does."""
        ...

    async def analyze(self, request: AnalysisRequest) -> ModelResponse[Analysis]: ...

    async def draft_reply(self, request: ReplyRequest) -> ModelResponse[Reply]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One HTTP call to a model provider, as an observer sees it: no ticket in it.

    `usage` is what the call was billed (with its cost), empty when it failed before an
    answer; `ratelimit_remaining` is the server's `x-ratelimit-remaining-*` by kind
    (`requests`, `tokens`), for the kinds it sent.
    """

    provider: str
    model: str
    outcome: CallOutcome
    seconds: float
    usage: Usage = field(default_factory=Usage)
    ratelimit_remaining: Mapping[str, int] = field(default_factory=dict)


class ModelObserver(Protocol):
    """Told of every HTTP call a provider makes (metrics); must be quick and not raise."""

    def on_call(self, call: ModelCall) -> None: ...


class NoObserver:
    """The default observer: ignores every call."""

    def on_call(self, call: ModelCall) -> None:
        pass
