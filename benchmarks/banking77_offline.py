"""How well the offline provider's rules classify real customer messages.

Banking77 (Casanueva et al., 2020; CC BY 4.0) holds about 10,000 online-banking
queries labelled with 77 fine-grained intents. Each intent is mapped below to
one of Supporter's nine default categories, every message is classified by
`OfflineProvider.analyze` (empty subject, the text as body, no transactions)
and the answers are scored.

The rules were tuned only on rows whose index % 5 != 0; rows with
index % 5 == 0 are held out, and their figures are the honest ones.

    .venv/bin/python benchmarks/banking77_offline.py [--data PATH] [--split all|tune|held-out]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.domain.models import Analysis, Ticket, TransactionFacts
from supporter.llm.base import AnalysisRequest
from supporter.llm.offline import OfflineProvider

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT / ".." / "shared" / "data" / "banking77" / "train.csv"
HELD_OUT_EVERY = 5

# Where a support team for a payments product would route each intent. The
# test is "what is the customer asking us to do?", not which product it names:
# - money the customer wants back, including a payment or transfer they want
#   cancelled or reversed, is a refund request;
# - anything that did not go through or was reverted is a failed payment;
# - fees, exchange rates, a charge of the wrong amount and money that is
#   still pending or has not reached the balance are billing questions;
# - a charge the customer did not make, or a card someone else is using,
#   is an unrecognized charge;
# - getting into or securing the account (passcode, PIN, identity checks,
#   a lost or stolen card or phone) is account access;
# - a card or ATM that misbehaves is a technical issue;
# - closing the account is the nearest thing to cancelling a subscription;
# - how-to and product questions (cards, top-ups, limits, countries) are
#   general inquiries.
INTENT_TO_CATEGORY: dict[str, str] = {
    # duplicate_charge
    "transaction_charged_twice": "duplicate_charge",
    # refund_request
    "request_refund": "refund_request",
    "Refund_not_showing_up": "refund_request",
    "cancel_transfer": "refund_request",
    # payment_failed
    "declined_card_payment": "payment_failed",
    "declined_cash_withdrawal": "payment_failed",
    "declined_transfer": "payment_failed",
    "failed_transfer": "payment_failed",
    "top_up_failed": "payment_failed",
    "top_up_reverted": "payment_failed",
    "reverted_card_payment?": "payment_failed",
    "beneficiary_not_allowed": "payment_failed",
    # unrecognized_charge
    "card_payment_not_recognised": "unrecognized_charge",
    "direct_debit_payment_not_recognised": "unrecognized_charge",
    "cash_withdrawal_not_recognised": "unrecognized_charge",
    "compromised_card": "unrecognized_charge",
    # subscription_cancellation
    "terminate_account": "subscription_cancellation",
    # account_access
    "passcode_forgotten": "account_access",
    "pin_blocked": "account_access",
    "change_pin": "account_access",
    "unable_to_verify_identity": "account_access",
    "verify_my_identity": "account_access",
    "why_verify_identity": "account_access",
    "lost_or_stolen_card": "account_access",
    "lost_or_stolen_phone": "account_access",
    # technical_issue
    "card_not_working": "technical_issue",
    "contactless_not_working": "technical_issue",
    "virtual_card_not_working": "technical_issue",
    "card_swallowed": "technical_issue",
    # billing_question
    "card_payment_fee_charged": "billing_question",
    "cash_withdrawal_charge": "billing_question",
    "exchange_charge": "billing_question",
    "exchange_rate": "billing_question",
    "card_payment_wrong_exchange_rate": "billing_question",
    "wrong_exchange_rate_for_cash_withdrawal": "billing_question",
    "top_up_by_bank_transfer_charge": "billing_question",
    "top_up_by_card_charge": "billing_question",
    "transfer_fee_charged": "billing_question",
    "extra_charge_on_statement": "billing_question",
    "wrong_amount_of_cash_received": "billing_question",
    "pending_card_payment": "billing_question",
    "pending_cash_withdrawal": "billing_question",
    "pending_top_up": "billing_question",
    "pending_transfer": "billing_question",
    "balance_not_updated_after_bank_transfer": "billing_question",
    "balance_not_updated_after_cheque_or_cash_deposit": "billing_question",
    "transfer_not_received_by_recipient": "billing_question",
    # general_inquiry
    "activate_my_card": "general_inquiry",
    "age_limit": "general_inquiry",
    "apple_pay_or_google_pay": "general_inquiry",
    "atm_support": "general_inquiry",
    "automatic_top_up": "general_inquiry",
    "card_about_to_expire": "general_inquiry",
    "card_acceptance": "general_inquiry",
    "card_arrival": "general_inquiry",
    "card_delivery_estimate": "general_inquiry",
    "card_linking": "general_inquiry",
    "country_support": "general_inquiry",
    "disposable_card_limits": "general_inquiry",
    "edit_personal_details": "general_inquiry",
    "exchange_via_app": "general_inquiry",
    "fiat_currency_support": "general_inquiry",
    "get_disposable_virtual_card": "general_inquiry",
    "get_physical_card": "general_inquiry",
    "getting_spare_card": "general_inquiry",
    "getting_virtual_card": "general_inquiry",
    "order_physical_card": "general_inquiry",
    "receiving_money": "general_inquiry",
    "supported_cards_and_currencies": "general_inquiry",
    "top_up_by_cash_or_cheque": "general_inquiry",
    "top_up_limits": "general_inquiry",
    "topping_up_by_card": "general_inquiry",
    "transfer_into_account": "general_inquiry",
    "transfer_timing": "general_inquiry",
    "verify_source_of_funds": "general_inquiry",
    "verify_top_up": "general_inquiry",
    "visa_or_mastercard": "general_inquiry",
}


@dataclass(frozen=True)
class Row:
    index: int
    text: str
    intent: str
    expected: str


@dataclass(frozen=True)
class Outcome:
    row: Row
    analysis: Analysis


def read_rows(path: Path) -> list[Row]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"text", "category"} <= set(reader.fieldnames):
            raise SystemExit(f"{path}: expected a header with 'text' and 'category'")
        rows = []
        for index, record in enumerate(reader):
            intent = record["category"]
            if intent not in INTENT_TO_CATEGORY:
                raise SystemExit(f"{path}: row {index + 2}: unmapped intent {intent!r}")
            rows.append(Row(index, record["text"], intent, INTENT_TO_CATEGORY[intent]))
    return rows


def to_request(row: Row) -> AnalysisRequest:
    ticket = Ticket(
        ticket_id=f"b77-{row.index}",
        customer_id="banking77",
        subject="",
        body=row.text,
        status="open",
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    return AnalysisRequest(
        ticket=ticket, transactions=[], facts=TransactionFacts(), taxonomy=DEFAULT_TAXONOMY
    )


async def classify(rows: Sequence[Row]) -> tuple[list[Outcome], float]:
    """Classify every row; returns the outcomes and the seconds spent in `analyze` alone."""
    provider = OfflineProvider(DEFAULT_TAXONOMY)
    requests = [to_request(row) for row in rows]
    started = time.perf_counter()
    analyses = [(await provider.analyze(request)).value for request in requests]
    elapsed = time.perf_counter() - started
    await provider.aclose()
    return [Outcome(row, analysis) for row, analysis in zip(rows, analyses, strict=True)], elapsed


def report(title: str, outcomes: Sequence[Outcome]) -> None:
    categories = [category.name for category in DEFAULT_TAXONOMY]
    pairs = [(outcome.row.expected, outcome.analysis.category) for outcome in outcomes]
    correct = sum(expected == got for expected, got in pairs)
    print(f"\n== {title}: {len(pairs)} rows")
    print(f"accuracy  {correct / len(pairs):.3f}")
    f1s = []
    print(f"{'category':<27}{'support':>8}{'precision':>11}{'recall':>8}{'F1':>7}")
    for category in categories:
        true_pos = sum(expected == got == category for expected, got in pairs)
        predicted = sum(got == category for _, got in pairs)
        support = sum(expected == category for expected, _ in pairs)
        precision = true_pos / predicted if predicted else 0.0
        recall = true_pos / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1s.append(f1)
        print(f"{category:<27}{support:>8}{precision:>11.3f}{recall:>8.3f}{f1:>7.3f}")
    print(f"macro-F1  {sum(f1s) / len(f1s):.3f}")
    report_confidence(outcomes)
    errors = Counter(
        (outcome.row.intent, outcome.row.expected, outcome.analysis.category)
        for outcome in outcomes
        if outcome.row.expected != outcome.analysis.category
    )
    print("most common errors (intent: expected -> got, count):")
    for (intent, expected, got), count in errors.most_common(15):
        print(f"  {intent}: {expected} -> {got}  {count}")


def report_confidence(outcomes: Sequence[Outcome]) -> None:
    """Accuracy per confidence band: an honest confidence rises with accuracy."""
    bands = [(0.0, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 1.01)]
    print("confidence band   rows  accuracy")
    for low, high in bands:
        inside = [o for o in outcomes if low <= o.analysis.confidence < high]
        if inside:
            accuracy = sum(o.row.expected == o.analysis.category for o in inside) / len(inside)
            print(f"  [{low:.1f}, {min(high, 1.0):.1f})  {len(inside):>7}  {accuracy:>8.3f}")
    flagged = sum(o.analysis.needs_human for o in outcomes)
    print(f"needs_human: {flagged} ({flagged / len(outcomes):.1%})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Banking77 train.csv")
    parser.add_argument(
        "--split",
        choices=("all", "tune", "held-out"),
        default="all",
        help="'all' reports held-out and all rows; 'tune' reports only the tuning rows",
    )
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"no data at {args.data}; pass --data PATH to Banking77's train.csv", file=sys.stderr)
        return 2
    rows = read_rows(args.data)
    outcomes, elapsed = asyncio.run(classify(rows))
    held_out = [o for o in outcomes if o.row.index % HELD_OUT_EVERY == 0]
    tuning = [o for o in outcomes if o.row.index % HELD_OUT_EVERY != 0]
    if args.split == "tune":
        report("tuning rows (index % 5 != 0)", tuning)
    else:
        report("held-out rows (index % 5 == 0)", held_out)
        if args.split == "all":
            report("all rows", outcomes)
    print(f"\nspeed: {len(rows) / elapsed:,.0f} tickets/second ({elapsed:.2f} s for {len(rows)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
