"""Transaction facts computed in code, and the check that holds a draft reply to them.

The model is handed facts (which charge, which amount, which date, a duplicate,
a pending refund) instead of being trusted to find them, and a draft that
states an amount, date or transaction id the customer's transactions do not
contain, or that promises a refund, does not pass.

This runs for every ticket, so every pattern is compiled once, here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import pairwise
from string import ascii_letters

from supporter.domain.masking import contains_card_number
from supporter.domain.models import (
    GroundingCheck,
    Reply,
    Ticket,
    Transaction,
    TransactionFacts,
    TransactionType,
)

__all__ = ["DUPLICATE_WINDOW", "FEW_TRANSACTIONS", "check_reply", "compute_facts"]

DUPLICATE_WINDOW = timedelta(hours=72)
"""Same-amount charges at most this far apart (inclusive) count as duplicates."""

FEW_TRANSACTIONS = 5
"""With this many transactions or fewer, a payment ticket naming none is about the last charge."""

_PENDING_STATUSES = frozenset({"pending", "processing"})
_FAILED_STATUSES = frozenset({"failed", "declined", "rejected"})
_REFUNDED_STATUSES = frozenset({"refunded", "partially_refunded"})

# --- amounts -----------------------------------------------------------------

_DOLLAR = frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"})
_CODES = "USD|EUR|GBP|CAD|AUD|NZD|CHF|JPY|CNY|SEK|NOK|DKK|PLN|CZK|HUF|BRL|MXN|INR|SGD|HKD|ZAR"
# Lower-case codes are taken only where they cannot be ordinary words ("try" is not TRY).
_CODE = rf"(?:{_CODES}|(?i:usd|eur|gbp))"
_CODE_SET = frozenset(_CODES.split("|"))
_CURRENCY_TOKENS: dict[str, frozenset[str]] = {
    "$": _DOLLAR,
    "us$": frozenset({"USD"}),
    "c$": frozenset({"CAD"}),
    "ca$": frozenset({"CAD"}),
    "a$": frozenset({"AUD"}),
    "au$": frozenset({"AUD"}),
    "nz$": frozenset({"NZD"}),
    "r$": frozenset({"BRL"}),
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP"}),
    "¥": frozenset({"JPY", "CNY"}),
    "kr": frozenset({"SEK", "NOK", "DKK"}),
    "zł": frozenset({"PLN"}),
    "dollar": _DOLLAR,
    "dollars": _DOLLAR,
    "bucks": _DOLLAR,
    "euro": frozenset({"EUR"}),
    "euros": frozenset({"EUR"}),
    "pound": frozenset({"GBP"}),
    "pounds": frozenset({"GBP"}),
    "quid": frozenset({"GBP"}),
}
_PREFIX_SYMBOL = r"(?:\b(?:US|CA|C|AU|A|NZ|R))?\$|€|£|¥"
_SUFFIX_SYMBOL = r"€|£|\$|¥|zł|(?i:kr)\b"
_CURRENCY_WORD = r"(?i:dollars?|bucks|euros?|pounds?|quid)\b"
_SUFFIX = rf"\s?(?:(?P<code>{_CODE})\b|(?P<symbol>{_SUFFIX_SYMBOL})|(?P<word>{_CURRENCY_WORD}))"
# Grouped thousands ("1,234.56", "1.234,56", "1 234,56" with a no-break space) or plain;
# a plain space groups thousands only right before a currency.
_NUMBER = (
    rf"\d{{1,3}}(?: \d{{3}})+(?:[.,]\d{{1,2}})?(?={_SUFFIX})"
    r"|\d{1,3}(?:[,.\u00a0\u202f']\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
)
# Numbers are found first and their currency read around them: a pattern that starts with
# "(?=\d)" lets the regex engine skip to digits instead of trying every position. A number
# inside an id ("tx_49"), a date ("03-05", "05.03.2024") or a fraction is no amount.
_NUMBER_IN_TEXT = re.compile(rf"(?=\d)(?<![\d_.,/])(?<!\d-)(?:{_NUMBER})(?!\d|[.,]\d)")
_PREFIX_CURRENCY = re.compile(rf"(?:(?P<symbol>{_PREFIX_SYMBOL})|\b(?P<code>{_CODE}))\s?$")
_PREFIX_REACH = 5  # "US$ " or "USD " and one character to see a word boundary
_SUFFIX_CURRENCY = re.compile(_SUFFIX)
_TWO_DECIMALS = re.compile(r"\d{1,3}(?:,\d{3})+\.\d{2}|\d{1,3}(?:\.\d{3})+,\d{2}|\d+[.,]\d{2}")
_TIME_OR_RATE_AFTER = re.compile(r"\s?(?:%|[ap]\.?m\b|h\b)", re.IGNORECASE)
# In a ticket a bare "49.99" is an amount only near words about money (checked as substrings:
# far cheaper than a regex alternation on every ticket).
_MONEY_STEMS = (
    *("charg", "paid", "pay", "amount", "refund", "price", "cost", "fee", "bill", "debit"),
    *("total", "withdr", "transfer", "spent", "purchas", "balance", "money", "invoice"),
    *("deposit", "top up", "top-up", "cobr", "pag", "importe", "montant", "rembours"),
    *("betrag", "zahl", "abbuch", "importo", "addebit", "valor", "reembols", "rimbors"),
    *("estorn", "usd", "eur", "gbp"),
)
_NOT_IN_NUMBER = str.maketrans("", "", " '\u00a0\u202f")
_CONTEXT_BEFORE = 40
_CONTEXT_AFTER = 25


@dataclass(frozen=True, slots=True)
class _Amount:
    value: Decimal
    currencies: frozenset[str] | None  # None: no currency written, any matches
    label: str  # the currency as written, for problem messages


def _to_decimal(number: str) -> Decimal | None:
    """Read "1,234.56", "1.234,56" or "49,99": a last separator before 1-2 digits is decimal."""
    digits = number.translate(_NOT_IN_NUMBER)
    cut = max(digits.rfind("."), digits.rfind(","))
    if cut >= 0 and len(digits) - cut - 1 <= 2:
        whole, fraction = digits[:cut], digits[cut + 1 :]
    else:
        whole, fraction = digits, ""
    whole = whole.replace(",", "").replace(".", "")
    try:
        return Decimal(f"{whole}.{fraction}" if fraction else whole)
    except InvalidOperation:
        return None


def _currencies(token: str) -> frozenset[str] | None:
    if token.upper() in _CODE_SET:
        return frozenset({token.upper()})
    return _CURRENCY_TOKENS.get(token.lower())


def _scan_amounts(text: str, *, bare_needs_context: bool) -> Iterator[_Amount]:
    for match in _NUMBER_IN_TEXT.finditer(text):
        amount = _read_amount(text, match, bare_needs_context)
        if amount is not None:
            yield amount


def _read_amount(text: str, match: re.Match[str], bare_needs_context: bool) -> _Amount | None:
    start, end = match.span()
    prefix = _PREFIX_CURRENCY.search(text, max(0, start - _PREFIX_REACH), start)
    if prefix is None and text[start - 1 : start].isalpha():
        return None  # glued to a word: "A1", "tx49"
    suffix = _SUFFIX_CURRENCY.match(text, end)
    # "$49.99 USD": the code is the more precise of the two.
    token = (suffix and suffix["code"]) or (prefix and (prefix["symbol"] or prefix["code"]))
    token = token or (suffix and (suffix["symbol"] or suffix["word"]))
    if not token and not _is_bare_amount(text, match, bare_needs_context):
        return None
    value = _to_decimal(match[0])
    if value is None:
        return None
    return _Amount(value, _currencies(token) if token else None, token or "")


def _is_bare_amount(text: str, match: re.Match[str], needs_context: bool) -> bool:
    """A number without currency is money only with exactly two decimals, and not "10.30 am"."""
    if not _TWO_DECIMALS.fullmatch(match[0]) or _TIME_OR_RATE_AFTER.match(text, match.end()):
        return False
    if not needs_context:
        return True
    window = text[max(0, match.start() - _CONTEXT_BEFORE) : match.end() + _CONTEXT_AFTER].lower()
    return any(stem in window for stem in _MONEY_STEMS)


# --- dates ---------------------------------------------------------------------

_MONTH_NAMES = (  # en es fr de pt it, with common abbreviations and unaccented spellings
    "january jan enero janvier januar jänner janeiro gennaio",
    "february feb febrero février fevrier februar fevereiro febbraio",
    "march mar marzo mars märz maerz março marco",
    "april apr abril avril aprile",
    "may mayo mai maio maggio",
    "june jun junio juin juni junho giugno",
    "july jul julio juillet juli julho luglio",
    "august aug agosto août aout",
    "september sept sep septiembre setiembre septembre setembro settembre",
    "october oct octubre octobre oktober outubro ottobre",
    "november nov noviembre novembre novembro",
    "december dec diciembre décembre decembre dezember dezembro dicembre",
)
_MONTHS = {name: number for number, names in enumerate(_MONTH_NAMES, 1) for name in names.split()}
# English words that are also month names count only when capitalised ("May 5", not "may 5").
_NEEDS_CAPITAL = frozenset({"may", "mar"})
_ANY_DIGIT = re.compile(r"\d")
# Year first ("2024-03-05", "2024/03/05") or last ("05.03.2024", "05/03/24").
_NUMERIC_DATE = re.compile(
    r"(?=\d)(?<![\d/.-])(?:(?P<year>\d{4})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
    r"|(?P<first>\d{1,2})(?P<sep2>[-/.])(?P<second>\d{1,2})(?P=sep2)(?P<last>\d{4}|\d{2}))"
    r"(?!\d|[-/.]\d)"
)
# Dates with a month name are found from their day number (a digit-led pattern is fast to
# scan for); the month word is then read just before ("March 5") or after ("5 March") it.
_DAY_NUMBER = re.compile(r"(?=\d)(?<![\w.,/:-])\d{1,2}(?!\d|[.,/:-]\d)")
_MONTH_BEFORE_DAY = re.compile(r"\b([^\W\d_]{3,10})\.?\s+$")
_MONTH_WORD_REACH = 12  # the longest month name, a dot and a space
_YEAR_AFTER_DAY = re.compile(r"(?:st|nd|rd|th)?\b(?:,?\s+(\d{4})\b)?")
_MONTH_AFTER_DAY = re.compile(
    r"(?:st|nd|rd|th|er|º|°|\.)?\s+(?:[Oo]f\s+|[Dd]e\s+)?([^\W\d_]{3,10})\b"
    r"(?:\.?,?\s+(?:del?\s+)?(\d{4})\b)?"
)
# French "hier" alone is German "here", so only "hier soir/matin" are taken.
_RELATIVE_DAY = re.compile(
    r"(?i)\b(?:(?P<two>day\s+before\s+yesterday|anteayer|antier|avant-hier|vorgestern|anteontem"
    r"|altroieri|l'altro\s+ieri)"
    r"|(?P<one>yesterday|last\s+night|ayer|anoche|gestern|ontem|ieri|hier(?=\s+(?:soir|matin)))"
    r"|(?P<zero>today|this\s+morning|tonight|hoy|aujourd'hui|heute|hoje|oggi))\b"
)
# Substrings at least one of which every relative day contains: a cheap test first.
_RELATIVE_STEMS = (
    *("yesterday", "last night", "ayer", "anoche", "antier", "gestern", "ontem", "ieri"),
    *("hier", "today", "this morning", "tonight", "hoy", "aujourd", "heute", "hoje", "oggi"),
)

# A date as written: (year or None, month, day) readings; two when "05/03/2024" is ambiguous.
_Reading = tuple[int | None, int, int]


@dataclass(frozen=True, slots=True)
class _DateMention:
    start: int
    end: int
    text: str
    readings: tuple[_Reading, ...]


def _valid(year: int | None, month: int, day: int) -> bool:
    try:
        date(2000 if year is None else year, month, day)  # 2000 is a leap year: Feb 29 may pass
    except ValueError:
        return False
    return True


def _numeric_readings(first: int, second: int, year: int, separator: str) -> tuple[_Reading, ...]:
    # Dotted dates ("05.03.2024") are day-first wherever they are written.
    if separator == "." or first > 12 or first == second:
        pairs = [(second, first)]
    elif second > 12:
        pairs = [(first, second)]
    else:
        pairs = [(second, first), (first, second)]  # 05/03: March 5 or May 3, undecidable
    return tuple((year, month, day) for month, day in pairs if _valid(year, month, day))


def _numeric_mentions(text: str) -> Iterator[_DateMention]:
    for match in _NUMERIC_DATE.finditer(text):
        if match["year"]:
            year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
            readings: tuple[_Reading, ...] = ((year, month, day),)
            readings = readings if _valid(year, month, day) else ()
        else:
            year = int(match["last"]) + (2000 if len(match["last"]) == 2 else 0)
            first, second = int(match["first"]), int(match["second"])
            readings = _numeric_readings(first, second, year, match["sep2"])
        if readings:
            yield _DateMention(match.start(), match.end(), match[0], readings)


def _month(word: str) -> int | None:
    month = _MONTHS.get(word.lower())
    if month is None or (word.lower() in _NEEDS_CAPITAL and word[0].islower()):
        return None
    return month


def _named_month_mentions(text: str) -> Iterator[_DateMention]:
    for match in _DAY_NUMBER.finditer(text):
        mention = _month_first(text, match) or _day_first(text, match)
        if mention is not None:
            yield mention


def _month_first(text: str, day: re.Match[str]) -> _DateMention | None:
    reach = max(0, day.start() - _MONTH_WORD_REACH)
    before = _MONTH_BEFORE_DAY.search(text, reach, day.start())
    if before is None or (month := _month(before[1])) is None:
        return None
    after = _YEAR_AFTER_DAY.match(text, day.end())
    if after is None:
        return None
    return _named_mention(text, before.start(), after.end(), after[1], month, int(day[0]))


def _day_first(text: str, day: re.Match[str]) -> _DateMention | None:
    after = _MONTH_AFTER_DAY.match(text, day.end())
    if after is None or (month := _month(after[1])) is None:
        return None
    return _named_mention(text, day.start(), after.end(), after[2], month, int(day[0]))


def _named_mention(
    text: str, start: int, end: int, year_text: str | None, month: int, day: int
) -> _DateMention | None:
    year = int(year_text) if year_text else None
    if not _valid(year, month, day):
        return None
    return _DateMention(start, end, text[start:end], ((year, month, day),))


def _scan_dates(text: str) -> list[_DateMention]:
    """Written dates in order of appearance; a span two patterns both read counts once."""
    if _ANY_DIGIT.search(text) is None:
        return []
    found = sorted([*_numeric_mentions(text), *_named_month_mentions(text)], key=lambda m: m.start)
    kept: list[_DateMention] = []
    for mention in found:
        if not kept or mention.start >= kept[-1].end:
            kept.append(mention)
    return kept


def _resolve_year(reading: _Reading, today: date) -> date | None:
    """A date without a year is the latest one not after the ticket: customers write of the past."""
    year, month, day = reading
    if year is not None:
        return date(year, month, day)
    for candidate_year in (today.year, today.year - 1):
        if _valid(candidate_year, month, day) and date(candidate_year, month, day) <= today:
            return date(candidate_year, month, day)
    return None


def _ticket_dates(text: str, lowered: str, today: date) -> list[date]:
    """Dates the ticket mentions, in order; ambiguous ones ("05/03/2024") are left out."""
    spotted: list[tuple[int, date]] = []
    for mention in _scan_dates(text):
        if len(mention.readings) == 1 and (day := _resolve_year(mention.readings[0], today)):
            spotted.append((mention.start, day))
    if any(stem in lowered for stem in _RELATIVE_STEMS):
        for match in _RELATIVE_DAY.finditer(text):
            back = 2 if match["two"] else 1 if match["one"] else 0
            spotted.append((match.start(), today - timedelta(days=back)))
    spotted.sort(key=lambda pair: pair[0])
    return list(dict.fromkeys(day for _, day in spotted))


# --- transactions ----------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    """Naive timestamps are taken as UTC, as the sources write them."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _tx_day(tx: Transaction) -> date:
    return _utc(tx.created_at).date()


