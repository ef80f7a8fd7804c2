"""The transactions a customer's tickets are about, and the ones they are not.

Each ticket category gets the transactions it is written about (a duplicate
pair, a failed payment, a refunded charge, ...); background transactions top
the customer up, kept far enough apart that the only duplicates in the data
are the ones duplicate_charge tickets are about.
"""

from __future__ import annotations

from dataclasses import dataclass

from supporter.sample_data.customers import Profile
from supporter.sample_data.dice import Dice
from supporter.sample_data.distributions import (
    ADD_ONS,
    BACKGROUND,
    CATEGORY,
    CHARGEBACK_REASONS,
    CHARGEBACK_SHARE,
    MONEY_LOST,
    REFUND_ISSUED_SHARE,
    TICKET_TIME_STYLE,
    TONE,
    TONE_MONEY_LOST,
    TRANSACTION_TIME_STYLE,
    TRANSACTIONS_PER_CUSTOMER,
)
from supporter.sample_data.formats import DAY, HOUR, MINUTE, amount_text, utc_time

# Transactions of different tickets, and background ones, keep this far apart, so the only
# duplicates in the data are the ones duplicate_charge tickets are about.
_SPACING = 2 * DAY
_PLACEMENT_ATTEMPTS = 10
_CITES_NOTHING = ("account_access", "technical_issue", "general_inquiry")


@dataclass(slots=True)
class PlannedTransaction:
    at: int  # seconds since EPOCH
    type: str
    cents: int
    status: str
    description: str
    last4: str
    of: PlannedTransaction | None = None  # the charge a refund or chargeback is about
    transaction_id: str = ""


def _crowds(at: int, transactions: list[PlannedTransaction]) -> bool:
    """Whether `at` is too close to one of `transactions` to tell them apart from a duplicate."""
    return any(abs(at - tx.at) < _SPACING for tx in transactions)


@dataclass(slots=True)
class TicketPlan:
    category: str
    at: int
    time_style: str
    tone: str
    transactions: list[PlannedTransaction]  # the first is the one the ticket cites
    refund_issued: bool = False


