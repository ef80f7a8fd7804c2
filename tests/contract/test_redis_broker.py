import uuid
from collections.abc import AsyncIterator

import pytest
from tests.conftest import require_service
from tests.contract.broker_contract import BrokerContract

from supporter.brokers.base import Broker
from supporter.brokers.redis import RedisStreamsBroker

REDIS_URL = "redis://127.0.0.1:6379/0"


class TestRedisStreamsBroker(BrokerContract):
    @pytest.fixture
    async def broker(self) -> AsyncIterator[RedisStreamsBroker]:
        require_service("Redis", "127.0.0.1", 6379)
        broker = RedisStreamsBroker(REDIS_URL, prefix=f"test-{uuid.uuid4().hex[:12]}")
        yield broker
        await broker.delete_keys()
        await broker.close()

    async def _make_due_visible(self, broker: Broker, queue: str) -> None:
        # What a running consumer does every `block` seconds.
        assert isinstance(broker, RedisStreamsBroker)
        await broker.scripts["move_due"](
            keys=[broker.delayed_key(queue), broker.stream_key(queue)], args=[100]
        )
