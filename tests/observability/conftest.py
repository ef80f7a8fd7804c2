"""What the observability tests share: the project's OpenAI-compatible simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from supporter.testing.fake_llm import FakeLLM, FakeLLMConfig


@pytest.fixture
async def llm() -> AsyncIterator[tuple[FakeLLM, str]]:
    """The simulator on a free port, answering in 5 ms with no errors (tests set some),
    and its base URL."""
    fake = FakeLLM(FakeLLMConfig(latency_ms=5, latency_jitter=0, error_rates={}, seed=11))
    base_url = await fake.start()
    yield fake, base_url
    await fake.stop()
