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
    required,
    text,
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
        limits = context.limits
        date_at, type_at = header.need("Transaction Date"), header.need("Type")
        order_at, amount_at = header.need("Order"), header.need("Amount")
        currency_at = header.need("Currency")
        brand_at = header.find("Card Brand")

        def parse(row: list[str]) -> Transaction | str:
            kind_text = required(row, type_at, "Type", limits.text).lower()
            kind = _TYPES.get(kind_text)
            if kind is None:
                return kind_text
            order = text(row, order_at, "Order", limits.id)
            created = parse_moment(
                required(row, date_at, "Transaction Date", limits.text), "Transaction Date"
            )
            order_key = order or "no-order"
            brand = text(row, brand_at, "Card Brand", limits.text)
            references = (order, order.lstrip("#")) if order else ()
            return typed_transaction(
                transaction_id=f"{order_key}/{kind_text}/{created:%Y%m%dT%H%M%S}",
                customer_id="",
                amount=parse_amount(required(row, amount_at, "Amount", limits.text), "Amount"),
                currency=parse_currency(required(row, currency_at, "Currency", limits.text)),
                status="succeeded",
                created_at=created,
                type=kind,
                description=f"Order {order}" + (f" ({brand})" if brand else "") if order else None,
                references=tuple(dict.fromkeys(references)),
            )

        return parse


PAYMENTS = ShopifyPayments()
