"""What every connector owes, whatever the helpdesk: run against each simulated helpdesk
(tests/helpdesks/rigs.py), as the broker contract tests run against every broker. What
only one vendor does stays in that vendor's test module."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tests.helpdesks.rigs import RIGS, SECRET, Rig

from supporter.domain.errors import FatalError
from supporter.domain.models import Priority
from supporter.helpdesks.base import (
    Draft,
    Helpdesk,
    HelpdeskUnavailable,
    WebhookRejected,
    WriteBackMode,
    WriteReceipt,
)
from supporter.helpdesks.notes import REPLY_PREFIX
from supporter.pipeline.write_back import CLOCK_MARGIN
from supporter.sources.formats import FieldLimits
from supporter.sources.helpdesk import CUT_NOTICE

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture(params=sorted(RIGS))
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    async with RIGS[request.param]() as running:
        yield running


def draft(
    ticket: int, written_after: datetime | None = None, *, first_attempt: bool = False
) -> Draft:
    return Draft(
        ticket_id=str(ticket),
        category="billing",
        priority=Priority.HIGH,
        tags=("supporter", "billing"),
        note="Draft: we refunded the second charge of $49.99.",
        version="v1",
        written_after=written_after,
        first_attempt=first_attempt,
    )


@pytest.fixture(params=["chatwoot", "zammad", "zendesk"])
async def legacy_rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    """The helpdesks whose receipts of a public reply were bare ids before they said so."""
    async with RIGS[request.param]() as running:
        yield running


def requests_made(helpdesk: Helpdesk) -> int:
    return sum(helpdesk.request_counts().values())


# More than a page of any helpdesk's messages (Freshdesk's 100, Zendesk's 100 comments,
# Chatwoot's 20) after our note.
LATER_MESSAGES = 120


async def polled(helpdesk: Helpdesk, ticket: int) -> list[str]:
    """The bodies of `ticket` that polls since long ago hand over."""
    bodies: list[str] = []
    cursor: str | None = None
    for _ in range(20):
        page = await helpdesk.poll(cursor, since=LONG_AGO)
        bodies += [t.body for t in page.tickets if t.ticket_id == str(ticket)]
        cursor = page.cursor
        if not page.more:
            break
    return bodies


class TestHelpdeskContract:
    async def test_an_over_long_body_is_cut_and_marked_not_skipped(
        self, rig: Rig, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A customer's very long message (a quoted thread) is kept: cut to the limit at a
        word, the end that matters kept, a line saying so; polled or fetched alike."""
        limit = FieldLimits().body
        first = "My card was charged twice for order 1182, please refund one."
        filler = " ".join(f"quoted-{n}" for n in range(limit // 4))
        ticket = rig.open_ticket(f"{first}\n\n{filler}")
        newest = "Any news? It has been a week."
        if rig.long_body == "end":
            rig.customer_writes(ticket, newest)
        rig.backdate(ticket, datetime.now(UTC) - timedelta(minutes=10))
        helpdesk = rig.connect()
        try:
            fetched = (await helpdesk.fetch_ticket(str(ticket))).body
            bodies = await polled(helpdesk, ticket)
        finally:
            await helpdesk.aclose()
        assert bodies == [fetched]
        assert limit - 200 < len(fetched) <= limit
        assert fetched.count(CUT_NOTICE) == 1
        if rig.long_body == "start":
            kept, notice = fetched.split("\n\n" + CUT_NOTICE)
            original = f"{first}\n\n{filler}"
            # Cut at the end of a word, near the limit.
            assert original.startswith(kept)
            assert original[len(kept)] == " "
            assert notice.endswith("the helpdesk has it whole.]")
        else:
            notice, kept = fetched.split("\n\n", 1)
            assert notice.startswith(CUT_NOTICE)
            assert kept.endswith(newest)
            quoted = kept[: -len(newest)].rstrip()
            assert filler.endswith(quoted)
            assert filler[-len(quoted) - 1] == " "  # cut at a word
        assert f"ticket {ticket}: body of" in caplog.text or (
            f"conversation {ticket}: body of" in caplog.text
        )
        assert first not in caplog.text

    async def test_a_signed_webhook_verifies(self, rig: Rig) -> None:
        helpdesk = rig.connect()
        try:
            ticket = rig.add_ticket()
            request = rig.signed_webhook(ticket)
            helpdesk.verify_webhook(request)
            assert helpdesk.parse_webhook(request).ticket_ids == (str(ticket),)
        finally:
            await helpdesk.aclose()

    async def test_without_a_secret_every_webhook_is_refused(self, rig: Rig) -> None:
        helpdesk = rig.connect(webhook_secret=None)
        try:
            with pytest.raises(WebhookRejected) as rejected:
                helpdesk.verify_webhook(rig.signed_webhook(rig.add_ticket()))
        finally:
            await helpdesk.aclose()
        assert rejected.value.reason == "not_configured"

    async def test_a_version_is_written_once_with_or_without_its_receipt(self, rig: Rig) -> None:
        ticket = rig.add_ticket()
        helpdesk = rig.connect()
        try:
            first = await helpdesk.write_back(draft(ticket), WriteBackMode.NOTE, None)
            # A retry after a crash that lost the receipt, then a redelivery with it.
            lost = await helpdesk.write_back(draft(ticket), WriteBackMode.NOTE, None)
            again = await helpdesk.write_back(draft(ticket), WriteBackMode.NOTE, first)
        finally:
            await helpdesk.aclose()
        assert first.note_id is not None
        assert again.note_id == first.note_id
        assert len(rig.written(ticket)) == 1
        assert lost.note_id == first.note_id

    async def test_a_note_behind_pages_of_later_messages_is_not_written_again(
        self, rig: Rig
    ) -> None:
        """A crash lost the note's record; the customer then wrote more than a page of
        messages: the retry (no receipt) finds the note, however far back."""
        ticket = rig.add_ticket()
        claimed = datetime.now(UTC) - CLOCK_MARGIN
        helpdesk = rig.connect()
        try:
            first = await helpdesk.write_back(
                draft(ticket, claimed, first_attempt=True), WriteBackMode.NOTE, None
            )
            for number in range(LATER_MESSAGES):
                rig.customer_writes(ticket, f"Any news on my refund? ({number})")
            before = requests_made(helpdesk)
            lost = await helpdesk.write_back(draft(ticket, claimed), WriteBackMode.NOTE, None)
            spent = requests_made(helpdesk) - before
        finally:
            await helpdesk.aclose()
        assert len(rig.written(ticket)) == 1
        assert lost.note_id == first.note_id
        # What the search costs (docs/helpdesks.md): the ticket read, and the pages of its
        # messages down to the note.
        assert spent == rig.replay_requests

    async def test_a_first_try_searches_for_no_note_and_a_retry_does(self, rig: Rig) -> None:
        """Nothing can precede a write-back's first try: it writes without searching the
        ticket. A retry (a try before it may have written the note) searches."""
        first_ticket, retried_ticket = rig.add_ticket(), rig.add_ticket()
        for ticket in (first_ticket, retried_ticket):
            for number in range(LATER_MESSAGES):
                rig.customer_writes(ticket, f"Any news on my refund? ({number})")
        claimed = datetime.now(UTC) - CLOCK_MARGIN
        helpdesk = rig.connect()
        try:
            before = requests_made(helpdesk)
            await helpdesk.write_back(
                draft(first_ticket, claimed, first_attempt=True), WriteBackMode.NOTE, None
            )
            first = requests_made(helpdesk) - before
            before = requests_made(helpdesk)
            await helpdesk.write_back(draft(retried_ticket, claimed), WriteBackMode.NOTE, None)
            retried = requests_made(helpdesk) - before
        finally:
            await helpdesk.aclose()
        assert len(rig.written(first_ticket)) == len(rig.written(retried_ticket)) == 1
        assert retried - first == rig.search_requests

    @pytest.mark.parametrize("text", ["the same", "another"])
    async def test_a_reply_mailed_is_never_mailed_again_by_a_later_version(
        self, rig: Rig, text: str
    ) -> None:
        """An approved reply went to the customer and its receipt was recorded; a later
        version of the draft (a rerun) is approved, with the same text or another, and
        written on its first try: the customer gets no second reply."""
        ticket = rig.add_ticket()
        claimed = datetime.now(UTC) - CLOCK_MARGIN
        first = replace(draft(ticket, claimed, first_attempt=True), public=True)
        later = replace(
            first,
            version="v2",
            note=first.note if text == "the same" else "Draft: the refund is on its way.",
        )
        helpdesk = rig.connect()
        try:
            sent = await helpdesk.write_back(first, WriteBackMode.AFTER_REVIEW, None)
            again = await helpdesk.write_back(later, WriteBackMode.AFTER_REVIEW, sent)
        finally:
            await helpdesk.aclose()
        assert len(rig.replies(ticket)) == 1
        assert again.note_id == sent.note_id
        assert not sent.withheld
        assert again.withheld

    @pytest.mark.parametrize("text", ["the same", "another"])
    async def test_a_reply_recorded_before_receipts_said_so_is_not_mailed_again(
        self, legacy_rig: Rig, text: str
    ) -> None:
        """A reply sent before receipts of replies were prefixed left a bare id: a later
        version with its text, written on its first try, finds it and is held back; a
        later version with other text is sent."""
        rig = legacy_rig
        ticket = rig.add_ticket()
        claimed = datetime.now(UTC) - CLOCK_MARGIN
        first = replace(draft(ticket, claimed, first_attempt=True), public=True)
        later = replace(
            first,
            version="v2",
            note=first.note if text == "the same" else "Draft: the refund is on its way.",
        )
        helpdesk = rig.connect()
        try:
            sent = await helpdesk.write_back(first, WriteBackMode.AFTER_REVIEW, None)
            assert (sent.note_id or "").startswith(REPLY_PREFIX)
            bare = WriteReceipt(note_id=(sent.note_id or "").removeprefix(REPLY_PREFIX))
            again = await helpdesk.write_back(later, WriteBackMode.AFTER_REVIEW, bare)
        finally:
            await helpdesk.aclose()
        if text == "the same":
            assert len(rig.replies(ticket)) == 1
            assert again.note_id == sent.note_id
            assert again.withheld
        else:
            assert len(rig.replies(ticket)) == 2
            assert again.note_id not in (None, sent.note_id)
            assert not again.withheld

    async def test_a_note_after_a_reply_names_no_earlier_note(self, rig: Rig) -> None:
        """The reply's receipt marks it as a reply: a later draft written as a note is
        written, and does not pose as superseding a note (the reply was none)."""
        ticket = rig.add_ticket()
        reply = replace(draft(ticket), public=True)
        helpdesk = rig.connect()
        try:
            sent = await helpdesk.write_back(reply, WriteBackMode.AFTER_REVIEW, None)
            noted = await helpdesk.write_back(
                replace(draft(ticket), version="v2"), WriteBackMode.NOTE, sent
            )
        finally:
            await helpdesk.aclose()
        [note] = rig.written(ticket)
        assert "supersedes" not in str(note)
        assert noted.note_id not in (None, sent.note_id)
        assert len(rig.replies(ticket)) == 1

    async def test_tags_mode_writes_no_note(self, rig: Rig) -> None:
        ticket = rig.add_ticket()
        helpdesk = rig.connect()
        try:
            first = await helpdesk.write_back(draft(ticket), WriteBackMode.TAGS, None)
            again = await helpdesk.write_back(draft(ticket), WriteBackMode.TAGS, first)
        finally:
            await helpdesk.aclose()
        assert first.note_id is None
        assert again.note_id is None
        assert list(rig.written(ticket)) == []

    async def test_an_outage_is_unavailable_for_reads_writes_and_polls(self, rig: Rig) -> None:
        ticket = rig.add_ticket()
        rig.faults.outage = 503
        helpdesk = rig.connect()
        try:
            with pytest.raises(HelpdeskUnavailable):
                await helpdesk.fetch_ticket(str(ticket))
            with pytest.raises(HelpdeskUnavailable, match="503"):
                await helpdesk.write_back(draft(ticket), WriteBackMode.NOTE, None)
            with pytest.raises(HelpdeskUnavailable):
                await helpdesk.poll(None, since=datetime.now(UTC))
        finally:
            await helpdesk.aclose()
        assert list(rig.written(ticket)) == []

    @pytest.mark.parametrize("fault", ["hang", "latency"])
    async def test_a_helpdesk_too_slow_to_answer_is_unavailable(self, rig: Rig, fault: str) -> None:
        ticket = rig.add_ticket()
        if fault == "hang":
            rig.faults.hang = True
        else:
            rig.faults.latency = 2.0
        helpdesk = rig.connect(timeout=0.3)
        try:
            started = time.monotonic()
            with pytest.raises(HelpdeskUnavailable, match="in time"):
                await helpdesk.fetch_ticket(str(ticket))
            assert time.monotonic() - started < 2
        finally:
            await helpdesk.aclose()

    async def test_a_slow_answer_within_the_timeout_is_an_answer(self, rig: Rig) -> None:
        ticket = rig.add_ticket()
        rig.faults.latency = 0.5
        helpdesk = rig.connect(timeout=5.0)
        try:
            assert (await helpdesk.fetch_ticket(str(ticket))).ticket_id == str(ticket)
        finally:
            await helpdesk.aclose()

    async def test_a_helpdesk_out_of_reach_is_unavailable(self, rig: Rig) -> None:
        ticket = rig.add_ticket()
        helpdesk = rig.connect()
        try:
            await rig.server.stop()
            with pytest.raises(HelpdeskUnavailable, match="cannot reach"):
                await helpdesk.fetch_ticket(str(ticket))
        finally:
            await helpdesk.aclose()

    async def test_refused_credentials_are_fatal_and_never_shown(self, rig: Rig) -> None:
        wrong = "wrong-credential-5b1d9e"
        ticket = rig.add_ticket()
        helpdesk = rig.connect(credential=wrong)
        try:
            refusals = []
            for attempt in (
                helpdesk.fetch_ticket(str(ticket)),
                helpdesk.write_back(draft(ticket), WriteBackMode.NOTE, None),
                helpdesk.poll(None, since=LONG_AGO),
            ):
                with pytest.raises(FatalError) as refused:
                    await attempt
                refusals.append(str(refused.value))
            checks = await helpdesk.check()
        finally:
            await helpdesk.aclose()
        assert all("401" in refusal for refusal in refusals)
        assert (checks[0].name, checks[0].ok) == ("credentials", False)
        if rig.check_stops_at_credentials:
            assert len(checks) == 1
        shown = " ".join([*refusals, repr(vars(helpdesk)), *(check.detail for check in checks)])
        assert wrong not in shown
        assert rig.credential not in shown
        assert SECRET not in shown
        assert list(rig.written(ticket)) == []
