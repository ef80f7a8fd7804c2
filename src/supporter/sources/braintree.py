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
    missing,
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
        id_at = header.need("Transaction ID", limit=limits.id)
        type_at = header.need("Transaction Type")
        status_at, created_at = header.need("Transaction Status"), header.need("Created Datetime")
        zone_at, currency_at = header.column("Created Timezone"), header.need("Currency ISO Code")
        settled_at = header.column("Amount Submitted For Settlement")
        authorized_at = header.need("Amount Authorized", "Amount Submitted For Settlement")
        customer_at = header.column("Customer ID", limit=limits.id)
        email_at = header.column("Customer Email")
        order_at = header.column("Order ID", limit=limits.id)
        last4_at = header.column("Last Four of Credit Card")
        refunded_at = header.column("Refunded Transaction ID", limit=limits.id)
        description_at = header.column("Descriptor Name", limit=limits.description)

        def parse(row: list[str]) -> Transaction:
            refund = (row[type_at].strip() or missing("Transaction Type")).lower() == "credit"
            amount = parse_amount(
                row[settled_at].strip()
                or row[authorized_at].strip()
                or missing("Amount Authorized"),
                "Amount Submitted For Settlement",
            )
            zone = row[zone_at].strip()
            customer_email = email(row[email_at].strip())
            status = (row[status_at].strip() or missing("Transaction Status")).lower()
            references = tuple(filter(None, (row[refunded_at].strip(), row[order_at].strip())))
            return typed_transaction(
                transaction_id=row[id_at].strip() or missing("Transaction ID"),
                customer_id=customer(row[customer_at].strip(), customer_email),
                amount=-abs(amount) if refund else amount,
                currency=parse_currency(row[currency_at].strip() or missing("Currency ISO Code")),
                status=_STATUSES.get(status, status),
                created_at=parse_moment(
                    row[created_at].strip() or missing("Created Datetime"),
                    "Created Datetime",
                    zone=parse_zone(zone, "Created Timezone") if zone else None,
                    order=order,
                ),
                type=TransactionType.REFUND if refund else TransactionType.CHARGE,
                description=masked(row[description_at].strip()),
                card_last4=card_last4(row[last4_at].strip() or None),
                customer_email=customer_email,
                references=references,
            )

        return parse


TRANSACTIONS = BraintreeTransactions()
