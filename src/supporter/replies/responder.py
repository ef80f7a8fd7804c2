"""The respond step: a draft from the model, checked against the transactions and the
help-center passages it was given.

A draft that states something the transactions or cited passages do not support is
kept for a person to review (`needs_human`), never presented as ready to send; so is
one that makes a promise only a cited passage allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from supporter.analysis.grounding import check_reply
from supporter.domain.models import (
    Analysis,
    GroundingCheck,
    Reply,
    Ticket,
    Transaction,
    TransactionFacts,
    Usage,
)
from supporter.knowledge.retrieval import Retriever
from supporter.llm.base import ModelProvider, ReplyRequest


@dataclass(frozen=True)
class DraftedReply:
    reply: Reply
    grounding: GroundingCheck
    analysis: Analysis
    usage: Usage
    provider: str


class Responder:
    """`knowledge`, when given, finds the passages each reply is drafted from."""

    def __init__(self, provider: ModelProvider, knowledge: Retriever | None = None) -> None:
        self._provider = provider
        self._knowledge = knowledge

    async def respond(
        self,
        ticket: Ticket,
        transactions: Sequence[Transaction],
        facts: TransactionFacts,
        analysis: Analysis,
    ) -> DraftedReply:
        passages = await self._knowledge.passages_for(ticket, analysis) if self._knowledge else None
        request = ReplyRequest(
            ticket=ticket,
            transactions=list(transactions),
            facts=facts,
            analysis=analysis,
            passages=passages or [],
        )
        response = await self._provider.draft_reply(request)
        reply = response.value
        if self._knowledge is not None and reply.cited_articles:
            version = await self._knowledge.version_of(reply.cited_articles)
            reply = reply.model_copy(update={"knowledge_version": version})
        grounding = check_reply(reply, transactions, ticket, passages)
        if (not grounding.passed or grounding.for_review) and not analysis.needs_human:
            analysis = analysis.model_copy(update={"needs_human": True})
        return DraftedReply(
            reply=reply,
            grounding=grounding,
            analysis=analysis,
            usage=response.usage,
            provider=response.provider,
        )
