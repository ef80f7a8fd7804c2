"""PayPal's Activity download (Activity > Download, CSV), in English, German and Spanish.

One row per balance movement: ``Date``, ``Time``, ``TimeZone``, ``Name``,
``Type``, ``Status``, ``Currency``, ``Gross``, ``Fee``, ``Net``, ``From Email
Address``, ``To Email Address``, ``Transaction ID``, ``Reference Txn ID``,
``Invoice Number``, ``Item Title``, ``Subject``, ``Balance Impact`` (and more
that are not read). The German download names them ``Datum``, ``Uhrzeit``,
``Zeitzone``, ``Typ``, ``Währung``, ``Brutto``, ``Transaktionscode``,
``Zugehöriger Transaktionscode``, ...; the Spanish one ``Fecha``, ``Hora``,
``Zona horaria``, ``Tipo``, ``Divisa``, ``Bruto``, ``Id. de transacción``, ...
Both write decimal commas (``1.250,00``; a bare ``1.250`` is one thousand two
hundred fifty) and day-first dates (``18.01.2024``, ``18/01/2024``). The English
download writes month-first dates in the US; as other English-speaking
countries' downloads write day-first dates under the same header, the order of
an English file is taken from its own dates (a day over 12), else from
``--date-order``. Its decimal separator is not documented either (the US
download writes ``1,179.40``), so it is taken from the file's own amounts (the
first Gross, Fee or Net that shows it); in a file where none does, an amount
that reads two ways (``1.250``) is rejected with its line.

What a row is comes from its Type: a payment received is a charge to the
customer who sent it (From Email Address); a refund (``Payment Refund``,
``Rückzahlung``, ``Reembolso de pago``) is a refund to the customer it was sent
to (To Email Address), linked to the payment by ``Reference Txn ID``; a
reversal or chargeback is a chargeback. Currency conversions, withdrawals and
deposits to or from a bank, holds and their releases, authorizations, fees and
payments the account sent are skipped and counted. The customer is keyed by
the normalised e-mail (PayPal gives no customer id); the transaction id is
PayPal's Transaction ID, as on the customer's PayPal receipt.

Documentation followed:
https://developer.paypal.com/api/nvp-soap/paypal-payments-standard/admin/download-history/
(the download's fields and their formats),
https://www.paypal.com/us/cshelp/article/how-do-i-view-and-download-statements-and-reports-help145
(downloading the activity report). The German and Spanish column names and type
names are those the localised sites write; PayPal publishes no list of them.
"""

from __future__ import annotations

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
)
from supporter.sources.typed import typed_transaction
from supporter.sources.values import parse_amount, parse_currency, parse_moment, parse_zone

__all__ = ["ACTIVITY"]

# Our field -> its column in each language (English, German, Spanish).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("Date", "Datum", "Fecha"),
    "time": ("Time", "Uhrzeit", "Hora"),
    "zone": ("TimeZone", "Time Zone", "Zeitzone", "Zona horaria"),
    "type": ("Type", "Typ", "Tipo"),
    "status": ("Status", "Estado"),
    "currency": ("Currency", "Währung", "Divisa", "Moneda"),
    "gross": ("Gross", "Brutto", "Bruto"),
    "fee": ("Fee", "Gebühr", "Comisión"),
    "net": ("Net", "Netto", "Neto"),
    "from": ("From Email Address", "Absender E-Mail-Adresse",
             "De la dirección de correo electrónico"),
    "to": ("To Email Address", "Empfänger E-Mail-Adresse",
           "A la dirección de correo electrónico"),
    "id": ("Transaction ID", "Transaktionscode", "Id. de transacción"),
    "reference": ("Reference Txn ID", "Zugehöriger Transaktionscode",
                  "Id. de transacción de referencia"),
    "invoice": ("Invoice Number", "Rechnungsnummer", "Número de factura"),
    "item": ("Item Title", "Artikelbezeichnung", "Título del artículo"),
    "subject": ("Subject", "Betreff", "Asunto"),
}  # fmt: skip

# Lower-case fragments of the Type, in every language, and what the row is (first match wins).
_SKIPPED: tuple[tuple[tuple[str, ...], str], ...] = (
    (("currency conversion", "währungsumrechnung", "conversión de divisa"), "currency conversion"),
    (("withdrawal", "abbuchung", "retirada", "retiro"), "bank withdrawal"),
    (("deposit", "bankgutschrift", "einzahlung", "depósito"), "bank deposit"),
    (("hold", "einbehalt", "rückbehalt", "retención"), "hold"),
    (("release", "freigabe", "liberación"), "hold release"),
    (("authori", "autorisierung", "autorización"), "authorization"),
    (("fee", "gebühr", "comisión"), "fee"),
)
_KINDS: tuple[tuple[tuple[str, ...], TransactionType], ...] = (
    (("refund", "rückzahlung", "erstattung", "reembolso"), TransactionType.REFUND),
    (("chargeback", "reversal", "rückbuchung", "contracargo", "retrocesión"),
     TransactionType.CHARGEBACK),
)  # fmt: skip
_STATUSES = {
    "abgeschlossen": "completed", "completado": "completed",
    "ausstehend": "pending", "pendiente": "pending",
    "abgelehnt": "declined", "denegado": "declined", "denied": "declined",
    "erstattet": "refunded", "reembolsado": "refunded", "partially refunded": "partially_refunded",
    "storniert": "cancelled", "cancelado": "cancelled",
}  # fmt: skip


