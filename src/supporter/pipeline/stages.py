"""The analyze and respond stages: what each does with one message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from supporter.analysis.analyzer import Analyzer
from supporter.domain.errors import PermanentError
from supporter.domain.messages import AnalyzedTicketMessage, RespondedTicketMessage, TicketMessage
from supporter.domain.models import Ticket, Transaction
from supporter.pipeline.worker import Stage
from supporter.replies.responder import Responder

TICKETS = "tickets"
ANALYZED = "analyzed"
RESPONDED = "responded"


FALLBACK_MARK = " (fallback)"

TransactionLookup = Callable[[Ticket], Awaitable[list[Transaction]]]


async def _transactions(
    message: TicketMessage, lookup: TransactionLookup | None
) -> list[Transaction]:
    if message.transactions is not None:
        return message.transactions
    if lookup is None:
        raise PermanentError(
            "the ticket came without transactions and this worker has no transaction store"
        )
    return await lookup(message.ticket)


def _analyze_with(
    analyzer: Analyzer, lookup: TransactionLookup | None, mark: str = ""
) -> Callable[[TicketMessage], Awaitable[AnalyzedTicketMessage]]:
    async def handle(message: TicketMessage) -> AnalyzedTicketMessage:
        transactions = await _transactions(message, lookup)
        facts, response = await analyzer.analyze(message.ticket, transactions)
        return AnalyzedTicketMessage(
            ticket=message.ticket,
            transactions=transactions,
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
        relied_on = set(drafted.reply.cited_transaction_ids) | set(
            drafted.analysis.related_transaction_ids
        )
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
            transactions=[t for t in message.transactions if t.transaction_id in relied_on],
        )

    return handle


def analyze_stage(
    analyzer: Analyzer,
    *,
    concurrency: int,
    fallback: Analyzer | None = None,
    lookup: TransactionLookup | None = None,
) -> Stage[TicketMessage, AnalyzedTicketMessage]:
    """`lookup` finds the transactions of a ticket that came without them."""
    return Stage(
        "analyze",
        TICKETS,
        ANALYZED,
        TicketMessage,
        _analyze_with(analyzer, lookup),
        concurrency,
        _analyze_with(fallback, lookup, FALLBACK_MARK) if fallback else None,
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
