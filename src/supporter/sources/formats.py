"""The format port: how a file format says "this is me, because ..." and opens a source.

A format is one module in `sources/` (stripe.py, paypal.py, zendesk.py, ...)
exposing an object with a `name` (what `--tickets-format` / `--transactions-format`
take), a `title`, `recognise(sample)` (why the sample is this format, or None)
and `open(sample, options)`, which checks the header and returns the source
(raising `SourceError` before any work when the file cannot be used).
`registry` lists them all and picks one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Literal, Protocol, TypeVar

from supporter.sources.base import TicketSource, TransactionSource
from supporter.sources.records import DEFAULT_MAX_RECORD
from supporter.sources.sniff import Sample

__all__ = ["DateOrder", "FieldLimits", "Format", "ReadOptions", "TicketFormat", "TransactionFormat"]

DateOrder = Literal["day-first", "month-first"]
Source_co = TypeVar("Source_co", covariant=True)


@dataclass(frozen=True, slots=True)
class FieldLimits:
    """The longest value, in characters, each field may hold; a longer one rejects the row."""

    id: int = 128
    subject: int = 500
    body: int = 20_000
    description: int = 2_000
    text: int = 256
    record: int = DEFAULT_MAX_RECORD

    def __post_init__(self) -> None:
        for limit in fields(self):
            if getattr(self, limit.name) < 1:
                raise ValueError(f"FieldLimits.{limit.name} must be at least 1")


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What the user said about how to read a file, beyond its content."""

    # Our field -> the file's column; given, our CSV format reads the file with it.
    column_map: Mapping[str, str] = field(default_factory=dict)
    limits: FieldLimits = field(default_factory=FieldLimits)
    # How to read 03/04/2024 where neither the format nor the file decides.
    date_order: DateOrder | None = None


class Format(Protocol[Source_co]):
    @property
    def name(self) -> str:
        """Short and lower case: what the --*-format options take."""
        ...

    @property
    def title(self) -> str:
        """What a person calls it: "Stripe payments export"."""
        ...

    def recognise(self, sample: Sample) -> str | None:
        """Why `sample` is in this format ("columns id, Created (UTC), Amount Refunded"),
        or None when it is not."""
        ...

    def open(self, sample: Sample, options: ReadOptions) -> Source_co:
        """The source reading the whole file; SourceError when it cannot be used."""
        ...


TicketFormat = Format[TicketSource]
TransactionFormat = Format[TransactionSource]
