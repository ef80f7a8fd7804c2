"""The write-back stage: what Supporter made of a ticket, into the helpdesk it came from.

It consumes the `write-back` queue, fed by the output stage after a result is
stored (modes `tags` and `note`) and by the review screen when a reviewer
approves a draft (`after-review`). It runs in the `StageWorker` like the other
stages: transient failures are retried with backoff, permanent ones and the last
try are dead-lettered (`supporter dlq list`, `supporter dlq replay`), and a
circuit breaker parks write-backs while the helpdesk is unavailable.

Effects once: the store is asked to claim the ticket's write-back of this draft
version before the helpdesk is called, and records the note's id after. A
retry, a redelivery or a replay of a version already written makes no call; a
new version passes the earlier receipt so the connector updates that note. Only
tickets received from the helpdesk (webhook or poll) are ever written into.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from pydantic import BaseModel

from supporter.brokers.base import Broker
from supporter.domain.errors import NotTriedError, PermanentError
from supporter.domain.messages import DeadLetterMessage, WriteBackMessage, new_message_id
from supporter.domain.models import Ticket, TicketResult, Transaction
from supporter.domain.people import ReviewAction, ReviewRecord
from supporter.helpdesks.base import Helpdesk, WriteBackMode, WriteReceipt
from supporter.helpdesks.drafts import draft_of
from supporter.observability import tracing
from supporter.pipeline.ingest import publish_ticket
from supporter.pipeline.worker import Stage
from supporter.store.helpdesks import Claim, ClaimState

# The review store brings its edit-distance library: only the catch-up's type needs it.
if TYPE_CHECKING:
    from supporter.store.reviews import TicketDetail

log = logging.getLogger(__name__)

WRITE_BACK = "write-back"
STAGE = "write-back"
# How far a helpdesk's clock may be behind ours: a note written just after our claim is
# still found by a search that stops at the claim.
CLOCK_MARGIN = timedelta(minutes=15)


class WriteBackBusy(NotTriedError):
    """Another worker is writing this ticket's write-back right now: try again once its
    claim lapses (`retry_after`), when it has written (nothing left to do) or died.

    The helpdesk was not called: the circuit neither opens nor closes on it."""


def _lease_left(claim: Claim) -> float | None:
    held = claim.previous.claimed_until if claim.previous else None
    if held is None:
        return None
    return max(1.0, (held - datetime.now(UTC)).total_seconds())


class WriteBackState(Protocol):
    """What the stage keeps in the store (`SqlHelpdeskState`)."""

    async def claim(self, helpdesk: str, ticket_id: str, mode: str, version: str) -> Claim: ...

    async def record_written(
        self, helpdesk: str, ticket_id: str, mode: str, version: str, note_id: str | None
    ) -> None: ...

    async def release(self, helpdesk: str, ticket_id: str) -> None: ...

    async def resolve_dead_letters(self, ticket_id: str, queue: str) -> None: ...


class WriteBackDone(BaseModel):
    """How a write-back ended: `written`, `updated`, `reply_withheld` (an approved public
    reply not sent: the customer was sent one already; the ticket's fields were written),
    `unchanged` (this version was written already) or `not_received` (not a ticket of
    this helpdesk)."""

    outcome: str


def _called_helpdesk(done: WriteBackDone) -> bool:
    return done.outcome in ("written", "updated", "reply_withheld")


def _ignore(*_: object) -> None:
    return None


@dataclass(frozen=True)
class WriteBackRoute:
    """What the output stage (or an approval) sends to the write-back queue, and whom it
    tells (the run's counters: a replay waits for its write-backs). `public_replies`
    is recorded in each message: an approved draft goes out as the public reply, or as
    a note, as decided here, whichever process later writes (or replays) it."""

    helpdesk: str
    mode: WriteBackMode
    public_replies: bool = False
    on_published: Callable[[], None] = _ignore
    on_dead_letter: Callable[[DeadLetterMessage], None] = _ignore

    @property
    def after_storing(self) -> bool:
        """`after-review` writes only what a reviewer approved: nothing on storing."""
        return self.mode is not WriteBackMode.AFTER_REVIEW


@dataclass(frozen=True)
class WriteBackSetup:
    """A pipeline's write-back: where to (`route`), what it keeps (`state`), and the
    connector, asked for only by a process running the stage (whoever gives `connect`
    closes what it opened)."""

    route: WriteBackRoute
    state: WriteBackState
    connect: Callable[[], Helpdesk]
    public_replies: bool = False
    concurrency: int = 4


def approved_write_back(
    route: WriteBackRoute,
    ticket: Ticket,
    result: TicketResult,
    transactions: Sequence[Transaction],
    review: ReviewRecord,
) -> WriteBackMessage | None:
    """What an approval writes back in `after-review` mode: the reply as approved (edited
    or not), with the reviewer's corrections; None in another mode or without a draft."""
    if route.mode is not WriteBackMode.AFTER_REVIEW or review.action is not ReviewAction.APPROVE:
        return None
    corrections: dict[str, object] = {}
    if review.category:
        corrections["category"] = review.category
    if review.priority:
        corrections["priority"] = review.priority
    return stored_write_back(
        route,
        ticket,
        result,
        transactions,
        origin_id=f"review-{review.review_id}",
        reply=review.reply,
        corrections=corrections,
        approved_by=review.reviewer,
    )


def stored_write_back(
    route: WriteBackRoute,
    ticket: Ticket,
    result: TicketResult,
    transactions: Sequence[Transaction],
    *,
    origin_id: str,
    reply: str | None = None,
    corrections: dict[str, object] | None = None,
    approved_by: str | None = None,
) -> WriteBackMessage | None:
    """The write-back of a stored result (None without a draft), with the payments it
    rests on among `transactions`."""
    if result.analysis is None or result.reply is None:
        return None
    relied_on = set(result.reply.cited_transaction_ids) | set(
        result.analysis.related_transaction_ids
    )
    return WriteBackMessage(
        origin_id=origin_id,
        helpdesk=route.helpdesk,
        mode=route.mode.value,
        ticket=ticket,
        analysis=result.analysis.model_copy(update=corrections or {}),
        reply=result.reply.model_copy(update={"body": reply or result.reply.body}),
        grounding=result.grounding,
        transactions=[t for t in transactions if t.transaction_id in relied_on],
        approved_by=approved_by,
        public_reply=route.public_replies,
    )


def unrecorded_public_reply(message: WriteBackMessage) -> bool:
    """An approved draft from a version that did not record whether it goes out as the
    public reply or as a note: a replay must be told, not guess (the replaying process's
    own setting could turn a reply the customer should get into a note)."""
    return (
        message.mode == WriteBackMode.AFTER_REVIEW.value
        and message.approved_by is not None
        and message.public_reply is None
    )


class UnwrittenResults(Protocol):
    """Where the catch-up finds results stored since their last write-back."""

    async def unwritten(self, helpdesk: str, *, queue: str, limit: int) -> list[str]: ...


class StoredDrafts(Protocol):
    async def detail(self, ticket_id: str) -> TicketDetail: ...


async def resend_unwritten(
    route: WriteBackRoute,
    state: UnwrittenResults,
    drafts: StoredDrafts,
    broker: Broker,
    *,
    limit: int = 10_000,
) -> int:
    """Send again the write-backs of results stored since their ticket was last written
    back (or never were): those an in-memory queue lost when the process stopped. A
    version written already is recognised by the stage and not written twice. Nothing
    in `after-review` mode, where only an approval sends one."""
    if not route.after_storing:
        return 0
    sent = 0
    for ticket_id in await state.unwritten(route.helpdesk, queue=WRITE_BACK, limit=limit):
        detail = await drafts.detail(ticket_id)
        if detail.result is None:
            continue
        message = stored_write_back(
            route, detail.ticket, detail.result, detail.transactions, origin_id=new_message_id()
        )
        if message is None:
            continue
        await publish_ticket(broker, WRITE_BACK, message, "catch-up")
        route.on_published()
        sent += 1
    if sent:
        log.info(
            "sent %d write-backs to %s again (stored since last written)", sent, route.helpdesk
        )
    return sent


class WriteBacks:
    """The stage's work on one message."""

    def __init__(
        self,
        helpdesk: Helpdesk,
        state: WriteBackState,
        *,
        public_replies: bool = False,
        on_settled: Callable[[str, str], None] | None = None,
    ) -> None:
        """`public_replies`: an approved draft goes out as a public reply instead of a
        note (never anything else), for a message that does not record which (made by
        an earlier version); a message that does is written as it says.
        `on_settled(helpdesk, outcome)` counts outcomes."""
        self._helpdesk = helpdesk
        self._state = state
        self._public = public_replies
        self._on_settled = on_settled

    def stage(self, *, concurrency: int = 4) -> Stage[WriteBackMessage, WriteBackDone]:
        return Stage(
            STAGE,
            WRITE_BACK,
            "",
            WriteBackMessage,
            self.handle,
            concurrency,
            called_provider=_called_helpdesk,
        )

    async def handle(self, message: WriteBackMessage) -> WriteBackDone:
        name = self._helpdesk.name
        if message.helpdesk != name:
            raise PermanentError(
                f"a write-back for {message.helpdesk} reached the {name} write-back stage"
            )
        mode = WriteBackMode(message.mode)
        if mode is WriteBackMode.AFTER_REVIEW and message.approved_by is None:
            raise PermanentError("after-review writes only approved drafts; this one is not")
        public = self._public if message.public_reply is None else message.public_reply
        draft = draft_of(message, public=public)
        claim = await self._state.claim(name, message.ticket_id, mode.value, draft.version)
        if claim.state is ClaimState.BUSY:
            raise WriteBackBusy(
                f"ticket {message.ticket_id} is being written by another worker",
                retry_after=_lease_left(claim),
            )
        if claim.state is not ClaimState.CLAIMED:
            outcome = "unchanged" if claim.state is ClaimState.DONE else "not_received"
            return self._settled(outcome)
        previous = None
        if claim.previous is not None:
            previous = WriteReceipt(note_id=claim.previous.note_id)
        if claim.pending_since is not None:
            # A try that crashed before its record may have written the note since then;
            # on the first try none came before, and nothing is searched for.
            draft = replace(
                draft,
                written_after=claim.pending_since - CLOCK_MARGIN,
                first_attempt=claim.first_attempt,
            )
        try:
            with tracing.stage_span(
                f"{name} write-back",
                kind=SpanKind.CLIENT,
                queue=WRITE_BACK,
                message_id=message.message_id,
            ) as span:
                span.set_attributes(
                    {
                        "supporter.ticket_id": message.ticket_id,
                        "supporter.helpdesk": name,
                        "supporter.write_back.mode": mode.value,
                        "supporter.write_back.public": draft.public,
                        "supporter.write_back.update": previous is not None,
                    }
                )
                receipt = await self._helpdesk.write_back(draft, mode, previous)
        except BaseException:
            # Claimed and not written: the next try takes it at once, not after the lease.
            await self._state.release(name, message.ticket_id)
            raise
        # The connector says which note stands for this version (an earlier one it kept,
        # or none it could find): a note id is never carried over on its behalf.
        await self._state.record_written(
            name, message.ticket_id, mode.value, draft.version, receipt.note_id
        )
        await self._state.resolve_dead_letters(message.ticket_id, WRITE_BACK)
        if receipt.withheld:
            log.warning(
                "ticket %s: the approved reply (draft %s) was not sent to %s: the customer "
                "was sent a reply already; the follow-up is the team's to write there",
                message.ticket_id,
                draft.version,
                name,
            )
            return self._settled("reply_withheld")
        log.info(
            "wrote ticket %s back to %s (%s%s)",
            message.ticket_id,
            name,
            mode.value,
            ", public reply" if draft.public else "",
        )
        return self._settled("updated" if previous is not None else "written")

    def _settled(self, outcome: str) -> WriteBackDone:
        trace.get_current_span().set_attribute("supporter.write_back.outcome", outcome)
        if self._on_settled is not None:
            self._on_settled(self._helpdesk.name, outcome)
        return WriteBackDone(outcome=outcome)