def _status(tx: Transaction) -> str:
    return tx.status.strip().lower()


def _newest_first(transactions: Iterable[Transaction]) -> list[Transaction]:
    """Newest first whatever the input order; a row repeated with the same id counts once."""
    unique: dict[str, Transaction] = {}
    for tx in transactions:
        unique.setdefault(tx.transaction_id, tx)
    # sorted() stays stable with reverse=True: same-time rows keep the caller's order.
    return sorted(unique.values(), key=lambda tx: _utc(tx.created_at), reverse=True)


def _amount_matches(tx: Transaction, amount: _Amount) -> bool:
    # Refunds may be stored negative; the customer and the reply write them positive.
    if abs(tx.amount) != amount.value:
        return False
    return amount.currencies is None or tx.currency.upper() in amount.currencies


def _duplicate_charge_ids(ordered: Sequence[Transaction]) -> set[str]:
    by_amount: dict[tuple[Decimal, str], list[Transaction]] = {}
    for tx in reversed(ordered):  # oldest first, so neighbours in a list are neighbours in time
        if tx.type is TransactionType.CHARGE and _status(tx) not in _FAILED_STATUSES:
            by_amount.setdefault((tx.amount, tx.currency.upper()), []).append(tx)
    found: set[str] = set()
    for charges in by_amount.values():
        for earlier, later in pairwise(charges):
            if _utc(later.created_at) - _utc(earlier.created_at) <= DUPLICATE_WINDOW:
                found.update((earlier.transaction_id, later.transaction_id))
    return found


