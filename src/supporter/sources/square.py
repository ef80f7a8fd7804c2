"""Square's transactions export (Dashboard > Transactions > Export > Transactions CSV).

UTF-16 with a byte-order mark, tab-separated (as Excel writes "Unicode text"),
or UTF-8 CSV. One row per payment or refund: ``Date``, ``Time`` and ``Time
Zone`` in three columns (the zone as the Dashboard names it, e.g. ``Pacific
Time (US & Canada)``), money columns written with their currency symbol
(``$1,179.40``, negatives ``-$5.00`` or ``($5.00)``): ``Gross Sales``, ``Tax``,
``Tip``, ``Total Collected``, ``Fees``, ``Net Total``; ``Transaction ID``,
``Payment ID``, ``Event Type`` (Payment or Refund), ``Card Brand``, ``PAN
Suffix``, ``Customer ID``, ``Customer Name``, ``Description`` and
``Transaction Status``. The amount is what the customer paid (``Total
Collected``; ``Gross Sales`` when absent) and the currency its symbol's (``$``
is USD, ``€`` EUR, ``£`` GBP, ``¥`` JPY, ``A$`` AUD, ``C$``/``CA$`` CAD).
The date order comes from the file's own dates (a day over 12), else from
``--date-order``. A refund row carries the payment's Transaction ID: it is
keyed by that id, ``refund`` and its time, and refers to the payment.

Documentation followed:
https://squareup.com/help/us/en/article/5072-summaries-and-reports-from-the-online-square-dashboard
(exporting transactions from the Dashboard). Square publishes no column
list: the names above are those the Dashboard writes.
"""

from __future__ import annotations

import re

from supporter.domain.models import Transaction, TransactionType
from supporter.sources.tabular import (
    Header,
    Locale,
    ParseContext,
    RowParser,
    VendorFormat,
    compact_time,
    customer,
    masked,
    missing,
)
from supporter.sources.typed import typed_transaction
from supporter.sources.values import (
    BadValue,
    card_last4,
    parse_amount,
    parse_moment,
    parse_zone,
    show,
)

__all__ = ["TRANSACTIONS"]

_SYMBOLS = (("CA$", "CAD"), ("C$", "CAD"), ("A$", "AUD"), ("$", "USD"), ("€", "EUR"),
            ("£", "GBP"), ("¥", "JPY"))  # fmt: skip
_CODE = re.compile(r"\b([A-Z]{3})\b")


def currency_of(amount_text: str, field: str) -> str:
    if amount_text[0] == "$" or amount_text[:2] in ("-$", "($"):
        return "USD"  # as most exports write every amount, without trying each symbol
    for symbol, code in _SYMBOLS:
        if symbol in amount_text:
            return code
    found = _CODE.search(amount_text)
    if found is None:
        raise BadValue(field, f"no currency symbol or code: {show(amount_text)}")
    return found[1]


class SquareTransactions(VendorFormat):
    name = "square"
    title = "Square transactions export"
    locales = (Locale("en", ("Date", "Time", "Time Zone", "Gross Sales", "Transaction ID")),)
    date_column = ("Date",)

    def parser(self, header: Header, context: ParseContext) -> RowParser:
        limits, order = context.limits, context.date_order
        date_at, time_at, zone_at = (
            header.need("Date"),
            header.need("Time"),
            header.need("Time Zone"),
        )
        amount_at = header.need("Total Collected", "Gross Sales")
        amount_name = header.columns[amount_at].strip()
        id_at = header.need("Transaction ID", limit=limits.id)
        payment_at = header.column("Payment ID", limit=limits.id)
        event_at, status_at = header.column("Event Type"), header.column("Transaction Status")
        customer_at = header.column("Customer ID", limit=limits.id)
        last4_at = header.column("PAN Suffix")
        description_at = header.column("Description", limit=limits.description)

        def parse(row: list[str]) -> Transaction:
            event = (row[event_at].strip() or "payment").lower()
            kind = TransactionType.REFUND if event == "refund" else TransactionType.CHARGE
            amount_text = row[amount_at].strip() or missing(amount_name)
            created = parse_moment(
                row[date_at].strip() or missing("Date"),
                "Date",
                time_text=row[time_at].strip(),
                time_field="Time",
                zone=parse_zone(row[zone_at].strip() or missing("Time Zone"), "Time Zone"),
                order=order,
            )
            transaction = row[id_at].strip() or missing("Transaction ID")
            payment = row[payment_at].strip()
            own_id = transaction
            references = [payment] if payment else []
            if kind is TransactionType.REFUND:
                own_id = f"{transaction}/refund/{compact_time(created)}"
                references.insert(0, transaction)
            status = (row[status_at].strip() or "complete").lower()
            return typed_transaction(
                transaction_id=own_id,
                customer_id=customer(row[customer_at].strip(), None),
                amount=parse_amount(amount_text, amount_name),
                currency=currency_of(amount_text, amount_name),
                status="completed" if status == "complete" else status,
                created_at=created,
                type=kind,
                description=masked(row[description_at].strip()),
                card_last4=card_last4(row[last4_at].strip() or None),
                references=tuple(references),
            )

        return parse


TRANSACTIONS = SquareTransactions()
