"""Runs every stage in one process: ingest → analyze → respond → output.

The run is over when every published ticket has a stored outcome. A stop
request (SIGINT/SIGTERM) ends intake and lets in-flight tickets finish for up to
`shutdown_timeout` seconds; whatever is still unfinished then is simply not
stored, so a rerun picks it up. A fatal provider error stops intake the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from supporter.analysis.analyzer import Analyzer
from supporter.brokers.base import Broker, BrokerUnreachable, dead_letter_queue
from supporter.domain.errors import FatalError
from supporter.domain.messages import DeadLetterMessage
from supporter.domain.models import Ticket, TicketResult, Transaction
from supporter.knowledge.retrieval import Retriever
from supporter.llm.base import Category, ModelProvider
from supporter.pipeline.circuit import CircuitBreaker
from supporter.pipeline.heartbeat import Heartbeat
from supporter.pipeline.ingest import IngestOptions, Ingestor, replay_letter
from supporter.pipeline.retry import RetryPolicy
from supporter.pipeline.sink import OutputStage
from supporter.pipeline.stages import (
    ANALYZED,
    RESPONDED,
    TICKETS,
    TransactionLookup,
    analyze_stage,
    respond_stage,
)
from supporter.pipeline.stats import RunStats
from supporter.pipeline.window import until_stopped
from supporter.pipeline.worker import In, Out, Stage, StageWorker
from supporter.pipeline.write_back import (
    WRITE_BACK,
    WriteBackRoute,
    WriteBacks,
    WriteBackSetup,
)
from supporter.replies.responder import Responder
from supporter.sinks.base import ResultSink
from supporter.sources.base import RejectHandler, TicketSource
from supporter.store.base import DeadLetterRecord, ResultStore, WorkerRegistry
from supporter.transactions.base import TransactionIndex

log = logging.getLogger(__name__)

# 2: tickets joined to payments by e-mail and quoted references too.
PIPELINE_VERSION = "2"
QUEUES = (TICKETS, ANALYZED, RESPONDED)
"""The queues a ticket published by intake passes through, in pipeline order."""
StageName = Literal["analyze", "respond", "sink", "write-back"]


def stage_queues(write_back: bool) -> tuple[str, ...]:
    """The queues between a pipeline's stages, in order: `QUEUES`, and the write-back's
    last when the pipeline writes into a helpdesk."""
    return (*QUEUES, WRITE_BACK) if write_back else QUEUES


# A service (a worker, `serve`) outlasts a database restart or failover: its store
# writes are retried for about five minutes (full jitter, up to 10 s a try) before it
# stops. A batch run (the default below) gives up after a few seconds and says so.
SERVICE_STORE_RETRIES = RetryPolicy(max_attempts=60, base_delay=0.5, max_delay=10.0)
# A broker that cannot be reached yet when a worker, `serve` or `ingest` starts (started
# before it: compose, systemd) is waited for `broker_wait` seconds, its tries spaced as
# a service's store writes are (above); the wait is logged when it starts and then
# every this many seconds.
BROKER_WAIT_NOTE_EVERY = 30.0


@dataclass(frozen=True)
class PipelineOptions:
    ingest: IngestOptions = field(default_factory=IngestOptions)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    store_retries: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=5.0)
    )
    circuit_threshold: int = 5
    circuit_reset_after: float = 30.0
    analyze_concurrency: int = 8
    respond_concurrency: int = 8
    output_batch_size: int = 256
    # Publishes in flight at once per publisher (ingest, each stage): enough to hide
    # a broker's round trip, few enough to keep memory flat.
    publish_window: int = 64
    shutdown_timeout: float = 30.0
    force: bool = False
    heartbeat_interval: float = 5.0
    # Seconds to wait for a broker not reachable yet at the start of `serve` and
    # `ingest` (0: fail at once).
    broker_wait: float = 0.0


@dataclass(frozen=True)
class RunReport:
    stats: RunStats
    interrupted: bool
    fatal: str | None
    not_replayable: list[int] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every valid open ticket was answered, 1 when some failed or the run
        stopped on a provider error, 130 when interrupted."""
        if self.interrupted and self.fatal is None:
            return 130
        stats = self.stats
        if self.fatal is not None or stats.failed or stats.earlier_failed or stats.dropped:
            return 1
        return 0


