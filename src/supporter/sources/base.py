"""Source ports: stream valid records, report bad ones, never hold a whole input in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Protocol, runtime_checkable

from supporter.domain.errors import SupporterError
from supporter.domain.models import Reject, SourceName, Ticket, Transaction

__all__ = [
    "CountsSkips",
    "MapsColumns",
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


@runtime_checkable
class CountsSkips(Protocol):
    """A source whose input holds rows that are not records (a processor's payouts, fees,
    currency conversions): it skips them, and counts them by reason as it reads."""

    @property
    def skipped(self) -> Mapping[str, int]: ...


@runtime_checkable
class MapsColumns(Protocol):
    """A source read from named columns, which can say which it reads (`supporter inspect`)."""

    def column_mapping(self) -> tuple[list[tuple[str, str]], list[str]]:
        """(our field, or "read", and the file's column) for what is read; the columns not."""
        ...