@lru_cache(maxsize=512)  # a download holds a few dozen Types at most
def classify(kind_text: str, gross_is_negative: bool) -> TransactionType | str:
    """What a row of this Type is: a transaction type, or why it is skipped."""
    lowered = kind_text.lower()
    for fragments, reason in _SKIPPED:
        if any(fragment in lowered for fragment in fragments):
            return reason
    for fragments, kind in _KINDS:
        if any(fragment in lowered for fragment in fragments):
            return kind
    # A payment the account sent (a purchase of its own) is not a customer's payment.
    return "payment sent" if gross_is_negative else TransactionType.CHARGE


class PayPalActivity(VendorFormat):
    name = "paypal"
    title = "PayPal Activity download"
    locales = (
        # PayPal does not document the decimal separator of an English download (the US one
        # writes 1,179.40): it is taken from the file's own amounts.
        Locale(
            "en",
            ("Date", "Time", "Gross", "Transaction ID", "Reference Txn ID"),
            decimal_comma=None,
        ),
        Locale(
            "de",
            ("Datum", "Uhrzeit", "Brutto", "Transaktionscode", "Zugehöriger Transaktionscode"),
            decimal_comma=True,
            date_order="day-first",
        ),
        Locale(
            "es",
            ("Fecha", "Hora", "Bruto", "Id. de transacción", "Id. de transacción de referencia"),
            decimal_comma=True,
            date_order="day-first",
        ),
    )
    date_column = _COLUMNS["date"]
    amount_columns = (*_COLUMNS["gross"], *_COLUMNS["fee"], *_COLUMNS["net"])

    def parser(self, header: Header, context: ParseContext) -> RowParser:
        limits, order = context.limits, context.date_order
        decimal_comma = context.decimal_comma
        # Every column's position resolved once per header, not looked up per row.
        time_at, zone_at = header.column(*_COLUMNS["time"]), header.column(*_COLUMNS["zone"])
        from_at, to_at = header.column(*_COLUMNS["from"]), header.column(*_COLUMNS["to"])
        reference_at = header.column(*_COLUMNS["reference"], limit=limits.id)
        invoice_at = header.column(*_COLUMNS["invoice"], limit=limits.id)
        item_at = header.column(*_COLUMNS["item"], limit=limits.description)
        subject_at = header.column(*_COLUMNS["subject"], limit=limits.description)
        date_at = header.need(*_COLUMNS["date"])
        id_at = header.need(*_COLUMNS["id"], limit=limits.id)
        gross_at = header.need(*_COLUMNS["gross"])
        type_at, currency_at = header.need(*_COLUMNS["type"]), header.need(*_COLUMNS["currency"])
        status_at = header.need(*_COLUMNS["status"])

        def parse(row: list[str]) -> Transaction | str:
            gross = parse_amount(
                row[gross_at].strip() or missing("Gross"), "Gross", decimal_comma=decimal_comma
            )
            kind = classify(row[type_at].strip() or missing("Type"), gross < 0)
            if not isinstance(kind, TransactionType):
                return kind
            # The customer sent a payment, or was sent a refund.
            customer_at = to_at if kind is TransactionType.REFUND else from_at
            customer_email = email(row[customer_at].strip())
            zone = row[zone_at].strip()
            status = (row[status_at].strip() or missing("Status")).lower()
            reference, invoice = row[reference_at].strip(), row[invoice_at].strip()
            return typed_transaction(
                transaction_id=row[id_at].strip() or missing("Transaction ID"),
                customer_id=customer("", customer_email),
                amount=gross,
                currency=parse_currency(row[currency_at].strip() or missing("Currency")),
                status=_STATUSES.get(status, status.replace(" ", "_")),
                created_at=parse_moment(
                    row[date_at].strip() or missing("Date"),
                    "Date",
                    time_text=row[time_at].strip(),
                    time_field="Time",
                    zone=parse_zone(zone, "TimeZone") if zone else None,
                    order=order,
                ),
                type=kind,
                description=masked(row[item_at].strip() or row[subject_at].strip()),
                customer_email=customer_email,
                references=tuple(filter(None, (reference, invoice))),
            )

        return parse


ACTIVITY = PayPalActivity()
