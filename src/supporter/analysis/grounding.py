"""Transaction facts computed in code, and the check that holds a draft reply to them.

The model is handed facts (which charge, which amount, which date, a duplicate,
a pending refund) instead of being trusted to find them, and a draft that
states an amount, date or transaction id the customer's transactions do not
contain, or that promises a refund, does not pass. Reading amounts and dates
from text is `mentions`; the refund-promise phrases are `promises`.

This runs for every ticket, so every pattern is compiled once, here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import pairwise
from string import ascii_letters

from supporter.analysis.citations import PolicySources, citation_problems
from supporter.analysis.mentions import Amount, Reading, scan_amounts, scan_dates, ticket_dates
from supporter.analysis.promises import promise_problems
from supporter.domain.keys import Quoted
from supporter.domain.knowledge import Passage
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
# Dispute statuses (Stripe's words) while the bank has not decided; won and lost are closed.
_OPEN_DISPUTES = frozenset(
    {"warning_needs_response", "warning_under_review", "needs_response", "under_review", "open"}
)

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


def _amounts(tx: Transaction) -> tuple[Decimal, ...]:
    """The amounts a transaction supports: its own, and what was refunded or disputed of it."""
    recorded = (tx.amount_refunded, tx.disputed_amount)
    return (abs(tx.amount), *(abs(value) for value in recorded if value))


def _amount_matches(tx: Transaction, amount: Amount) -> bool:
    # Refunds may be stored negative; the customer and the reply write them positive.
    if amount.value not in _amounts(tx):
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
        if tx.type is TransactionType.REFUND or status in _REFUNDED_STATUSES or tx.amount_refunded:
            kinds.refunds.append(tx.transaction_id)
        if tx.type is TransactionType.CHARGEBACK or tx.dispute_status:
            kinds.chargebacks.append(tx.transaction_id)
    return kinds


def _linked(ordered: Sequence[Transaction]) -> dict[str, set[str]]:
    """Each transaction id -> the ids it is linked with: a refund or chargeback row and the
    charge it names among its references, both ways."""
    ids = {tx.transaction_id for tx in ordered}
    links: dict[str, set[str]] = {}
    for tx in ordered:
        if tx.type is TransactionType.CHARGE:
            continue
        for reference in tx.references:
            if reference in ids and reference != tx.transaction_id:
                links.setdefault(reference, set()).add(tx.transaction_id)
                links.setdefault(tx.transaction_id, set()).add(reference)
    return links


def _refunded_charges(ordered: Sequence[Transaction], links: dict[str, set[str]]) -> set[str]:
    refund_rows = {tx.transaction_id for tx in ordered if tx.type is TransactionType.REFUND}
    return {
        tx.transaction_id
        for tx in ordered
        if tx.type is TransactionType.CHARGE
        and (tx.amount_refunded or links.get(tx.transaction_id, set()) & refund_rows)
    }


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
    ordered: Sequence[Transaction], amounts: Sequence[Amount], days: Sequence[date]
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
        on_day = [tx for tx in same if _tx_day(tx) in wanted_days] if wanted_days else []
        ids.update(tx.transaction_id for tx in on_day or same)
    if not wanted_days:
        return ids
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
    failed, pending, refund and chargeback transactions (a charge the processor
    records as refunded or disputed counts as one) are related when the ticket
    talks about that kind, and a related charge brings the refunds and
    chargebacks that name it (and they it); a transaction whose id or reference (an order
    number, say) the ticket quotes is related. When nothing names a transaction,
    the ticket is about money (a charge, a payment, a plan, an invoice, ...) and
    the customer has at most `FEW_TRANSACTIONS` transactions, the newest charge
    is related too: with so few, it is what the customer most likely means.
    """
    text = f"{ticket.subject}\n{ticket.body}"
    lowered = text.lower()
    amounts = list(scan_amounts(text, bare_needs_context=True))
    # The customer's "yesterday" is in the ticket's own time zone, not in UTC.
    days = ticket_dates(text, lowered, ticket.created_at.date())
    ordered = _newest_first(transactions)
    kinds = _kinds(ordered)
    duplicates = _duplicate_charge_ids(ordered)
    quoted = Quoted.in_ticket(ticket)
    named = _matched_ids(ordered, amounts, days) | {
        tx.transaction_id for tx in ordered if quoted.matches(tx)
    }
    related = named | _topic_ids(lowered, kinds) | duplicates
    if not named and (newest := _fallback_charge(lowered, ordered)):
        related.add(newest)
    links = _linked(ordered)
    # A related charge brings its refunds and chargebacks, and they bring it.
    related |= {linked for tx_id in related for linked in links.get(tx_id, ())}
    disputed = {
        tx.transaction_id
        for tx in ordered
        if tx.dispute_status and tx.dispute_status.lower() in _OPEN_DISPUTES
    }
    return TransactionFacts(
        mentioned_amounts=list(dict.fromkeys(amount.value for amount in amounts)),
        mentioned_dates=[day.isoformat() for day in days],
        related_transaction_ids=_in_order(ordered, related),
        duplicate_charge_ids=_in_order(ordered, duplicates),
        pending_ids=kinds.pending,
        failed_ids=kinds.failed,
        refund_ids=kinds.refunds,
        chargeback_ids=kinds.chargebacks,
        refunded_charge_ids=_in_order(ordered, _refunded_charges(ordered, links)),
        disputed_ids=_in_order(ordered, disputed),
    )


