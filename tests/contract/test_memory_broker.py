from collections.abc import AsyncIterator

import pytest

from supporter.brokers.memory import MemoryBroker
from tests.contract.broker_contract import BrokerContract


class TestMemoryBroker(BrokerContract):
    @pytest.fixture
    async def broker(self) -> AsyncIterator[MemoryBroker]:
        broker = MemoryBroker(maxsize=100)
        yield broker
        await broker.close()
