"""Shopify Payments transactions export (Settings > Payments > View payouts > Export).

One row per balance transaction: ``Transaction Date`` (with its UTC offset,
``2024-03-01 10:00:00 -0500``), ``Type`` (charge, refund, dispute, reserve,
adjustment, payout, ...), ``Order`` (``#1001``), ``Card Brand``, ``Payout
Status``, ``Payout Date``, ``Amount``, ``Fee``, ``Net``, ``Currency`` and the
presentment amount and currency. Charges, refunds and disputes are kept,
everything else skipped and counted. The export names no customer and gives a
row no id: a transaction is keyed by order, type and time, and is found by the
order number a ticket quotes (its `references`), not by customer.

Documentation followed:
https://help.shopify.com/en/manual/payments/shopify-payments/payouts/exporting-payouts
(exporting payouts and transactions),
https://shopify.dev/docs/api/admin-rest/latest/resources/transactions (the
balance transaction types). Column names are those the admin writes.
"""

from __future__ import annotations

from supporter.domain.models import Transaction, TransactionType
from supporter.sources.tabular import (
    Header,
    Locale,
    ParseContext,
    RowParser,
    VendorFormat,
    compact_time,
    missing,
)
from supporter.sources.typed import typed_transaction
from supporter.sources.values import parse_amount, parse_currency, parse_moment

__all__ = ["PAYMENTS"]

_TYPES = {
    "charge": TransactionType.CHARGE,
    "refund": TransactionType.REFUND,
    "dispute": TransactionType.CHARGEBACK,
    "chargeback": TransactionType.CHARGEBACK,
}


class ShopifyPayments(VendorFormat):
    name = "shopify"
    title = "Shopify Payments transactions export"
    locales = (Locale("en", ("Transaction Date", "Type", "Order", "Payout Status", "Amount")),)

    def parser(self, header: Header, context: ParseContext) -> RowParser:
        date_at, type_at = header.need("Transaction Date"), header.need("Type")
        order_at = header.need("Order", limit=context.limits.id)
        amount_at, currency_at = header.need("Amount"), header.need("Currency")
        brand_at = header.column("Card Brand")

        def parse(row: list[str]) -> Transaction | str:
            kind_text = (row[type_at].strip() or missing("Type")).lower()
            kind = _TYPES.get(kind_text)
            if kind is None:
                return kind_text
            order = row[order_at].strip()
            created = parse_moment(
                row[date_at].strip() or missing("Transaction Date"), "Transaction Date"
            )
            order_key = order or "no-order"
            brand = row[brand_at].strip()
            references = (order, order.lstrip("#")) if order else ()
            return typed_transaction(
                transaction_id=f"{order_key}/{kind_text}/{compact_time(created)}",
                customer_id="",
                amount=parse_amount(row[amount_at].strip() or missing("Amount"), "Amount"),
                currency=parse_currency(row[currency_at].strip() or missing("Currency")),
                status="succeeded",
                created_at=created,
                type=kind,
                description=f"Order {order}" + (f" ({brand})" if brand else "") if order else None,
                references=tuple(dict.fromkeys(references)),
            )

        return parse


PAYMENTS = ShopifyPayments()
