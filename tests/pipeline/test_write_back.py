"""The write-back stage: effects once (a rerun, a redelivery or a replay never writes
twice; a new version updates the earlier note), retries and dead letters, replay,
the circuit breaker during an outage, and what each mode may write."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr
from tests.helpdesks.fakes import NAME, FakeHelpdesk, ticket
from tests.proxy import TcpProxy

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.memory import MemoryBroker
from supporter.domain.errors import PermanentError, TransientError
from supporter.domain.messages import WriteBackMessage, encode
from supporter.domain.models import (
    Analysis,
    GroundingCheck,
    Priority,
    Reply,
    Sentiment,
    Ticket,
    TicketResult,
    Transaction,
)
from supporter.domain.people import ReviewAction, ReviewRecord
from supporter.helpdesks import zendesk
from supporter.helpdesks.base import (
    Draft,
    HelpdeskUnavailable,
    RateLimit,
    WriteBackMode,
    WriteReceipt,
)
from supporter.llm.offline import OfflineProvider
from supporter.observability import tracing
from supporter.observability.readings import CircuitState
from supporter.pipeline.circuit import CircuitBreaker
from supporter.pipeline.ingest import publish_ticket
from supporter.pipeline.orchestrator import Pipeline, PipelineOptions, RunReport
from supporter.pipeline.retry import RetryPolicy
from supporter.pipeline.stats import StageCounters
from supporter.pipeline.worker import StageWorker
from supporter.pipeline.write_back import (
    CLOCK_MARGIN,
    STAGE,
    WRITE_BACK,
    WriteBackBusy,
    WriteBackRoute,
    WriteBacks,
    WriteBackSetup,
    approved_write_back,
    stored_write_back,
    unrecorded_public_reply,
)
from supporter.sources.base import Reject
from supporter.store.helpdesks import SqlHelpdeskState
from supporter.store.sql import SqlStore, sqlite_url
from supporter.testing.fake_zendesk import (
    DEFAULT_EMAIL,
    DEFAULT_TOKEN,
    FakeZendesk,
    FakeZendeskConfig,
)
from supporter.transactions.sql import SqlTransactionIndex

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
CARD = "4242 4242 4242 4242"


class Tickets:
    def __init__(self, tickets: Sequence[Ticket]) -> None:
        self._tickets = tickets

    async def tickets(self, on_reject: object) -> AsyncIterator[Ticket]:
        for each in self._tickets:
            yield each


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    opened = await SqlStore.open(sqlite_url(tmp_path / "s.db"))
    yield opened
    await opened.close()


async def run(
    store: SqlStore,
    helpdesk: FakeHelpdesk,
    tickets: Sequence[Ticket],
    *,
    mode: WriteBackMode = WriteBackMode.NOTE,
    force: bool = False,
    policy: RetryPolicy = FAST,
    circuit_reset_after: float = 30.0,
    circuit_threshold: int = 5,
) -> tuple[RunReport, Pipeline]:
    pipeline = pipeline_of(
        store,
        helpdesk,
        mode=mode,
        force=force,
        policy=policy,
        circuit_reset_after=circuit_reset_after,
        circuit_threshold=circuit_threshold,
    )
    rejects: list[Reject] = []
    async with asyncio.timeout(30):
        report = await pipeline.run(Tickets(tickets), None, rejects.append)
    return report, pipeline


def pipeline_of(
    store: SqlStore,
    helpdesk: FakeHelpdesk,
    *,
    mode: WriteBackMode = WriteBackMode.NOTE,
    force: bool = False,
    policy: RetryPolicy = FAST,
    circuit_reset_after: float = 30.0,
    circuit_threshold: int = 5,
    public_replies: bool = False,
) -> Pipeline:
    options = PipelineOptions(
        policy=policy,
        force=force,
        shutdown_timeout=5,
        circuit_reset_after=circuit_reset_after,
        circuit_threshold=circuit_threshold,
    )
    setup = WriteBackSetup(
        route=WriteBackRoute(NAME, mode),
        state=SqlHelpdeskState(store.engine),
        connect=lambda: helpdesk,
        public_replies=public_replies,
        concurrency=1,
    )
    return Pipeline(
        MemoryBroker(maxsize=16),
        store,
        OfflineProvider(DEFAULT_TAXONOMY),
        DEFAULT_TAXONOMY,
        [],
        options,
        transactions=SqlTransactionIndex(store.engine),
        write_back=setup,
    )


async def received(store: SqlStore, *tickets: Ticket) -> list[Ticket]:
    await SqlHelpdeskState(store.engine).receive(NAME, tickets)
    return list(tickets)


async def test_each_received_ticket_gets_one_note_and_a_rerun_writes_nothing_again(
    store: SqlStore,
) -> None:
    tickets = await received(store, ticket("1"), ticket("2"), ticket("3"))
    helpdesk = FakeHelpdesk()
    report, pipeline = await run(store, helpdesk, tickets)
    assert report.exit_code == 0
    assert sorted(call.draft.ticket_id for call in helpdesk.calls) == ["1", "2", "3"]
    assert {call.mode for call in helpdesk.calls} == {WriteBackMode.NOTE}
    assert all(call.previous is None for call in helpdesk.calls)
    note = helpdesk.calls[0].draft.note
    assert note is not None
    assert note.startswith("Draft by Supporter (not sent to the customer).")
    assert "--- Draft reply ---" in note
    assert not any(call.draft.public for call in helpdesk.calls)
    assert pipeline.stats.write_backs[(NAME, "written")] == 3

    # Redone from scratch: the same drafts, so nothing is written again.
    rerun = FakeHelpdesk()
    _, again = await run(store, rerun, tickets, force=True)
    assert rerun.calls == []
    assert again.stats.write_backs[(NAME, "unchanged")] == 3
    record = await SqlHelpdeskState(store.engine).write_back(NAME, "1")
    assert record is not None
    assert record.status == "written"
    assert record.note_id is not None


async def test_a_ticket_not_received_from_the_helpdesk_is_never_written(store: SqlStore) -> None:
    await received(store, ticket("1"))
    helpdesk = FakeHelpdesk()
    _, pipeline = await run(store, helpdesk, [ticket("1"), ticket("from-a-file")])
    assert [call.draft.ticket_id for call in helpdesk.calls] == ["1"]
    assert pipeline.stats.write_backs[(NAME, "not_received")] == 1


async def test_tags_mode_writes_the_classification_and_no_note(store: SqlStore) -> None:
    tickets = await received(store, ticket("1"))
    helpdesk = FakeHelpdesk()
    await run(store, helpdesk, tickets, mode=WriteBackMode.TAGS)
    [call] = helpdesk.calls
    assert call.mode is WriteBackMode.TAGS
    assert call.draft.note is None
    assert call.draft.tags[0] == "supporter"
    assert call.draft.tags[1] == f"supporter_{call.draft.category}"


async def test_after_review_writes_nothing_when_results_are_stored(store: SqlStore) -> None:
    tickets = await received(store, ticket("1"))
    helpdesk = FakeHelpdesk()
    report, pipeline = await run(store, helpdesk, tickets, mode=WriteBackMode.AFTER_REVIEW)
    assert report.exit_code == 0
    assert helpdesk.calls == []
    assert pipeline.stats.write_backs_published == 0


async def test_retries_then_a_dead_letter_that_keeps_the_draft_and_replays(
    store: SqlStore,
) -> None:
    tickets = await received(store, ticket("1"), ticket("2"))
    helpdesk = FakeHelpdesk(failures_for={"2": [TransientError("the helpdesk hiccupped")] * 3})
    report, pipeline = await run(store, helpdesk, tickets)
    assert len(helpdesk.calls) == 1
    assert helpdesk.failed_calls == 3
    assert pipeline.stats.write_backs[(NAME, "dead_lettered")] == 1
    assert report.stats.stage("write-back").retried == 2
    [letter] = await store.dead_letters()
    assert (letter.stage, letter.queue, letter.attempts) == ("write-back", "write-back", 3)
    failed_ticket = letter.ticket_id
    assert failed_ticket == "2"
    # The draft stands: only writing it back failed.
    [result] = await store.results([failed_ticket])
    assert result.status == "responded"

    healed = FakeHelpdesk()
    replay = pipeline_of(store, healed)
    async with asyncio.timeout(30):
        replayed = await replay.replay([letter])
    assert replayed.not_replayable == []
    assert [call.draft.ticket_id for call in healed.calls] == [failed_ticket]
    assert await store.dead_letters() == []
    # Replaying again writes nothing: the version is written.
    again = FakeHelpdesk()
    [resolved] = await store.dead_letters(include_resolved=True)
    async with asyncio.timeout(30):
        await pipeline_of(store, again).replay([resolved])
    assert again.calls == []


async def test_a_replay_that_fails_again_leaves_one_dead_letter(store: SqlStore) -> None:
    tickets = await received(store, ticket("1"))
    await run(store, FakeHelpdesk(failures=[PermanentError("ticket 1 is locked")]), tickets)
    [first] = await store.dead_letters()
    still = FakeHelpdesk(failures=[PermanentError("ticket 1 is still locked")])
    async with asyncio.timeout(30):
        await pipeline_of(store, still).replay([first])
    [pending] = await store.dead_letters()
    assert pending.id != first.id
    assert pending.reason == "ticket 1 is still locked"
    every = await store.dead_letters(include_resolved=True)
    assert [(x.id, x.resolved_at is not None) for x in every] == [
        (first.id, True),
        (pending.id, False),
    ]


async def test_a_permanent_refusal_is_dead_lettered_at_once(store: SqlStore) -> None:
    tickets = await received(store, ticket("1"))
    helpdesk = FakeHelpdesk(failures=[PermanentError("ticket 1 was deleted")])
    await run(store, helpdesk, tickets)
    [letter] = await store.dead_letters()
    assert letter.error_type == "PermanentError"
    assert letter.attempts == 1
    assert helpdesk.calls == []


async def test_without_a_helpdesk_a_write_back_letter_is_not_replayable(store: SqlStore) -> None:
    tickets = await received(store, ticket("1"))
    await run(store, FakeHelpdesk(failures=[PermanentError("gone")]), tickets)
    [letter] = await store.dead_letters()
    plain = Pipeline(
        MemoryBroker(),
        store,
        OfflineProvider(DEFAULT_TAXONOMY),
        DEFAULT_TAXONOMY,
        [],
        PipelineOptions(policy=FAST, shutdown_timeout=5),
        transactions=SqlTransactionIndex(store.engine),
    )
    async with asyncio.timeout(30):
        report = await plain.replay([letter])
    assert report.not_replayable == [letter.id]


async def test_an_outage_parks_write_backs_instead_of_burning_their_tries(
    store: SqlStore,
) -> None:
    tickets = await received(store, *(ticket(str(n)) for n in range(5)))
    helpdesk = FakeHelpdesk(outage=HelpdeskUnavailable("503 from the helpdesk"), outage_seconds=0.3)
    # Two tries each: without the circuit, the outage would dead-letter tickets.
    report, pipeline = await run(
        store,
        helpdesk,
        tickets,
        policy=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02),
        circuit_threshold=1,
        circuit_reset_after=0.6,
    )
    assert report.exit_code == 0
    assert helpdesk.failed_calls == 1
    assert sorted(call.draft.ticket_id for call in helpdesk.calls) == [str(n) for n in range(5)]
    assert await store.dead_letters() == []
    assert pipeline.stats.write_backs[(NAME, "written")] == 5


async def serve_write_backs(
    pipeline: Pipeline, messages: Sequence[WriteBackMessage], until: Callable[[], bool]
) -> None:
    """The write-back and sink stages as `serve` (or `worker write-back`) runs them, fed
    `messages` as approvals are, until `until()` holds; then a stop."""
    serving = asyncio.create_task(pipeline.serve("write-back", "sink"))
    try:
        await asyncio.sleep(0.05)  # its queues declared
        for each in messages:
            await publish_ticket(pipeline.broker, WRITE_BACK, each, "review")
        async with asyncio.timeout(30):
            while not until():
                await asyncio.sleep(0.05)
    finally:
        pipeline.request_stop()
        await serving


async def test_a_served_write_back_outlasts_an_outage_without_spending_its_tries(
    store: SqlStore,
) -> None:
    """One write-back alone during an outage (the trial's finding): its three tries
    are gone in a blink, long before a threshold of five failures would open the
    circuit. Served, the circuit opens by its last try at the latest, and from then
    on a failure costs no try: it is written once the helpdesk is back, never
    dead-lettered."""
    await received(store, ticket("1"))
    helpdesk = FakeHelpdesk(
        outage=HelpdeskUnavailable("cannot reach the helpdesk"), outage_seconds=1.5
    )
    pipeline = pipeline_of(
        store,
        helpdesk,
        mode=WriteBackMode.AFTER_REVIEW,
        policy=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02),
        circuit_threshold=5,
        circuit_reset_after=0.3,
    )
    counters = pipeline.stats.stage(STAGE)
    approved = message("Approved text.", mode="after-review", approved_by="ana")
    await serve_write_backs(
        pipeline, [approved], lambda: bool(helpdesk.calls) or bool(counters.dead_lettered)
    )
    assert counters.dead_lettered == 0
    assert len(helpdesk.calls) == 1
    assert helpdesk.failed_calls > 3  # more failures than tries: those parked cost none
    assert counters.parked == helpdesk.failed_calls - 2
    assert await store.dead_letters() == []


async def test_an_outage_through_a_relay_writes_an_approved_reply_once_after_it(
    store: SqlStore,
) -> None:
    """The trial's outage against the Zendesk simulator: connections refused (the
    relay is down) for longer than the tries take, then the helpdesk back. The
    approved reply is posted once, as the public reply the approval recorded."""
    server = FakeZendesk(
        FakeZendeskConfig(export_lag_seconds=0, account_limit=None, export_limit=None)
    )
    async with server as url:
        number = server.add_ticket("Charged twice", "Two charges")
        await SqlHelpdeskState(store.engine).receive("zendesk", [ticket(str(number))])
        port = urlsplit(url).port
        assert port is not None
        proxy = TcpProxy("127.0.0.1", port)
        proxy.start()
        try:
            connector = zendesk.ZendeskHelpdesk(
                zendesk.Settings(
                    url=f"http://127.0.0.1:{proxy.port}",
                    email=DEFAULT_EMAIL,
                    token=SecretStr(DEFAULT_TOKEN),
                ),
                account_limit=RateLimit(6000, 60.0),
                export_limit=RateLimit(6000, 60.0),
                timeout=2.0,
                max_wait=0.5,
            )
            options = PipelineOptions(
                policy=RetryPolicy(max_attempts=5, base_delay=0.05, max_delay=0.2),
                shutdown_timeout=5,
                circuit_reset_after=0.5,
            )
            setup = WriteBackSetup(
                route=WriteBackRoute("zendesk", WriteBackMode.AFTER_REVIEW, public_replies=True),
                state=SqlHelpdeskState(store.engine),
                connect=lambda: connector,
                concurrency=1,
            )
            pipeline = Pipeline(
                MemoryBroker(maxsize=16),
                store,
                OfflineProvider(DEFAULT_TAXONOMY),
                DEFAULT_TAXONOMY,
                [],
                options,
                write_back=setup,
            )
            approved = approved_write_back(
                setup.route,
                ticket(str(number)),
                TicketResult(
                    ticket_id=str(number),
                    customer_id=f"C-{number}",
                    status="responded",
                    analysis=analysis(),
                    reply=Reply(body="We refunded the second charge."),
                    attempts=1,
                ),
                [],
                ReviewRecord(
                    review_id=7,
                    ticket_id=str(number),
                    action=ReviewAction.APPROVE,
                    reviewer="bob",
                    draft_version="v1",
                    reply=None,
                    draft=None,
                    edit_distance=None,
                    category=None,
                    priority=None,
                    reason=None,
                    provider="offline",
                    created_at=datetime.now(UTC),
                ),
            )
            assert approved is not None
            counters = pipeline.stats.stage(STAGE)
            proxy.go_down()

            def settled() -> bool:
                # The helpdesk comes back once the write-back has used every try it
                # has and a trial has failed too: by then it is parked or dead-lettered.
                if counters.dead_lettered:
                    return True
                if counters.parked >= 2:
                    proxy.come_up()
                return pipeline.stats.write_backs_settled > 0

            await serve_write_backs(pipeline, [approved], settled)
            await connector.aclose()
        finally:
            proxy.come_up()
            proxy.close()
        public = [c for c in server.comments[number][1:] if c["public"]]
    assert counters.dead_lettered == 0
    assert counters.retried == 4  # its five tries spent, then parked
    assert [c["body"] for c in public] == ["We refunded the second charge."]
    assert await store.dead_letters() == []
    record = await SqlHelpdeskState(store.engine).write_back("zendesk", str(number))
    assert record is not None
    assert record.status == "written"


async def test_an_approval_records_public_or_note_and_is_written_as_recorded(
    store: SqlStore,
) -> None:
    """Whether an approved draft is the public reply is decided with the approval and
    travels in the message: the process that writes it (a worker, a replay) does not
    turn it into a note, nor a note into a reply; only a message that records nothing
    (from an earlier version) goes by the writer's setting."""
    await received(store, ticket("1"), ticket("2"), ticket("3"))
    helpdesk = FakeHelpdesk()
    as_notes = WriteBacks(helpdesk, SqlHelpdeskState(store.engine), public_replies=False)
    as_replies = WriteBacks(helpdesk, SqlHelpdeskState(store.engine), public_replies=True)
    approved = message("Approved text.", mode="after-review", approved_by="ana")
    await as_notes.handle(approved.model_copy(update={"public_reply": True}))
    await as_replies.handle(
        approved.model_copy(update={"public_reply": False, "ticket": ticket("2")})
    )
    await as_replies.handle(approved.model_copy(update={"ticket": ticket("3")}))
    reply, note, unrecorded = helpdesk.calls
    assert reply.draft.public
    assert reply.draft.note == "Approved text."
    assert not note.draft.public
    assert unrecorded.draft.public
    # Made by an approval: the route's setting is recorded in the message.
    for public in (True, False):
        route = WriteBackRoute(NAME, WriteBackMode.AFTER_REVIEW, public_replies=public)
        made = stored_write_back(
            route, ticket("1"), stored_result(), [], origin_id="o", approved_by="ana"
        )
        assert made is not None
        assert made.public_reply is public
        assert not unrecorded_public_reply(made)
    assert unrecorded_public_reply(approved)


