"""The respond step: a draft from the model, checked against the transactions.

A draft that states something the transactions do not support is kept for a
person to review (`needs_human`), never presented as ready to send.
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
from supporter.llm.base import ModelProvider, ReplyRequest


@dataclass(frozen=True)
class DraftedReply:
    reply: Reply
    grounding: GroundingCheck
    analysis: Analysis
    usage: Usage
    provider: str


class Responder:
    def __init__(self, provider: ModelProvider) -> None:
        self._provider = provider

    async def respond(
        self,
        ticket: Ticket,
        transactions: Sequence[Transaction],
        facts: TransactionFacts,
        analysis: Analysis,
    ) -> DraftedReply:
        request = ReplyRequest(
            ticket=ticket, transactions=list(transactions), facts=facts, analysis=analysis
        )
        response = await self._provider.draft_reply(request)
        grounding = check_reply(response.value, transactions, ticket)
        if not grounding.passed and not analysis.needs_human:
            analysis = analysis.model_copy(update={"needs_human": True})
        return DraftedReply(
            reply=response.value,
            grounding=grounding,
            analysis=analysis,
            usage=response.usage,
            provider=response.provider,
        )
