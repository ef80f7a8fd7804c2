"""What Supporter writes into a helpdesk ticket, rendered in one place for every
connector: the classification as tags, and the note an agent reads beside the
ticket (the draft, the payments it rests on, the help-center passages it cites,
any grounding warning), marked as a draft that was not sent to the customer.

Every text is masked again here: a card number that slipped into a draft (or a
ticket edited since) never reaches the helpdesk whole.
"""

from __future__ import annotations

import hashlib
import json

from supporter.domain.masking import mask_card_numbers
from supporter.domain.messages import WriteBackMessage
from supporter.domain.models import Transaction
from supporter.helpdesks.base import Draft, WriteBackMode

TAG = "supporter"


def tags_of(message: WriteBackMessage) -> tuple[str, ...]:
    """`supporter`, `supporter_<category>`, and marks for what needs a person's eye."""
    analysis = message.analysis
    tags = [TAG, f"{TAG}_{analysis.category}"]
    if analysis.needs_human:
        tags.append(f"{TAG}_needs_human")
    if message.grounding is not None and not message.grounding.passed:
        tags.append(f"{TAG}_grounding_warning")
    return tuple(tags)


def render_note(message: WriteBackMessage, *, public: bool = False) -> str | None:
    """The note's text; None in `tags` mode or without a draft. A public reply is the
    reviewed text alone (what the customer reads)."""
    reply = message.reply
    if message.mode == WriteBackMode.TAGS.value or reply is None:
        return None
    if public:
        return mask_card_numbers(reply.body)
    analysis = message.analysis
    lines = [
        "Draft by Supporter (not sent to the customer).",
    ]
    if message.approved_by is not None:
        lines.append(f"Approved by {message.approved_by} in the review screen.")
    lines.append(
        f"Category: {analysis.category} | priority: {analysis.priority.value}"
        + (" | needs a person" if analysis.needs_human else "")
    )
    lines += ["", "--- Draft reply ---", reply.body]
    cited = set(reply.cited_transaction_ids)
    shown = [t for t in message.transactions if t.transaction_id in cited] or message.transactions
    if shown:
        lines += ["", "--- Payments it rests on ---"]
        lines += [f"- {_payment(t)}" for t in shown]
    if reply.cited_articles:
        lines += ["", "--- Help-center passages cited ---"]
        lines += [f"- {article}" for article in reply.cited_articles]
    grounding = message.grounding
    if grounding is not None and (not grounding.passed or grounding.for_review):
        lines += ["", "--- Grounding warning: check before sending ---"]
        lines += [f"- {problem}" for problem in grounding.problems]
        lines += [f"- for review: {item}" for item in grounding.for_review]
    return mask_card_numbers("\n".join(lines))


def _payment(transaction: Transaction) -> str:
    parts = [
        transaction.transaction_id,
        f"{transaction.type.value} of {transaction.amount} {transaction.currency}",
        transaction.status,
        transaction.created_at.date().isoformat(),
    ]
    if transaction.card_last4:
        parts.append(f"card ending {transaction.card_last4}")
    if transaction.amount_refunded:
        parts.append(f"refunded {transaction.amount_refunded}")
    if transaction.dispute_status:
        parts.append(f"dispute {transaction.dispute_status}")
    return ", ".join(parts)


def draft_of(message: WriteBackMessage, *, public: bool = False) -> Draft:
    """The `Draft` a connector writes. Its version names everything written (mode,
    public or not, tags, priority, category, text): the same version is written once,
    and anything that changes it updates what was written."""
    analysis = message.analysis
    public = public and message.approved_by is not None and message.reply is not None
    note = render_note(message, public=public)
    tags = tags_of(message)
    named = [message.mode, public, analysis.category, analysis.priority.value, tags, note]
    version = hashlib.sha256(json.dumps(named).encode()).hexdigest()[:16]
    reply = message.reply
    return Draft(
        ticket_id=message.ticket_id,
        category=analysis.category,
        priority=analysis.priority,
        tags=tags,
        note=note,
        version=version,
        public=public,
        reply=None if note is None or reply is None else mask_card_numbers(reply.body),
    )