def stored_result() -> TicketResult:
    return TicketResult(
        ticket_id="1",
        customer_id="C-1",
        status="responded",
        analysis=analysis(),
        reply=Reply(body="We refunded 19.99 EUR."),
        attempts=1,
    )


def analysis() -> Analysis:
    return Analysis(
        category="refund_request",
        priority=Priority.HIGH,
        sentiment=Sentiment.NEGATIVE,
        language="en",
        summary="refund",
        confidence=0.9,
        needs_human=False,
        related_transaction_ids=["ch_1"],
    )


def message(
    body: str = "We refunded 19.99 EUR.",
    *,
    mode: str = "note",
    approved_by: str | None = None,
    passed: bool = True,
) -> WriteBackMessage:
    return WriteBackMessage(
        origin_id="o1",
        helpdesk=NAME,
        mode=mode,  # type: ignore[arg-type]
        ticket=ticket("1"),
        analysis=analysis(),
        reply=Reply(body=body, cited_transaction_ids=["ch_1"], cited_articles=["refunds#1"]),
        grounding=GroundingCheck(passed=passed, problems=[] if passed else ["amount 25.00"]),
        transactions=[
            Transaction(
                transaction_id="ch_1",
                customer_id="C-1",
                amount="19.99",  # type: ignore[arg-type]
                currency="EUR",
                status="succeeded",
                created_at=ticket("1").created_at,
                card_last4="4242",
            )
        ],
        approved_by=approved_by,
    )


