"""The keys a ticket and a payment are joined on, compared the same way everywhere.

E-mail addresses compare without surrounding spaces and case: processors and
helpdesks write the same customer as ``Alice.Martin@Example.com `` and
``alice.martin@example.com``. (The local part is case-sensitive in RFC 5321,
but no mail provider people use treats it so, and a missed join costs a wrong
answer.)

References are what a customer quotes from a receipt or statement: a charge id
(``ch_3MmlLrLkdIwHu7ix0snN2B5a``), a PayPal transaction id
(``8MC585209K746392H``), an order number (``#1001``, ``order 1001``). They
compare without a leading ``#``, surrounding spaces and case, so ``#1001``
quoted finds a payment whose description or metadata carries ``1001``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

from supporter.domain.models import MatchedBy, Ticket, Transaction

__all__ = [
    "MAX_QUOTED",
    "Quoted",
    "matched_by",
    "normalise_email",
    "normalise_reference",
    "quoted_references",
    "reference_keys",
]

MAX_QUOTED = 32
"""At most this many references are taken from one ticket (a pasted log holds hundreds)."""

# An id-like word: letters, digits, `_` and `-`, at least six long, with a digit in it.
# Shorter numbers are amounts, days, years and card endings far more often than ids.
_WORD = re.compile(r"(?<![\w-])(?=[\w-]*\d)[A-Za-z0-9][\w-]{4,}[A-Za-z0-9](?![\w-])")
# A number of three digits or more that the customer marks as an order or invoice number.
_MARKED_NUMBER = re.compile(
    r"(?:#|\b(?:order|invoice|bestellung|rechnung|pedido|factura|commande|facture|ordine"
    r"|fattura|encomenda)\b(?:\s+(?:number|no\.?|nr\.?|n[º°o]\.?|número|numéro|nummer"
    r"|numero))?\s*[:#]?\s*)(?P<number>\d{3,})\b",
    re.IGNORECASE,
)
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}-\d{2,4}")
# A marked number follows "#" or one of these words: text without any is not searched (most
# text; the pattern is slow to try everywhere). The lower-cased text holds every spelling
# the case-insensitive pattern accepts, unless it has one of the letters that pattern takes
# for an ASCII one without lower() making it so: dotted and dotless i, long s.
_MARKS = (
    *("#", "order", "invoice", "bestellung", "rechnung", "pedido", "factur", "commande"),
    *("ordine", "fattura", "encomenda"),
)
_FOLDS_APART = re.compile("[\u0130\u0131\u017f]")


def normalise_email(value: str | None) -> str | None:
    """The address without surrounding spaces, in lower case; None when there is none."""
    if value is None:
        return None
    key = value.strip().lower()
    return key or None


def normalise_reference(value: str) -> str:
    """A reference without surrounding spaces and a leading ``#``, in lower case."""
    return value.strip().lstrip("#").strip().lower()


def quoted_references(text: str) -> list[str]:
    """The id-like words and marked order numbers of `text`, as written, first seen first,
    at most `MAX_QUOTED`. Dates are not references."""
    return list(_quoted(text))


# A ticket's text is searched three times (its transactions looked up at ingest, its
# facts and its analysis), fewer than 400 tickets apart with the default bounds (a publish
# window of 64, a queue of 256, 72 taken ahead by the analyze stage).
@lru_cache(maxsize=512)
def _quoted(text: str) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for match in _WORD.finditer(text):
        if not _DATE.fullmatch(match[0]):
            found.setdefault(match[0])
    if _may_mark_numbers(text):
        for match in _MARKED_NUMBER.finditer(text):
            found.setdefault(match["number"])
    return tuple(found)[:MAX_QUOTED]


def _may_mark_numbers(text: str) -> bool:
    """False when `_MARKED_NUMBER` cannot match in `text`."""
    if _FOLDS_APART.search(text):
        return True
    lowered = text.lower()
    return any(mark in lowered for mark in _MARKS)


def reference_keys(transaction: Transaction) -> set[str]:
    """The normalised references a transaction can be quoted by (its id is matched apart)."""
    return {key for reference in transaction.references if (key := normalise_reference(reference))}


@dataclass(frozen=True)
class Quoted:
    """What a ticket quotes, as it is looked up: ids as written, references normalised."""

    ids: frozenset[str]
    keys: frozenset[str]

    @classmethod
    def of(cls, quoted: Collection[str]) -> Quoted:
        keys = {key for text in quoted if (key := normalise_reference(text))}
        return cls(frozenset(quoted), frozenset(keys))

    @classmethod
    def in_ticket(cls, ticket: Ticket) -> Quoted:
        return cls.of(quoted_references(f"{ticket.subject}\n{ticket.body}"))

    def matches(self, transaction: Transaction) -> bool:
        if transaction.transaction_id in self.ids:
            return True
        return bool(self.keys) and not self.keys.isdisjoint(reference_keys(transaction))


def matched_by(ticket: Ticket, transaction: Transaction, quoted: Quoted) -> MatchedBy:
    """How `transaction` joins `ticket`, the strongest way first: the same customer id,
    the same e-mail (normalised), a reference the ticket quotes (`quoted`). A transaction
    handed over with a ticket that joins it none of these ways was joined by the caller
    on its own customer key, and counts as the customer's: customer_id."""
    if transaction.customer_id == ticket.customer_id:
        return MatchedBy.CUSTOMER_ID
    email = normalise_email(ticket.customer_email)
    if email is not None and normalise_email(transaction.customer_email) == email:
        return MatchedBy.EMAIL
    if quoted.matches(transaction):
        return MatchedBy.REFERENCE
    return MatchedBy.CUSTOMER_ID
