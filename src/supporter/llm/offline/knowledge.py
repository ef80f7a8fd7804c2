"""The team's own words in an offline reply: a saved reply made for the ticket's
category, its placeholders filled from the transactions, or else the best help-center
passage in the ticket's language in place of our generic next steps.

Placeholders are `{{name}}` (spaces inside allowed): `ticket_id` (or Zendesk's
`ticket.id`), and of the transaction the ticket is about `amount` (with currency),
`date` (YYYY-MM-DD), `transaction_id` and `card_last4`. A saved reply with any other
placeholder, or one about a transaction when there is none, is not used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from supporter.domain.knowledge import Passage
from supporter.domain.models import Transaction
from supporter.llm.base import ReplyRequest
from supporter.llm.offline.transactions import money_text, related_transactions, utc_day

_PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")
_LAST4 = re.compile(r"\d{4}")
# A policy paragraph, not the whole article: the reply links to the rest by citing it.
EXCERPT_CHARS: Final = 700

_OF_TRANSACTION: Final[dict[str, Callable[[Transaction], str | None]]] = {
    "amount": money_text,
    "date": utc_day,
    "transaction_id": lambda tx: tx.transaction_id,
    "card_last4": lambda tx: tx.card_last4 if _LAST4.fullmatch(tx.card_last4 or "") else None,
}


@dataclass(frozen=True, slots=True)
class Filled:
    passage: Passage
    body: str
    transaction_ids: list[str]


def _fits(passage: Passage, language: str) -> bool:
    return passage.language in (None, language)


def saved_reply(request: ReplyRequest) -> Filled | None:
    """The first saved reply for the ticket's category and language that can be filled."""
    analysis = request.analysis
    for passage in request.passages:
        if passage.kind != "saved_reply" or passage.category != analysis.category:
            continue
        if _fits(passage, analysis.language) and (filled := _fill(passage, request)):
            return filled
    return None


def _fill(passage: Passage, request: ReplyRequest) -> Filled | None:
    related = related_transactions(request.transactions, request.facts)
    about = related[0] if related else None
    used: list[str] = []
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name in ("ticket_id", "ticket.id"):
            return request.ticket.ticket_id
        getter = _OF_TRANSACTION.get(name)
        text = getter(about) if getter is not None and about is not None else None
        if text is None:
            missing = True
            return ""
        if about is not None and about.transaction_id not in used:
            used.append(about.transaction_id)
        return text

    body = _PLACEHOLDER.sub(value, passage.text)
    return None if missing else Filled(passage, body, used)


def policy_passage(request: ReplyRequest) -> Passage | None:
    """The best-ranked article passage in the ticket's language (or of none stated)."""
    language = request.analysis.language
    return next((p for p in request.passages if p.kind == "article" and _fits(p, language)), None)


def excerpt(text: str) -> str:
    """The passage's first paragraphs, up to `EXCERPT_CHARS` (at least one paragraph)."""
    kept: list[str] = []
    for paragraph in text.split("\n\n"):
        if kept and sum(len(p) + 2 for p in kept) + len(paragraph) > EXCERPT_CHARS:
            break
        kept.append(paragraph)
    return "\n\n".join(kept)
