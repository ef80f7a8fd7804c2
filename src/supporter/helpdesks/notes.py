"""The note a connector writes for a draft, signed with the draft's version.

The store remembers where a write-back went, but a crash between the helpdesk's answer
and that record would make a retry post the note again. So every note ends with a
marker naming the draft's version, and a connector looks for its own marker among the
ticket's internal notes before it posts: a retry, a redelivery or a rerun finds the
note and writes nothing twice. Only internal notes (or private messages) are searched,
which a customer cannot write, so text in a ticket cannot pose as a note of ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from supporter.domain.masking import mask_card_numbers
from supporter.helpdesks.base import Draft, WriteReceipt
from supporter.sources.helpdesk import BadField, timestamp

NOTE_TITLE = "Supporter draft"

REPLY_PREFIX = "reply/"
"""Starts the receipt of a public reply (the reply's id follows): a reply mailed to the
customer is never sent a second time, whatever its text (a later version, a rerun);
the follow-up is the team's to write in the helpdesk."""


def replied(previous: WriteReceipt | None, prefix: str = REPLY_PREFIX) -> bool:
    """Whether `previous`, the ticket's last recorded write-back, was a public reply."""
    return previous is not None and (previous.note_id or "").startswith(prefix)


def note_of(previous: WriteReceipt | None, prefix: str = REPLY_PREFIX) -> str | None:
    """The id of the note `previous` names, for a note that supersedes it; None when
    nothing was written or what was is a public reply (no note of ours to supersede)."""
    if previous is None or not previous.note_id or replied(previous, prefix):
        return None
    return previous.note_id


def marker(version: str) -> str:
    """The line that names the draft a note was written for."""
    return f"[supporter draft {version}]"


def marked_note(draft: Draft, superseded: str | None = None) -> str:
    """The note's text with its marker on the last line; a note that replaces an earlier
    one (a helpdesk that cannot edit notes) says which: `superseded` names it, or is ""
    when its id is not known."""
    # Masked again here: whatever the stage did, no card number reaches the helpdesk.
    text = mask_card_numbers(draft.note or "")
    if superseded is not None:
        which = f" ({superseded})" if superseded else ""
        text = (
            f"This draft supersedes Supporter's earlier note{which}: the ticket changed.\n\n{text}"
        )
    return f"{text}\n\n{marker(draft.version)}"


def is_note_for(text: object, version: str) -> bool:
    """Whether a note's text (plain or HTML) carries the marker of `version`."""
    return isinstance(text, str) and marker(version) in text


def reaches_before(created: Iterable[datetime | None], moment: datetime | None) -> bool:
    """Whether a page of messages (when each was created) holds one from before `moment`,
    the write-back's first claim: in a list read newest first, the pages after it are
    older still, so a search for a note written since then stops there. Never when
    `moment` is None (the whole ticket is searched)."""
    return moment is not None and any(when is not None and when < moment for when in created)


def iso_time(value: object) -> datetime | None:
    """A time as helpdesks write it in ISO 8601, in UTC; None for anything else.

    Zendesk, Freshdesk, Help Scout and Zammad all document their API's times as UTC,
    written with ``Z`` (Zammad: "2021-09-29T08:36:44.830Z"); an offset is honoured. A
    time without a zone (a proxy, a version that drops the ``Z``) is UTC too, as the
    vendor says all its times are: read as the same instant wherever Supporter runs,
    never dropped (a poll would skip the ticket; a search for a note would read every
    page of a ticket, never knowing when it had gone back far enough)."""
    try:
        return timestamp(value, "time")
    except BadField:
        return None


def unix_time(value: object) -> datetime | None:
    """A time in Unix seconds, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, UTC)