# --- what the ticket is about ------------------------------------------------------

# Lower-case substrings that say what a ticket is about (substring tests: cheap on every ticket).
_ABOUT_FAILED = (
    *("fail", "declin", "reject", "refused", "refusé", "denied", "bounced", "go through"),
    *("rechaz", "falló", "fallido", "abgelehnt", "fehlgeschlagen", "recusad", "falhou"),
    *("rifiutat", "negad"),
)
_ABOUT_PENDING = (
    *("pending", "processing", "on hold", "pendiente", "en attente", "en cours", "ausstehend"),
    *("vorgemerkt", "pendente", "in sospeso", "in attesa"),
)
_ABOUT_REFUND = (
    *("refund", "reimburs", "money back", "reembols", "rembours", "erstatt", "rimbors"),
    "estorn",
)
_ABOUT_CHARGEBACK = (
    *("chargeback", "charge back", "charge-back", "dispute", "contracargo", "litige"),
    *("rückbuchung", "contestaz", "contestaç"),
)
# Words at a word start that make a ticket about money at all (not "page", "about", "explain"):
# only such a ticket falls back to the newest charge. Matched on the lower-cased ticket, and
# only when the fallback is in question.
_ABOUT_PAYMENT = re.compile(
    r"\b(?:charg|paid|pay(?:s|ing|ments?)?\b|bill|refund|invoice|subscri|plans?\b|renew|cancel"
    r"|receipt|price|cost|fees?\b|debit|money|purchas|transaction|statement|cobr|pago|factur"
    r"|suscrip|reembols|prélèv|débit|paiement|abonnement|rembours|abbuch|zahlung|rechnung|abo\b"
    r"|erstatt|addebit|pagament|abbonament|fattur|rimbors|cobran|assinatura|estorn|plano\b"
    r"|tarif|forfait|résili|kündig|annull|disdi)"
)


