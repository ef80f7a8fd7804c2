"""The two OpenAI APIs on the wire: one request built for each, and their answers read alike.

Chat Completions (`/v1/chat/completions`) is what every OpenAI-compatible server
speaks (vLLM, Ollama, Azure); the Responses API (`/v1/responses`) is OpenAI's
newer one. Both take Structured Outputs under a strict JSON schema:
https://developers.openai.com/api/docs/guides/structured-outputs (`response_format`
for Chat Completions, `text.format` for Responses), `reasoning_effort` /
`reasoning.effort`, and `max_completion_tokens` / `max_output_tokens`, which
count reasoning tokens too (https://developers.openai.com/api/docs/guides/reasoning).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar

import openai
from openai import Omit, omit
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)
from openai.types.responses import EasyInputMessageParam, Response
from openai.types.shared import ReasoningEffort

from supporter.domain.models import Usage
from supporter.llm.catalog import ServiceTier
from supporter.llm.prompts import ChatMessage

__all__ = ["Api", "Completed", "RequestSettings", "api_tier", "completed", "create_raw"]

Api = Literal["responses", "chat"]
V = TypeVar("V")
Finish = Literal["stop", "length", "content_filter"]


@dataclass(frozen=True, slots=True)
class RequestSettings:
    """The per-model parameters of one request (None: not sent)."""

    max_tokens: int
    reasoning_effort: ReasoningEffort | None
    temperature: float | None
    service_tier: Literal["flex", "priority"] | None


@dataclass(frozen=True, slots=True)
class Completed:
    """An answer from either API: its text or refusal, why it ended, what it used."""

    content: str | None
    refusal: str | None
    finish: Finish
    usage: Usage
    # What the server counted against the tokens-per-minute budget for the prompt.
    prompt_tokens: int | None


# Our tier names (the price table's) as the API spells them; the standard tier is
# the default and is not sent, so compatible servers never see the parameter.
_API_TIERS: Final[dict[ServiceTier, Literal["flex", "priority"] | None]] = {
    "standard": None,
    "batch": None,
    "flex": "flex",
    "priority": "priority",
}


def api_tier(tier: ServiceTier) -> Literal["flex", "priority"] | None:
    return _API_TIERS[tier]


async def create_raw(
    client: openai.AsyncOpenAI,
    api: Api,
    model: str,
    messages: Sequence[ChatMessage],
    schema_name: str,
    schema: dict[str, Any],
    request: RequestSettings,
) -> Any:
    """The raw HTTP answer (headers and body) to one request; SDK errors pass through."""
    # Only what the model takes: a reasoning model rejects `temperature`, and a
    # compatible server may reject `reasoning_effort` or `service_tier`.
    if api == "chat":
        return await client.chat.completions.with_raw_response.create(
            model=model,
            messages=[_message_param(message) for message in messages],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": True},
            },
            max_completion_tokens=request.max_tokens,
            temperature=_given(request.temperature),
            reasoning_effort=_given(request.reasoning_effort),
            service_tier=_given(request.service_tier),
        )
    effort = request.reasoning_effort
    return await client.responses.with_raw_response.create(
        model=model,
        input=[_input_message(message) for message in messages],
        text={
            "format": {"type": "json_schema", "name": schema_name, "schema": schema, "strict": True}
        },
        max_output_tokens=request.max_tokens,
        temperature=_given(request.temperature),
        reasoning=_given(None if effort is None else {"effort": effort}),
        service_tier=_given(request.service_tier),
        # Tickets are not kept on OpenAI's side for later turns: there are none.
        store=False,
    )


def completed(answer: object) -> Completed | None:
    """The parsed answer of either API, or None for anything else (a stream)."""
    if isinstance(answer, ChatCompletion):
        return _from_chat(answer)
    if isinstance(answer, Response):
        return _from_response(answer)
    return None


def _from_chat(completion: ChatCompletion) -> Completed:
    usage = completion.usage
    prompt_tokens = usage.prompt_tokens if usage is not None else None
    if not completion.choices:
        return Completed(None, None, "stop", _chat_usage(completion), prompt_tokens)
    choice = completion.choices[0]
    finish: Finish = "stop"
    if choice.finish_reason in ("length", "content_filter"):
        finish = choice.finish_reason
    message = choice.message
    return Completed(
        message.content, message.refusal, finish, _chat_usage(completion), prompt_tokens
    )


def _chat_usage(completion: ChatCompletion) -> Usage:
    usage = completion.usage
    if usage is None:  # some compatible servers leave it out
        return Usage()
    prompt = usage.prompt_tokens_details
    completed_ = usage.completion_tokens_details
    return Usage(
        prompt_tokens=usage.prompt_tokens,
        cached_tokens=(prompt.cached_tokens or 0) if prompt else 0,
        cache_write_tokens=(prompt.cache_write_tokens or 0) if prompt else 0,
        completion_tokens=usage.completion_tokens,
        reasoning_tokens=(completed_.reasoning_tokens or 0) if completed_ else 0,
    )


def _from_response(response: Response) -> Completed:
    texts: list[str] = []
    refusals: list[str] = []
    for item in response.output:
        if item.type != "message":
            continue  # reasoning summaries and the like carry no answer
        for part in item.content:
            if part.type == "output_text":
                texts.append(part.text)
            else:
                refusals.append(part.refusal)
    finish: Finish = "stop"
    details = response.incomplete_details
    if response.status == "incomplete" and details is not None:
        finish = "content_filter" if details.reason == "content_filter" else "length"
    usage = Usage()
    if response.usage is not None:
        used = response.usage
        usage = Usage(
            prompt_tokens=used.input_tokens,
            cached_tokens=used.input_tokens_details.cached_tokens,
            cache_write_tokens=used.input_tokens_details.cache_write_tokens,
            completion_tokens=used.output_tokens,
            reasoning_tokens=used.output_tokens_details.reasoning_tokens,
        )
    return Completed(
        "".join(texts) or None,
        " ".join(refusals) or None,
        finish,
        usage,
        response.usage.input_tokens if response.usage is not None else None,
    )


def _message_param(message: ChatMessage) -> ChatCompletionMessageParam:
    if message["role"] == "system":
        return ChatCompletionSystemMessageParam(role="system", content=message["content"])
    return ChatCompletionUserMessageParam(role="user", content=message["content"])


def _input_message(message: ChatMessage) -> EasyInputMessageParam:
    role: Literal["system", "user"] = "system" if message["role"] == "system" else "user"
    return EasyInputMessageParam(role=role, content=message["content"])


def _given(value: V | None) -> V | Omit:
    return omit if value is None else value