async def test_a_new_version_updates_the_note_and_a_redelivery_writes_nothing(
    store: SqlStore,
) -> None:
    await received(store, ticket("1"))
    helpdesk = FakeHelpdesk()
    stage = WriteBacks(helpdesk, SqlHelpdeskState(store.engine))
    first = await stage.handle(message())
    redelivered = await stage.handle(message())
    edited = await stage.handle(message("We refunded 19.99 EUR on 2 January."))
    assert [first.outcome, redelivered.outcome, edited.outcome] == [
        "written",
        "unchanged",
        "updated",
    ]
    assert len(helpdesk.calls) == 2
    assert helpdesk.calls[0].previous is None
    previous = helpdesk.calls[1].previous
    assert previous is not None
    assert previous.note_id == "note-1"


class NoNoteFound(FakeHelpdesk):
    """Says, for every version after the first, that it found no note of it."""

    async def write_back(
        self, draft: Draft, mode: WriteBackMode, previous: WriteReceipt | None
    ) -> WriteReceipt:
        receipt = await super().write_back(draft, mode, previous)
        return receipt if previous is None else WriteReceipt(note_id=None)


async def test_a_version_whose_note_was_not_found_records_no_note(store: SqlStore) -> None:
    await received(store, ticket("1"))
    state = SqlHelpdeskState(store.engine)
    stage = WriteBacks(NoNoteFound(), state)
    await stage.handle(message())
    first = await state.write_back(NAME, "1")
    await stage.handle(message("We refunded 19.99 EUR on 2 January."))
    second = await state.write_back(NAME, "1")
    assert first is not None
    assert first.note_id == "note-1"
    assert second is not None
    assert second.note_id is None


