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
    references,
    required,
    text,
)
from supporter.sources.typed import typed_transaction
from supporter.sources.values import card_last4, parse_amount, parse_currency, parse_moment

__all__ = ["BALANCE", "PAYMENTS"]

_REFERENCE_COLUMNS = ("PaymentIntent ID", "Invoice ID", "Invoice Number", "Checkout Session ID")


def _nonzero(value: str | None, field: str) -> Decimal | None:
    """An amount column that is empty or 0.00 when nothing was refunded or disputed."""
    amount = parse_amount(value, field) if value else None
    return amount if amount else None


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
        limits = context.limits
        id_at = header.need("id")
        created_at = header.need("Created date (UTC)", "Created (UTC)")
        amount_at, currency_at = header.need("Amount"), header.need("Currency")
        status_at = header.need("Status")
        refunded_at = header.find("Amount Refunded")
        customer_at, email_at = header.find("Customer ID"), header.find("Customer Email")
        last4_at, description_at = header.find("Card Last4"), header.find("Description")
        disputed_at, dispute_at = header.find("Disputed Amount"), header.find("Dispute Status")
        reference_at = [at for name in _REFERENCE_COLUMNS if (at := header.find(name)) is not None]
        reference_at += header.containing("(metadata)")

        def parse(row: list[str]) -> Transaction:
            refunded = text(row, refunded_at, "Amount Refunded", limits.text)
            disputed = text(row, disputed_at, "Disputed Amount", limits.text)
            dispute = text(row, dispute_at, "Dispute Status", limits.text)
            customer_email = email(text(row, email_at, "Customer Email", limits.text))
            return typed_transaction(
                transaction_id=required(row, id_at, "id", limits.id),
                customer_id=customer(
                    text(row, customer_at, "Customer ID", limits.id), customer_email
                ),
                amount=parse_amount(required(row, amount_at, "Amount", limits.text), "Amount"),
                currency=parse_currency(required(row, currency_at, "Currency", limits.text)),
                status=_status(required(row, status_at, "Status", limits.text)),
                created_at=parse_moment(
                    required(row, created_at, "Created (UTC)", limits.text), "Created (UTC)"
                ),
                description=masked(text(row, description_at, "Description", limits.description)),
                card_last4=card_last4(text(row, last4_at, "Card Last4", limits.text)),
                customer_email=customer_email,
                amount_refunded=_nonzero(refunded, "Amount Refunded"),
                dispute_status=_status(dispute) if dispute else None,
                disputed_amount=_nonzero(disputed, "Disputed Amount"),
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
        limits = context.limits
        id_at, created_at = header.need("balance_transaction_id"), header.need("created_utc")
        category_at, gross_at = header.need("reporting_category"), header.need("gross")
        currency_at, source_at = header.need("currency"), header.find("source_id")
        charge_at, customer_at = header.find("charge_id"), header.find("customer_id")
        email_at, description_at = header.find("customer_email"), header.find("description")
        reference_at = [
            at
            for name in ("payment_intent_id", "invoice_id", "order_id")
            if (at := header.find(name)) is not None
        ]
        reference_at += header.containing("metadata[")

        def parse(row: list[str]) -> Transaction | str:
            category = required(row, category_at, "reporting_category", limits.text).lower()
            kind = _CATEGORIES.get(category)
            if kind is None:
                return category  # payout, fee, transfer, ...: not a customer payment
            charge = text(row, charge_at, "charge_id", limits.id)
            source = text(row, source_at, "source_id", limits.id)
            own_id = (charge if kind is TransactionType.CHARGE else source) or required(
                row, id_at, "balance_transaction_id", limits.id
            )
            customer_email = email(text(row, email_at, "customer_email", limits.text))
            quoted = [row[at].strip() for at in reference_at]
            if kind is not TransactionType.CHARGE and charge:
                quoted.insert(0, charge)
            return typed_transaction(
                transaction_id=own_id,
                customer_id=customer(
                    text(row, customer_at, "customer_id", limits.id), customer_email
                ),
                amount=parse_amount(required(row, gross_at, "gross", limits.text), "gross"),
                currency=parse_currency(required(row, currency_at, "currency", limits.text)),
                status="succeeded",  # a balance transaction is money that moved
                created_at=parse_moment(
                    required(row, created_at, "created_utc", limits.text), "created_utc"
                ),
                type=kind,
                description=masked(text(row, description_at, "description", limits.description)),
                customer_email=customer_email,
                references=tuple(dict.fromkeys(value for value in quoted if value)),
            )

        return parse


PAYMENTS = StripePayments()
BALANCE = StripeBalance()
