"""The keys tickets and payments are joined on: e-mail, quoted references, how a match is named."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from supporter.domain.keys import (
    MAX_QUOTED,
    Quoted,
    matched_by,
    normalise_email,
    normalise_reference,
    quoted_references,
)
from supporter.domain.models import MatchedBy, Ticket, Transaction

AT = datetime(2024, 5, 1, tzinfo=UTC)


def ticket(body: str, *, email: str | None = "alice.martin@example.com") -> Ticket:
    return Ticket(
        ticket_id="T1",
        customer_id="zd-1",
        subject="Charged twice",
        body=body,
        status="open",
        created_at=AT,
        customer_email=email,
    )


def payment(
    customer_id: str = "cus_1", email: str | None = None, references: tuple[str, ...] = ()
) -> Transaction:
    return Transaction(
        transaction_id="ch_3MmlLrLkdIwHu7ix0snN2B5a",
        customer_id=customer_id,
        amount=Decimal("49.99"),
        currency="USD",
        status="succeeded",
        created_at=AT,
        customer_email=email,
        references=references,
    )


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("Alice.Martin@Example.com ", "alice.martin@example.com"),
        ("  ALICE@EXAMPLE.COM\t", "alice@example.com"),
        ("   ", None),
        (None, None),
    ],
)
def test_emails_compare_without_case_and_surrounding_spaces(
    written: str | None, key: str | None
) -> None:
    assert normalise_email(written) == key


def test_references_compare_without_hash_spaces_and_case() -> None:
    assert normalise_reference(" #SO-1001 ") == "so-1001"
    assert normalise_reference("#") == ""


def test_a_ticket_quotes_charge_ids_paypal_ids_and_marked_order_numbers() -> None:
    text = (
        "Charge ch_3MmlLrLkdIwHu7ix0snN2B5a and PayPal 8MC585209K746392H, "
        "order #1001, Bestellung Nr. 20455 and invoice: 778."
    )
    assert quoted_references(text) == [
        "ch_3MmlLrLkdIwHu7ix0snN2B5a",
        "8MC585209K746392H",
        "1001",
        "20455",
        "778",
    ]


def test_amounts_dates_years_words_and_card_endings_are_not_references() -> None:
    text = "I paid 49.99 on 2024-03-05 (in 2024) with **** 4242, see my invoice please. abcdefgh"
    assert quoted_references(text) == []


def test_a_ticket_quotes_at_most_a_bounded_number_of_references() -> None:
    text = " ".join(f"ref{n:05d}" for n in range(MAX_QUOTED + 10))
    quoted = quoted_references(text)
    assert len(quoted) == MAX_QUOTED
    assert quoted[0] == "ref00000"


def test_the_same_customer_id_is_the_strongest_match() -> None:
    quoted = Quoted.in_ticket(ticket("about ch_3MmlLrLkdIwHu7ix0snN2B5a"))
    same = payment(customer_id="zd-1", email="alice.martin@example.com")
    assert matched_by(ticket("x"), same, quoted) is MatchedBy.CUSTOMER_ID


def test_the_email_matches_before_a_quoted_reference() -> None:
    body = "about ch_3MmlLrLkdIwHu7ix0snN2B5a"
    charge = payment(email="Alice.Martin@Example.com ")
    assert matched_by(ticket(body), charge, Quoted.in_ticket(ticket(body))) is MatchedBy.EMAIL


def test_a_quoted_id_or_reference_matches_a_payment_of_another_address() -> None:
    by_id = ticket("about ch_3MmlLrLkdIwHu7ix0snN2B5a", email=None)
    charge = payment(email="billing@other.example")
    assert matched_by(by_id, charge, Quoted.in_ticket(by_id)) is MatchedBy.REFERENCE
    by_order = ticket("my order #1001 never came")
    order = payment(references=("1001",))
    assert matched_by(by_order, order, Quoted.in_ticket(by_order)) is MatchedBy.REFERENCE


def test_a_payment_handed_over_without_any_shared_key_counts_as_the_customers() -> None:
    assert matched_by(ticket("hello"), payment(), Quoted.in_ticket(ticket("hello"))) is (
        MatchedBy.CUSTOMER_ID
    )


def test_quoted_references_are_a_fresh_list_each_time() -> None:
    # The search is remembered for the next stages: what one caller does with its list
    # must not change what the next one gets.
    text = "Order #10042 was charged twice, see ch_3MmlLrLkdIwHu7ix0snN2B5a"
    first = quoted_references(text)
    first.append("tampered")
    first.remove("10042")
    assert quoted_references(text) == ["ch_3MmlLrLkdIwHu7ix0snN2B5a", "10042"]
