from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import islice, pairwise
from pathlib import Path

import pytest

from supporter.domain.masking import contains_card_number, mask_card_numbers
from supporter.domain.models import Ticket, Transaction
from supporter.sample_data import (
    CATEGORIES,
    LANGUAGES,
    TICKET_COLUMNS,
    TRANSACTION_COLUMNS,
    SampleCustomer,
    iter_sample,
    write_sample_data,
)

TICKETS = 3000


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample_data(out, TICKETS, seed=7)
    return out


@pytest.fixture(scope="module")
def customers() -> list[SampleCustomer]:
    return list(iter_sample(TICKETS, seed=7))


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def utc(text: str) -> datetime:
    """How a source is expected to read a timestamp: naive and date-only values are UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def luhn(digits: str) -> bool:
    """An independent Luhn check, so a bug in the generator's own check cannot hide."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def card_numbers(text: str) -> list[str]:
    runs = re.findall(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)", text)
    return [digits for run in runs if luhn(digits := re.sub(r"\D", "", run))]


def test_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    first = write_sample_data(tmp_path / "a", 300, seed=11)
    second = write_sample_data(tmp_path / "b", 300, seed=11)
    assert first.tickets_path.read_bytes() == second.tickets_path.read_bytes()
    assert first.transactions_path.read_bytes() == second.transactions_path.read_bytes()


def test_different_seeds_give_different_data(tmp_path: Path) -> None:
    first = write_sample_data(tmp_path / "a", 50, seed=1)
    second = write_sample_data(tmp_path / "b", 50, seed=2)
    assert first.tickets_path.read_bytes() != second.tickets_path.read_bytes()
    assert first.transactions_path.read_bytes() != second.transactions_path.read_bytes()


def test_files_have_the_exact_headers_and_counts(sample_dir: Path) -> None:
    ticket_header, tickets = read_rows(sample_dir / "tickets.csv")
    transaction_header, transactions = read_rows(sample_dir / "transactions.csv")
    assert tuple(ticket_header) == TICKET_COLUMNS
    assert tuple(transaction_header) == TRANSACTION_COLUMNS
    assert len(tickets) == TICKETS
    assert all(None not in row and len(row) == len(TICKET_COLUMNS) for row in tickets)
    assert all(None not in row and len(row) == len(TRANSACTION_COLUMNS) for row in transactions)


def test_returned_counts_match_the_files(tmp_path: Path) -> None:
    files = write_sample_data(tmp_path, 123, seed=5)
    tickets = read_rows(files.tickets_path)[1]
    transactions = read_rows(files.transactions_path)[1]
    assert (files.tickets, files.transactions) == (123, len(transactions))
    assert files.customers == len({row["customer_id"] for row in tickets})


@pytest.mark.parametrize("count", [0, 1, 2])
def test_any_small_count_works(tmp_path: Path, count: int) -> None:
    files = write_sample_data(tmp_path / "nested" / "out", count)
    assert len(read_rows(files.tickets_path)[1]) == count
    assert files.tickets == count
    assert (files.transactions == 0) == (count == 0)


def test_negative_count_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="0 or more"):
        write_sample_data(tmp_path, -1)


def test_files_hold_exactly_what_iter_sample_yields(
    sample_dir: Path, customers: list[SampleCustomer]
) -> None:
    tickets = read_rows(sample_dir / "tickets.csv")[1]
    transactions = read_rows(sample_dir / "transactions.csv")[1]
    assert tickets == [ticket.row for customer in customers for ticket in customer.tickets]
    assert transactions == [row for customer in customers for row in customer.transactions]


def test_generation_is_lazy() -> None:
    # A billion tickets would never finish if anything were built up front.
    first = list(islice(iter_sample(10**9, seed=1), 3))
    assert [customer.customer_id for customer in first] == ["C00001", "C00002", "C00003"]