def result_version(
    provider: ModelProvider,
    options: PipelineOptions,
    taxonomy: Sequence[Category],
    knowledge: Retriever | None = None,
) -> str:
    """The idempotency version: a ticket done under another one is done again.

    With a knowledge base it names how passages are retrieved, not what they say: a
    changed passage redoes only the tickets whose replies cited it (see `Pipeline`)."""
    parts = [
        PIPELINE_VERSION,
        provider.version,
        str(options.ingest.lookback_days),
        str(options.ingest.max_transactions),
        ",".join(category.name for category in taxonomy),
    ]
    if knowledge is not None:
        parts.append(knowledge.version)
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]
    return f"{provider.name}:{digest}"


class Pipeline:
    def __init__(
        self,
        broker: Broker,
        store: ResultStore,
        provider: ModelProvider,
        taxonomy: Sequence[Category],
        sinks: Sequence[ResultSink],
        options: PipelineOptions,
        stats: RunStats | None = None,
        fallback: ModelProvider | None = None,
        transactions: TransactionIndex | None = None,
        workers: WorkerRegistry | None = None,
        knowledge: Retriever | None = None,
        write_back: WriteBackSetup | None = None,
    ) -> None:
        """`transactions`: where the analyze stage finds the transactions of a ticket
        that came without them (ingest without a transactions file). `workers`: where
        a served stage reports what it holds (`supporter status`). `knowledge`: the
        help-center passages replies are drafted from and cite. `write_back`: the
        helpdesk stored results (or approved drafts) are written back into."""
        self._knowledge = knowledge
        self._write_back = write_back
        self._broker = broker
        self._transactions = transactions
        self._workers = workers
        self._store = store
        self._provider = provider
        self._fallback = fallback
        self._taxonomy = list(taxonomy)
        self._sinks = sinks
        self._options = options
        self.stats = stats or RunStats()
        self.version = result_version(provider, options, taxonomy, knowledge)
        self._stop = asyncio.Event()
        self._progress = asyncio.Event()
        self._reached = False
        self._fatal: FatalError | None = None
        self._interrupted = False
        self.breakers: dict[str, CircuitBreaker] = {}
        self._stage_workers: list[StageWorker[Any, Any]] = []
        self._output_stages: list[OutputStage] = []

    @property
    def broker(self) -> Broker:
        return self._broker

    @property
    def queues(self) -> tuple[str, ...]:
        """The queues between this pipeline's stages (the write-back's when configured)."""
        return stage_queues(self._write_back is not None)

    @property
    def output_queues(self) -> tuple[str, ...]:
        """What the output stage consumes: results and every stage's dead letters."""
        return (RESPONDED, *(dead_letter_queue(queue) for queue in self.queues))

    def on_write_back_published(self) -> None:
        self.stats.write_backs_published += 1

    def on_write_back(self, helpdesk: str, outcome: str) -> None:
        self.stats.write_backs[(helpdesk, outcome)] += 1
        self._progress.set()

    def on_write_back_dead(self, letter: DeadLetterMessage) -> None:
        helpdesk = self._write_back.route.helpdesk if self._write_back else "unknown"
        self.on_write_back(helpdesk, "dead_lettered")

    def request_stop(self) -> None:
        """Stop intake and finish what is in flight (the first SIGINT/SIGTERM)."""
        self._interrupted = True
        self._stop.set()
        self._progress.set()

    def on_fatal(self, error: FatalError) -> None:
        if self._fatal is None:
            log.error("stopping intake: %s", error)
            self._fatal = error
        self._stop.set()
        self._progress.set()

    def on_stored(self, results: Sequence[TicketResult]) -> None:
        for result in results:
            self.stats.count_result(result)
        self._progress.set()

    def on_dropped(self) -> None:
        self.stats.dropped += 1
        self._progress.set()

    async def run(
        self, source: TicketSource, index: TransactionIndex | None, on_reject: RejectHandler
    ) -> RunReport:
        """Every open ticket of `source` through every stage. With `index`, ingest gives each
        ticket its transactions; without, the analyze stage looks them up (a live API)."""
        ingestor = await self._ingestor(index)

        async def intake() -> None:
            await ingestor.run(source, on_reject, self._stop)

        await self._process(intake())
        if ingestor.skipped_done:
            await self._write_earlier_results(ingestor.skipped_done)
        return self._report()

    async def replay(self, letters: Sequence[DeadLetterRecord]) -> RunReport:
        """Send dead letters back to the queue of the stage that gave up on them."""
        not_replayable: list[int] = []

        async def intake() -> None:
            for letter in letters:
                if self._stop.is_set():
                    return
                write_back = letter.queue == WRITE_BACK
                if write_back and self._write_back is None:
                    # No helpdesk configured here: the letter stays for a run that has one.
                    not_replayable.append(letter.id)
                elif await replay_letter(self._broker, letter):
                    if write_back:
                        self.stats.write_backs_published += 1
                    else:
                        self.stats.published += 1
                else:
                    not_replayable.append(letter.id)

        await self._process(intake())
        report = self._report()
        return RunReport(report.stats, report.interrupted, report.fatal, not_replayable)

    async def _done(self) -> set[str]:
        """Tickets not to do again: done under this version, and with a knowledge base,
        not citing a passage that has changed (or gone) since."""
        if self._options.force:
            return set()
        done = await self._store.done_ticket_ids(self.version)
        if self._knowledge is None or not done:
            return done
        knowledge = self._knowledge
        # Replies citing the same passages share one lookup of their current version.
        current: dict[tuple[str, ...], str | None] = {}
        stale: set[str] = set()
        for ticket_id, citation in (await self._store.citations(self.version)).items():
            cited = citation.passage_ids
            if cited not in current:
                current[cited] = await knowledge.version_of(cited)
            if ticket_id in done and current[cited] != citation.knowledge_version:
                stale.add(ticket_id)
        if stale:
            log.info("%d tickets cited help-center passages that changed: redoing them", len(stale))
        return done - stale

    async def _ingestor(self, index: TransactionIndex | None) -> Ingestor:
        """Intake for this run: skips what is done (unless forced), and after a stop
        gives its publishes in flight the shutdown timeout to be confirmed."""
        return Ingestor(
            self._broker,
            index,
            self._options.ingest,
            self.stats,
            await self._done(),
            grace=self._options.shutdown_timeout,
            window=self._options.publish_window,
        )

    def _report(self) -> RunReport:
        if self.stats.finished is None:
            self.stats.finished = time.monotonic()
        fatal = str(self._fatal) if self._fatal else None
        return RunReport(self.stats, self._interrupted, fatal)

    async def serve(self, *stages: StageName, metrics_port: int | None = None) -> RunReport:
        """Run stages on the broker until a stop request or a fatal error; their
        heartbeats say where they serve `/metrics` (`metrics_port`).

        One stage is `supporter worker …`: as many processes of a stage as needed, on
        any machines; all three in one process is `supporter serve` on the in-memory
        broker. On a stop request it takes no more messages and gives those in flight
        up to `shutdown_timeout` seconds to finish (model calls already paid for are
        not thrown away); what is still unfinished then goes back to the broker.
        A broker not reachable yet is waited for (`reach_broker`).
        """
        if not await self.reach_broker():
            return self._report()
        workers = self._start_workers(self._output_stage(), stages, service=True)
        if self._workers is not None:
            for stage in stages:
                heartbeat = Heartbeat(
                    self._workers,
                    stage,
                    self.stats.stage(stage),
                    interval=self._options.heartbeat_interval,
                    metrics_port=metrics_port,
                )
                workers.append(asyncio.create_task(heartbeat.run(), name=f"heartbeat-{stage}"))
        try:
            while not self._stop.is_set():
                for task in workers:
                    if task.done() and not task.cancelled() and (error := task.exception()):
                        raise error
                self._progress.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self._progress.wait()
            await self._finish_in_flight(stages)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        return self._report()

    async def _finish_in_flight(self, stages: Sequence[StageName]) -> None:
        for worker in self._stage_workers:
            worker.stop_intake()
        for output in self._output_stages:
            output.stop_intake()
        counters = [self.stats.stage(stage) for stage in stages]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._options.shutdown_timeout
        # Polled: handlers end in tasks of their own, and polling for a few seconds at
        # exit costs nothing next to an event every handler would have to set.
        while any(c.in_flight for c in counters) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if left := sum(c.in_flight for c in counters):
            log.warning("shutdown timeout: %d messages in flight go back to the queue", left)

    async def ingest(
        self, source: TicketSource, index: TransactionIndex | None, on_reject: RejectHandler
    ) -> RunReport:
        """Publish the open tickets not done yet, then return (`supporter ingest`).

        Without an `index` the tickets go out without transactions, for the analyze
        workers to look up in the shared store. A broker not reachable yet is waited
        for (`reach_broker`)."""
        if not await self.reach_broker():
            return self._report()
        ingestor = await self._ingestor(index)
        await ingestor.run(source, on_reject, self._stop)
        return self._report()

    async def _declare(self) -> None:
        for queue in self.queues:
            await self._broker.declare(queue)

    async def reach_broker(self) -> bool:
        """Declare the queues, waiting up to `broker_wait` seconds for a broker that
        cannot be reached yet (BrokerUnreachable), with the pause between tries of a
        service's store writes. False when a stop is requested first (at once, even
        in the middle of a try). A broker that answers and refuses (bad credentials)
        raises its BrokerError at once, and one still out of reach after the wait
        raises BrokerUnreachable saying how long it was waited for."""
        if self._reached:
            return True
        loop = asyncio.get_running_loop()
        wait = self._options.broker_wait
        started = loop.time()
        next_note = started + BROKER_WAIT_NOTE_EVERY
        attempt = 0
        while True:
            attempt += 1
            try:
                await until_stopped(self._declare(), self._stop)
                if self._stop.is_set():
                    return False
            except BrokerUnreachable as error:
                now = loop.time()
                waited = now - started
                if waited >= wait:
                    if attempt == 1:
                        raise
                    raise BrokerUnreachable(f"{error} (waited {waited:.0f} s for it)") from error
                if attempt == 1:
                    log.warning(
                        "waiting up to %g s for the broker, which cannot be reached yet: %s",
                        wait,
                        error,
                    )
                elif now >= next_note:
                    next_note = now + BROKER_WAIT_NOTE_EVERY
                    log.warning(
                        "still waiting for the broker (%.0f s of %g s): %s", waited, wait, error
                    )
                pause = min(SERVICE_STORE_RETRIES.delay(attempt), started + wait - now)
                await until_stopped(asyncio.sleep(pause), self._stop)
                if self._stop.is_set():
                    return False
                continue
            if attempt > 1:
                log.warning("reached the broker after %.0f s", loop.time() - started)
            self._reached = True
            return True

    def _output_stage(self) -> OutputStage:
        output = OutputStage(
            self._broker,
            self._store,
            self.version,
            self._sinks,
            self,
            batch_size=self._options.output_batch_size,
            store_retries=self._options.store_retries,
            counters=self.stats.stage("sink"),
            write_back=self.write_back_route(),
        )
        self._output_stages.append(output)
        return output

    def write_back_route(self) -> WriteBackRoute | None:
        """Where stored results go for write-back (counted in this pipeline's stats)."""
        if self._write_back is None:
            return None
        route = self._write_back.route
        return WriteBackRoute(
            route.helpdesk,
            route.mode,
            route.public_replies,
            on_published=self.on_write_back_published,
            on_dead_letter=self.on_write_back_dead,
        )

    async def _process(self, intake: Coroutine[Any, Any, None]) -> None:
        await self._declare()
        output = self._output_stage()
        stages: tuple[StageName, ...] = ("analyze", "respond", "sink")
        if self._write_back is not None:
            stages = (*stages, "write-back")
        workers = self._start_workers(output, stages)
        intake_task = asyncio.create_task(intake)
        try:
            await self._wait_until_drained(intake_task, workers)
            if self._fatal is not None and not output.stopped:
                await self._drain_output(output)
        finally:
            intake_task.cancel()
            for worker in workers:
                worker.cancel()
            await asyncio.gather(intake_task, *workers, return_exceptions=True)

    def _start_workers(
        self, output: OutputStage, stages: Sequence[StageName], *, service: bool = False
    ) -> list[asyncio.Task[None]]:
        """The stages' tasks. In a `service` (serve, a worker) the write-back stage parks
        write-backs while its helpdesk is unavailable; a batch (a replay) must end, so
        there they spend their tries and are dead-lettered again."""
        options = self._options
        backup = self._fallback
        tasks: list[asyncio.Task[None]] = []
        if "analyze" in stages:
            analyzer = Analyzer(self._provider, self._taxonomy)
            spare = Analyzer(backup, self._taxonomy) if backup else None
            stage = analyze_stage(
                analyzer,
                concurrency=options.analyze_concurrency,
                fallback=spare,
                lookup=self._lookup(),
            )
            tasks.append(self._start(stage))
        if "respond" in stages:
            responder = Responder(self._provider, self._knowledge)
            spare_responder = Responder(backup, self._knowledge) if backup else None
            tasks.append(
                self._start(
                    respond_stage(
                        responder,
                        concurrency=options.respond_concurrency,
                        fallback=spare_responder,
                    )
                )
            )
        if "sink" in stages:
            for queue in self.output_queues:
                tasks.append(asyncio.create_task(output.run(queue), name=f"output-{queue}"))
        setup = self._write_back
        if "write-back" in stages and setup is not None:
            work = WriteBacks(
                setup.connect(),
                setup.state,
                public_replies=setup.public_replies,
                on_settled=self.on_write_back,
            )
            tasks.append(self._start(work.stage(concurrency=setup.concurrency), park=service))
        return tasks

    def _lookup(self) -> TransactionLookup | None:
        index, window = self._transactions, self._options.ingest.window
        if index is None:
            return None

        async def lookup(ticket: Ticket) -> list[Transaction]:
            return await window.of(index, ticket)

        return lookup

    def _start(self, stage: Stage[In, Out], *, park: bool = False) -> asyncio.Task[None]:
        """A stage's worker and circuit breaker. One that `park`s opens its circuit no
        later than a message's last try: one message failing alone (the only write-back
        of a quiet hour) must open it before its tries run out, not be dead-lettered."""
        counters = self.stats.stage(stage.name)
        threshold = self._options.circuit_threshold
        if park:
            threshold = min(threshold, self._options.policy.max_attempts)
        breaker = CircuitBreaker(
            stage.name,
            threshold=threshold,
            reset_after=self._options.circuit_reset_after,
        )
        self.breakers[stage.name] = breaker
        worker = StageWorker(
            stage,
            self._broker,
            self._options.policy,
            counters,
            self.on_fatal,
            breaker,
            window=self._options.publish_window,
            park=park,
        )
        self._stage_workers.append(worker)
        return asyncio.create_task(worker.run(), name=f"stage-{stage.name}")

    async def _wait_until_drained(
        self, intake: asyncio.Task[None], workers: Sequence[asyncio.Task[None]]
    ) -> None:
        stats = self.stats
        deadline: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            for task in (intake, *workers):
                # A stage that crashed would leave the run waiting forever: fail loudly.
                if task.done() and not task.cancelled() and (error := task.exception()):
                    raise error
            if (
                intake.done()
                and stats.finalized >= stats.published
                and stats.write_backs_settled >= stats.write_backs_published
            ):
                return
            if self._fatal is not None:
                return
            if self._stop.is_set() and deadline is None:
                deadline = loop.time() + self._options.shutdown_timeout
            if deadline is not None and loop.time() >= deadline:
                log.warning(
                    "shutdown timeout: %d tickets in flight are left for the next run",
                    stats.published - stats.finalized,
                )
                return
            self._progress.clear()
            timeout = 0.2 if deadline is None else max(0.0, min(0.2, deadline - loop.time()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._progress.wait()

    async def _drain_output(self, output: OutputStage) -> None:
        """After a fatal error, store what the other stages had already finished.

        The stage that met the error keeps its messages for the next run; the
        output stage is given up to `shutdown_timeout` to empty its queues.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._options.shutdown_timeout
        quiet_checks = 0
        while quiet_checks < 3 and loop.time() < deadline and not output.stopped:
            depths = [await self._broker.depth(queue) for queue in self.output_queues]
            idle = not any(depths) and not output.busy
            quiet_checks = quiet_checks + 1 if idle else 0
            await asyncio.sleep(0.05)

    async def _write_earlier_results(self, ticket_ids: list[str]) -> None:
        """Tickets done in an earlier run still get their line in this run's output."""
        for start in range(0, len(ticket_ids), 1000):
            results = await self._store.results(ticket_ids[start : start + 1000])
            for sink in self._sinks:
                sink.write(results)
            self.stats.earlier_failed += sum(result.status == "failed" for result in results)
