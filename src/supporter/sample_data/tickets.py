"""A ticket row: subject and body from the language's texts, filled with the customer's
own transactions, in the tone, channel and style the distributions pick."""

from __future__ import annotations

from datetime import timedelta

from supporter.domain.masking import luhn_valid
from supporter.sample_data.customers import Profile
from supporter.sample_data.dice import Dice
from supporter.sample_data.distributions import (
    CARD_BRANDS,
    CARD_NUMBER_SHARE,
    CARD_SEPARATOR,
    CHANNEL,
    DESCRIPTORS,
    EMOJI,
    EMOJI_SHARE,
    NO_EMAIL_SHARE,
    PRIORITY,
    PRIORITY_ANGRY,
    SYMBOLS,
    TICKET_STATUS,
    TYPO_SHARE,
)
from supporter.sample_data.formats import EPOCH, amount_text, ticket_time
from supporter.sample_data.records import SampleTicket
from supporter.sample_data.templates import render, with_typo
from supporter.sample_data.texts import LanguageTexts
from supporter.sample_data.transactions import TicketPlan


class TicketWriter:
    """Writes a customer's tickets, one per ticket plan."""

    def __init__(self, rng: Dice) -> None:
        self._rng = rng

    def ticket(self, profile: Profile, plan: TicketPlan, number: int) -> SampleTicket:
        """The `number`th ticket."""
        rng = self._rng
        language = profile.language
        channel = CHANNEL.pick(rng)
        cited = plan.transactions[0] if plan.transactions else None
        values = {
            "amount": self._money(language, profile.currency, cited.cents) if cited else "",
            "date": self._date(language, cited.at) if cited else "",
            "last4": cited.last4 if cited and cited.last4 else profile.cards[0],
            "product": language.product.format(tier=profile.tier),
            "descriptor": rng.pick(DESCRIPTORS).format(TIER=profile.tier.upper()),
            "email": profile.email,
        }
        subject = render(rng, language.subjects[plan.category]).format_map(values)
        if channel == "chat" and rng.random() < 0.25:
            subject = f"Chat with {profile.first_name} {profile.last_name}"
        elif channel == "phone" and rng.random() < 0.3:
            subject = f"Call from {profile.first_name}"
        elif plan.tone == "angry" and rng.random() < 0.12:
            subject = subject.upper()

        templates = language.refund_followups if plan.refund_issued else None
        main = render(rng, templates or language.bodies[plan.category])
        if rng.random() < TYPO_SHARE:
            main = with_typo(rng, main)
        main = main.format_map(values)
        has_card = rng.random() < CARD_NUMBER_SHARE
        body = self._body(profile, plan, channel, main, has_card)
        priority = (PRIORITY_ANGRY if plan.tone == "angry" else PRIORITY).pick(rng)
        row = {
            "ticket_id": f"T{number:06d}",
            "customer_id": profile.customer_id,
            "subject": subject,
            "body": body,
            "status": TICKET_STATUS.pick(rng),
            "created_at": ticket_time(plan.at, plan.time_style, profile.zone),
            "customer_email": "" if rng.random() < NO_EMAIL_SHARE else profile.email,
            "channel": channel,
            "priority": priority,
        }
        transaction_ids = tuple(tx.transaction_id for tx in plan.transactions)
        return SampleTicket(row, plan.category, language.code, plan.tone, transaction_ids, has_card)

    def _body(
        self, profile: Profile, plan: TicketPlan, channel: str, main: str, has_card: bool
    ) -> str:
        rng = self._rng
        language = profile.language
        tone = plan.tone
        written = channel in ("email", "web")
        paragraphs: list[str] = []
        if written or rng.random() < 0.15:
            greeting = render(rng, language.greetings[tone])
            if greeting:
                paragraphs.append(greeting)
        if rng.random() < (0.15 if tone == "neutral" else 0.6):
            line = render(rng, language.tone_lines[tone])
            main = f"{main}\n\n{line}" if written and rng.random() < 0.5 else f"{main} {line}"
        if rng.random() < EMOJI_SHARE:
            main = f"{main} {rng.pick(EMOJI[tone])}"
        paragraphs.append(main)
        if has_card:
            paragraphs.append(self._card_line(language, profile.cards[0]))
        if written:
            closing = render(rng, language.closings[tone])
            signed = rng.random()
            name = (
                profile.first_name
                if signed < 0.5
                else f"{profile.first_name} {profile.last_name}"
                if signed < 0.9
                else ""
            )
            signature = "\n".join(part for part in (closing, name) if part)
            if signature:
                paragraphs.append(signature)
            if language.signature_extras and rng.random() < 0.04:
                paragraphs.append(rng.pick(language.signature_extras))
        elif channel == "chat" and rng.random() < 0.15:
            return " ".join(paragraphs).lower()
        return ("\n\n" if written else " ").join(paragraphs)

    def _card_line(self, language: LanguageTexts, last4: str) -> str:
        rng = self._rng
        prefix, length = CARD_BRANDS.pick(rng)
        middle_length = length - len(prefix) - 4
        middle = f"{rng.below(10**middle_length):0{middle_length}d}"
        # Fix the first middle digit so the whole number passes the Luhn check.
        number = next(
            candidate
            for digit in "0123456789"
            if luhn_valid(candidate := prefix + digit + middle[1:] + last4)
        )
        if length == 15:
            groups = [number[:4], number[4:10], number[10:]]
        else:
            groups = [number[index : index + 4] for index in range(0, length, 4)]
        separator = CARD_SEPARATOR.pick(rng)
        values = {
            "card": separator.join(groups),
            "exp": f"{rng.between(1, 13):02d}/{rng.between(25, 31)}",
            "cvv": f"{rng.between(10 ** (length - 12), 10 ** (length - 11))}",
        }
        return render(rng, language.card_lines).format_map(values)

    def _money(self, language: LanguageTexts, currency: str, cents: int) -> str:
        style = language.money_styles.pick(self._rng)
        return style.format(symbol=SYMBOLS[currency], code=currency, amount=amount_text(cents))

    def _date(self, language: LanguageTexts, at: int) -> str:
        day = (EPOCH + timedelta(seconds=at)).date()
        style = language.date_styles.pick(self._rng)
        return style.format(
            iso=day.isoformat(),
            year=day.year,
            month=language.months[day.month - 1],
            mon=(language.mon or language.months)[day.month - 1],
            day=day.day,
        )