async def test_a_failed_write_is_released_for_the_next_try(store: SqlStore) -> None:
    await received(store, ticket("1"))
    helpdesk = FakeHelpdesk(failures=[HelpdeskUnavailable("timeout")])
    stage = WriteBacks(helpdesk, SqlHelpdeskState(store.engine))
    with pytest.raises(HelpdeskUnavailable):
        await stage.handle(message())
    assert (await stage.handle(message())).outcome == "written"


async def test_a_retry_looks_for_its_note_back_to_the_first_claim(store: SqlStore) -> None:
    """A try that failed after the helpdesk took its note (a timeout on the answer):
    the next try's connector searches back to the first claim, not to its own."""
    await received(store, ticket("1"))
    now = [datetime(2026, 1, 1, 12, 0, tzinfo=UTC)]
    first_claim = now[0]
    state = SqlHelpdeskState(store.engine, clock=lambda: now[0])
    helpdesk = FakeHelpdesk(failures=[HelpdeskUnavailable("timed out after the note")])
    stage = WriteBacks(helpdesk, state)
    with pytest.raises(HelpdeskUnavailable):
        await stage.handle(message())
    now[0] += timedelta(minutes=10)
    assert (await stage.handle(message())).outcome == "written"
    assert helpdesk.calls[-1].draft.written_after == first_claim - CLOCK_MARGIN
    assert helpdesk.calls[-1].draft.first_attempt is False
    # Recorded: a later version searches back to its own claim only, and its first try
    # not at all.
    now[0] += timedelta(hours=1)
    await stage.handle(message("We refunded 19.99 EUR on 2 January."))
    assert helpdesk.calls[-1].draft.written_after == now[0] - CLOCK_MARGIN
    assert helpdesk.calls[-1].draft.first_attempt is True


