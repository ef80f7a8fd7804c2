"""The simulator, driven by the real openai SDK over loopback."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import time
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any, Literal

import aiohttp
import openai
import pytest
import typer
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionSystemMessageParam
from pydantic import BaseModel, Field, ValidationError
from typer.testing import CliRunner

from supporter.cli.fake_llm import fake_llm, parse_error_rates
from supporter.domain.models import Analysis, GroundingCheck, Reply
from supporter.testing import fake_tokens
from supporter.testing.fake_llm import FakeLLM, FakeLLMConfig, SchemaError, compile_schema

COMPLAINT = "I was charged twice for my order."
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": COMPLAINT}]


class Channel(StrEnum):
    EMAIL = "email"
    CHAT = "chat"


class Line(BaseModel):
    label: str
    amount: float = Field(ge=0, le=500)


class Thread(BaseModel):
    title: str
    replies: list[Thread]


class Everything(BaseModel):
    language: str = Field(min_length=2, max_length=2)
    summary: str = Field(min_length=5, max_length=30)
    channel: Channel
    tone: Literal["formal", "casual"]
    kind: Literal["ticket"]
    confidence: float = Field(ge=0, le=1)
    attempts: int = Field(ge=1, le=3)
    urgent: bool
    related_transaction_ids: list[str]
    lines: list[Line] = Field(min_length=2)
    extra: Line | None
    note: str | None
    thread: Thread


Fake = tuple[FakeLLM, openai.AsyncOpenAI]


def error_body(error: openai.APIStatusError) -> dict[str, Any]:
    assert isinstance(error.body, dict)
    return error.body


def client_for(url: str, **options: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=url, api_key="test", max_retries=0, **options)


@pytest.fixture
async def fake() -> AsyncIterator[Fake]:
    server = FakeLLM(FakeLLMConfig(latency_ms=1.0, latency_jitter=0.0, seed=3))
    url = await server.start()
    client = client_for(url)
    yield server, client
    await client.close()
    await server.stop()


async def ask(client: openai.AsyncOpenAI, content: str = "hello", **options: Any) -> Any:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": content}]
    return await client.chat.completions.create(model="gpt-test", messages=messages, **options)


# -- answers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [Everything, Analysis, Reply, GroundingCheck])
async def test_structured_output_parses_into_the_requested_model(
    fake: Fake, model: type[BaseModel]
) -> None:
    server, client = fake
    completion = await client.chat.completions.parse(
        model="gpt-test", messages=USER, response_format=model
    )
    choice = completion.choices[0]
    assert isinstance(choice.message.parsed, model)
    assert choice.finish_reason == "stop"
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-test"
    assert completion.id.startswith("chatcmpl-")
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == fake_tokens.count_messages([("user", COMPLAINT)])
    assert completion.usage.completion_tokens == fake_tokens.count(choice.message.content or "")
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert server.outcomes == {"ok": 1}


async def test_generated_content_is_plausible_and_invents_no_ids(fake: Fake) -> None:
    _, client = fake
    completion = await client.chat.completions.parse(
        model="gpt-test", messages=USER, response_format=Analysis
    )
    analysis = completion.choices[0].message.parsed
    assert analysis is not None
    assert analysis.language == "en"
    assert analysis.summary.endswith(".")
    assert 0.5 <= analysis.confidence <= 0.95
    assert analysis.related_transaction_ids == []


async def test_content_is_deterministic_per_seed_and_last_user_message() -> None:
    async def answer(seed: int, text: str) -> str:
        async with FakeLLM(FakeLLMConfig(latency_ms=0, seed=seed)) as url:
            client = client_for(url)
            completion = await client.chat.completions.parse(
                model="m", messages=[{"role": "user", "content": text}], response_format=Analysis
            )
            await client.close()
            return completion.choices[0].message.content or ""

    first = await answer(1, "refund please")
    assert await answer(1, "refund please") == first
    others = {await answer(1, text) for text in ("a", "b", "c", "d", "e")}
    others |= {await answer(seed, "refund please") for seed in range(2, 6)}
    assert others - {first}


async def test_without_response_format_answers_text(fake: Fake) -> None:
    _, client = fake
    completion = await ask(client)
    assert completion.choices[0].message.content
    assert completion.choices[0].message.refusal is None


async def test_json_object_mode_answers_a_json_object(fake: Fake) -> None:
    _, client = fake
    completion = await ask(client, response_format={"type": "json_object"})
    assert isinstance(json.loads(completion.choices[0].message.content), dict)


async def test_repeated_long_prefix_reports_cached_tokens(fake: Fake) -> None:
    _, client = fake
    system: ChatCompletionSystemMessageParam = {
        "role": "system",
        "content": "Policy: refunds take 5-10 days. " * 200,
    }  # ~1600 tok

    async def usage(question: str) -> Any:
        messages: list[ChatCompletionMessageParam] = [system, {"role": "user", "content": question}]
        completion = await client.chat.completions.create(model="m", messages=messages)
        return completion.usage

    first = await usage("Where is my refund?")
    second = await usage("Why was I charged twice?")
    assert first.prompt_tokens_details.cached_tokens == 0
    # The shared prefix is ~1603 tokens long: cached in 128-token steps from 1024.
    assert second.prompt_tokens_details.cached_tokens == 1536
    short = await ask(client, "short prompts are never cached")
    assert short.usage.prompt_tokens_details.cached_tokens == 0


async def test_too_small_max_tokens_cuts_the_answer_off(fake: Fake) -> None:
    _, client = fake
    completion = await ask(client, "hi", max_tokens=3)
    assert completion.choices[0].finish_reason == "length"
    assert len(completion.choices[0].message.content) == 12
    assert completion.usage.completion_tokens == 3
    with pytest.raises(openai.LengthFinishReasonError):
        await client.chat.completions.parse(
            model="m", messages=USER, response_format=Reply, max_completion_tokens=5
        )


async def test_lists_models(fake: Fake) -> None:
    _, client = fake
    models = {model.id: model async for model in client.models.list()}
    assert "fake-llm" in models
    assert models["gpt-4o"].shutdown_date == "2027-01-14"
    assert models["gpt-5"].shutdown_date == "2026-12-11"
    assert models["gpt-6-luna"].shutdown_date is None


async def test_requests_are_recorded_in_order(fake: Fake) -> None:
    server, client = fake
    await ask(client, "first")
    await ask(client, "second", max_tokens=50)
    assert [body["messages"][0]["content"] for body in server.requests] == ["first", "second"]
    assert server.requests[1]["max_tokens"] == 50
    assert server.requests[0]["model"] == "gpt-test"


# -- bad requests --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "model"),
        (b'{"model": "m"}', "messages"),
        (b'{"model": "m", "messages": []}', "messages"),
        (b'{"model": "m", "messages": ["hi"]}', "messages[0]"),
        (b'{"model": "m", "messages": [{"role": "user"}], "stream": true}', "stream"),
        (
            b'{"model": "m", "messages": [{"role": "user"}], "response_format": {"type": "x"}}',
            "response_format.type",
        ),
    ],
)
async def test_bad_requests_get_openai_style_400s(
    fake: Fake, body: bytes, param: str | None
) -> None:
    server, client = fake
    url = str(client.base_url).rstrip("/") + "/chat/completions"
    async with aiohttp.ClientSession() as session, session.post(url, data=body) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"]
    assert server.outcomes == {"400": 1}


async def test_strict_schema_must_close_objects_and_require_every_field(fake: Fake) -> None:
    _, client = fake

    def strict(model: type[BaseModel], strict: bool = True) -> dict[str, Any]:
        # pydantic's own schema, not the SDK's strict rewrite of it
        spec = {"name": model.__name__, "schema": model.model_json_schema(), "strict": strict}
        return {"type": "json_schema", "json_schema": spec}

    with pytest.raises(openai.BadRequestError, match="Missing 'related_transaction_ids'"):
        await ask(client, response_format=strict(Analysis))
    with pytest.raises(openai.BadRequestError, match="'additionalProperties' is required"):
        await ask(client, response_format=strict(Line))
    completion = await ask(client, response_format=strict(Analysis, strict=False))
    Analysis.model_validate_json(completion.choices[0].message.content)


def test_schema_generator_covers_pydantic_schemas() -> None:
    for model in (Everything, Analysis, Reply, GroundingCheck, Thread):
        generate = compile_schema(model.model_json_schema())
        for seed in range(30):
            model.model_validate(generate(random.Random(seed), "", 0))


def test_schema_generator_handles_type_lists_all_of_and_exclusive_bounds() -> None:
    schema = {
        "type": "object",
        "properties": {
            "maybe": {"type": ["string", "null"]},
            "merged": {"allOf": [{"properties": {"a": {"type": "integer"}}}]},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "when": {"type": "string", "format": "date-time"},
        },
    }
    value = compile_schema(schema)(random.Random(1), "", 0)
    assert value["maybe"] is None or isinstance(value["maybe"], str)
    assert isinstance(value["merged"]["a"], int)
    assert 0 < value["ratio"] < 1
    assert value["when"].endswith("Z")
    with pytest.raises(SchemaError, match="does not resolve"):
        compile_schema({"$ref": "#/$defs/Missing"})
    with pytest.raises(SchemaError, match="unsupported type"):
        compile_schema({"type": "tuple"})


# -- rate limits ---------------------------------------------------------------------------------


async def test_rpm_limit_refuses_a_burst_with_retry_headers_and_admits_pacing() -> None:
    # 1,200 RPM admits 20 requests per second, not 1,200 at once.
    async with FakeLLM(FakeLLMConfig(latency_ms=1, latency_jitter=0, rpm=1200)) as url:
        client = client_for(url)
        results = await asyncio.gather(*(ask(client) for _ in range(50)), return_exceptions=True)
        refused = [r for r in results if isinstance(r, openai.RateLimitError)]
        assert len(refused) >= 10
        assert sum(not isinstance(r, Exception) for r in results) >= 20
        assert len(refused) + sum(not isinstance(r, Exception) for r in results) == 50
        error = refused[-1]
        assert error.code == "rate_limit_exceeded"
        assert error_body(error)["type"] == "requests"
        assert "Rate limit reached for requests" in error.message
        assert error.response.headers["retry-after"] == "1"
        wait_ms = int(error.response.headers["retry-after-ms"])
        assert 0 < wait_ms <= 50  # one request's worth at 20 per second
        assert error.response.headers["x-ratelimit-remaining-requests"] == "0"

        # From the now empty bucket, 16 per second for a second: under the limit, no 429.
        await asyncio.sleep(wait_ms / 1000)
        for _ in range(16):
            raw = await client.chat.completions.with_raw_response.create(model="m", messages=USER)
            await asyncio.sleep(1 / 16)
        assert raw.headers["x-ratelimit-limit-requests"] == "1200"
        assert raw.headers["x-ratelimit-reset-requests"].endswith("ms")
        await client.close()


async def test_tpm_limit_counts_prompt_and_max_tokens() -> None:
    # 6,000 TPM is 100 tokens per second; each request reserves its prompt (8 tokens:
    # "user", "hi" and the message framing) + 80 tokens.
    async with FakeLLM(FakeLLMConfig(latency_ms=1, tpm=6000)) as url:
        client = client_for(url)
        raw = await client.chat.completions.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=80
        )
        assert raw.headers["x-ratelimit-limit-tokens"] == "6000"
        assert fake_tokens.count_messages([("user", "hi")]) == 8
        assert raw.headers["x-ratelimit-remaining-tokens"] == "12"
        assert "x-ratelimit-limit-requests" not in raw.headers  # no RPM limit configured
        with pytest.raises(openai.RateLimitError) as refused:
            await ask(client, "hi", max_tokens=80)
        assert error_body(refused.value)["type"] == "tokens"
        assert refused.value.response.headers["retry-after-ms"]
        await client.close()


async def test_a_request_bigger_than_a_seconds_budget_passes_when_the_bucket_is_full() -> None:
    async with FakeLLM(FakeLLMConfig(latency_ms=1, tpm=600)) as url:  # 10 tokens per second
        client = client_for(url)
        completion = await ask(client, "x" * 400)  # ~104 tokens plus the answer
        assert completion.usage.prompt_tokens > 10
        await client.close()


# -- injected failures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (502, openai.InternalServerError),
        (503, openai.InternalServerError),
        (408, openai.APIStatusError),
    ],
)
async def test_injected_errors_surface_as_sdk_exceptions(
    fake: Fake, status: int, exception: type[openai.APIStatusError]
) -> None:
    server, client = fake
    server.config.error_rates = {status: 1.0}
    with pytest.raises(exception) as raised:
        await ask(client)
    assert raised.value.status_code == status
    assert raised.value.message
    if status == 429:
        assert raised.value.code == "rate_limit_exceeded"
        assert raised.value.response.headers["retry-after"]
        assert raised.value.response.headers["retry-after-ms"]
    assert server.outcomes == {str(status): 1}


async def test_quota_exhausted_is_a_rate_limit_error_without_retry_headers(fake: Fake) -> None:
    server, client = fake
    await ask(client)
    server.config.quota_exhausted = True
    with pytest.raises(openai.RateLimitError) as raised:
        await ask(client)
    assert raised.value.code == "insufficient_quota"
    assert error_body(raised.value)["type"] == "insufficient_quota"
    assert "retry-after" not in raised.value.response.headers
    assert "retry-after-ms" not in raised.value.response.headers
    server.config.quota_exhausted = False
    await ask(client)
    assert server.outcomes == {"ok": 2, "quota": 1}


async def test_invalid_api_key_is_an_authentication_error(fake: Fake) -> None:
    server, client = fake
    server.config.invalid_api_key = True
    with pytest.raises(openai.AuthenticationError) as raised:
        await ask(client)
    assert raised.value.code == "invalid_api_key"
    assert server.outcomes == {"401": 1}


async def test_a_hanging_request_times_out_in_the_client_and_does_not_delay_stop() -> None:
    server = FakeLLM(FakeLLMConfig(latency_ms=1, timeout_rate=1.0))
    url = await server.start()
    impatient, patient = client_for(url, timeout=0.3), client_for(url, timeout=30)
    with pytest.raises(openai.APITimeoutError):
        await ask(impatient)
    pending = asyncio.create_task(ask(patient))
    await asyncio.sleep(0.1)  # that one is now hanging on the server
    began = time.monotonic()
    await server.stop()
    assert time.monotonic() - began < 1.0
    with pytest.raises((openai.APIStatusError, openai.APIConnectionError)):
        await pending
    assert server.outcomes["timeout"] == 2
    await impatient.close()
    await patient.close()


async def test_refusal_is_reported_as_the_sdk_reports_it(fake: Fake) -> None:
    server, client = fake
    server.config.refusal_rate = 1.0
    completion = await client.chat.completions.parse(
        model="m", messages=USER, response_format=Reply
    )
    message = completion.choices[0].message
    assert message.refusal == "I can't help with that."
    assert message.content is None
    assert message.parsed is None
    assert server.outcomes == {"refusal": 1}


async def test_malformed_content_is_returned_as_is(fake: Fake) -> None:
    server, client = fake
    server.config.malformed_rate = 1.0
    completion = await ask(client)
    assert completion.choices[0].message.content == "{not json"
    with pytest.raises(ValidationError):
        await client.chat.completions.parse(model="m", messages=USER, response_format=Reply)
    assert server.outcomes == {"malformed": 2}


async def test_outcome_shares_roughly_match_the_configured_rates() -> None:
    server = FakeLLM(FakeLLMConfig(latency_ms=0, error_rates={500: 0.2}, refusal_rate=0.2, seed=11))
    async with server as url:
        client = client_for(url)
        # A few at a time: the shares are the point, and 200 connections at once can
        # fail on a busy machine before the simulator sees them.
        gate = asyncio.Semaphore(8)

        async def one() -> None:
            async with gate:
                await ask(client)

        await asyncio.gather(*(one() for _ in range(200)), return_exceptions=True)
        await client.close()
    assert sum(server.outcomes.values()) == 200
    assert 20 <= server.outcomes["500"] <= 60
    assert 20 <= server.outcomes["refusal"] <= 60
    assert server.outcomes["ok"] >= 80


async def test_latency_is_applied() -> None:
    async with FakeLLM(FakeLLMConfig(latency_ms=150, latency_jitter=0)) as url:
        client = client_for(url)
        began = time.monotonic()
        await ask(client)
        assert time.monotonic() - began >= 0.15
        await client.close()


# -- command line --------------------------------------------------------------------------------


def test_parse_error_rates() -> None:
    assert parse_error_rates("429=0.1, 500=0.05") == {429: 0.1, 500: 0.05}
    assert parse_error_rates(None) == {}
    for bad in ("429", "429=x", "200=0.1", "500=2", "429=0.6,500=0.6"):
        with pytest.raises(typer.BadParameter):
            parse_error_rates(bad)


def test_cli_rejects_bad_error_rate_with_exit_2() -> None:
    app = typer.Typer()
    app.command()(fake_llm)
    result = CliRunner().invoke(app, ["--error-rate", "429:0.1"])
    assert result.exit_code == 2
    assert "--error-rate" in result.output
    assert "STATUS=SHARE" in result.output


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_cli_serves_until_sigint_and_prints_the_outcomes() -> None:
    code = (
        "import typer; from supporter.cli.fake_llm import fake_llm; "
        "app = typer.Typer(); app.command()(fake_llm); app()"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        "--port",
        "0",
        "--latency-ms",
        "1",
        "--seed",
        "1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert process.stdout is not None
    url = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
    assert url.startswith("http://127.0.0.1:")
    client = client_for(url)
    await ask(client)
    await client.close()
    process.send_signal(signal.SIGINT)
    _, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 0
    assert "answered 1 request: ok 1" in stderr.decode()