def test_ids_are_formatted_and_unique(customers: list[SampleCustomer]) -> None:
    ticket_ids = [ticket.row["ticket_id"] for customer in customers for ticket in customer.tickets]
    transaction_ids = [row["transaction_id"] for c in customers for row in c.transactions]
    assert ticket_ids[:2] == ["T000001", "T000002"]
    assert all(re.fullmatch(r"T\d{6}", ticket_id) for ticket_id in ticket_ids)
    assert all(re.fullmatch(r"tx_\d{6}", tx_id) for tx_id in transaction_ids)
    assert all(re.fullmatch(r"C\d{5}", customer.customer_id) for customer in customers)
    assert len(set(ticket_ids)) == len(ticket_ids)
    assert len(set(transaction_ids)) == len(transaction_ids)


def test_rows_are_valid_domain_records(customers: list[SampleCustomer]) -> None:
    for customer in customers:
        assert 1 <= len(customer.tickets) <= 3
        assert 1 <= len(customer.transactions) <= 6
        for ticket in customer.tickets:
            fields = {key: value or None for key, value in ticket.row.items()}
            assert Ticket.model_validate(fields).customer_id == customer.customer_id
        for row in customer.transactions:
            assert re.fullmatch(r"\d+\.\d{2}", row["amount"])
            fields = {key: value or None for key, value in row.items()}
            transaction = Transaction.model_validate(fields)
            assert transaction.customer_id == customer.customer_id
            assert transaction.amount > 0
            assert transaction.status in {"succeeded", "pending", "failed", "refunded"}


def test_every_ticket_has_its_customers_transactions_in_the_files(sample_dir: Path) -> None:
    tickets = read_rows(sample_dir / "tickets.csv")[1]
    transactions = read_rows(sample_dir / "transactions.csv")[1]
    with_transactions = {row["customer_id"] for row in transactions}
    assert all(row["customer_id"] in with_transactions for row in tickets)


def test_cited_transactions_belong_to_the_customer_and_precede_the_ticket(
    customers: list[SampleCustomer],
) -> None:
    cited = 0
    for customer in customers:
        by_id = {row["transaction_id"]: row for row in customer.transactions}
        for ticket in customer.tickets:
            for transaction_id in ticket.transaction_ids:
                cited += 1
                transaction = by_id[transaction_id]
                ticket_time = utc(ticket.row["created_at"])
                transaction_time = utc(transaction["created_at"])
                assert transaction_time < ticket_time, (ticket.row, transaction)
                # Within the window a reply would look at.
                assert ticket_time - transaction_time < timedelta(days=90)
    assert cited > TICKETS // 2


def charges_of(customer: SampleCustomer, ids: tuple[str, ...]) -> list[dict[str, str]]:
    return [row for row in customer.transactions if row["transaction_id"] in ids]


def tickets_of(customers: list[SampleCustomer], category: str) -> list[tuple[SampleCustomer, int]]:
    return [
        (customer, index)
        for customer in customers
        for index, ticket in enumerate(customer.tickets)
        if ticket.category == category
    ]


def test_duplicate_charge_tickets_have_two_identical_charges_close_together(
    customers: list[SampleCustomer],
) -> None:
    found = tickets_of(customers, "duplicate_charge")
    assert len(found) > 100
    for customer, index in found:
        ticket = customer.tickets[index]
        first, second = charges_of(customer, ticket.transaction_ids)
        same = ("type", "amount", "currency", "description", "card_last4")
        assert [first[key] for key in same] == [second[key] for key in same]
        assert first["type"] == "charge"
        assert {first["status"], second["status"]} <= {"succeeded", "pending"}
        gap = utc(second["created_at"]) - utc(first["created_at"])
        assert timedelta(0) < gap <= timedelta(hours=6)


def test_no_accidental_duplicates_outside_duplicate_charge_tickets(
    customers: list[SampleCustomer],
) -> None:
    for customer in customers:
        duplicates_asked = any(t.category == "duplicate_charge" for t in customer.tickets)
        charges = [
            row
            for row in customer.transactions
            if row["type"] == "charge" and row["status"] != "failed"
        ]
        for earlier, later in pairwise(charges):
            if earlier["amount"] != later["amount"]:
                continue
            close = utc(later["created_at"]) - utc(earlier["created_at"]) < timedelta(days=1)
            assert not close or duplicates_asked, customer.transactions


