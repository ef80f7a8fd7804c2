"""Customers one at a time from a single seeded random generator."""

from __future__ import annotations

from collections.abc import Iterator

from supporter.sample_data.customers import Profile, new_profile
from supporter.sample_data.dice import Dice
from supporter.sample_data.distributions import TICKETS_PER_CUSTOMER
from supporter.sample_data.records import SampleCustomer, SampleTicket
from supporter.sample_data.tickets import TicketWriter
from supporter.sample_data.transactions import TicketPlan, TransactionPlanner


class SampleGenerator:
    def __init__(self, rng: Dice) -> None:
        self._rng = rng
        self._planner = TransactionPlanner(rng)
        self._writer = TicketWriter(rng)
        self._customers = 0
        self._tickets = 0
        self._transactions = 0

    def customer(self, ticket_count: int) -> SampleCustomer:
        self._customers += 1
        profile = new_profile(self._rng, self._customers)
        plans = self._planner.ticket_plans(profile, ticket_count)
        transactions = [tx for plan in plans for tx in plan.transactions]
        self._planner.add_background(profile, plans, transactions)
        transactions.sort(key=lambda tx: tx.at)
        for tx in transactions:
            self._transactions += 1
            tx.transaction_id = f"tx_{self._transactions:06d}"
        rows = tuple(self._planner.row(profile, tx) for tx in transactions)
        tickets = tuple(self._ticket(profile, plan) for plan in plans)
        return SampleCustomer(profile.customer_id, tickets, rows)

    def _ticket(self, profile: Profile, plan: TicketPlan) -> SampleTicket:
        self._tickets += 1
        return self._writer.ticket(profile, plan, self._tickets)


def iter_sample(tickets: int, *, seed: int = 7) -> Iterator[SampleCustomer]:
    """Customers one at a time, together holding exactly `tickets` tickets.

    The same seed and count give the same customers; a smaller count gives a prefix of a
    larger one's customers (all but the last, which may be cut short).
    """
    if tickets < 0:
        raise ValueError(f"tickets must be 0 or more, not {tickets}")
    rng = Dice(seed)
    generator = SampleGenerator(rng)
    remaining = tickets
    while remaining > 0:
        count = min(TICKETS_PER_CUSTOMER.pick(rng), remaining)
        remaining -= count
        yield generator.customer(count)
