"""Transaction facts from a ticket, and the grounding check of a draft reply."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from supporter.analysis.grounding import (
    DUPLICATE_WINDOW,
    FEW_TRANSACTIONS,
    check_reply,
    compute_facts,
)
from supporter.domain.models import (
    GroundingCheck,
    Reply,
    Ticket,
    Transaction,
    TransactionFacts,
    TransactionType,
)

NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


def tx(
    tid: str,
    amount: str,
    at: datetime,
    *,
    currency: str = "USD",
    status: str = "succeeded",
    kind: TransactionType = TransactionType.CHARGE,
) -> Transaction:
    return Transaction(
        transaction_id=tid,
        customer_id="cus_1",
        amount=Decimal(amount),
        currency=currency,
        status=status,
        created_at=at,
        type=kind,
    )


def ticket(body: str, subject: str = "Help", created_at: datetime = NOW) -> Ticket:
    return Ticket(
        ticket_id="T-1001",
        customer_id="cus_1",
        subject=subject,
        body=body,
        status="open",
        created_at=created_at,
    )


def facts(body: str, transactions: Sequence[Transaction] = ()) -> TransactionFacts:
    return compute_facts(ticket(body), transactions)


def day(month: int, dom: int, hour: int = 10) -> datetime:
    return datetime(2024, month, dom, hour, tzinfo=UTC)


# A history long enough that the few-transactions fallback stays out of the way.
FILLER = [tx(f"tx_00090{n}", f"1.0{n}", day(1, n + 1)) for n in range(FEW_TRANSACTIONS)]


# --- mentioned amounts ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("I was charged $49.99", "49.99"),
        ("a charge of 49.99 USD", "49.99"),
        ("a charge of USD 49.99", "49.99"),
        ("EUR 12.50 taken", "12.50"),
        ("€12.50 taken", "12.50"),
        ("12.50€ taken", "12.50"),
        ("an extra £5 fee", "5"),
        ("there is an extra 1£ charge", "1"),
        ("charged 1,234.56 for nothing", "1234.56"),
        ("I paid 49.99 yesterday", "49.99"),
        ("me cobraron 49,99 € dos veces", "49.99"),
        ("Abbuchung über 1.234,56 €", "1234.56"),
        ("prélèvement de 1 234,56 €", "1234.56"),
        ("a 500 dollars withdrawal", "500"),
        ("it gave me 30 pounds", "30"),
        ("US$ 20 gone", "20"),
    ],
)
def test_amounts_in_the_ticket_are_read_in_common_formats(text: str, amount: str) -> None:
    assert facts(text).mentioned_amounts == [Decimal(amount)]


@pytest.mark.parametrize(
    "text",
    [
        "I was charged on 2024-03-05",
        "I was charged on 05.03.2024",
        "charged on my card ending 1234",
        "charged on card **** 4242",
        "the charge tx_000123 is wrong",
        "payment for order #12345",
        "call me about the charge on +1 555-123-4567",
        "the payment app crashed at 10.30 am",
        "a 2.50% fee on every payment",
        "refund takes 3-5 business days",
        "version 4.12 of the app crashes",
        "I had to try 5 times",
    ],
)
def test_dates_ids_card_digits_and_phone_numbers_are_not_amounts(text: str) -> None:
    assert facts(text).mentioned_amounts == []


def test_an_amount_written_twice_is_mentioned_once() -> None:
    found = facts("charged $49.99, yes 49.990 USD... sorry, 49.99 USD and €5").mentioned_amounts
    assert found == [Decimal("49.99"), Decimal("49990"), Decimal("5")]


# --- mentioned dates -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("charged on 2024-03-05", "2024-03-05"),
        ("charged on March 5", "2024-03-05"),
        ("charged on March 5, 2024", "2024-03-05"),
        ("charged on Mar. 5th", "2024-03-05"),
        ("charged on 5 March 2024", "2024-03-05"),
        ("charged on the 5th of March", "2024-03-05"),
        ("charged on 25/03/2023", "2023-03-25"),
        ("charged on 03/25/2023", "2023-03-25"),
        ("Abbuchung am 05.03.2024", "2024-03-05"),
        ("Abbuchung am 5. März 2024", "2024-03-05"),
        ("cobrado el 5 de marzo de 2024", "2024-03-05"),
        ("débité le 5 mars", "2024-03-05"),
        ("addebitato il 5 marzo", "2024-03-05"),
        ("cobrado em 5 de março", "2024-03-05"),
        ("charged today", "2024-03-10"),
        ("charged yesterday", "2024-03-09"),
        ("charged the day before yesterday", "2024-03-08"),
        ("me cobraron ayer", "2024-03-09"),
        ("gestern abgebucht", "2024-03-09"),
        ("débité hier soir", "2024-03-09"),
    ],
)
def test_dates_in_the_ticket_are_read_relative_to_its_creation(text: str, iso: str) -> None:
    assert facts(text).mentioned_dates == [iso]


def test_a_date_without_a_year_is_the_latest_one_not_after_the_ticket() -> None:
    assert facts("charged on Dec 25 and on March 9").mentioned_dates == [
        "2023-12-25",
        "2024-03-09",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "charged on 05/03/2024",  # March 5 or May 3: left out rather than guessed
        "charged on Feb 30",
        "you may 5 times ask",
        "ich bin hier",  # German "here", not French "yesterday"
        "refunds take 3-5 days",
        "charged in March 2024",
    ],
)
def test_ambiguous_impossible_and_look_alike_dates_are_not_mentioned(text: str) -> None:
    assert facts(text).mentioned_dates == []


# --- related transactions ------------------------------------------------------------


def test_related_by_amount_respects_the_written_currency() -> None:
    history = [
        tx("tx_000001", "49.99", day(3, 8)),
        tx("tx_000002", "49.99", day(3, 1), currency="EUR"),
        *FILLER,
    ]
    assert facts("charged $49.99", history).related_transaction_ids == ["tx_000001"]
    assert facts("charged €49.99", history).related_transaction_ids == ["tx_000002"]
    assert facts("charged 49.99 ??", history).related_transaction_ids == [
        "tx_000001",
        "tx_000002",
    ]


def test_amounts_match_as_decimals() -> None:
    history = [tx("tx_000001", "49.90", day(3, 8)), *FILLER]
    assert facts("charged $49.9", history).related_transaction_ids == ["tx_000001"]


def test_a_date_narrows_same_amount_matches() -> None:
    monthly = [tx(f"tx_00000{m}", "9.99", day(m, 5)) for m in (3, 2, 1)]
    found = facts("the $9.99 of February 5 was wrong", [*monthly, *FILLER])
    assert found.related_transaction_ids == ["tx_000002"]


def test_a_date_alone_relates_that_days_transactions() -> None:
    history = [
        tx("tx_000001", "5.00", day(3, 5, 9)),
        tx("tx_000002", "7.00", day(3, 5, 18)),
        tx("tx_000003", "8.00", day(3, 4)),
        *FILLER,
    ]
    found = facts("what happened on 2024-03-05?", history)
    assert found.related_transaction_ids == ["tx_000002", "tx_000001"]


def test_failed_and_pending_payments_are_related_when_the_ticket_is_about_them() -> None:
    history = [
        tx("tx_000001", "5.00", day(3, 9), status="declined"),
        tx("tx_000002", "6.00", day(3, 8), status="pending"),
        *FILLER,
    ]
    assert facts("my payment was declined", history).related_transaction_ids == ["tx_000001"]
    assert facts("why is it still pending", history).related_transaction_ids == ["tx_000002"]
    assert facts("how do I change my address", history).related_transaction_ids == []


def test_duplicates_are_related_whatever_the_ticket_says() -> None:
    history = [
        tx("tx_000001", "20.00", day(3, 9)),
        tx("tx_000002", "20.00", day(3, 8)),
        *FILLER,
    ]
    assert facts("how do I change my address", history).related_transaction_ids == [
        "tx_000001",
        "tx_000002",
    ]


def test_a_payment_ticket_naming_nothing_is_about_the_newest_of_few_charges() -> None:
    history = [
        tx("tx_000003", "5.00", day(3, 9), kind=TransactionType.REFUND),
        tx("tx_000002", "30.00", day(3, 8)),
        tx("tx_000001", "10.00", day(3, 1)),
    ]
    assert facts("a question about my last payment", history).related_transaction_ids == [
        "tx_000002"
    ]
    assert facts("Quiero cancelar mi suscripción", history).related_transaction_ids == ["tx_000002"]


def test_the_newest_charge_joins_a_kind_match_but_not_an_amount_match() -> None:
    history = [
        tx("tx_000002", "30.00", day(3, 8)),
        tx("tx_000001", "10.00", day(3, 1), status="declined"),
    ]
    assert facts("my payment was declined", history).related_transaction_ids == [
        "tx_000002",
        "tx_000001",
    ]
    assert facts("the $10 payment", history).related_transaction_ids == ["tx_000001"]


def test_the_newest_charge_is_not_related_to_a_ticket_not_about_money() -> None:
    history = [tx("tx_000001", "10.00", day(3, 1))]
    assert facts("the login page is blank, what about it?", history).related_transaction_ids == []


def test_the_newest_charge_is_not_related_when_the_customer_has_many() -> None:
    many = [tx(f"tx_{n:06d}", f"{n}.00", day(2, n + 1)) for n in range(1, FEW_TRANSACTIONS + 2)]
    assert facts("a question about my last payment", many).related_transaction_ids == []


def test_related_ids_are_newest_first_whatever_the_input_order() -> None:
    history = [
        tx("tx_000001", "20.00", day(3, 1)),
        tx("tx_000003", "20.00", day(3, 9)),
        tx("tx_000002", "20.00", day(3, 5)),
        *FILLER,
    ]
    assert facts("charged $20", history).related_transaction_ids == [
        "tx_000003",
        "tx_000002",
        "tx_000001",
    ]


# --- duplicates and kinds ---------------------------------------------------------------


def test_duplicate_window_is_inclusive_at_72_hours() -> None:
    first = day(3, 1)
    inside = [tx("tx_a", "20.00", first), tx("tx_b", "20.00", first + DUPLICATE_WINDOW)]
    outside = [
        tx("tx_a", "20.00", first),
        tx("tx_b", "20.00", first + DUPLICATE_WINDOW + timedelta(seconds=1)),
    ]
    assert facts("hi", inside).duplicate_charge_ids == ["tx_b", "tx_a"]
    assert facts("hi", outside).duplicate_charge_ids == []


def test_duplicates_chain_within_the_window() -> None:
    start = day(3, 1)
    chain = [tx(f"tx_{n}", "20.00", start + timedelta(hours=60 * n)) for n in range(3)]
    assert facts("hi", chain).duplicate_charge_ids == ["tx_2", "tx_1", "tx_0"]


@pytest.mark.parametrize(
    "other",
    [
        tx("tx_b", "20.00", day(3, 2), currency="EUR"),
        tx("tx_b", "20.01", day(3, 2)),
        tx("tx_b", "20.00", day(3, 2), status="failed"),
        tx("tx_b", "20.00", day(3, 2), status="Declined"),
        tx("tx_b", "20.00", day(3, 2), kind=TransactionType.REFUND),
    ],
)
def test_only_same_amount_same_currency_successful_charges_are_duplicates(
    other: Transaction,
) -> None:
    assert facts("hi", [tx("tx_a", "20.00", day(3, 1)), other]).duplicate_charge_ids == []


def test_duplicates_compare_amounts_as_decimals() -> None:
    pair = [tx("tx_a", "20.0", day(3, 1)), tx("tx_b", "20.00", day(3, 2))]
    assert facts("hi", pair).duplicate_charge_ids == ["tx_b", "tx_a"]


def test_pending_failed_refund_and_chargeback_ids() -> None:
    history = [
        tx("tx_1", "1.00", day(3, 9), status="pending"),
        tx("tx_2", "2.00", day(3, 8), status="failed"),
        tx("tx_3", "3.00", day(3, 7), status="DECLINED"),
        tx("tx_4", "4.00", day(3, 6), kind=TransactionType.REFUND),
        tx("tx_5", "5.00", day(3, 5), status="refunded"),
        tx("tx_6", "6.00", day(3, 4), kind=TransactionType.CHARGEBACK),
        tx("tx_7", "7.00", day(3, 3)),
    ]
    found = facts("hi", history)
    assert found.pending_ids == ["tx_1"]
    assert found.failed_ids == ["tx_2", "tx_3"]
    assert found.refund_ids == ["tx_4", "tx_5"]
    assert found.chargeback_ids == ["tx_6"]


def test_naive_timestamps_are_taken_as_utc() -> None:
    history = [
        tx("tx_1", "5.00", datetime(2024, 3, 5, 23, 30)),
        tx("tx_2", "6.00", datetime(2024, 3, 6, 0, 30, tzinfo=UTC)),
        *FILLER,
    ]
    assert facts("what is on March 5?", history).related_transaction_ids == ["tx_1"]
    assert facts("$5 and $6?", history).related_transaction_ids == ["tx_2", "tx_1"]


# --- check_reply ---------------------------------------------------------------------

HISTORY = [
    tx("tx_000123", "49.90", day(3, 5)),
    tx("tx_000124", "12.00", day(3, 7), currency="EUR"),
]
WITH_REFUND = [*HISTORY, tx("tx_000125", "-49.90", day(3, 8), kind=TransactionType.REFUND)]


def check(
    body: str, transactions: Sequence[Transaction] = HISTORY, cited: Sequence[str] = ()
) -> GroundingCheck:
    return check_reply(
        Reply(body=body, cited_transaction_ids=list(cited)), transactions, ticket("hi")
    )


def test_a_reply_in_the_offline_writing_conventions_passes() -> None:
    result = check(
        "We can see the charge of 49.90 USD on 2024-03-05 (tx_000123) and one of "
        "12.00 EUR on 2024-03-07. Our team will review your refund request.",
        cited=["tx_000123", "tx_000124"],
    )
    assert result.passed
    assert result.problems == []


@pytest.mark.parametrize(
    "body",
    [
        "We see a charge of 49.9 USD.",
        "We see a charge of $49.90.",
        "We see a charge of 12,00 €.",
        "We see a charge of 49.90.",
        "Your card ending 4242 was charged; refunds take 3-5 business days.",
        "It has been 2 days, and we reply within 24 hours, as every year since 2024.",
        "A refund of 49.90 USD will show on your statement.",
        "Charged 2024-03-07 EUR 12.00.",  # "07 EUR" is part of the date
    ],
)
def test_amounts_the_transactions_have_and_numbers_that_are_not_money_pass(body: str) -> None:
    assert check(body).passed, check(body).problems


def test_an_amount_no_transaction_has_is_a_problem() -> None:
    result = check("We see a charge of 12.00 GBP and 99.99.")
    assert not result.passed
    assert result.problems == [
        "amount 12.00 GBP not in the customer's transactions",
        "amount 99.99 not in the customer's transactions",
    ]


def test_an_amount_in_the_wrong_currency_is_a_problem() -> None:
    result = check("We see a charge of 49.90 EUR.")
    assert result.problems == ["amount 49.90 EUR not in the customer's transactions"]


def test_an_amount_is_held_to_the_currencies_of_every_transaction_with_it() -> None:
    # Two transactions of the same amount in other currencies: "$" stands for several
    # currencies, one of which must be a transaction's; a refunded part is an amount too.
    history = [
        tx("tx_1", "12.00", day(3, 5), currency="cad"),
        tx("tx_2", "12.0", day(3, 6), currency="EUR"),
        tx("tx_3", "-0.50", day(3, 7), currency="GBP").model_copy(
            update={"amount_refunded": Decimal("7.25")}
        ),
    ]
    assert check("We see $12 and 12,00 € and 12.00 CAD.", history).passed
    assert check("We refunded £7.25 of £0.50, and 0.5 GBP.", history).passed
    assert check("We see 12.00 GBP, 7.25 EUR and 12 USD.", history).problems == [
        "amount 12.00 GBP not in the customer's transactions",
        "amount 7.25 EUR not in the customer's transactions",
        "amount 12 USD not in the customer's transactions",
    ]


def test_a_refund_stored_negative_may_be_written_positive() -> None:
    assert check("Your refund of 49.90 USD from 2024-03-08 exists.", WITH_REFUND).passed


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("The charge was on 2024-03-06.", "date 2024-03-06"),
        ("The charge was on March 6, 2024.", "date March 6, 2024"),
        ("The charge was on 6 March.", "date 6 March"),
        ("The charge was on 06/03/2024.", "date 06/03/2024"),
    ],
)
def test_a_date_no_transaction_has_is_a_problem(body: str, problem: str) -> None:
    result = check(body)
    assert result.problems == [f"{problem} not a date of the customer's transactions"]


@pytest.mark.parametrize(
    "body",
    [
        "The charge was on March 5, 2024.",
        "The charge was on March 5.",
        "The charge was on 05/03/2024.",  # either reading may be meant; one is a charge date
        "Thank you for your message of 2024-03-10.",  # the ticket's own date
    ],
)
def test_dates_of_transactions_and_of_the_ticket_pass(body: str) -> None:
    assert check(body).passed, check(body).problems


def test_an_unknown_transaction_id_is_a_problem_but_the_ticket_id_is_not() -> None:
    result = check("See tx_000999, reference ABC12345 and your ticket, reference T-1001.")
    assert result.problems == [
        "transaction id tx_000999 not in the customer's transactions",
        "transaction id ABC12345 not in the customer's transactions",
    ]


def test_an_id_written_after_ref_and_a_number_sign_is_checked() -> None:
    result = check("Your payment, Ref #: 98765, and transaction # : TX12345 went through.")
    assert result.problems == [
        "transaction id 98765 not in the customer's transactions",
        "transaction id TX12345 not in the customer's transactions",
    ]


def test_ids_in_other_common_shapes_are_checked_too() -> None:
    result = check("See ch_3Nabc999 and 123e4567-e89b-12d3-a456-426614174000.")
    assert result.problems == [
        "transaction id ch_3Nabc999 not in the customer's transactions",
        "transaction id 123e4567-e89b-12d3-a456-426614174000 not in the customer's transactions",
    ]


def test_citing_an_id_that_is_not_the_customers_is_a_problem() -> None:
    result = check("We looked at your charge.", cited=["tx_000123", "tx_000777"])
    assert result.problems == ["cites tx_000777, which is not one of the customer's transactions"]


@pytest.mark.parametrize(
    "body",
    [
        "We will refund the charge.",
        "We'll refund you today.",
        "We will gladly issue you a full refund.",
        "We'll credit your account.",
        "You will receive a refund within 5 days.",
        "You'll get your money back.",
        "A refund will be issued shortly.",
        "The duplicate will be reversed.",
        "Le reembolsaremos el importe.",
        "Vamos a reembolsar el cargo.",
        "Vous serez remboursé sous 5 jours.",
        "Nous vous rembourserons.",
        "Wir erstatten Ihnen den Betrag.",
        "Sie erhalten eine Gutschrift.",
        "Reembolsaremos o valor.",
        "Você receberá um reembolso.",
        "Rimborseremo l'importo.",
        "Riceverà un rimborso a breve.",
    ],
)
def test_a_refund_promise_is_a_problem_even_with_a_refund_on_file(body: str) -> None:
    result = check(body, WITH_REFUND)
    assert not result.passed
    assert result.problems[0].startswith("promises a refund or credit: ")


@pytest.mark.parametrize(
    "body",
    [
        "We have issued a refund.",
        "Your refund has been processed.",
        "The charge has been refunded.",
        "Hemos emitido un reembolso.",
        "Le remboursement a été effectué.",
        "Wir haben den Betrag erstattet.",
        "Abbiamo rimborsato l'importo.",
    ],
)
def test_saying_a_refund_was_made_needs_a_refund_transaction(body: str) -> None:
    result = check(body)
    assert not result.passed
    assert result.problems[0].startswith("says money was refunded but the customer has no refund")
    assert check(body, WITH_REFUND).passed


@pytest.mark.parametrize(
    "body",
    [
        "Our team will review your refund request.",
        "We will process your refund request as soon as possible.",
        "Your refund request has been received.",
        "We cannot refund this charge.",
        "We will not refund a charge that was authorised.",
        "If the review confirms a duplicate of 49.90 USD, we will refund it.",
        "Vamos a revisar su solicitud de reembolso.",
        "Wir prüfen Ihre Erstattungsanfrage.",
        "You will not receive a refund for an authorised charge.",
        "Vous ne serez pas remboursé pour ce paiement.",
        "Wir werden Ihnen den Betrag nicht erstatten.",
        "No le reembolsaremos este cargo.",
    ],
)
def test_talking_about_refunds_without_promising_one_passes(body: str) -> None:
    assert check(body).passed, check(body).problems


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",
        # Separators the masking reads as a card's too: HTML's no-break space, an en dash,
        # two spaces.
        "4111\u00a01111\u00a01111\u00a01111",
        "4111\u20131111\u20131111\u20131111",
        "4111  1111  1111  1111",
    ],
)
def test_a_full_card_number_is_a_problem(card: str) -> None:
    result = check(f"Your card {card} was charged.")
    assert result.problems == ["contains a full card number"]


def test_every_problem_is_reported() -> None:
    result = check("We will refund 99.00 USD from 2024-01-01 (tx_000555).", cited=["tx_x"])
    assert len(result.problems) == 5


def test_a_transaction_the_ticket_quotes_is_related_whatever_its_amount() -> None:
    order = tx("py_7", "80.00", NOW - timedelta(days=30)).model_copy(
        update={"references": ("#1001",)}
    )
    charge = tx("ch_3MmlLrLkdIwHu7ix0snN2B5a", "12.00", NOW - timedelta(days=20))
    other = tx("ch_9", "15.00", NOW - timedelta(days=1))
    ticket = Ticket(
        ticket_id="T9",
        customer_id="cus_1",
        subject="Order 1001",
        body="Where is order #1001? And what is ch_3MmlLrLkdIwHu7ix0snN2B5a?",
        status="open",
        created_at=NOW,
    )
    facts = compute_facts(ticket, [other, charge, order])
    assert facts.related_transaction_ids == ["ch_3MmlLrLkdIwHu7ix0snN2B5a", "py_7"]