async def test_a_write_back_held_elsewhere_is_tried_later(store: SqlStore) -> None:
    await received(store, ticket("1"))
    state = SqlHelpdeskState(store.engine)
    stage = WriteBacks(FakeHelpdesk(), state)
    # Another worker holds the ticket's write-back of another version.
    await state.claim(NAME, "1", "note", "elsewhere")
    with pytest.raises(WriteBackBusy) as busy:
        await stage.handle(message())
    # Tried again when the other worker's claim (five minutes) lapses, not at once.
    assert busy.value.retry_after is not None
    assert 290 <= busy.value.retry_after <= 300


async def test_a_write_back_that_calls_no_helpdesk_leaves_a_half_open_circuit_open(
    store: SqlStore,
) -> None:
    """Only the helpdesk's answer may close the circuit: a ticket held by another worker
    or a version written already says nothing about whether the helpdesk is back."""
    await received(store, ticket("1"), ticket("2"))
    state = SqlHelpdeskState(store.engine)
    helpdesk = FakeHelpdesk()
    stage = WriteBacks(helpdesk, state)
    written = message().model_copy(update={"ticket": ticket("2")})
    assert (await stage.handle(written)).outcome == "written"
    await state.claim(NAME, "1", "note", "elsewhere")
    breaker = CircuitBreaker(STAGE, threshold=1, reset_after=0.01)
    await breaker.failure()  # the helpdesk went down
    broker = MemoryBroker()
    await broker.declare(WRITE_BACK)
    counters = StageCounters()
    worker = StageWorker(stage.stage(concurrency=1), broker, FAST, counters, print, breaker)
    task = asyncio.create_task(worker.run())
    try:
        for each in (message(), written):
            await broker.publish(WRITE_BACK, encode(each), message_id=each.message_id)
        async with asyncio.timeout(10):
            while counters.retried + counters.succeeded < 2:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert (counters.retried, counters.succeeded) == (1, 1)
    assert len(helpdesk.calls) == 1  # only the first, direct write
    assert breaker.state is CircuitState.HALF_OPEN


