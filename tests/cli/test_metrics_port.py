"""`--metrics-port`: off at 0, a free port instead of a taken one (said once)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from tests.conftest import require_service
from tests.e2e.processes import Processes, clean

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.memory import MemoryBroker
from supporter.cli import wiring
from supporter.cli.status import metrics_url
from supporter.config import Settings
from supporter.llm.offline import OfflineProvider
from supporter.pipeline.orchestrator import Pipeline, PipelineOptions
from supporter.store.sql import SqlStore, sqlite_url

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[tuple[Pipeline, SqlStore]]:
    store = await SqlStore.open(sqlite_url(tmp_path / "run.db"))
    broker = MemoryBroker()
    pipeline = Pipeline(
        broker, store, OfflineProvider(DEFAULT_TAXONOMY), DEFAULT_TAXONOMY, [], PipelineOptions()
    )
    yield pipeline, store
    await broker.close()
    await store.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(("setting", "default"), [(0, 9464), (None, None)])
async def test_no_server_when_the_port_is_off(
    parts: tuple[Pipeline, SqlStore], setting: int | None, default: int | None
) -> None:
    pipeline, store = parts
    async with contextlib.AsyncExitStack() as resources:
        settings = Settings(metrics_port=setting)
        served = await wiring.serve_metrics(
            settings, resources, pipeline, store, ("analyze",), default_port=default
        )
        assert served is None


async def test_the_server_answers_until_its_resources_close(
    parts: tuple[Pipeline, SqlStore],
) -> None:
    pipeline, store = parts
    port = free_port()
    async with contextlib.AsyncExitStack() as resources:
        served = await wiring.serve_metrics(
            Settings(), resources, pipeline, store, ("analyze",), default_port=port
        )
        assert served is not None
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            assert response.status == 200
            assert 'supporter_stage_in_flight{stage="analyze"} 0.0' in await response.text()
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", port))  # released


async def test_a_taken_port_moves_the_metrics_to_a_free_one_and_says_so_once(
    parts: tuple[Pipeline, SqlStore], caplog: pytest.LogCaptureFixture
) -> None:
    pipeline, store = parts
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        async with contextlib.AsyncExitStack() as resources:
            served = await wiring.serve_metrics(
                Settings(metrics_port=port),
                resources,
                pipeline,
                store,
                ("sink",),
                default_port=None,
            )
            assert served is not None
            assert served.port not in (0, port)
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{served.port}/metrics") as response,
            ):
                assert response.status == 200
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert warnings == [
        f"metrics port {port} is unavailable (Address already in use): "
        f"serving metrics on port {served.port} instead"
    ]


@pytest.mark.slow
def test_workers_started_alike_share_a_host_and_status_says_where_each_serves(
    tmp_path: Path,
) -> None:
    """The issue's case: workers started the same way on one host, one metrics port
    between them. Every one keeps working and reports a port of its own."""
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"metrics-{uuid.uuid4().hex[:8]}"
    environment = {
        **os.environ,
        "SUPPORTER_BROKER_URL": REDIS,
        "SUPPORTER_BROKER_PREFIX": prefix,
        "SUPPORTER_DB": str(tmp_path / "shared.db"),
        "SUPPORTER_HEARTBEAT_INTERVAL": "0.2",
    }
    environment.pop("SUPPORTER_STORE_URL", None)
    port = str(free_port())
    processes = Processes(tmp_path, environment)
    try:
        workers = [
            processes.start("worker", stage, "--metrics-port", port, "--log-format", "json")
            for stage in ("analyze", "analyze", "respond")
        ]
        beats: list[dict[str, object]] = []
        deadline = time.monotonic() + 60
        while len(beats) < 3 and time.monotonic() < deadline:
            assert all(worker.poll() is None for worker in workers), processes.logs()
            status = processes.run("status", "--json")
            if status.returncode == 0:
                beats = json.loads(status.stdout)["workers"]
            time.sleep(0.2)
        table = processes.run("status")
        scraped = [urllib.request.urlopen(str(metrics_url(beat))).status for beat in beats]
        assert all(worker.poll() is None for worker in workers), processes.logs()
    finally:
        codes = processes.stop()
        clean("redis", prefix)
    assert codes == [0, 0, 0], processes.logs()
    ports = sorted(int(str(beat["metrics_port"])) for beat in beats)
    assert len(set(ports)) == 3
    assert int(port) in ports
    assert scraped == [200, 200, 200]
    for beat in beats:
        assert f":{beat['metrics_port']}/metrics" in table.stderr.decode()
    assert processes.logs().count("serving metrics on port") == 2