class TransactionPlanner:
    """Plans a customer's tickets with their transactions, and writes transaction rows."""

    def __init__(self, rng: Dice) -> None:
        self._rng = rng

    def ticket_plans(self, profile: Profile, count: int) -> list[TicketPlan]:
        rng = self._rng
        # Tickets fall in 2024: the first between mid-February and mid-September.
        at = rng.between(45 * DAY, 260 * DAY)
        plans: list[TicketPlan] = []
        placed: list[PlannedTransaction] = []
        for _ in range(count):
            category = CATEGORY.pick(rng)
            tone = (TONE_MONEY_LOST if category in MONEY_LOST else TONE).pick(rng)
            style = TICKET_TIME_STYLE.pick(rng)
            # A date-only timestamp reads as midnight UTC: keep what it cites two days earlier.
            min_age = 2 * DAY if style == "date" else 0
            for _attempt in range(_PLACEMENT_ATTEMPTS):
                plan = TicketPlan(category, at, style, tone, [])
                self._transactions_for(profile, plan, min_age=min_age)
                if not any(_crowds(tx.at, placed) for tx in plan.transactions):
                    break
            else:
                # No room among the earlier tickets' transactions: ask something that cites none.
                plan = TicketPlan(rng.pick(_CITES_NOTHING), at, style, tone, [])
            placed.extend(plan.transactions)
            plans.append(plan)
            at += rng.between(2 * DAY, 45 * DAY)
        return plans

    def _transactions_for(self, profile: Profile, plan: TicketPlan, *, min_age: int) -> None:
        rng = self._rng
        category = plan.category

        def before(low: int, high: int) -> int:
            return plan.at - min_age - rng.between(low, high)

        if category == "billing_question":
            plan.transactions.append(self._charge(profile, before(HOUR, 25 * DAY), 0.6))
        elif category == "refund_request":
            charge = self._charge(profile, before(2 * DAY, 30 * DAY), 0.6)
            plan.transactions.append(charge)
            if rng.random() < REFUND_ISSUED_SHARE:
                plan.refund_issued = True
                refund_at = charge.at + rng.between(HOUR, plan.at - min_age - charge.at)
                plan.transactions.append(self._refund(charge, refund_at))
        elif category == "duplicate_charge":
            close = rng.random() < 0.85
            gap = rng.between(5, 15 * MINUTE) if close else rng.between(HOUR, 6 * HOUR)
            first = self._charge(profile, before(HOUR, 20 * DAY) - gap, 0.5)
            second = PlannedTransaction(
                first.at + gap,
                "charge",
                first.cents,
                "succeeded" if rng.random() < 0.8 else "pending",
                first.description,
                first.last4,
            )
            plan.transactions.extend((first, second))
        elif category == "payment_failed":
            failed = self._charge(profile, before(10 * MINUTE, 10 * DAY), 0.7, "failed")
            plan.transactions.append(failed)
            if rng.random() < 0.35:
                earlier = failed.at - rng.between(HOUR, 2 * DAY)
                plan.transactions.append(
                    PlannedTransaction(
                        earlier, "charge", failed.cents, "failed", failed.description, failed.last4
                    )
                )
        elif category == "unrecognized_charge":
            charge = self._charge(profile, before(2 * DAY, 40 * DAY), 0.6)
            plan.transactions.append(charge)
            if rng.random() < CHARGEBACK_SHARE:
                disputed_at = charge.at + rng.between(HOUR, plan.at - min_age - charge.at)
                plan.transactions.append(self._chargeback(charge, disputed_at))
        elif category == "subscription_cancellation":
            latest = self._charge(profile, before(DAY, 20 * DAY), 1.0)
            plan.transactions.append(latest)
            if profile.monthly:
                plan.transactions.append(
                    PlannedTransaction(
                        latest.at - rng.pick((28, 30, 31)) * DAY,
                        "charge",
                        latest.cents,
                        "succeeded",
                        latest.description,
                        latest.last4,
                    )
                )

    def add_background(
        self, profile: Profile, plans: list[TicketPlan], transactions: list[PlannedTransaction]
    ) -> None:
        """Top the customer up to 1-6 transactions unrelated to any ticket."""
        rng = self._rng
        target = TRANSACTIONS_PER_CUSTOMER.pick(rng)
        start = plans[0].at - 120 * DAY
        span = plans[-1].at + 7 * DAY - start
        while len(transactions) < target:
            at = start + rng.below(span)
            if _crowds(at, transactions):
                continue
            kind = BACKGROUND.pick(rng)
            room = target - len(transactions)
            if kind in ("refunded", "chargeback") and room < 2:
                kind = "renewal"
            if kind == "renewal" and not profile.monthly:
                kind = "order"  # an annual plan renews once a year, outside this window
            if kind == "payout":
                cents = rng.between(10_000, 500_000)
                status = "succeeded" if rng.random() < 0.8 else "pending"
                transactions.append(
                    PlannedTransaction(at, "payout", cents, status, "Payout to bank account", "")
                )
                continue
            share = 1.0 if kind == "renewal" else 0.0 if kind == "order" else 0.5
            status = {"failed": "failed", "pending": "pending"}.get(kind, "succeeded")
            charge = self._charge(profile, at, share, status)
            transactions.append(charge)
            if kind == "refunded":
                transactions.append(self._refund(charge, at + rng.between(HOUR, 5 * DAY)))
            elif kind == "chargeback":
                transactions.append(self._chargeback(charge, at + rng.between(2 * DAY, 20 * DAY)))

    def _charge(
        self, profile: Profile, at: int, plan_share: float, status: str = "succeeded"
    ) -> PlannedTransaction:
        rng = self._rng
        if rng.random() < plan_share:
            cents, description = profile.plan_cents, profile.plan_description
        elif rng.random() < 0.3:
            seats = rng.between(1, 6)
            cents = seats * rng.pick((500, 900, 1500))
            description = f"Add-on: {rng.pick(ADD_ONS)} (x{seats})"
        else:
            cents = rng.between(5, 400) * 100 + rng.pick((0, 0, 99, 50, rng.below(100)))
            description = f"Order #{rng.between(10_000, 99_999)}"
        return PlannedTransaction(at, "charge", cents, status, description, rng.pick(profile.cards))

    def _refund(self, charge: PlannedTransaction, at: int) -> PlannedTransaction:
        status = "succeeded" if self._rng.random() < 0.6 else "pending"
        if status == "succeeded":
            charge.status = "refunded"
        return PlannedTransaction(at, "refund", charge.cents, status, "", charge.last4, of=charge)

    def _chargeback(self, charge: PlannedTransaction, at: int) -> PlannedTransaction:
        status = "pending" if self._rng.random() < 0.6 else "succeeded"
        return PlannedTransaction(
            at, "chargeback", charge.cents, status, "", charge.last4, of=charge
        )

    def row(self, profile: Profile, tx: PlannedTransaction) -> dict[str, str]:
        description = tx.description
        if tx.of is not None:
            if tx.type == "refund":
                description = f"Refund of {tx.of.transaction_id}"
            else:
                reason = self._rng.pick(CHARGEBACK_REASONS)
                description = f"Chargeback on {tx.of.transaction_id} ({reason})"
        created_at = utc_time(tx.at, TRANSACTION_TIME_STYLE.pick(self._rng))
        return {
            "transaction_id": tx.transaction_id,
            "customer_id": profile.customer_id,
            "amount": amount_text(tx.cents),
            "currency": profile.currency,
            "status": tx.status,
            "created_at": created_at,
            "type": tx.type,
            "description": description,
            "card_last4": tx.last4,
        }