def test_payment_failed_tickets_cite_a_failed_charge(customers: list[SampleCustomer]) -> None:
    for customer, index in tickets_of(customers, "payment_failed"):
        cited = charges_of(customer, customer.tickets[index].transaction_ids)
        assert cited
        assert all(row["type"] == "charge" and row["status"] == "failed" for row in cited)


def test_refund_requests_cite_a_charge_and_some_refunds_are_already_issued(
    customers: list[SampleCustomer],
) -> None:
    found = tickets_of(customers, "refund_request")
    already_refunded = 0
    for customer, index in found:
        ticket_ids = customer.tickets[index].transaction_ids
        charge, *rest = (
            row for row in customer.transactions if row["transaction_id"] == ticket_ids[0]
        )
        assert not rest
        assert charge["type"] == "charge"
        assert charge["status"] in {"succeeded", "refunded"}
        refunds = [row for row in charges_of(customer, ticket_ids) if row["type"] == "refund"]
        if refunds:
            already_refunded += 1
            (refund,) = refunds
            assert refund["amount"] == charge["amount"]
            assert refund["description"] == f"Refund of {charge['transaction_id']}"
    assert 0.15 < already_refunded / len(found) < 0.5


def test_tickets_mention_the_amounts_of_their_transactions(
    customers: list[SampleCustomer],
) -> None:
    citing = mentioning = 0
    for customer in customers:
        amounts = {row["transaction_id"]: row["amount"] for row in customer.transactions}
        for ticket in customer.tickets:
            if ticket.transaction_ids:
                citing += 1
                text = ticket.row["subject"] + ticket.row["body"]
                mentioning += amounts[ticket.transaction_ids[0]] in text
    assert mentioning / citing > 0.5


def test_some_bodies_hold_luhn_valid_card_numbers_that_masking_removes(sample_dir: Path) -> None:
    raw = (sample_dir / "tickets.csv").read_text(encoding="utf-8")
    assert len(card_numbers(raw)) >= 20
    tickets = read_rows(sample_dir / "tickets.csv")[1]
    with_cards = [row for row in tickets if card_numbers(row["body"])]
    assert 0.01 < len(with_cards) / len(tickets) < 0.04
    assert any(
        " " in number for row in with_cards for number in re.findall(r"\d[\d -]+\d", row["body"])
    )
    for row in with_cards:
        assert contains_card_number(row["body"])
        assert not contains_card_number(mask_card_numbers(row["body"]))


def test_card_flag_matches_the_text(customers: list[SampleCustomer]) -> None:
    for customer in customers:
        for ticket in customer.tickets:
            assert ticket.has_card_number == bool(card_numbers(ticket.row["body"]))


def test_ticket_statuses_are_mixed_with_open_ones_the_majority(
    customers: list[SampleCustomer],
) -> None:
    statuses = Counter(t.row["status"] for c in customers for t in c.tickets)
    assert set(statuses) == {"new", "open", "Open", "NEW", "pending", "solved", "closed"}
    actionable = sum(
        count for status, count in statuses.items() if status.lower() in {"new", "open"}
    )
    assert actionable / TICKETS > 0.6


def test_timestamps_come_zoned_naive_and_date_only(customers: list[SampleCustomer]) -> None:
    kinds: Counter[str] = Counter()
    for customer in customers:
        for ticket in customer.tickets:
            text = ticket.row["created_at"]
            moment = datetime.fromisoformat(text)
            assert moment.year == 2024
            kinds["date" if len(text) == 10 else "zoned" if moment.tzinfo else "naive"] += 1
    assert kinds["zoned"] > kinds["naive"] > 0
    assert kinds["date"] > 0


def test_all_categories_languages_and_channels_occur(customers: list[SampleCustomer]) -> None:
    tickets = [ticket for customer in customers for ticket in customer.tickets]
    assert {ticket.category for ticket in tickets} == set(CATEGORIES)
    assert {(t.category, t.language) for t in tickets} == {
        (category, language) for category in CATEGORIES for language in LANGUAGES
    }
    assert {ticket.row["channel"] for ticket in tickets} == {"email", "chat", "web", "phone"}
    languages = Counter(ticket.language for ticket in tickets)
    assert languages["en"] / len(tickets) > 0.5


