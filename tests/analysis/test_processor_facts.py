"""Refunds and disputes a processor records (on the charge, or as rows naming it) as facts."""

from datetime import UTC, datetime
from decimal import Decimal

from supporter.analysis.grounding import check_reply, compute_facts
from supporter.domain.models import Reply, Ticket, Transaction, TransactionType

AT = datetime(2024, 5, 3, 16, 20, tzinfo=UTC)


def charge(
    tid: str,
    amount: str,
    status: str = "paid",
    refunded: str | None = None,
    dispute: str | None = None,
) -> Transaction:
    return Transaction(
        transaction_id=tid,
        customer_id="bob@example.org",
        amount=Decimal(amount),
        currency="EUR",
        status=status,
        created_at=AT,
        amount_refunded=Decimal(refunded) if refunded else None,
        dispute_status=dispute,
        disputed_amount=Decimal(amount) if dispute else None,
    )


def ticket(body: str) -> Ticket:
    return Ticket(
        ticket_id="T-1",
        customer_id="zd-42",
        customer_email="bob@example.org",
        subject="My payment",
        body=body,
        status="open",
        created_at=datetime(2024, 5, 20, tzinfo=UTC),
    )


PARTIAL = charge("ch_B1", "120.00", "partially_refunded", refunded="30.00")
DISPUTED = charge("ch_C1", "75.00", dispute="needs_response")
LOST = charge("ch_C2", "19.00", dispute="lost")
PLAIN = charge("ch_D1", "49.99")


def test_a_refund_recorded_on_the_charge_is_a_fact_and_relates_a_refund_ticket() -> None:
    facts = compute_facts(ticket("Where is my refund?"), [PARTIAL, PLAIN])

    assert facts.refunded_charge_ids == ["ch_B1"]
    assert "ch_B1" in facts.refund_ids
    assert facts.related_transaction_ids == ["ch_B1"]


def test_a_dispute_in_progress_is_a_fact_and_a_closed_one_only_a_chargeback() -> None:
    facts = compute_facts(ticket("I opened a dispute with my bank"), [DISPUTED, LOST, PLAIN])

    assert facts.disputed_ids == ["ch_C1"]
    assert facts.chargeback_ids == ["ch_C1", "ch_C2"]
    assert set(facts.related_transaction_ids) == {"ch_C1", "ch_C2"}


def test_a_related_charge_brings_the_refund_row_that_names_it() -> None:
    payment = charge("1AB23456CD789012E", "1179.40")
    refund = Transaction(
        transaction_id="9ZY87654XW321098V",
        customer_id="bob@example.org",
        amount=Decimal("-179.40"),
        currency="EUR",
        status="completed",
        created_at=datetime(2024, 5, 16, tzinfo=UTC),
        type=TransactionType.REFUND,
        references=("1AB23456CD789012E", "INV-77"),
    )

    facts = compute_facts(ticket("About my payment of 1179.40 EUR"), [payment, refund, PLAIN])

    assert facts.related_transaction_ids == ["9ZY87654XW321098V", "1AB23456CD789012E"]
    assert facts.refunded_charge_ids == ["1AB23456CD789012E"]


def test_the_check_accepts_the_refunded_and_disputed_amounts_the_facts_support() -> None:
    body = (
        "30.00 EUR of the payment ch_B1 has already been refunded. The 75.00 EUR of ch_C1 "
        "is disputed with your bank."
    )

    passed = check_reply(Reply(body=body), [PARTIAL, DISPUTED])
    unsupported = check_reply(Reply(body=body), [charge("ch_B1", "120.00"), DISPUTED])

    assert (passed.passed, passed.problems) == (True, [])
    assert not unsupported.passed
    assert unsupported.problems == ["amount 30.00 EUR not in the customer's transactions"]
