"""Tickets that arrive one by one (the HTTP API), into a running pipeline.

A ticket is stored as received before it is published, and only when it was not
stored already: posting the same ticket again changes nothing. When the broker
cannot take it, it is taken back out of the store, so that posting it again
later is not mistaken for a repeat. What was published is recorded (the message id,
the time): a ticket stored but lost before its result is sent again from there
(`pipeline/resend.py`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from supporter.brokers.base import Broker
from supporter.domain.messages import TicketMessage
from supporter.domain.models import Ticket
from supporter.pipeline.ingest import publish_ticket
from supporter.pipeline.stages import TICKETS


class TicketInbox(Protocol):
    """Where received tickets are kept (the store)."""

    async def add_tickets(self, tickets: Sequence[Ticket]) -> list[Ticket]: ...

    async def forget_tickets(self, ticket_ids: Sequence[str]) -> None: ...

    async def published(self, messages: Mapping[str, str]) -> None: ...


@dataclass
class Intake:
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    not_open: list[str] = field(default_factory=list)


class TicketIntake:
    def __init__(self, store: TicketInbox, broker: Broker, open_statuses: Collection[str]) -> None:
        self._store = store
        self._broker = broker
        self._open = frozenset(open_statuses)

    async def take(self, tickets: Sequence[Ticket]) -> Intake:
        """Raises StoreError, or BrokerError after taking back what was not published."""
        intake = Intake(not_open=[t.ticket_id for t in tickets if t.status not in self._open])
        wanted = [ticket for ticket in tickets if ticket.status in self._open]
        added = await self._store.add_tickets(wanted)
        fresh = {ticket.ticket_id for ticket in added}
        intake.duplicates = [t.ticket_id for t in wanted if t.ticket_id not in fresh]
        sent: dict[str, str] = {}
        try:
            for position, ticket in enumerate(added):
                try:
                    # Without transactions: the analyze stage looks them up in the store.
                    message = TicketMessage(ticket=ticket, transactions=None)
                    await publish_ticket(self._broker, TICKETS, message, "api")
                except BaseException:  # a cancellation too: a ticket kept but never sent is lost
                    await self._store.forget_tickets([t.ticket_id for t in added[position:]])
                    raise
                sent[ticket.ticket_id] = message.message_id
                intake.accepted.append(ticket.ticket_id)
        finally:
            await self._store.published(sent)
        return intake
