"""The simulator counts tokens as OpenAI does, offline."""

from __future__ import annotations

import openai

from supporter.testing import fake_tokens
from supporter.testing.fake_llm import FakeLLM, FakeLLMConfig

TEXT = "Hello, I was charged twice for order 12345 — please help!"


def test_counts_come_from_the_o200k_encoding_shipped_in_a_package() -> None:
    assert fake_tokens.exact()
    # o200k_base splits it as: Hello , ␣I ␣was ␣charged ␣twice ␣for ␣order ␣ 123 45 ␣— ␣please
    # ␣help ! (the estimate of four characters a token would say 14).
    assert fake_tokens.count(TEXT) == 15
    assert (
        fake_tokens.count("Olá, fui cobrado duas vezes") != len("Olá, fui cobrado duas vezes") // 4
    )


async def test_the_usage_reports_the_counted_tokens() -> None:
    server = FakeLLM(FakeLLMConfig(latency_ms=1, latency_jitter=0))
    url = await server.start()
    async with openai.AsyncOpenAI(base_url=url, api_key="test", max_retries=0) as client:
        completion = await client.chat.completions.create(
            model="gpt-4o",
            messages=[
                {"role": "system", "content": "You sort tickets."},
                {"role": "user", "content": TEXT},
            ],
        )
    await server.stop()
    assert completion.usage is not None
    expected = fake_tokens.count_messages([("system", "You sort tickets."), ("user", TEXT)])
    assert completion.usage.prompt_tokens == expected
    content = completion.choices[0].message.content or ""
    assert completion.usage.completion_tokens == fake_tokens.count(content)
