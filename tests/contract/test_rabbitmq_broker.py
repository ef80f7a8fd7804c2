import uuid
from collections.abc import AsyncIterator

import pytest
from tests.conftest import require_service
from tests.contract.broker_contract import BrokerContract

from supporter.brokers.rabbitmq import RabbitMQBroker

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"


class TestRabbitMQBroker(BrokerContract):
    @pytest.fixture
    async def broker(self) -> AsyncIterator[RabbitMQBroker]:
        require_service("RabbitMQ", "127.0.0.1", 5672)
        broker = RabbitMQBroker(RABBITMQ_URL, prefix=f"test-{uuid.uuid4().hex[:12]}")
        yield broker
        for queue in broker.declared:
            await broker.delete(queue)
        await broker.close()
