"""Braintree's transaction search download (Control Panel > Transactions > search > Download).

One row per transaction: ``Transaction ID``, ``Transaction Type`` (``sale`` or
``credit``, a refund), ``Transaction Status`` (settled, settling,
submitted_for_settlement, authorized, voided, processor_declined,
gateway_rejected, failed, ...), ``Created Datetime`` with ``Created Timezone``,
``Currency ISO Code``, ``Amount Authorized``, ``Amount Submitted For
Settlement``, ``Customer ID``, ``Customer Email``, ``Order ID``, ``Last Four of
Credit Card``, ``Refunded Transaction ID`` and more. The amount is the one
submitted for settlement (the authorized one when nothing was submitted);
a credit is a refund of the sale it names, written negative. The date order
comes from the file's own dates where they are not ISO, else from ``--date-order``.

Documentation followed:
https://developer.paypal.com/braintree/docs/reference/response/transaction
(the transaction's fields, types and statuses) and
https://developer.paypal.com/braintree/articles/control-panel/transactions/search
(searching and downloading). The CSV's column names are those the Control
Panel writes, from the fields above.
"""

from __future__ import annotations

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
    required,
    text,
)
from supporter.sources.typed import typed_transaction
from supporter.sources.values import (
    card_last4,
    parse_amount,
    parse_currency,
    parse_moment,
    parse_zone,
)

__all__ = ["TRANSACTIONS"]

# Braintree's statuses in the words the facts and replies use.
_STATUSES = {
    "settling": "processing", "submitted_for_settlement": "processing",
    "settlement_pending": "processing", "processor_declined": "declined",
    "gateway_rejected": "rejected", "settlement_declined": "declined",
}  # fmt: skip


class BraintreeTransactions(VendorFormat):
    name = "braintree"
    title = "Braintree transaction search download"
    locales = (
        Locale(
            "en",
            ("Transaction ID", "Transaction Type", "Transaction Status", "Created Datetime"),
        ),
    )
    date_column = ("Created Datetime",)

    def parser(self, header: Header, context: ParseContext) -> RowParser:
        limits, order = context.limits, context.date_order
        id_at, type_at = header.need("Transaction ID"), header.need("Transaction Type")
        status_at, created_at = header.need("Transaction Status"), header.need("Created Datetime")
        zone_at, currency_at = header.find("Created Timezone"), header.need("Currency ISO Code")
        settled_at = header.find("Amount Submitted For Settlement")
        authorized_at = header.need("Amount Authorized", "Amount Submitted For Settlement")
        customer_at, email_at = header.find("Customer ID"), header.find("Customer Email")
        order_at, last4_at = header.find("Order ID"), header.find("Last Four of Credit Card")
        refunded_at = header.find("Refunded Transaction ID")
        description_at = header.find("Descriptor Name")

        def parse(row: list[str]) -> Transaction:
            refund = required(row, type_at, "Transaction Type", limits.text).lower() == "credit"
            amount_text = text(row, settled_at, "Amount Submitted For Settlement", limits.text)
            amount = parse_amount(
                amount_text or required(row, authorized_at, "Amount Authorized", limits.text),
                "Amount Submitted For Settlement",
            )
            zone = text(row, zone_at, "Created Timezone", limits.text)
            customer_email = email(text(row, email_at, "Customer Email", limits.text))
            status = required(row, status_at, "Transaction Status", limits.text).lower()
            refunded = text(row, refunded_at, "Refunded Transaction ID", limits.id)
            references = tuple(filter(None, (refunded, text(row, order_at, "Order ID", limits.id))))
            return typed_transaction(
                transaction_id=required(row, id_at, "Transaction ID", limits.id),
                customer_id=customer(
                    text(row, customer_at, "Customer ID", limits.id), customer_email
                ),
                amount=-abs(amount) if refund else amount,
                currency=parse_currency(
                    required(row, currency_at, "Currency ISO Code", limits.text)
                ),
                status=_STATUSES.get(status, status),
                created_at=parse_moment(
                    required(row, created_at, "Created Datetime", limits.text),
                    "Created Datetime",
                    zone=parse_zone(zone, "Created Timezone") if zone else None,
                    order=order,
                ),
                type=TransactionType.REFUND if refund else TransactionType.CHARGE,
                description=masked(
                    text(row, description_at, "Descriptor Name", limits.description)
                ),
                card_last4=card_last4(text(row, last4_at, "Last Four of Credit Card", limits.text)),
                customer_email=customer_email,
                references=references,
            )

        return parse


TRANSACTIONS = BraintreeTransactions()
