"""Choices made from settings."""

from __future__ import annotations

import contextlib
import re

import pytest

from supporter.cli.wiring import model_api, model_timeouts, provider
from supporter.config import ConfigError, Settings


def test_flex_waits_longer_by_default_and_explicit_timeouts_win() -> None:
    assert model_timeouts(Settings()) == (30.0, 120.0)
    # OpenAI's flex guide: flex requests may queue; raise the timeout to 15 minutes.
    assert model_timeouts(Settings(service_tier="flex")) == (900.0, 960.0)
    assert model_timeouts(Settings(service_tier="flex", request_timeout=60)) == (60.0, 120.0)
    assert model_timeouts(Settings(request_timeout=5, ticket_deadline=20)) == (5.0, 20.0)


def test_the_responses_api_on_openai_and_chat_completions_on_compatible_servers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert model_api(Settings()) == "responses"
    assert model_api(Settings(base_url="https://api.openai.com/v1")) == "responses"
    assert model_api(Settings(base_url="http://127.0.0.1:11434/v1")) == "chat"
    assert model_api(Settings(base_url="http://vllm:8000/v1", api="responses")) == "responses"
    assert model_api(Settings(api="chat")) == "chat"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    assert model_api(Settings()) == "chat"


async def test_batch_needs_the_store_that_remembers_the_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings = Settings(provider="openai", batch=True, llm_cache=None)
    async with contextlib.AsyncExitStack() as resources:
        with pytest.raises(ConfigError, match="--batch is for `supporter run`"):
            provider(settings, resources)


@pytest.mark.parametrize("name", ["chatwoot", "zammad"])
async def test_metrics_count_every_connectors_requests(name: str) -> None:
    """Each connector reports its requests through the port (`request_counts`), whatever
    it calls its HTTP client."""
    from supporter.cli.wiring import watch_helpdesk
    from supporter.helpdesks import registry
    from supporter.observability.metrics import Metrics
    from supporter.pipeline.stats import RunStats
    from supporter.testing import fake_chatwoot, fake_zammad

    server: fake_chatwoot.FakeChatwoot | fake_zammad.FakeZammad
    if name == "chatwoot":
        server = fake_chatwoot.FakeChatwoot(fake_chatwoot.FakeChatwootConfig())
        environ = {
            "SUPPORTER_CHATWOOT_ACCOUNT_ID": str(fake_chatwoot.DEFAULT_ACCOUNT),
            "SUPPORTER_CHATWOOT_TOKEN": fake_chatwoot.DEFAULT_TOKEN,
        }
    else:
        server = fake_zammad.FakeZammad(fake_zammad.FakeZammadConfig())
        environ = {"SUPPORTER_ZAMMAD_TOKEN": fake_zammad.DEFAULT_TOKEN}
    await server.start()
    try:
        environ[f"SUPPORTER_{name.upper()}_URL"] = server.url
        helpdesk = registry.connect(name, environ)
        try:
            metrics = Metrics(RunStats(), ())
            watch_helpdesk(metrics, helpdesk)
            await helpdesk.check()
            shown = metrics.render().decode()
        finally:
            await helpdesk.aclose()
    finally:
        await server.stop()
    found = re.search(
        rf'^supporter_helpdesk_requests_total\{{helpdesk="{name}",outcome="ok"\}} (\S+)$',
        shown,
        re.MULTILINE,
    )
    assert found is not None, shown
    assert float(found.group(1)) >= 1