@dataclass(frozen=True, slots=True)
class _Kinds:
    pending: list[str]
    failed: list[str]
    refunds: list[str]
    chargebacks: list[str]


def _kinds(ordered: Sequence[Transaction]) -> _Kinds:
    kinds = _Kinds([], [], [], [])
    for tx in ordered:
        status = _status(tx)
        if status in _PENDING_STATUSES:
            kinds.pending.append(tx.transaction_id)
        if status in _FAILED_STATUSES:
            kinds.failed.append(tx.transaction_id)
        if tx.type is TransactionType.REFUND or status in _REFUNDED_STATUSES:
            kinds.refunds.append(tx.transaction_id)
        if tx.type is TransactionType.CHARGEBACK:
            kinds.chargebacks.append(tx.transaction_id)
    return kinds


def _topic_ids(lowered: str, kinds: _Kinds) -> set[str]:
    """Transactions of the kind the ticket talks about: a failed payment, a pending one, ..."""
    ids: set[str] = set()
    for stems, of_kind in (
        (_ABOUT_FAILED, kinds.failed),
        (_ABOUT_PENDING, kinds.pending),
        (_ABOUT_REFUND, kinds.refunds),
        (_ABOUT_CHARGEBACK, kinds.chargebacks),
    ):
        if of_kind and any(stem in lowered for stem in stems):
            ids.update(of_kind)
    return ids