async def test_after_review_writes_only_approved_drafts(store: SqlStore) -> None:
    await received(store, ticket("1"))
    helpdesk = FakeHelpdesk()
    stage = WriteBacks(helpdesk, SqlHelpdeskState(store.engine))
    with pytest.raises(PermanentError, match="only approved drafts"):
        await stage.handle(message(mode="after-review"))
    assert helpdesk.calls == []
    await stage.handle(message(mode="after-review", approved_by="ana"))
    [call] = helpdesk.calls
    assert call.mode is WriteBackMode.AFTER_REVIEW
    assert call.draft.note is not None
    assert "Approved by ana" in call.draft.note
    assert not call.draft.public


async def test_a_public_reply_only_when_asked_and_only_for_an_approved_draft(
    store: SqlStore,
) -> None:
    await received(store, ticket("1"), ticket("2"))
    helpdesk = FakeHelpdesk()
    stage = WriteBacks(helpdesk, SqlHelpdeskState(store.engine), public_replies=True)
    await stage.handle(message())  # note mode: never public
    approved = message("Approved text.", mode="after-review", approved_by="ana")
    await stage.handle(approved.model_copy(update={"ticket": ticket("2")}))
    unapproved, public = helpdesk.calls
    assert not unapproved.draft.public
    assert public.draft.public
    assert public.draft.note == "Approved text."


