"""What a language's texts consist of; the tables themselves are one module per language.

A template may hold inline alternatives, "[I was|I've been] charged", and the
placeholders {amount}, {date}, {last4}, {product}, {descriptor} and {email}.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from supporter.sample_data.dice import Weighted


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


@dataclass(frozen=True)
class LanguageTexts:
    code: str
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    currencies: Weighted[str]
    utc_offsets: tuple[int, ...]  # hours
    months: tuple[str, ...]
    date_styles: Weighted[str]  # keys: iso, year, month, mon, day
    money_styles: Weighted[str]  # keys: symbol, code, amount
    product: str  # the plan as the customer names it; key: tier
    greetings: Mapping[str, tuple[str, ...]]  # by tone; "" is no greeting
    tone_lines: Mapping[str, tuple[str, ...]]
    closings: Mapping[str, tuple[str, ...]]
    card_lines: tuple[str, ...]  # keys: card, exp, cvv
    subjects: Mapping[str, tuple[str, ...]]  # by category
    bodies: Mapping[str, tuple[str, ...]]
    refund_followups: tuple[str, ...]  # refund requests where the refund is already issued
    signature_extras: tuple[str, ...] = ()
    mon: tuple[str, ...] = ()


EU_MONEY = Weighted(
    {"{amount} {code}": 35, "{amount} {symbol}": 30, "{symbol}{amount}": 15, "{code} {amount}": 20}
)
EU_DATES = Weighted({"{iso}": 70, "{day} {month}": 30})
