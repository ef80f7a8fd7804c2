"""The analyze and respond stages: what each does with one message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from supporter.analysis.analyzer import Analyzer
from supporter.domain.messages import AnalyzedTicketMessage, RespondedTicketMessage, TicketMessage
from supporter.pipeline.worker import Stage
from supporter.replies.responder import Responder

TICKETS = "tickets"
ANALYZED = "analyzed"
RESPONDED = "responded"


FALLBACK_MARK = " (fallback)"


def _analyze_with(
    analyzer: Analyzer, mark: str = ""
) -> Callable[[TicketMessage], Awaitable[AnalyzedTicketMessage]]:
    async def handle(message: TicketMessage) -> AnalyzedTicketMessage:
        facts, response = await analyzer.analyze(message.ticket, message.transactions)
        return AnalyzedTicketMessage(
            ticket=message.ticket,
            transactions=message.transactions,
            facts=facts,
            analysis=response.value,
            provider=response.provider + mark,
            usage=response.usage,
            history=message.history,
            origin_id=message.origin_id,
        )

    return handle


def _respond_with(
    responder: Responder, mark: str = ""
) -> Callable[[AnalyzedTicketMessage], Awaitable[RespondedTicketMessage]]:
    async def handle(message: AnalyzedTicketMessage) -> RespondedTicketMessage:
        drafted = await responder.respond(
            message.ticket, message.transactions, message.facts, message.analysis
        )
        provider = message.provider
        if drafted.provider + mark != provider:
            provider = f"{provider}+{drafted.provider}{mark}"
        return RespondedTicketMessage(
            ticket=message.ticket,
            analysis=drafted.analysis,
            reply=drafted.reply,
            grounding=drafted.grounding,
            provider=provider,
            usage=message.usage + drafted.usage,
            history=message.history,
            origin_id=message.origin_id,
        )

    return handle


def analyze_stage(
    analyzer: Analyzer, *, concurrency: int, fallback: Analyzer | None = None
) -> Stage[TicketMessage, AnalyzedTicketMessage]:
    return Stage(
        "analyze",
        TICKETS,
        ANALYZED,
        TicketMessage,
        _analyze_with(analyzer),
        concurrency,
        _analyze_with(fallback, FALLBACK_MARK) if fallback else None,
    )


def respond_stage(
    responder: Responder, *, concurrency: int, fallback: Responder | None = None
) -> Stage[AnalyzedTicketMessage, RespondedTicketMessage]:
    return Stage(
        "respond",
        ANALYZED,
        RESPONDED,
        AnalyzedTicketMessage,
        _respond_with(responder),
        concurrency,
        _respond_with(fallback, FALLBACK_MARK) if fallback else None,
    )
