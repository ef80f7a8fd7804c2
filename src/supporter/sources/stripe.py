"""Stripe's payments export and its itemized balance report.

Payments export (Dashboard > Payments > Export, "All columns"): one row per
charge with ``id`` (``ch_...``/``py_...``), ``Created date (UTC)`` (the unified
export; ``Created (UTC)`` in the legacy one), ``Amount``, ``Amount Refunded``,
``Currency``, ``Status``, ``Customer ID``, ``Customer Email``, ``Card Last4``,
``Disputed Amount``, ``Dispute Status``, ``Description``, the ids a customer
may quote (``PaymentIntent ID``, ``Invoice ID``, ``Invoice Number``) and one
column per metadata key, named ``<key> (metadata)``. Amounts are decimals in
major units, times UTC. Refunds and disputes are columns of the charge, so
they become its `amount_refunded`, `dispute_status` and `disputed_amount`.

Itemized balance report (Reports > Balance > "Balance change from activity",
itemized CSV; report type ``balance_change_from_activity.itemized``): one row
per balance transaction with ``balance_transaction_id``, ``created_utc``,
``currency``, ``gross``, ``reporting_category``, ``source_id``, ``charge_id``,
``customer_id``, ``customer_email``, ``description`` and ``payment_metadata[key]``
columns. Charges, refunds and disputes are kept (a charge under its ``ch_`` id,
a refund or dispute under its own id, referring to the charge); payouts, fees,
transfers and the other categories are skipped and counted.

Documentation followed:
https://docs.stripe.com/reports/balance (the itemized export and its columns),
https://docs.stripe.com/reports/reporting-categories (reporting_category values),
https://docs.stripe.com/api/charges/object (statuses, refunds and disputes on a charge).
The payments export's column names are those the Dashboard writes; Stripe
documents the export itself but not a column list (see docs/formats.md).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from supporter.domain.models import Transaction, TransactionType
from supporter.sources.tabular import (
    Header,
    Locale,
    ParseContext,
    RowParser,
    VendorFormat,
    customer,
    email,
    masked,
    missing,
    references,
)
from supporter.sources.typed import typed_transaction
from supporter.sources.values import card_last4, parse_amount, parse_currency, parse_moment

__all__ = ["BALANCE", "PAYMENTS"]

_REFERENCE_COLUMNS = ("PaymentIntent ID", "Invoice ID", "Invoice Number", "Checkout Session ID")


def _nonzero(value: str, field: str) -> Decimal | None:
    """An amount column that is empty or 0.00 when nothing was refunded or disputed."""
    if not value or value == "0.00":  # as most charges have it, without parsing
        return None
    return parse_amount(value, field) or None


@lru_cache(maxsize=256)  # a handful of statuses, on every row
def _status(value: str) -> str:
    return value.strip().lower().replace(" ", "_").replace("-", "_")


class StripePayments(VendorFormat):
    name = "stripe"
    title = "Stripe payments export"
    locales = (
        Locale("unified", ("id", "Created date (UTC)", "Amount", "Currency", "Status")),
        Locale("legacy", ("id", "Created (UTC)", "Amount", "Currency", "Status")),
    )

    def parser(self, header: Header, context: ParseContext) -> RowParser:
        id_limit, description_limit = context.limits.id, context.limits.description
        id_at = header.need("id", limit=id_limit)
        created_at = header.need("Created date (UTC)", "Created (UTC)")
        amount_at, currency_at = header.need("Amount"), header.need("Currency")
        status_at = header.need("Status")
        refunded_at = header.column("Amount Refunded")
        customer_at = header.column("Customer ID", limit=id_limit)
        email_at, last4_at = header.column("Customer Email"), header.column("Card Last4")
        description_at = header.column("Description", limit=description_limit)
        disputed_at, dispute_at = header.column("Disputed Amount"), header.column("Dispute Status")
        reference_at = [
            at
            for name in _REFERENCE_COLUMNS
            if (at := header.find(name, limit=id_limit)) is not None
        ]
        reference_at += header.containing("(metadata)", limit=description_limit)

        def parse(row: list[str]) -> Transaction:
            customer_email = email(row[email_at].strip())
            dispute = row[dispute_at].strip()
            return typed_transaction(
                transaction_id=row[id_at].strip() or missing("id"),
                customer_id=customer(row[customer_at].strip(), customer_email),
                amount=parse_amount(row[amount_at].strip() or missing("Amount"), "Amount"),
                currency=parse_currency(row[currency_at].strip() or missing("Currency")),
                status=_status(row[status_at].strip() or missing("Status")),
                created_at=parse_moment(
                    row[created_at].strip() or missing("Created (UTC)"), "Created (UTC)"
                ),
                description=masked(row[description_at].strip()),
                card_last4=card_last4(row[last4_at].strip() or None),
                customer_email=customer_email,
                amount_refunded=_nonzero(row[refunded_at].strip(), "Amount Refunded"),
                dispute_status=_status(dispute) if dispute else None,
                disputed_amount=_nonzero(row[disputed_at].strip(), "Disputed Amount"),
                references=references(row, reference_at),
            )

        return parse


# reporting_category -> what it is to a customer; the other categories are skipped.
_CATEGORIES = {
    "charge": TransactionType.CHARGE,
    "refund": TransactionType.REFUND,
    "dispute": TransactionType.CHARGEBACK,
}


class StripeBalance(VendorFormat):
    name = "stripe-balance"
    title = "Stripe itemized balance report"
    locales = (
        Locale("en", ("balance_transaction_id", "created_utc", "reporting_category", "gross")),
    )

    def parser(self, header: Header, context: ParseContext) -> RowParser:
        id_limit, description_limit = context.limits.id, context.limits.description
        id_at = header.need("balance_transaction_id", limit=id_limit)
        created_at = header.need("created_utc")
        category_at, gross_at = header.need("reporting_category"), header.need("gross")
        currency_at = header.need("currency")
        source_at = header.column("source_id", limit=id_limit)
        charge_at = header.column("charge_id", limit=id_limit)
        customer_at = header.column("customer_id", limit=id_limit)
        email_at = header.column("customer_email")
        description_at = header.column("description", limit=description_limit)
        reference_at = [
            at
            for name in ("payment_intent_id", "invoice_id", "order_id")
            if (at := header.find(name, limit=id_limit)) is not None
        ]
        reference_at += header.containing("metadata[", limit=description_limit)

        def parse(row: list[str]) -> Transaction | str:
            category = (row[category_at].strip() or missing("reporting_category")).lower()
            kind = _CATEGORIES.get(category)
            if kind is None:
                return category  # payout, fee, transfer, ...: not a customer payment
            charge, source = row[charge_at].strip(), row[source_at].strip()
            own_id = (charge if kind is TransactionType.CHARGE else source) or (
                row[id_at].strip() or missing("balance_transaction_id")
            )
            customer_email = email(row[email_at].strip())
            # A refund or dispute refers to its charge first.
            charge_first = (charge,) if kind is not TransactionType.CHARGE and charge else ()
            return typed_transaction(
                transaction_id=own_id,
                customer_id=customer(row[customer_at].strip(), customer_email),
                amount=parse_amount(row[gross_at].strip() or missing("gross"), "gross"),
                currency=parse_currency(row[currency_at].strip() or missing("currency")),
                status="succeeded",  # a balance transaction is money that moved
                created_at=parse_moment(
                    row[created_at].strip() or missing("created_utc"), "created_utc"
                ),
                type=kind,
                description=masked(row[description_at].strip()),
                customer_email=customer_email,
                references=references(row, reference_at, *charge_first),
            )

        return parse


PAYMENTS = StripePayments()
BALANCE = StripeBalance()
