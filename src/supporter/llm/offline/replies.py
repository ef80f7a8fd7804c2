"""A reply composed from a phrasebook and the related transactions only: every amount,
date and reference in it comes from a `Transaction`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from supporter.domain.masking import mask_card_numbers
from supporter.domain.models import Reply, Transaction, TransactionFacts
from supporter.llm.base import ReplyRequest
from supporter.llm.offline.knowledge import excerpt, policy_passage, saved_reply
from supporter.llm.offline.phrasebooks import ENGLISH, PHRASEBOOKS, Phrasebook
from supporter.llm.offline.transactions import (
    STATUS_GROUPS,
    issued_refunds,
    money_text,
    related_transactions,
    utc_day,
)

_MAX_CITED: Final = 6

_CARD_LAST4 = re.compile(r"\d{4}")

# Categories about a specific payment: without a matching transaction the reply asks for one.
MONEY_CATEGORIES: Final = frozenset(
    {
        "billing_question",
        "refund_request",
        "duplicate_charge",
        "payment_failed",
        "unrecognized_charge",
    }
)


def _join_refs(ids: Sequence[str], and_word: str) -> str:
    if len(ids) == 1:
        return ids[0]
    return f"{', '.join(ids[:-1])} {and_word} {ids[-1]}"


def _transaction_line(book: Phrasebook, tx: Transaction) -> str:
    status_group = STATUS_GROUPS.get(tx.status.strip().lower())
    status = book.statuses[status_group] if status_group else tx.status
    last4 = tx.card_last4 or ""
    card = book.card.format(last4=last4) if _CARD_LAST4.fullmatch(last4) else ""
    return book.line.format(
        amount=money_text(tx),
        date=utc_day(tx),
        kind=book.kinds[tx.type],
        status=status,
        card=card,
        id=tx.transaction_id,
    )


def compose_reply(request: ReplyRequest) -> Reply:
    """The team's saved reply for the category when there is one; otherwise our
    phrasebook around the related transactions, with the best help-center passage as
    the next steps (cited) when the request carries one."""
    filled = saved_reply(request)
    if filled is not None:
        return Reply(
            body=mask_card_numbers(filled.body),
            cited_transaction_ids=filled.transaction_ids,
            cited_articles=[filled.passage.passage_id],
        )
    category = request.analysis.category
    book = PHRASEBOOKS.get(request.analysis.language, ENGLISH)
    facts = request.facts
    refunds = issued_refunds(request.transactions, facts)
    refund_ids = {tx.transaction_id for tx in refunds}
    # Refunds already issued are listed in their own sentence, not twice.
    listed = [
        tx
        for tx in related_transactions(request.transactions, facts)
        if tx.transaction_id not in refund_ids
    ][: _MAX_CITED - min(len(refunds), 2)]
    refunds = refunds[: _MAX_CITED - len(listed)]
    paragraphs = [book.greeting, book.openings.get(category, book.opening_other)]
    if listed:
        intro = book.found_one if len(listed) == 1 else book.found_many
        paragraphs.append("\n".join([intro, *(_transaction_line(book, tx) for tx in listed)]))
    elif category in MONEY_CATEGORIES and not refunds:
        paragraphs.append(book.nothing_found)
    notes = _fact_notes(book, category, listed, refunds, facts)
    if notes:
        paragraphs.append(" ".join(notes))
    policy = policy_passage(request)
    if policy is not None:
        paragraphs.append(excerpt(policy.text))
    else:
        paragraphs.append(book.next_steps.get(category, book.next_steps_other))
    paragraphs.append(book.closing)
    cited = [tx.transaction_id for tx in listed] + [tx.transaction_id for tx in refunds]
    return Reply(
        body=mask_card_numbers("\n\n".join(paragraphs)),
        cited_transaction_ids=cited,
        cited_articles=[policy.passage_id] if policy is not None else [],
    )


def _fact_notes(
    book: Phrasebook,
    category: str,
    listed: Sequence[Transaction],
    refunds: Sequence[Transaction],
    facts: TransactionFacts,
) -> list[str]:
    """Sentences about what code established, mentioning only transactions the reply cites."""
    listed_ids = [tx.transaction_id for tx in listed]

    def among(ids: Sequence[str]) -> list[str]:
        wanted = set(ids)
        return [tx_id for tx_id in listed_ids if tx_id in wanted]

    notes: list[str] = []
    duplicates = among(facts.duplicate_charge_ids)
    if len(duplicates) > 1:
        notes.append(book.duplicates.format(refs=_join_refs(duplicates, book.and_word)))
    elif category == "duplicate_charge" and listed:
        notes.append(book.no_duplicates)
    for ids, sentence in (
        (among(facts.failed_ids), book.failed),
        (among(facts.pending_ids), book.pending),
        (among(facts.chargeback_ids), book.chargeback),
    ):
        if ids:
            notes.append(sentence.of(len(ids)).format(refs=_join_refs(ids, book.and_word)))
    notes.extend(
        book.refund_issued.format(amount=money_text(tx), date=utc_day(tx), id=tx.transaction_id)
        for tx in refunds
    )
    # A refund recorded on the charge itself (no refund row of its own to list).
    notes.extend(
        book.refund_recorded.format(
            amount=f"{tx.amount_refunded} {tx.currency}", id=tx.transaction_id
        )
        for tx in listed
        if tx.amount_refunded
    )
    return notes
