"""Intake on the real brokers: a window of publishes in flight, and a stop that ends
intake within the shutdown timeout wherever it waits (a full queue, a broker that
stops answering, a stage paused because its provider is down)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.conftest import broker_of, start_tansu
from tests.pipeline.fakes import FlakyProvider
from tests.proxy import TcpProxy

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.base import Broker
from supporter.domain.errors import TransientError
from supporter.domain.models import Ticket
from supporter.llm.offline import OfflineProvider
from supporter.observability.readings import CircuitState
from supporter.pipeline.orchestrator import Pipeline, PipelineOptions, RunReport
from supporter.pipeline.stages import TICKETS
from supporter.sources.base import RejectHandler
from supporter.store.sql import SqlStore, sqlite_url
from supporter.testing.tansu import TansuServer, free_port
from supporter.transactions.sql import SqlTransactionIndex

GRACE = 1.0
# What a stop may take beyond the grace on this shared machine: scheduling, closing.
SLACK = 2.0
BOUND = 3
BROKERS = ["rabbitmq", "redis", "kafka"]
OPEN = CircuitState.OPEN


class EndlessTickets:
    """Open tickets for as long as they are read."""

    def __init__(self) -> None:
        self.read = 0

    async def tickets(self, on_reject: RejectHandler) -> AsyncIterator[Ticket]:
        for number in itertools.count():
            self.read += 1
            yield Ticket(
                ticket_id=f"T{number}",
                customer_id=f"C{number % 7}",
                subject="Refund",
                body="Please refund my last payment",
                status="open",
                created_at="2024-05-02T10:00:00Z",  # type: ignore[arg-type]
            )


def no_rejects(reject: object) -> None:
    raise AssertionError(f"unexpected reject {reject}")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    opened = await SqlStore.open(sqlite_url(tmp_path / "s.db"))
    yield opened
    await opened.close()


def pipeline(broker: Broker, store: SqlStore, provider: object = None) -> Pipeline:
    options = PipelineOptions(
        publish_window=16,
        shutdown_timeout=GRACE,
        circuit_threshold=1,
        circuit_reset_after=60.0,
    )
    chosen = provider or OfflineProvider(DEFAULT_TAXONOMY)
    return Pipeline(
        broker,
        store,
        chosen,  # type: ignore[arg-type]
        DEFAULT_TAXONOMY,
        [],
        options,
        transactions=SqlTransactionIndex(store.engine),
    )


async def until(condition: object, seconds: float = 30.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def stop_and_time(intake: Pipeline, task: asyncio.Task[RunReport]) -> RunReport:
    """Stop `intake` while it waits; its report once it ended within the grace."""
    await asyncio.sleep(0.3)
    assert not task.done(), "intake was not waiting: nothing tested"
    loop = asyncio.get_running_loop()
    stopped = loop.time()
    intake.request_stop()
    report = await asyncio.wait_for(task, GRACE + 30)
    assert loop.time() - stopped <= GRACE + SLACK
    assert report.interrupted
    return report


@pytest.mark.parametrize("kind", BROKERS)
async def test_a_stop_ends_intake_waiting_on_a_full_queue(
    kind: str, request: pytest.FixtureRequest, store: SqlStore
) -> None:
    async with broker_of(kind, request, max_length=BOUND) as broker:
        intake = pipeline(broker, store)
        task = asyncio.create_task(intake.ingest(EndlessTickets(), None, no_rejects))
        await until(lambda: intake.stats.published >= BOUND)
        report = await stop_and_time(intake, task)
        # A window of publishes in flight did not push the queue past its bound.
        assert report.stats.published == BOUND
        assert await broker.depth(TICKETS) == BOUND


@pytest.fixture
def proxied(kind: str, request: pytest.FixtureRequest) -> Iterator[tuple[TcpProxy, str | None]]:
    """A relay to the broker of `kind` and, for Kafka, the URL of a Tansu of this
    test's own that advertises the relay (a Kafka client talks to what it is told)."""
    port = {"rabbitmq": 5672, "redis": 6379, "kafka": free_port()}[kind]
    proxy = TcpProxy("127.0.0.1", port)
    through = proxy.start()
    tansu: TansuServer | None = None
    url = {
        "rabbitmq": f"amqp://guest:guest@127.0.0.1:{through}/",
        "redis": f"redis://127.0.0.1:{through}/0",
    }.get(kind)
    if kind == "kafka":
        tansu = TansuServer(port, advertised_port=through)
        try:
            start_tansu(tansu)
        except BaseException:
            proxy.close()
            raise
        url = tansu.url
    yield proxy, url
    proxy.close()
    if tansu is not None:
        tansu.stop()


@pytest.mark.parametrize("kind", BROKERS)
async def test_a_stop_ends_intake_waiting_on_a_broker_that_stopped_answering(
    kind: str,
    request: pytest.FixtureRequest,
    store: SqlStore,
    proxied: tuple[TcpProxy, str | None],
) -> None:
    proxy, url = proxied
    async with broker_of(kind, request, url=url) as broker:
        intake = pipeline(broker, store)
        task = asyncio.create_task(intake.ingest(EndlessTickets(), None, no_rejects))
        try:
            await until(lambda: intake.stats.published >= 20)
            proxy.hold()
            held = intake.stats.published
            report = await stop_and_time(intake, task)
            # Publishes the broker never confirmed are not counted as published.
            assert held <= report.stats.published <= held + 16
        finally:
            proxy.release()


@pytest.mark.parametrize("kind", BROKERS)
async def test_a_stop_ends_intake_and_the_stage_while_the_provider_is_paused(
    kind: str, request: pytest.FixtureRequest, store: SqlStore
) -> None:
    """The provider is down: the analyze stage's circuit opens and holds its messages,
    the queue fills, intake waits. One stop ends both within the grace."""
    down = FlakyProvider(
        {f"T{number}": 1000 for number in range(200)}, lambda _: TransientError("down")
    )
    async with broker_of(kind, request, max_length=BOUND) as broker:
        stage = pipeline(broker, store, down)
        intake = pipeline(broker, store)
        serving = asyncio.create_task(stage.serve("analyze"))
        task = asyncio.create_task(intake.ingest(EndlessTickets(), None, no_rejects))
        await until(lambda: "analyze" in stage.breakers and stage.breakers["analyze"].state is OPEN)
        await until(lambda: intake.stats.published >= BOUND)
        stage.request_stop()
        await stop_and_time(intake, task)
        await asyncio.wait_for(serving, GRACE + SLACK)
