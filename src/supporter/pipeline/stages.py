"""The analyze and respond stages: what each does with one message."""

from __future__ import annotations

from supporter.analysis.analyzer import Analyzer
from supporter.domain.messages import AnalyzedTicketMessage, RespondedTicketMessage, TicketMessage
from supporter.pipeline.worker import Stage
from supporter.replies.responder import Responder

TICKETS = "tickets"
ANALYZED = "analyzed"
RESPONDED = "responded"


def analyze_stage(
    analyzer: Analyzer, *, concurrency: int
) -> Stage[TicketMessage, AnalyzedTicketMessage]:
    async def handle(message: TicketMessage) -> AnalyzedTicketMessage:
        facts, response = await analyzer.analyze(message.ticket, message.transactions)
        return AnalyzedTicketMessage(
            ticket=message.ticket,
            transactions=message.transactions,
            facts=facts,
            analysis=response.value,
            provider=response.provider,
            usage=response.usage,
            history=message.history,
        )

    return Stage("analyze", TICKETS, ANALYZED, TicketMessage, handle, concurrency)


def respond_stage(
    responder: Responder, *, concurrency: int
) -> Stage[AnalyzedTicketMessage, RespondedTicketMessage]:
    async def handle(message: AnalyzedTicketMessage) -> RespondedTicketMessage:
        drafted = await responder.respond(
            message.ticket, message.transactions, message.facts, message.analysis
        )
        provider = message.provider
        if drafted.provider != provider:
            provider = f"{provider}+{drafted.provider}"
        return RespondedTicketMessage(
            ticket=message.ticket,
            analysis=drafted.analysis,
            reply=drafted.reply,
            grounding=drafted.grounding,
            provider=provider,
            usage=message.usage + drafted.usage,
            history=message.history,
        )

    return Stage("respond", ANALYZED, RESPONDED, AnalyzedTicketMessage, handle, concurrency)
