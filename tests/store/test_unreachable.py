"""A database that goes away (a restart, a failover) is a StoreError or a transient
error to the code that asked, never a raw socket error that would kill a worker, and
no message names the password of the URL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from tests.conftest import require_service
from tests.proxy import TcpProxy

from supporter.domain.errors import TransientError
from supporter.pipeline.heartbeat import Heartbeat
from supporter.pipeline.stats import StageCounters
from supporter.store.base import StoreError
from supporter.store.sql import SqlStore
from supporter.store.workers import SqlWorkerRegistry
from supporter.transactions.sql import SqlTransactionIndex


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    proxy = TcpProxy("127.0.0.1", 5432)
    proxy.start()
    yield proxy
    proxy.close()


@pytest.fixture
async def store(postgres_url: str, proxy: TcpProxy) -> AsyncIterator[SqlStore]:
    store = await SqlStore.open(postgres_url.replace(":5432", f":{proxy.port}"))
    yield store
    await store.close()


async def test_a_database_gone_away_is_a_store_error_to_every_caller(
    store: SqlStore, proxy: TcpProxy
) -> None:
    proxy.close()  # stops listening too: every new connection is refused
    with pytest.raises(StoreError):
        await store.counts()
    with pytest.raises(TransientError, match="could not look up transactions"):
        await SqlTransactionIndex(store.engine).recent(
            "C1", until=datetime(2024, 5, 1, tzinfo=UTC), days=90, limit=5
        )
    registry = SqlWorkerRegistry(store.engine)
    with pytest.raises(StoreError, match="could not record a heartbeat"):
        await registry.beat(Heartbeat(registry, "analyze", StageCounters()).snapshot())


async def test_opening_an_unreachable_store_hides_the_password() -> None:
    with pytest.raises(StoreError) as raised:
        await SqlStore.open("postgresql://supporter:s3cret-pw@127.0.0.1:1/nowhere")
    assert "s3cret-pw" not in str(raised.value)
    assert "cannot open the store at postgresql://supporter:***@127.0.0.1:1/nowhere" in str(
        raised.value
    )
