"""How soon a ticket needs an answer, and whether a person should look at it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Final

from supporter.domain.models import Priority, Sentiment, Transaction, TransactionFacts
from supporter.llm.offline.signals import Signals

NEEDS_HUMAN_BELOW: Final = 0.5
"""Confidence under which a person should check the classification."""

BASE_PRIORITY: Final[Mapping[str, Priority]] = {
    "billing_question": Priority.LOW,
    "general_inquiry": Priority.LOW,
    "subscription_cancellation": Priority.LOW,
    "refund_request": Priority.MEDIUM,
    "duplicate_charge": Priority.MEDIUM,
    "payment_failed": Priority.MEDIUM,
    "account_access": Priority.MEDIUM,
    "technical_issue": Priority.MEDIUM,
    "unrecognized_charge": Priority.HIGH,
}
_PRIORITY_ORDER: Final = (Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.URGENT)
# Amounts from which a ticket is worth a faster look; most currencies use the
# default, those with small units need a bigger number for the same money.
_LARGE_AMOUNT_DEFAULT: Final = Decimal(1000)
LARGE_AMOUNT: Final[Mapping[str, Decimal]] = {
    "JPY": Decimal(150_000), "KRW": Decimal(1_300_000), "INR": Decimal(80_000),
    "HUF": Decimal(350_000), "IDR": Decimal(15_000_000), "VND": Decimal(25_000_000),
    "CLP": Decimal(900_000), "COP": Decimal(4_000_000), "ISK": Decimal(130_000),
    "RUB": Decimal(90_000), "TRY": Decimal(30_000), "MXN": Decimal(17_000),
    "BRL": Decimal(5_000), "ZAR": Decimal(18_000), "PHP": Decimal(55_000),
    "THB": Decimal(35_000), "CZK": Decimal(23_000), "SEK": Decimal(10_000),
    "NOK": Decimal(10_000), "DKK": Decimal(7_000), "PLN": Decimal(4_000),
}  # fmt: skip


def has_large_amount(related: Sequence[Transaction], facts: TransactionFacts) -> bool:
    if any(abs(amount) >= _LARGE_AMOUNT_DEFAULT for amount in facts.mentioned_amounts):
        return True
    return any(
        abs(tx.amount) >= LARGE_AMOUNT.get(tx.currency.upper(), _LARGE_AMOUNT_DEFAULT)
        for tx in related
    )


def pick_priority(
    category: str, signals: Signals, facts: TransactionFacts, large_amount: bool
) -> Priority:
    found = signals.found
    if (
        "legal" in found
        or "chargeback" in found
        or facts.chargeback_ids
        or ("fraud" in found and ("urgency" in found or signals.angry))
        or ("locked" in found and "urgency" in found)
    ):
        return Priority.URGENT
    level = _PRIORITY_ORDER.index(BASE_PRIORITY.get(category, Priority.MEDIUM))
    if signals.sentiment is Sentiment.NEGATIVE:
        level = max(level, 1)
    if found & {"fraud", "locked", "urgency"} or large_amount or signals.angry:
        level = max(level, 2)
    return _PRIORITY_ORDER[level]


def needs_human(
    confidence: float, priority: Priority, signals: Signals, facts: TransactionFacts
) -> bool:
    return (
        confidence < NEEDS_HUMAN_BELOW
        or priority is Priority.URGENT
        or bool(signals.found & {"fraud", "legal", "chargeback"})
        or bool(facts.chargeback_ids)
    )