def _matched_ids(
    ordered: Sequence[Transaction], amounts: Sequence[_Amount], days: Sequence[date]
) -> set[str]:
    """Transactions the ticket names by amount or by date.

    A date narrows same-amount matches (the 49.99 of March 5, not every
    monthly 49.99); a date no amount match falls on relates that day's
    transactions.
    """
    wanted_days = set(days)
    ids: set[str] = set()
    for amount in amounts:
        same = [tx for tx in ordered if _amount_matches(tx, amount)]
        on_day = [tx for tx in same if _tx_day(tx) in wanted_days]
        ids.update(tx.transaction_id for tx in on_day or same)
    covered = {_tx_day(tx) for tx in ordered if tx.transaction_id in ids}
    ids.update(
        tx.transaction_id
        for tx in ordered
        if (day := _tx_day(tx)) in wanted_days and day not in covered
    )
    return ids


def _fallback_charge(lowered: str, ordered: Sequence[Transaction]) -> str | None:
    """The newest charge, for a payment ticket that names none and a customer with few."""
    if len(ordered) > FEW_TRANSACTIONS or not _ABOUT_PAYMENT.search(lowered):
        return None
    return next((tx.transaction_id for tx in ordered if tx.type is TransactionType.CHARGE), None)


def _in_order(ordered: Sequence[Transaction], ids: set[str]) -> list[str]:
    return [tx.transaction_id for tx in ordered if tx.transaction_id in ids]


def compute_facts(ticket: Ticket, transactions: Sequence[Transaction]) -> TransactionFacts:
    """Establish what the ticket mentions and which of the customer's transactions it concerns.

    `transactions` are the customer's recent transactions; every id list in
    the result is newest first. A transaction is related when its amount (and
    currency, if written) matches an amount the ticket mentions, or its UTC
    date a date the ticket mentions; duplicate charges are always related;
    failed, pending, refund and chargeback transactions are related when the
    ticket talks about that kind. When no amount or date names a transaction,
    the ticket is about money (a charge, a payment, a plan, an invoice, ...) and
    the customer has at most `FEW_TRANSACTIONS` transactions, the newest charge
    is related too: with so few, it is what the customer most likely means.
    """
    text = f"{ticket.subject}\n{ticket.body}"
    lowered = text.lower()
    amounts = list(_scan_amounts(text, bare_needs_context=True))
    # The customer's "yesterday" is in the ticket's own time zone, not in UTC.
    days = _ticket_dates(text, lowered, ticket.created_at.date())
    ordered = _newest_first(transactions)
    kinds = _kinds(ordered)
    duplicates = _duplicate_charge_ids(ordered)
    named = _matched_ids(ordered, amounts, days)
    related = named | _topic_ids(lowered, kinds) | duplicates
    if not named and (newest := _fallback_charge(lowered, ordered)):
        related.add(newest)
    return TransactionFacts(
        mentioned_amounts=list(dict.fromkeys(amount.value for amount in amounts)),
        mentioned_dates=[day.isoformat() for day in days],
        related_transaction_ids=_in_order(ordered, related),
        duplicate_charge_ids=_in_order(ordered, duplicates),
        pending_ids=kinds.pending,
        failed_ids=kinds.failed,
        refund_ids=kinds.refunds,
        chargeback_ids=kinds.chargebacks,
    )


# --- checking a draft reply --------------------------------------------------------


def _amount_problems(body: str, transactions: Sequence[Transaction]) -> Iterator[str]:
    for amount in _scan_amounts(body, bare_needs_context=False):
        if not any(_amount_matches(tx, amount) for tx in transactions):
            written = f"{amount.value} {amount.label}".strip()
            yield f"amount {written} not in the customer's transactions"


def _date_problems(
    body: str, transactions: Sequence[Transaction], ticket: Ticket | None
) -> Iterator[str]:
    known = {_tx_day(tx) for tx in transactions}
    if ticket is not None:  # "your message of <date>" is grounded too
        known.update({ticket.created_at.date(), _utc(ticket.created_at).date()})
    known_month_days = {(day.month, day.day) for day in known}
    for mention in _scan_dates(body):
        if not any(_date_known(reading, known, known_month_days) for reading in mention.readings):
            yield f"date {mention.text} not a date of the customer's transactions"


def _date_known(reading: _Reading, known: set[date], month_days: set[tuple[int, int]]) -> bool:
    year, month, day = reading
    if year is None:
        return (month, day) in month_days
    return date(year, month, day) in known


