"""Reading a whole ticket source in a test: its tickets and its rejects."""

from __future__ import annotations

from supporter.domain.models import Ticket
from supporter.sources.base import Reject, TicketSource


async def read_all(source: TicketSource) -> tuple[list[Ticket], list[Reject]]:
    rejects: list[Reject] = []
    return [ticket async for ticket in source.tickets(rejects.append)], rejects
