from collections.abc import AsyncIterator

import pytest
from tests.contract.broker_contract import BrokerContract

from supporter.brokers.memory import MemoryBroker


class TestMemoryBroker(BrokerContract):
    @pytest.fixture
    async def broker(self) -> AsyncIterator[MemoryBroker]:
        broker = MemoryBroker(maxsize=100)
        yield broker
        await broker.close()
