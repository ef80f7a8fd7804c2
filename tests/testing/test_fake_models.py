"""The simulator takes what each model takes and rejects the rest, as OpenAI does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from supporter.testing.fake_llm import FakeLLM, FakeLLMConfig
from supporter.testing.fake_models import REASONING_TOKENS

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]


@pytest.fixture
async def client() -> AsyncIterator[openai.AsyncOpenAI]:
    server = FakeLLM(FakeLLMConfig(latency_ms=1, latency_jitter=0, seed=1))
    url = await server.start()
    async with openai.AsyncOpenAI(base_url=url, api_key="test", max_retries=0) as client:
        yield client
    await server.stop()


@pytest.mark.parametrize(
    ("model", "options", "param"),
    [
        # Reasoning on (the default effort): no sampling parameters.
        ("gpt-6-luna", {"temperature": 0.2}, "temperature"),
        ("gpt-6-luna", {"reasoning_effort": "low", "top_p": 0.9}, "top_p"),
        # gpt-6.2-sol cannot turn reasoning off.
        ("gpt-6.2-sol", {"reasoning_effort": "none"}, "reasoning_effort"),
        ("gpt-6.2-sol", {"reasoning_effort": "none", "temperature": 0.2}, "reasoning_effort"),
        # A model that does not reason takes no effort; one that does, no max_tokens.
        ("gpt-4o", {"reasoning_effort": "low"}, "reasoning_effort"),
        ("gpt-6-luna", {"max_tokens": 100}, "max_tokens"),
    ],
)
async def test_parameters_a_model_rejects_get_a_400_naming_them(
    client: openai.AsyncOpenAI, model: str, options: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model=model, messages=MESSAGES, **options)
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("model", "options"),
    [
        ("gpt-6-luna", {"reasoning_effort": "none", "temperature": 0.2}),
        ("gpt-6.2-sol", {"reasoning_effort": "low", "max_completion_tokens": 500}),
        ("gpt-4o", {"temperature": 0.2, "max_tokens": 100}),
        ("llama3", {"temperature": 0.2, "reasoning_effort": "low"}),  # unknown: anything
    ],
)
async def test_parameters_a_model_takes_are_answered(
    client: openai.AsyncOpenAI, model: str, options: dict[str, Any]
) -> None:
    completion = await client.chat.completions.create(model=model, messages=MESSAGES, **options)
    assert completion.choices[0].message.content


async def test_reasoning_is_billed_as_output_tokens(client: openai.AsyncOpenAI) -> None:
    low = await client.chat.completions.create(
        model="gpt-6-luna", messages=MESSAGES, reasoning_effort="low"
    )
    off = await client.chat.completions.create(
        model="gpt-6-luna", messages=MESSAGES, reasoning_effort="none"
    )
    assert low.usage is not None
    assert off.usage is not None
    assert low.usage.completion_tokens_details is not None
    assert low.usage.completion_tokens_details.reasoning_tokens == REASONING_TOKENS["low"]
    assert low.usage.completion_tokens == off.usage.completion_tokens + REASONING_TOKENS["low"]


async def test_the_responses_api_answers_structured_outputs(client: openai.AsyncOpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "body": {"type": "string"},
            "ids": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["body", "ids"],
        "additionalProperties": False,
    }
    response = await client.responses.create(
        model="gpt-6-luna",
        input=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}],
        text={"format": {"type": "json_schema", "name": "reply", "schema": schema, "strict": True}},
        reasoning={"effort": "low"},
        max_output_tokens=2000,
    )
    assert response.status == "completed"
    assert set(json.loads(response.output_text)) == {"body", "ids"}
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens == REASONING_TOKENS["low"]
    assert response.usage.input_tokens > 0


@pytest.mark.parametrize(
    ("model", "options", "param"),
    [
        ("gpt-6-luna", {"temperature": 0.2}, "temperature"),
        ("gpt-6.2-sol", {"reasoning": {"effort": "none"}}, "reasoning.effort"),
    ],
)
async def test_the_responses_api_rejects_what_the_model_rejects(
    client: openai.AsyncOpenAI, model: str, options: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(model=model, input="hello", **options)
    assert caught.value.param == param
    assert "reasoning_effort" not in str(caught.value.message)
