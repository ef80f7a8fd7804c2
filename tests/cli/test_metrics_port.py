"""`--metrics-port`: off at 0, a clear error when the port is taken."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.memory import MemoryBroker
from supporter.cli import wiring
from supporter.config import ConfigError, Settings
from supporter.llm.offline import OfflineProvider
from supporter.pipeline.orchestrator import Pipeline, PipelineOptions
from supporter.store.sql import SqlStore, sqlite_url


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


async def test_a_taken_port_is_a_clear_error(parts: tuple[Pipeline, SqlStore]) -> None:
    pipeline, store = parts
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        async with contextlib.AsyncExitStack() as resources:
            with pytest.raises(ConfigError, match=f"cannot serve metrics on port {port}"):
                await wiring.serve_metrics(
                    Settings(metrics_port=port),
                    resources,
                    pipeline,
                    store,
                    ("sink",),
                    default_port=None,
                )
