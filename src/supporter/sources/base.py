"""Source ports: stream valid records, report bad ones, never hold a whole input in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Protocol

from supporter.domain.errors import SupporterError
from supporter.domain.models import Reject, SourceName, Ticket, Transaction

__all__ = [
    "Reject",
    "RejectHandler",
    "SourceError",
    "SourceName",
    "TicketSource",
    "TransactionSource",
]

RejectHandler = Callable[[Reject], None]


class SourceError(SupporterError):
    """The input cannot be read at all (missing file or column): stop before any work."""


class TicketSource(Protocol):
    def tickets(self, on_reject: RejectHandler) -> AsyncIterator[Ticket]:
        """Every valid ticket in input order, whatever its status; bad rows go to `on_reject`.

        Raises `SourceError` before yielding anything when the input is unusable.
        """
        ...


class TransactionSource(Protocol):
    def transactions(self, on_reject: RejectHandler) -> AsyncIterator[Transaction]:
        """Every valid transaction; bad rows go to `on_reject`."""
        ...
