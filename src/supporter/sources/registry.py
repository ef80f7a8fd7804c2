"""Every file format Supporter reads, and the choice of one for a file.

A format is recognised from the file's content (`sniff`: encoding, delimiter,
header, JSON shape) by asking each format of the kind in turn; the first that
says why it is the one wins, and our own CSV comes last, as the default. A
format named by the user (`--tickets-format` / `--transactions-format`) is
used without asking; a column map (`--ticket-columns` / `--transaction-columns`)
means our CSV read through the map. A file no format recognises stops before
any work with what was seen and the formats known.

To add a format: write its module in `sources/` and list it below, before the
CSV format, more specific formats first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from supporter.sources import (
    adyen,
    braintree,
    freshdesk,
    helpscout,
    jsonl,
    paypal,
    shopify,
    square,
    stripe,
    zendesk,
)
from supporter.sources.base import SourceError, SourceName, TicketSource, TransactionSource
from supporter.sources.csv import CSV_TICKETS, CSV_TRANSACTIONS
from supporter.sources.formats import Format, ReadOptions, TicketFormat, TransactionFormat
from supporter.sources.sniff import Sample, sniff

__all__ = [
    "TICKET_FORMATS",
    "TRANSACTION_FORMATS",
    "Choice",
    "choose",
    "choose_any",
    "open_source",
    "open_tickets",
    "open_transactions",
]

TICKET_FORMATS: tuple[TicketFormat, ...] = (
    zendesk.EXPORT,
    freshdesk.TICKETS,
    helpscout.CONVERSATIONS,
    jsonl.TICKETS,
    CSV_TICKETS,
)
TRANSACTION_FORMATS: tuple[TransactionFormat, ...] = (
    stripe.PAYMENTS,
    stripe.BALANCE,
    paypal.ACTIVITY,
    shopify.PAYMENTS,
    square.TRANSACTIONS,
    adyen.SETTLEMENT,
    braintree.TRANSACTIONS,
    CSV_TRANSACTIONS,
)

S = TypeVar("S", TicketSource, TransactionSource)


@dataclass(frozen=True)
class Choice(Generic[S]):
    """The format chosen for a file, and why."""

    format: Format[S]
    why: str
    sample: Sample


def _options(kind: SourceName) -> tuple[str, str]:
    """The format option and the column-map option of a kind, for messages."""
    if kind == "tickets":
        return "--tickets-format", "--ticket-columns"
    return "--transactions-format", "--transaction-columns"


def choose(
    path: str | os.PathLike[str],
    formats: Sequence[Format[S]],
    kind: SourceName,
    *,
    forced: str | None = None,
    options: ReadOptions | None = None,
) -> Choice[S]:
    """The format of the file at `path` (SourceError when none fits, or it is unreadable)."""
    options = options or ReadOptions()
    sample = sniff(path)
    format_option, map_option = _options(kind)
    by_name = {candidate.name: candidate for candidate in formats}
    if forced is not None:
        chosen = by_name.get(forced.strip().lower())
        if chosen is None:
            raise SourceError(
                f"{format_option}: unknown format {forced!r}; the {kind} formats are: "
                + ", ".join(by_name)
            )
        return Choice(chosen, f"named with {format_option}", sample)
    if options.column_map:
        return Choice(by_name["csv"], f"columns mapped with {map_option}", sample)
    for candidate in formats:
        why = candidate.recognise(sample)
        if why is not None:
            return Choice(candidate, why, sample)
    raise SourceError(_unrecognised(sample, formats, kind, options))


def choose_any(
    path: str | os.PathLike[str],
) -> tuple[SourceName, Choice[TicketSource] | Choice[TransactionSource]]:
    """Whether a file holds tickets or transactions, and its format (`supporter inspect`)."""
    sample = sniff(path)
    for candidate in TRANSACTION_FORMATS:
        if (why := candidate.recognise(sample)) is not None:
            return "transactions", Choice(candidate, why, sample)
    for ticket_format in TICKET_FORMATS:
        if (why := ticket_format.recognise(sample)) is not None:
            return "tickets", Choice(ticket_format, why, sample)
    tickets = ", ".join(candidate.name for candidate in TICKET_FORMATS)
    transactions = ", ".join(candidate.name for candidate in TRANSACTION_FORMATS)
    raise SourceError(
        f"{sample.name}: not a format Supporter recognises ({sample.describe()}). It reads "
        f"tickets as {tickets} and transactions as {transactions}; name the kind with "
        "--kind and the format with --format"
    )


def _unrecognised(
    sample: Sample, formats: Sequence[Format[S]], kind: SourceName, options: ReadOptions
) -> str:
    format_option, _ = _options(kind)
    known = "; ".join(f"{candidate.name} ({candidate.title})" for candidate in formats)
    message = (
        f"{sample.name}: not a {kind} format Supporter recognises ({sample.describe()}). "
        f"Known {kind} formats: {known}. Name one with {format_option} NAME"
    )
    try:
        formats[-1].open(sample, options)  # our CSV, whose message says what it lacks
    except SourceError as error:
        return f"{message}; read as our CSV: {str(error).removeprefix(sample.name + ': ')}"
    return message


def open_source(
    path: str | os.PathLike[str],
    formats: Sequence[Format[S]],
    kind: SourceName,
    *,
    forced: str | None = None,
    options: ReadOptions | None = None,
) -> tuple[S, Choice[S]]:
    """The file as a source of its format, its header checked, and the format chosen."""
    options = options or ReadOptions()
    choice = choose(path, formats, kind, forced=forced, options=options)
    return choice.format.open(choice.sample, options), choice


def open_tickets(
    path: str | os.PathLike[str], *, forced: str | None = None, options: ReadOptions | None = None
) -> tuple[TicketSource, Choice[TicketSource]]:
    return open_source(path, TICKET_FORMATS, "tickets", forced=forced, options=options)


def open_transactions(
    path: str | os.PathLike[str], *, forced: str | None = None, options: ReadOptions | None = None
) -> tuple[TransactionSource, Choice[TransactionSource]]:
    return open_source(path, TRANSACTION_FORMATS, "transactions", forced=forced, options=options)