async def test_a_write_back_for_another_helpdesk_is_refused(store: SqlStore) -> None:
    stage = WriteBacks(FakeHelpdesk(name="rt"), SqlHelpdeskState(store.engine))
    with pytest.raises(PermanentError, match="zendesk"):
        await stage.handle(message())


def test_the_note_says_what_it_rests_on_and_masks_card_numbers() -> None:
    from supporter.helpdesks.drafts import draft_of

    draft = draft_of(message(f"Your card {CARD} was refunded.", passed=False))
    note = draft.note
    assert note is not None
    assert CARD not in note
    assert "**** 4242" in note
    assert "ch_1, charge of 19.99 EUR, succeeded, 2026-01-02, card ending 4242" in note
    assert "refunds#1" in note
    assert "Grounding warning" in note
    assert "amount 25.00" in note
    assert "supporter_grounding_warning" in draft.tags
    assert draft_of(message("Another text.")).version != draft.version
    # The reply alone, for a draft reply an agent sends as it stands: masked, no facts.
    assert draft.reply == "Your card **** 4242 was refunded."


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    yield exporter
    tracing.use(None)
    provider.shutdown()


async def test_a_write_back_is_a_span_in_its_tickets_trace(
    store: SqlStore, spans: InMemorySpanExporter
) -> None:
    tickets = await received(store, ticket("1"))
    await run(store, FakeHelpdesk(), tickets)
    finished = spans.get_finished_spans()
    [ingest] = [span for span in finished if span.name == "ingest"]
    assert ingest.context is not None
    in_trace = [
        span
        for span in finished
        if span.context is not None and span.context.trace_id == ingest.context.trace_id
    ]
    names = [span.name for span in in_trace]
    for step in ("analyze", "respond", "sink", "write-back", f"{NAME} write-back"):
        assert step in names, names
    [sink] = [span for span in in_trace if span.name == "sink"]
    [stage] = [span for span in in_trace if span.name == "write-back"]
    [call] = [span for span in in_trace if span.name == f"{NAME} write-back"]
    # respond → sink → write-back → the call into the helpdesk, each the child of the last.
    assert sink.context is not None
    assert stage.parent is not None
    assert stage.parent.span_id == sink.context.span_id
    assert stage.context is not None
    assert call.parent is not None
    assert call.parent.span_id == stage.context.span_id
    assert (stage.attributes or {})["supporter.write_back.outcome"] == "written"
    assert (call.attributes or {})["supporter.write_back.mode"] == "note"
    assert (call.attributes or {})["supporter.helpdesk"] == NAME


