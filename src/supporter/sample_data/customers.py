"""A customer's profile: name, e-mail, language, currency, time zone, cards and plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone

from supporter.sample_data.dice import Dice
from supporter.sample_data.distributions import (
    ANNUAL_CENTS,
    ANNUAL_SHARE,
    LANGUAGE,
    MERCHANT_EMAIL_DOMAINS,
    MONTHLY_CENTS,
    SECOND_CARD_SHARE,
    TIERS,
)
from supporter.sample_data.formats import email_name
from supporter.sample_data.texts import TEXTS, LanguageTexts


@dataclass(frozen=True, slots=True)
class Profile:
    customer_id: str
    language: LanguageTexts
    first_name: str
    last_name: str
    email: str
    currency: str
    zone: timezone
    cards: tuple[str, ...]  # last four digits
    tier: str
    monthly: bool
    plan_cents: int
    plan_description: str


def new_profile(rng: Dice, number: int) -> Profile:
    """The `number`th customer's profile."""
    language = TEXTS[LANGUAGE.pick(rng)]
    first = rng.pick(language.first_names)
    last = rng.pick(language.last_names)
    first_ascii, last_ascii = email_name(first), email_name(last)
    local = rng.pick(
        (
            f"{first_ascii}.{last_ascii}",
            f"{first_ascii}{last_ascii}",
            f"{first_ascii[0]}{last_ascii}",
            f"{first_ascii}{rng.below(100)}",
        )
    )
    email = f"{local}@{rng.pick(MERCHANT_EMAIL_DOMAINS)}"
    cards = [f"{rng.below(10_000):04d}"]
    if rng.random() < SECOND_CARD_SHARE:
        cards.append(f"{rng.below(10_000):04d}")
    tier = TIERS.pick(rng)
    monthly = rng.random() >= ANNUAL_SHARE
    if monthly:
        cents, description = MONTHLY_CENTS[tier], f"{tier} plan (monthly)"
    else:
        cents, description = ANNUAL_CENTS[tier], f"{tier} plan (annual)"
    return Profile(
        customer_id=f"C{number:05d}",
        language=language,
        first_name=first,
        last_name=last,
        email=email,
        currency=language.currencies.pick(rng),
        zone=timezone(timedelta(hours=rng.pick(language.utc_offsets))),
        cards=tuple(cards),
        tier=tier,
        monthly=monthly,
        plan_cents=cents,
        plan_description=description,
    )
