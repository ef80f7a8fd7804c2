"""The one-line summary of an analysis: the category, the transactions, the flags."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from supporter.domain.masking import mask_card_numbers
from supporter.domain.models import Sentiment, Transaction, TransactionFacts
from supporter.llm.offline.language import DEFAULT_LANGUAGE
from supporter.llm.offline.signals import Signals
from supporter.llm.offline.transactions import money_text, utc_day

_SUMMARY_MAX: Final = 120

LABELS: Final[Mapping[str, str]] = {
    "billing_question": "Billing question",
    "refund_request": "Refund request",
    "duplicate_charge": "Duplicate charge",
    "payment_failed": "Failed payment",
    "unrecognized_charge": "Unrecognized charge",
    "subscription_cancellation": "Cancellation request",
    "account_access": "Account access",
    "technical_issue": "Technical issue",
    "general_inquiry": "General inquiry",
}
_FLAG_TEXT: Final = (
    ("legal", "legal threat"),
    ("chargeback", "chargeback"),
    ("fraud", "possible fraud"),
    ("locked", "locked out"),
    ("urgency", "marked urgent"),
)


def _label(category: str) -> str:
    return LABELS.get(category) or category.replace("_", " ").strip().capitalize()


def summarize(
    category: str,
    language: str,
    signals: Signals,
    related: Sequence[Transaction],
    facts: TransactionFacts,
) -> str:
    parts = [_transactions_gist(related, facts)]
    parts += [text for flag, text in _FLAG_TEXT if flag in signals.found]
    if facts.chargeback_ids and "chargeback" not in signals.found:
        parts.append("chargeback")
    if signals.angry:
        parts.append("customer angry")
    elif signals.sentiment is Sentiment.NEGATIVE:
        parts.append("customer upset")
    text = f"{_label(category)}: {'; '.join(parts)}"
    if language != DEFAULT_LANGUAGE:
        text += f" ({language})"
    return _shorten(mask_card_numbers(text), _SUMMARY_MAX)


def _transactions_gist(related: Sequence[Transaction], facts: TransactionFacts) -> str:
    if not related:
        return "no matching transaction found"
    duplicates = [tx for tx in related if tx.transaction_id in facts.duplicate_charge_ids]
    if len(duplicates) > 1:
        first = duplicates[0]
        return f"{len(duplicates)}x {money_text(first)} from {utc_day(first)}"
    first = related[0]
    gist = f"{money_text(first)} on {utc_day(first)} ({first.type.value}, {first.status})"
    if len(related) > 1:
        gist += f" +{len(related) - 1} more"
    return gist


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ;,:")
    return cut + "…"
