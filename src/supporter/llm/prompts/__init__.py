"""Versioned prompts and the messages built from them.

The system message is the static part (instructions, the taxonomy with its
descriptions, output rules) and comes first; everything about one ticket
follows in the user message, the ticket text last. Requests for different
tickets thus share their whole prefix, which is what providers' prompt
caching rewards.

Everything from outside (ticket text, transaction descriptions, ids) is card-
masked here, whatever the source already did, and any of our section tags
inside it is defused, so the ticket stays data the model reads, never
instructions it follows.

Changing a prompt file means a new file and version (`analysis_v2.md`), never an
edit in place: the version is part of every result's idempotency key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Final, Literal, TypedDict

from supporter.domain.knowledge import Passage
from supporter.domain.masking import mask_card_numbers
from supporter.domain.models import Ticket, Transaction
from supporter.llm.base import AnalysisRequest, Category, ReplyRequest

__all__ = [
    "ANALYSIS_PROMPT",
    "PROMPT_VERSION",
    "REPLY_PROMPT",
    "ChatMessage",
    "analysis_messages",
    "analysis_system_prompt",
    "load_prompt",
    "reply_messages",
]

ANALYSIS_PROMPT: Final = "analysis-v1"
REPLY_PROMPT: Final = "reply-v2"
PROMPT_VERSION: Final = f"{ANALYSIS_PROMPT}+{REPLY_PROMPT}"

# Long e-mails mostly repeat quoted history at the end; the head carries the
# request, and the cap bounds what one pathological ticket can cost.
MAX_BODY_CHARS: Final = 8000

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
# An opening or closing tag of one of our sections, however spaced or cased.
_SECTION_TAG = re.compile(
    r"<(\s*/?\s*(?:ticket|transactions|facts|analysis|knowledge)\b)", re.IGNORECASE
)
_LAST4 = re.compile(r"\d{4}")


class ChatMessage(TypedDict):
    role: Literal["system", "user"]
    content: str


@cache
def load_prompt(version: str) -> str:
    """The text of a prompt file shipped in this package, e.g. `load_prompt("analysis-v1")`."""
    name = version.replace("-", "_") + ".md"
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def render(template: str, **values: str) -> str:
    """Fill `{{name}}` placeholders; a missing value is a bug, not an empty string."""

    def substitute(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return _PLACEHOLDER.sub(substitute, template)


def analysis_system_prompt(taxonomy: Sequence[Category]) -> str:
    lines = [f"- `{item.name}`: {item.description or item.name}" for item in taxonomy]
    return render(load_prompt(ANALYSIS_PROMPT), taxonomy="\n".join(lines))


def analysis_messages(request: AnalysisRequest) -> list[ChatMessage]:
    user = "\n\n".join(
        [
            _section("facts", _facts_json(request)),
            _section("transactions", _transactions_json(request.transactions)),
            _section("ticket", _ticket_text(request.ticket)),
        ]
    )
    return [
        {"role": "system", "content": analysis_system_prompt(request.taxonomy)},
        {"role": "user", "content": user},
    ]


def reply_messages(request: ReplyRequest) -> list[ChatMessage]:
    analysis = request.analysis
    summary = {
        "category": analysis.category,
        "priority": analysis.priority.value,
        "sentiment": analysis.sentiment.value,
        "language": analysis.language,
        "summary": analysis.summary,
    }
    user = "\n\n".join(
        [
            _section("analysis", _json(summary)),
            _section("facts", _facts_json(request)),
            _section("transactions", _transactions_json(request.transactions)),
            _section("knowledge", _passages_json(request.passages)),
            _section("ticket", _ticket_text(request.ticket)),
        ]
    )
    return [
        {"role": "system", "content": load_prompt(REPLY_PROMPT)},
        {"role": "user", "content": user},
    ]


def _section(tag: str, content: str) -> str:
    return f"<{tag}>\n{content}\n</{tag}>"


def _clean(text: str) -> str:
    """Outside text as it may leave the process: card numbers masked, our tags defused."""
    return _SECTION_TAG.sub(r"‹\1", mask_card_numbers(text))


def _json(value: object) -> str:
    return json.dumps(_cleaned(value), ensure_ascii=False)


def _json_rows(rows: Sequence[object]) -> str:
    """A JSON list with one row per line: easy to read, without indentation's tokens."""
    return "[\n" + ",\n".join(_json(row) for row in rows) + "\n]"


def _cleaned(value: object) -> object:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, dict):
        return {key: _cleaned(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    return value


def _facts_json(request: AnalysisRequest | ReplyRequest) -> str:
    return _json(request.facts.model_dump(mode="json"))


def _transactions_json(transactions: Sequence[Transaction]) -> str:
    # Only what a reply may state; never the customer id, and of a card its last four only.
    rows: list[dict[str, object]] = []
    for tx in transactions:
        row: dict[str, object] = {
            "id": tx.transaction_id,
            "type": tx.type.value,
            "amount": str(tx.amount),
            "currency": tx.currency,
            "status": tx.status,
            "date": tx.created_at.date().isoformat(),
            "description": tx.description or "",
        }
        if tx.card_last4 and _LAST4.fullmatch(tx.card_last4):
            row["card_last4"] = tx.card_last4
        # What the processor records on the charge: a refund, a dispute (only when there).
        if tx.amount_refunded:
            row["amount_refunded"] = str(tx.amount_refunded)
        if tx.dispute_status:
            row["dispute_status"] = tx.dispute_status
        if tx.disputed_amount:
            row["disputed_amount"] = str(tx.disputed_amount)
        rows.append(row)
    return _json_rows(rows)


def _passages_json(passages: Sequence[Passage]) -> str:
    rows = [
        {
            "id": passage.passage_id,
            "title": passage.label,
            "kind": passage.kind,
            "language": passage.language or "",
            "text": passage.text,
        }
        for passage in passages
    ]
    return _json_rows(rows) if rows else "[]"


def _ticket_text(ticket: Ticket) -> str:
    # Masked before it is cut, so a cut never leaves part of a card number unmasked.
    body = _clean(ticket.body)
    if len(body) > MAX_BODY_CHARS:
        body = body[:MAX_BODY_CHARS] + "\n[… rest of the message cut]"
    return "\n".join(
        [
            f"Ticket id: {_clean(ticket.ticket_id)}",
            f"Received: {ticket.created_at.date().isoformat()}",
            f"Subject: {_clean(ticket.subject)}",
            "",
            body,
        ]
    )