# Id patterns start with a literal where they can ("tx_", "_", "-"): the regex engine then
# jumps between occurrences of it instead of trying every position of a long reply.
# Common payment-id prefixes, whatever the customer's own ids look like.
_PREFIXED_ID = re.compile(
    r"_(?:(?<=\btxn_)|(?<=\btx_)|(?<=\btrx_)|(?<=\bch_)|(?<=\bpi_)|(?<=\bpy_)|(?<=\bpo_)"
    r"|(?<=\bre_))[A-Za-z0-9]{4,}(?![\w-])"
)
_PREFIX_BEFORE_UNDERSCORE = 3  # "txn", "trx"; the others are shorter
_UUID_MIDDLE = re.compile(r"-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-")
_UUID = re.compile(r"(?<![\w-])[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}(?![\w-])")
# "(?=[TtRr])": every keyword starts so, and the engine can skip to those letters.
_ID_AFTER_WORD = re.compile(
    r"(?=[TtRr])\b(?:transactions?|txn|trx|ref(?:erence)?|transacci[oó]n|transa[cç][ãa]o"
    r"|transaktion|transazione|r[ée]f[ée]rence|referencia|riferimento)\b"
    r"(?:\s+(?:id|number|no\.?|nr\.?|n[º°o]\.?|#|número|numéro|nummer|numero))?"
    r"\s*(?:[:#]\s*)?(?P<token>[A-Za-z0-9][A-Za-z0-9_-]{3,})(?![.,]\d)",
    re.IGNORECASE,
)
_LOOKS_LIKE_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}-\d{2,4}")
_ID_PREFIX = re.compile(r"[A-Za-z]{1,8}[_-]?")
_ID_PARTS = re.compile(r"([A-Za-z]{1,8}[_-]?)([A-Za-z0-9]+)")
_DIGITS_TAIL = r"\d+"
# A tail with a digit keeps "TX" + letters from matching words such as "TXT".
_MIXED_TAIL = r"[A-Za-z0-9]*\d[A-Za-z0-9]*"


def _id_shape(transaction_id: str) -> tuple[str, str] | None:
    """(prefix, tail pattern) of ids shaped like this one: "tx_000123" → ("tx_", digits)."""
    prefix = transaction_id.rstrip("0123456789")
    if prefix != transaction_id and _ID_PREFIX.fullmatch(prefix):
        return prefix, _DIGITS_TAIL
    parts = _ID_PARTS.fullmatch(transaction_id)
    if parts is None or not any(char.isdigit() for char in parts[2]):
        return None
    return parts[1], _DIGITS_TAIL if parts[2].isdigit() else _MIXED_TAIL


@lru_cache(maxsize=64)
def _shapes_pattern(shapes: frozenset[tuple[str, str]]) -> re.Pattern[str]:
    # The literal prefix comes first; the lookbehind after it checks what precedes it.
    alternatives = (
        f"{re.escape(prefix)}(?<![\\w-]{re.escape(prefix)}){tail}"
        for prefix, tail in sorted(shapes)
    )
    return re.compile(rf"(?:{'|'.join(alternatives)})(?![\w-])")


def _id_tokens(body: str, transaction_ids: Iterable[str]) -> Iterator[str]:
    shapes = frozenset(shape for tid in transaction_ids if (shape := _id_shape(tid)))
    if shapes:
        yield from (match[0] for match in _shapes_pattern(shapes).finditer(body))
    for match in _PREFIXED_ID.finditer(body):
        head = body[max(0, match.start() - _PREFIX_BEFORE_UNDERSCORE) : match.start()]
        yield head[len(head.rstrip(ascii_letters)) :] + match[0]
    for match in _UUID_MIDDLE.finditer(body):
        if uuid := _UUID.match(body, max(0, match.start() - 8)):
            yield uuid[0]
    for match in _ID_AFTER_WORD.finditer(body):
        token = match["token"]
        if any(char.isdigit() for char in token) and not _LOOKS_LIKE_DATE.fullmatch(token):
            yield token


def _id_problems(
    reply: Reply, transactions: Sequence[Transaction], ticket: Ticket | None
) -> Iterator[str]:
    ids = {tx.transaction_id for tx in transactions}
    for cited in reply.cited_transaction_ids:
        if cited not in ids:
            yield f"cites {cited}, which is not one of the customer's transactions"
    allowed = ids | ({ticket.ticket_id} if ticket is not None else set())
    for token in _id_tokens(reply.body, ids):
        if token not in allowed:
            yield f"transaction id {token} not in the customer's transactions"


