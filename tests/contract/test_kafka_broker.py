import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from tests.contract.broker_contract import BrokerContract

from supporter.brokers.base import Broker
from supporter.brokers.kafka import KafkaBroker
from supporter.testing.tansu import TansuServer


class TestKafkaBroker(BrokerContract):
    @pytest.fixture
    async def broker(self, tansu: TansuServer) -> AsyncIterator[KafkaBroker]:
        # Tansu lets a group form after half the session timeout: short, for quick joins.
        broker = KafkaBroker(tansu.url, prefix=f"test-{uuid.uuid4().hex[:12]}", session_timeout=2.0)
        yield broker
        for queue in broker.declared:
            await broker.delete(queue)
        await broker.close()

    async def _make_due_visible(self, broker: Broker, queue: str) -> None:
        # Delayed messages move to the queue while a consumer of the queue runs.
        async with broker.consume(queue, prefetch=1):
            for _ in range(200):
                if await broker.depth(queue) > 0:
                    return
                await asyncio.sleep(0.05)