async def test_an_approved_reply_after_one_sent_is_withheld_and_said_so(
    store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    """The Zendesk simulator, through the write-back stage: an approved reply is sent;
    a later version approved after it is not (the customer has a reply), and the stage
    says so: a warning naming the ticket (not the text) and its own outcome."""
    server = FakeZendesk(
        FakeZendeskConfig(export_lag_seconds=0, account_limit=None, export_limit=None)
    )
    async with server as url:
        number = server.add_ticket("Charged twice", "Two charges")
        state = SqlHelpdeskState(store.engine)
        await state.receive("zendesk", [ticket(str(number))])
        connector = zendesk.ZendeskHelpdesk(
            zendesk.Settings(url=url, email=DEFAULT_EMAIL, token=SecretStr(DEFAULT_TOKEN))
        )
        settled: list[tuple[str, str]] = []
        stage = WriteBacks(
            connector,
            state,
            public_replies=True,
            on_settled=lambda helpdesk, outcome: settled.append((helpdesk, outcome)),
        )
        approved = message("We refunded the second charge.", mode="after-review", approved_by="ana")
        approved = approved.model_copy(
            update={"helpdesk": "zendesk", "ticket": ticket(str(number))}
        )
        later = approved.model_copy(
            update={"reply": Reply(body="Secret words: the refund is on its way.")}
        )
        try:
            first = await stage.handle(approved)
            with caplog.at_level("INFO", logger="supporter.pipeline.write_back"):
                second = await stage.handle(later)
        finally:
            await connector.aclose()
        public = [c["body"] for c in server.comments[number][1:] if c["public"]]
    assert public == ["We refunded the second charge."]
    assert [first.outcome, second.outcome] == ["written", "reply_withheld"]
    assert settled == [("zendesk", "written"), ("zendesk", "reply_withheld")]
    [warning] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert f"ticket {number}" in warning.getMessage()
    assert "not sent" in warning.getMessage()
    assert "Secret words" not in caplog.text
    assert "wrote ticket" not in caplog.text