# Refund phrases are matched on the lower-cased reply, without re.IGNORECASE: several times
# faster on these alternations.
# A commitment to pay money back is never the draft's to make, whatever the transactions say.
_REFUND_PROMISE = re.compile(
    # en
    r"\bwe(?:'ll|’ll|\s+will|\s+shall|\s+are\s+going\s+to)\s+(?:\w+ly\s+)?(?:be\s+)?"
    r"(?:(?:issue|process|send|give|make|provide|arrange|initiate)\s+(?:you\s+)?"
    r"(?:a|an|the|your)\s+(?:full\s+|partial\s+)?(?:refund|credit|reimbursement)\b(?!\s+request)"
    r"|(?:refund|credit|reimburs|revers)\w*)"
    r"|\bwe(?:'re|’re|\s+are)\s+(?:\w+ly\s+)?(?:refunding|crediting|reimbursing|reversing)"
    r"|\byou(?:'ll|’ll|\s+will|\s+are\s+going\s+to)\s+(?:\w+\s+)?(?:receive|get|see)"
    r"\s+(?:(?:a|an|the|your)\s+(?:full\s+|partial\s+)?(?:refund|credit|reimbursement)\b"
    r"(?!\s+request)|(?:your|the)\s+money\s+back)"
    r"|\b(?:refund|credit|reimbursement)\s+will\s+be\s+(?:\w+ly\s+)?"
    r"(?:issued|processed|sent|applied|made|credited|initiated)"
    r"|\b(?:will|shall)\s+be\s+(?:\w+ly\s+)?(?:refunded|credited|reimbursed|reversed)"
    # es, pt
    r"|\b(?:(?:le|te|les|lo|la|se\s+lo|se\s+la)\s+)?"
    r"(?:reembolsaremos|abonaremos|acreditaremos|reintegraremos|estornaremos|creditaremos)\b"
    r"|\b(?:le|te|les)\s+devolveremos\s+(?:\S+\s+)?(?:dinero|importe|cargo|pago|monto)"
    r"|\b(?:vamos(?:\s+a)?|iremos)\s+(?:\S+\s+)?"
    r"(?:reembolsar|abonar|acreditar|reintegrar|estornar|creditar)\w*"
    r"|\b(?:recibir[áa]s?|recibir[áa]n|receber[áa]|receber[ãa]o)\s+(?:\S+\s+)?"
    r"(?:un|el|su|tu|um|o|seu)\s+(?:reembolso|estorno|crédito|credito)\b"
    r"|\bser[áa]n?\s+(?:\S+\s+)?(?:reembolsad|abonad|acreditad|devuelt|estornad|creditad)\w*"
    r"|\bser[ãa]o\s+(?:\S+\s+)?(?:reembolsad|estornad|creditad)\w*"
    # fr
    r"|\b(?:serez|sera|seront)\s+(?:\S+\s+)?(?:rembours|crédit)\w*"
    r"|\bnous\s+(?:vous\s+|le\s+|la\s+|l['’])?(?:rembourserons|créditerons|crediterons)"
    r"|\bnous\s+allons\s+(?:vous\s+)?(?:rembourser|créditer|procéder\s+au\s+remboursement)"
    r"|\bvous\s+(?:recevrez|allez\s+recevoir)\s+(?:\S+\s+)?(?:un|le|votre)\s+remboursement"
    # de
    r"|\bwir\s+(?:werden\s+)?(?:\S+\s+){0,3}?"
    r"(?:zurückerstatten|rückerstatten|erstatten|gutschreiben|zurückzahlen)\b"
    r"|\bsie\s+(?:erhalten|bekommen|werden)\s+(?:\S+\s+){0,3}?(?:rück)?(?:erstattung|gutschrift)\b"
    r"|\bwird\s+(?:\S+\s+){0,3}?(?:zurück)?(?:erstattet|gutgeschrieben)\b"
    # it
    r"|\b(?:(?:la|le|vi|ti|lo|gli)\s+)?(?:rimborseremo|accrediteremo|riaccrediteremo)\b"
    r"|\b(?:riceverà|riceverai|riceverete)\s+(?:\S+\s+)?(?:un|il|suo|tuo|lo)\s+"
    r"(?:rimborso|accredito|storno)\b"
    r"|\b(?:sarà|verrà|saranno|verranno)\s+(?:\S+\s+)?"
    r"(?:rimborsat|riaccreditat|accreditat|stornat)\w*"
)
# A statement that money was already paid back: true only if a refund transaction exists.
_REFUND_CLAIM = re.compile(
    # en
    r"\bwe(?:'ve|’ve|\s+have|\s+had)?\s+(?:\w+ly\s+|already\s+|now\s+|just\s+)?"
    r"(?:issued|processed|initiated|sent|made|applied|approved)\s+(?:you\s+)?"
    r"(?:a|an|the|your)\s+(?:full\s+|partial\s+)?(?:refund|credit|reimbursement)\b(?!\s+request)"
    r"|\bwe(?:'ve|’ve|\s+have)\s+(?:\w+\s+)?(?:refunded|credited|reimbursed|reversed)"
    r"|\bwe(?:'re|’re|\s+are)\s+(?:now\s+)?processing\s+(?:a|the|your)\s+refund\b(?!\s+request)"
    r"|\b(?:refund|credit|reimbursement)\s+(?:has\s+(?:already\s+)?been|was|is\s+being|is\s+now|is)"
    r"\s+(?:\w+ly\s+)?(?:processed|issued|initiated|approved|sent|applied|completed|made"
    r"|granted|on\s+its\s+way)"
    r"|\b(?:has|have)\s+been\s+(?:\w+ly\s+)?(?:refunded|credited|reimbursed|reversed)"
    # es, pt
    r"|\bhemos\s+(?:\S+\s+)?(?:reembolsado|abonado|acreditado|reintegrado"
    r"|(?:emitido|procesado)\s+(?:un|el|su|tu)\s+reembolso)"
    r"|\breembolso\s+(?:ha\s+sido|fue|foi|já\s+foi|se\s+ha)\s+(?:\S+\s+)?"
    r"(?:procesado|processado|emitido|aprobado|aprovado|realizado|efectuado|efetuado)"
    r"|\b(?:fue|foi|ha\s+sido)\s+(?:\S+\s+)?(?:reembolsad|estornad|abonad|acreditad)\w*"
    r"|\b(?:já\s+)?(?:reembolsamos|estornamos)\b"
    # fr
    r"|\bnous\s+(?:vous\s+)?avons\s+(?:\S+\s+)?(?:remboursé|crédité|procédé\s+au\s+remboursement"
    r"|émis\s+un\s+remboursement|effectué\s+(?:le|un)\s+remboursement)"
    r"|\bremboursement\s+a\s+été\s+(?:\S+\s+)?(?:effectué|traité|émis|approuvé|initié)"
    r"|\ba\s+été\s+(?:\S+\s+)?(?:remboursé|crédité)\w*"
    # de
    r"|\bwir\s+haben\s+(?:\S+\s+){0,4}?(?:zurück)?(?:erstattet|gutgeschrieben)\b"
    r"|\b(?:wurde|ist)\s+(?:\S+\s+){0,3}?(?:zurück)?(?:erstattet|gutgeschrieben)\b"
    r"|\b(?:rück)?erstattung\s+(?:wurde|ist)\s+(?:\S+\s+)?"
    r"(?:veranlasst|bearbeitet|durchgeführt|ausgelöst)"
    # it
    r"|\babbiamo\s+(?:\S+\s+){0,2}?(?:rimborsato|riaccreditato|accreditato|stornato"
    r"|emesso\s+(?:un|il)\s+rimborso)"
    r"|\brimborso\s+è\s+stato\s+(?:\S+\s+)?(?:elaborato|effettuato|emesso|approvato|disposto)"
    r"|\bè\s+stato\s+(?:\S+\s+)?(?:rimborsat|riaccreditat|accreditat)\w*"
)
_NEGATION = re.compile(
    r"\b(?:not|never|cannot|can't|won't|unable|no|nicht|kein\w*|nie|pas|jamais|ne|non|não"
    r"|nunca|nessun\w*)\b"
)
_NEGATED_BEFORE = re.compile(r"\b(?:no|not|ne|nicht|non|não|nunca|never)\s+$")
# "If the review confirms it, we will refund" is the process, not a commitment.
_CONDITION_BEFORE = re.compile(
    r"\b(?:if|once|when|whether|unless|should|si|cuando|wenn|falls|sofern|sobald|ob|quando"
    r"|lorsque|une\s+fois\s+que|caso)\b(?:[^.!?]|\.(?=\d))*$"
)
_CONDITION_REACH = 80


