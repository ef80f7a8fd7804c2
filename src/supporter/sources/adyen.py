"""Adyen's Settlement details report (``settlement_detail_report_batch_N.csv``).

One row per journal entry of a payout batch: ``Company Account``, ``Merchant
Account``, ``Psp Reference`` (the payment's), ``Merchant Reference`` (the
merchant's order reference), ``Payment Method``, ``Creation Date``
(``YYYY-MM-DD HH:MM:SS``) in the zone of the ``TimeZone`` column (BST, CET,
CEST, ...), ``Type``, ``Modification Reference`` (the refund's or
chargeback's own reference), ``Gross Currency``, ``Gross Debit (GC)`` and
``Gross Credit (GC)`` (money is a debit or a credit column, never signed), the
net and cost columns, ``Modification Merchant Reference`` and ``Batch
Number``. ``Settled`` rows are charges (the gross credit), ``Refunded`` rows
refunds and ``Chargeback``/``SecondChargeback`` rows chargebacks (the gross
debit, negative); fees, payouts, corrections, reversals and the other types
are skipped and counted. The report names no customer unless the account adds
``Shopper Email``/``Shopper Reference`` columns: without them a payment is
found by the merchant reference a ticket quotes.

Documentation followed:
https://docs.adyen.com/reporting/settlement-detail-report (structure, sample,
columns, types) and https://docs.adyen.com/reporting/time-zone-setting.
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
    required,
    text,
)
from supporter.sources.typed import typed_transaction
from supporter.sources.values import (
    BadValue,
    parse_amount,
    parse_currency,
    parse_moment,
    parse_zone,
)

__all__ = ["SETTLEMENT"]

_TYPES = {
    "settled": TransactionType.CHARGE,
    "refunded": TransactionType.REFUND,
    "chargeback": TransactionType.CHARGEBACK,
    "secondchargeback": TransactionType.CHARGEBACK,
}
_DEBIT, _CREDIT = "Gross Debit (GC)", "Gross Credit (GC)"


class AdyenSettlement(VendorFormat):
    name = "adyen"
    title = "Adyen settlement details report"
    locales = (Locale("en", ("Psp Reference", "Creation Date", "TimeZone", "Type", _CREDIT)),)

    def parser(self, header: Header, context: ParseContext) -> RowParser:
        limits = context.limits
        psp_at, merchant_ref_at = header.need("Psp Reference"), header.find("Merchant Reference")
        date_at, zone_at, type_at = (
            header.need("Creation Date"),
            header.need("TimeZone"),
            header.need("Type"),
        )
        modification_at = header.find("Modification Reference")
        currency_at = header.need("Gross Currency")
        debit_at, credit_at = header.need(_DEBIT), header.need(_CREDIT)
        method_at = header.find("Payment Method")
        shopper_at, shopper_email_at = (
            header.find("Shopper Reference"),
            header.find("Shopper Email"),
        )
        other_ref_at = header.find("Modification Merchant Reference")

        def parse(row: list[str]) -> Transaction | str:
            type_text = required(row, type_at, "Type", limits.text)
            kind = _TYPES.get(type_text.lower())
            if kind is None:
                return type_text
            debit = text(row, debit_at, _DEBIT, limits.text)
            credit = text(row, credit_at, _CREDIT, limits.text)
            if (debit is None) == (credit is None):
                raise BadValue(
                    _CREDIT, "expected an amount in exactly one of the debit and credit columns"
                )
            amount = parse_amount(credit, _CREDIT) if credit else -parse_amount(debit or "", _DEBIT)
            payment = required(row, psp_at, "Psp Reference", limits.id)
            own_id = payment
            references = [
                value
                for at in (merchant_ref_at, other_ref_at)
                if (value := text(row, at, "Merchant Reference", limits.id))
            ]
            if kind is not TransactionType.CHARGE:
                own_id = (
                    required(row, modification_at, "Modification Reference", limits.id)
                    if modification_at is not None
                    else f"{payment}/{type_text}"
                )
                references.insert(0, payment)
            customer_email = email(text(row, shopper_email_at, "Shopper Email", limits.text))
            method = text(row, method_at, "Payment Method", limits.text)
            return typed_transaction(
                transaction_id=own_id,
                customer_id=customer(
                    text(row, shopper_at, "Shopper Reference", limits.id), customer_email
                ),
                amount=amount,
                currency=parse_currency(required(row, currency_at, "Gross Currency", limits.text)),
                status="settled",
                created_at=parse_moment(
                    required(row, date_at, "Creation Date", limits.text),
                    "Creation Date",
                    zone=parse_zone(required(row, zone_at, "TimeZone", limits.text), "TimeZone"),
                ),
                type=kind,
                description=f"{method} payment" if method else None,
                customer_email=customer_email,
                references=tuple(dict.fromkeys(references)),
            )

        return parse


SETTLEMENT = AdyenSettlement()
