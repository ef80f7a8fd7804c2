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
    missing,
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
        id_limit = context.limits.id
        psp_at = header.need("Psp Reference", limit=id_limit)
        merchant_ref_at = header.column("Merchant Reference", limit=id_limit)
        date_at, zone_at, type_at = (
            header.need("Creation Date"),
            header.need("TimeZone"),
            header.need("Type"),
        )
        modification_at = header.find("Modification Reference", limit=id_limit)
        currency_at = header.need("Gross Currency")
        debit_at, credit_at = header.need(_DEBIT), header.need(_CREDIT)
        method_at = header.column("Payment Method")
        shopper_at = header.column("Shopper Reference", limit=id_limit)
        shopper_email_at = header.column("Shopper Email")
        other_ref_at = header.column("Modification Merchant Reference", limit=id_limit)

        def parse(row: list[str]) -> Transaction | str:
            type_text = row[type_at].strip() or missing("Type")
            kind = _TYPES.get(type_text.lower())
            if kind is None:
                return type_text
            debit, credit = row[debit_at].strip(), row[credit_at].strip()
            if bool(debit) == bool(credit):
                raise BadValue(
                    _CREDIT, "expected an amount in exactly one of the debit and credit columns"
                )
            amount = parse_amount(credit, _CREDIT) if credit else -parse_amount(debit, _DEBIT)
            payment = row[psp_at].strip() or missing("Psp Reference")
            own_id = payment
            references = [
                value for at in (merchant_ref_at, other_ref_at) if (value := row[at].strip())
            ]
            if kind is not TransactionType.CHARGE:
                own_id = (
                    row[modification_at].strip() or missing("Modification Reference")
                    if modification_at is not None
                    else f"{payment}/{type_text}"
                )
                references.insert(0, payment)
            customer_email = email(row[shopper_email_at].strip())
            method = row[method_at].strip()
            return typed_transaction(
                transaction_id=own_id,
                customer_id=customer(row[shopper_at].strip(), customer_email),
                amount=amount,
                currency=parse_currency(row[currency_at].strip() or missing("Gross Currency")),
                status="settled",
                created_at=parse_moment(
                    row[date_at].strip() or missing("Creation Date"),
                    "Creation Date",
                    zone=parse_zone(row[zone_at].strip() or missing("TimeZone"), "TimeZone"),
                ),
                type=kind,
                description=f"{method} payment" if method else None,
                customer_email=customer_email,
                references=tuple(dict.fromkeys(references)),
            )

        return parse


SETTLEMENT = AdyenSettlement()