# Every refund phrase above contains one of these: most replies skip the regexes.
_MONEY_BACK_STEMS = (
    *("refund", "credit", "crédit", "reimburs", "revers", "money back", "reembols", "abon"),
    *("acredit", "reintegr", "estorn", "devolver", "rembours", "erstatt", "gutschr"),
    *("gutgeschrieben", "zurückzahl", "rimbors", "accredit", "stornat", "storno"),
)


def _affirmed(lowered: str, match: re.Match[str]) -> bool:
    """False for a negated ("we will not refund") or conditional ("if approved, ...") phrase."""
    if _NEGATION.search(match[0]):
        return False
    before = lowered[max(0, match.start() - _CONDITION_REACH) : match.start()]
    return not (_NEGATED_BEFORE.search(before) or _CONDITION_BEFORE.search(before))


def _promise_problems(body: str, has_refund: bool) -> Iterator[str]:
    lowered = body.lower()
    if not any(stem in lowered for stem in _MONEY_BACK_STEMS):
        return
    for match in _REFUND_PROMISE.finditer(lowered):
        if _affirmed(lowered, match):
            yield f'promises a refund or credit: "{match[0]}"'
    if has_refund:
        return
    for match in _REFUND_CLAIM.finditer(lowered):
        if _affirmed(lowered, match):
            yield f'says money was refunded but the customer has no refund: "{match[0]}"'


# A card number has at least 13 digits, at most one space or dash apart: without such a run
# the (slower) masking check cannot find one.
_MAYBE_CARD = re.compile(r"(?=\d)\d(?:[ -]?\d){12}")


def check_reply(
    reply: Reply, transactions: Sequence[Transaction], ticket: Ticket | None = None
) -> GroundingCheck:
    """Hold a draft to the customer's transactions; `passed` is False with the reasons if not.

    A draft fails when it states an amount, a date or a transaction id that no
    transaction has (the ticket's own id and date are allowed), cites an id
    that is not the customer's, promises a refund or credit, claims a refund
    was made while the customer has no refund transaction, or holds a full
    card number. Amounts compare as Decimals ("49.9" == "49.90"); a currency,
    when written, must match too.
    """
    has_refund = any(
        tx.type is TransactionType.REFUND or _status(tx) in _REFUNDED_STATUSES
        for tx in transactions
    )
    found = [
        *_amount_problems(reply.body, transactions),
        *_date_problems(reply.body, transactions, ticket),
        *_id_problems(reply, transactions, ticket),
        *_promise_problems(reply.body, has_refund),
    ]
    if _MAYBE_CARD.search(reply.body) and contains_card_number(reply.body):
        found.append("contains a full card number")
    problems = list(dict.fromkeys(found))
    return GroundingCheck(passed=not problems, problems=problems)