# Common words of each language. Romance languages share many, so a body counts as written
# in the language whose words it uses most.
MARKERS = {
    "en": "the my i you is to and it hi hello thanks card charge account",
    "es": "mi mis me que el los por para está hola gracias cuenta tarjeta cargo pago quiero",
    "fr": "je j l mon ma le les pas vous pour une des est bonjour merci compte carte",
    "de": "ich mein meine die der nicht sie hallo danke konto karte zahlung ist und",
    "pt": "meu meus minha não em já estou fui você vocês é olá obrigado conta cartão",
    "it": "il mi mio non di per è buongiorno grazie carta addebito ho che sulla",
}


def likely_language(text: str) -> str:
    words = set(re.findall(r"[^\W\d_]+", text.lower()))
    return max(MARKERS, key=lambda language: len(words & set(MARKERS[language].split())))


@pytest.mark.parametrize("language", LANGUAGES)
def test_texts_are_written_in_their_language(
    customers: list[SampleCustomer], language: str
) -> None:
    bodies = [t.row["body"] for c in customers for t in c.tickets if t.language == language]
    assert len(bodies) > 50
    recognised = sum(likely_language(body) == language for body in bodies)
    assert recognised / len(bodies) > 0.8


def test_texts_vary_and_are_fully_rendered(customers: list[SampleCustomer]) -> None:
    tickets = [ticket for customer in customers for ticket in customer.tickets]
    bodies = [ticket.row["body"] for ticket in tickets]
    assert len(set(bodies)) > 0.9 * len(bodies)
    for ticket in tickets:
        for text in (ticket.row["subject"], ticket.row["body"]):
            assert text.strip()
            assert not re.search(r"[{}\[\]|]", text), text
    assert sum("\n" in body for body in bodies) > 0.3 * len(bodies)
    assert sum("," in body for body in bodies) > 0.3 * len(bodies)
    assert sum(ticket.tone == "angry" for ticket in tickets) > 0.1 * len(tickets)


def test_transaction_mix_is_mostly_charges(customers: list[SampleCustomer]) -> None:
    rows = [row for customer in customers for row in customer.transactions]
    types = Counter(row["type"] for row in rows)
    assert types["charge"] / len(rows) > 0.85
    assert types["refund"] > types["chargeback"] > types["payout"] > 0
    currencies = Counter(row["currency"] for row in rows)
    assert sum(currencies[code] for code in ("USD", "EUR", "GBP")) / len(rows) > 0.9
    total = sum((Decimal(row["amount"]) for row in rows), Decimal(0))
    assert total > 0


def test_examples_are_up_to_date(tmp_path: Path) -> None:
    examples = Path(__file__).parents[1] / "examples"
    files = write_sample_data(tmp_path, 200, seed=7)
    hint = "regenerate: supporter sample-data --tickets 200 --seed 7 --out examples"
    assert (examples / "tickets.csv").read_bytes() == files.tickets_path.read_bytes(), hint
    assert (examples / "transactions.csv").read_bytes() == files.transactions_path.read_bytes(), (
        hint
    )


def test_a_smaller_count_gives_a_prefix_of_a_larger_one() -> None:
    small = list(iter_sample(100, seed=3))
    large = list(iter_sample(1000, seed=3))
    # Only the last customer may differ: it can be cut short to make the count exact.
    assert small[:-1] == large[: len(small) - 1]
    assert small[-1].customer_id == large[len(small) - 1].customer_id


def test_what_was_written_reads_as_words_not_a_repr(tmp_path: Path) -> None:
    # `supporter sample-data` prints it: "wrote SampleFiles(tickets_path=PosixPath(...".
    files = write_sample_data(tmp_path, 5, seed=7)
    assert str(files) == (
        f"{tmp_path / 'tickets.csv'} (5 tickets) and {tmp_path / 'transactions.csv'} "
        f"({files.transactions:,} transactions of {files.customers:,} customers)"
    )