# --- checking a draft reply --------------------------------------------------------


def _amount_problems(
    body: str, transactions: Sequence[Transaction], policies: PolicySources
) -> Iterator[str]:
    supported: dict[Decimal, set[str]] | None = None
    for amount in scan_amounts(body, bare_needs_context=False):
        if supported is None:  # each amount a transaction supports, with its currencies
            supported = {}
            for tx in transactions:
                for value in _amounts(tx):
                    supported.setdefault(value, set()).add(tx.currency.upper())
        # Decimals that compare equal hash equal: 49.9 finds 49.90.
        currencies = supported.get(amount.value)
        if currencies is not None and (
            amount.currencies is None or not currencies.isdisjoint(amount.currencies)
        ):
            continue
        if policies.amount_is_cited(amount):
            continue  # a fee or limit the cited passage states
        written = f"{amount.value} {amount.label}".strip()
        yield policies.amount_problem(amount) or (
            f"amount {written} not in the customer's transactions"
        )


def _date_problems(
    body: str, transactions: Sequence[Transaction], ticket: Ticket | None
) -> Iterator[str]:
    known = {_tx_day(tx) for tx in transactions}
    if ticket is not None:  # "your message of <date>" is grounded too
        known.update({ticket.created_at.date(), _utc(ticket.created_at).date()})
    known_month_days = {(day.month, day.day) for day in known}
    for mention in scan_dates(body):
        if not any(_date_known(reading, known, known_month_days) for reading in mention.readings):
            yield f"date {mention.text} not a date of the customer's transactions"


def _date_known(reading: Reading, known: set[date], month_days: set[tuple[int, int]]) -> bool:
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
# Every keyword starts with a t or an r. The pattern starts with that letter, outside the
# case-insensitive part, so the regex engine skips to those letters (a lookahead first would
# not let it); the lookbehinds after it are the word boundary before it and which letter
# it was: "[Tt](?i:ransactions?)" is "(?i:transactions?)".
_ID_AFTER_WORD = re.compile(
    r"[TtRr](?<!\w[TtRr])(?i:(?<=t)(?:ransactions?|xn|rx|ransacci[oó]n|ransa[cç][ãa]o"
    r"|ransaktion|ransazione)|(?<=r)(?:ef(?:erence)?|[ée]f[ée]rence|eferencia|iferimento))\b"
    r"(?i:(?:\s+(?:id|number|no\.?|nr\.?|n[º°o]\.?|#|número|numéro|nummer|numero))?"
    r"\s*(?:[:#]\s*)?(?P<token>[A-Za-z0-9][A-Za-z0-9_-]{3,})(?![.,]\d))"
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


def check_reply(
    reply: Reply,
    transactions: Sequence[Transaction],
    ticket: Ticket | None = None,
    passages: Sequence[Passage] | None = None,
) -> GroundingCheck:
    """Hold a draft to the customer's transactions and, with a knowledge base, to the
    help-center `passages` it was given (None: no knowledge base, perhaps an empty
    list: none was found); `passed` is False with the reasons if it states something
    unsupported.

    A draft fails when it states an amount, a date or a transaction id that no
    transaction has (the ticket's own id and date are allowed), cites an id
    that is not the customer's, promises a refund or credit, claims a refund
    was made while the customer has no refund transaction, or holds a full
    card number. Amounts compare as Decimals ("49.9" == "49.90"); a currency,
    when written, must match too. With a knowledge base, an amount, a number of days
    (weeks, ...) or a percentage that is no transaction's must be in a passage the
    draft cites; a citation of a passage it was not given fails too. A refund promise that a
    cited passage makes is not a failure, but is put `for_review` all the same.
    """
    has_refund = any(
        tx.type is TransactionType.REFUND
        or _status(tx) in _REFUNDED_STATUSES
        or bool(tx.amount_refunded)
        for tx in transactions
    )
    given = passages or ()
    policies = PolicySources.of(given, reply.cited_articles)
    promises = list(promise_problems(reply.body, has_refund))
    for_review: list[str] = []
    if promises and policies.makes_promises:
        # Only the commitments are the passage's to make; a claim of a refund that did
        # not happen stays a failure.
        allowed = set(promise_problems(reply.body, has_refund=True))
        for_review = [f"{promise}, as a cited passage does" for promise in allowed]
        promises = [problem for problem in promises if problem not in allowed]
    found = [
        *_amount_problems(reply.body, transactions, policies),
        *_date_problems(reply.body, transactions, ticket),
        *_id_problems(reply, transactions, ticket),
        *(policies.figure_problems(reply.body) if passages is not None else ()),
        *citation_problems(reply.cited_articles, given),
        *promises,
    ]
    # `contains_card_number` clears text without 13 digits in a row cheaply by itself.
    if contains_card_number(reply.body):
        found.append("contains a full card number")
    problems = list(dict.fromkeys(found))
    return GroundingCheck(passed=not problems, problems=problems, for_review=for_review)
