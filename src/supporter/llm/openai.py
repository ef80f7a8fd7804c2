"""The OpenAI provider: OpenAI's models, or any OpenAI-compatible server through `base_url`.

Each call goes through the Responses API or Chat Completions (see openai_wire),
with the parameters its model takes (see catalog), and asks for Structured
Outputs under a strict JSON schema, paced by a
shared `RateLimiter`, and is answered from the `ResultCache` when the same
masked question was asked before. The SDK's own retries are off: the
pipeline's retry policy is the only one, so every failure is translated once
into `TransientError` (try again later), `PermanentError` (dead-letter) or
`FatalError` (stop: quota, credentials, a model or endpoint that does not exist).

An answer that is not valid JSON or does not validate is an `InvalidAnswerError`
(transient, but the provider is up: no circuit breaker opens for it):
strict decoding makes it rare, and when it happens a new sample usually
parses, while the pipeline's try limit still dead-letters a ticket that
keeps getting one. An answer cut off at the token limit or refused by the
model would fail the same way again, so it is a `PermanentError`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Final, TypeVar, cast

import httpx2 as httpx
import openai
from openai.types.shared import ReasoningEffort
from opentelemetry.trace import Span, SpanKind
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from supporter.domain.errors import (
    FatalError,
    InvalidAnswerError,
    PermanentError,
    TransientError,
)
from supporter.domain.masking import mask_card_numbers
from supporter.domain.models import Analysis, Priority, Reply, Sentiment, Usage
from supporter.llm.base import (
    AnalysisRequest,
    CallOutcome,
    ModelCall,
    ModelObserver,
    ModelResponse,
    NoObserver,
    ReplyRequest,
)
from supporter.llm.cache import ResultCache, cache_key
from supporter.llm.catalog import ServiceTier
from supporter.llm.openai_wire import (
    Api,
    Completed,
    RequestSettings,
    api_tier,
    completed,
    create_raw,
)
from supporter.llm.pricing import PriceTable
from supporter.llm.prompts import (
    ANALYSIS_PROMPT,
    PROMPT_VERSION,
    REPLY_PROMPT,
    ChatMessage,
    analysis_messages,
    reply_messages,
)
from supporter.llm.ratelimit import RateLimiter, estimate_tokens, remaining_budget
from supporter.observability import tracing

__all__ = ["AnalysisAnswer", "OpenAIProvider", "ReplyAnswer", "resolve_api_key"]

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

# Request settings shape answers as much as the prompt does: changing one
# means a new prompt version, so cached and stored results are not reused.
ANALYSIS_MAX_TOKENS: Final = 400
REPLY_MAX_TOKENS: Final = 900
# Low: classification and grounded replies want the likeliest answer, yet not
# zero, so a resample after an unusable answer can differ. Only for models that
# take sampling parameters (reasoning models reject them).
_TEMPERATURE: Final = 0.2
# How hard a reasoning model thinks, per stage: picking a category from a short
# list needs little; a reply that must stay within the facts given needs more.
ANALYSIS_EFFORT: Final = "low"
REPLY_EFFORT: Final = "medium"
# Reasoning tokens count against max_completion_tokens: room for them on top of
# the answer's own budget, so a model that thinks is not cut off mid-answer.
_REASONING_ROOM: Final = {"low": 2_000, "medium": 6_000}
_DEFAULT_REASONING_ROOM: Final = 16_000
DEFAULT_MODEL: Final = "gpt-6-luna"
# Local servers (vLLM, Ollama) accept any key, but the SDK insists on one.
_LOCAL_SERVER_KEY: Final = "not-needed"
_MAX_DETAIL: Final = 120
# The `provider` label of this provider's metrics (the model is the other label).
PROVIDER_LABEL: Final = "openai"


# What the model must answer. Strict mode wants every field required and no
# extras; no docstrings, which pydantic would send along as descriptions.
def resolve_api_key(api_key: str | None, base_url: str | None) -> str:
    """The key given, or OPENAI_API_KEY; ValueError if neither, but for a local server."""
    api_key = api_key or os.environ.get("OPENAI_API_KEY")
    if api_key:
        return api_key
    if not (base_url or os.environ.get("OPENAI_BASE_URL")):
        raise ValueError(
            "no OpenAI API key: set OPENAI_API_KEY, or give base_url for a local server"
        )
    return _LOCAL_SERVER_KEY


class AnalysisAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str
    priority: Priority
    sentiment: Sentiment
    language: str = Field(pattern=r"^[a-z]{2}$")
    summary: str
    confidence: float = Field(ge=0.0, le=1.0)
    needs_human: bool
    related_transaction_ids: list[str]


class ReplyAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str
    cited_transaction_ids: list[str]
    # Required in the schema sent (strict mode); a server that ignores the schema and
    # leaves it out is read as citing nothing.
    cited_articles: list[str] = Field(default_factory=list)


class _InvalidAnswer(ValueError):
    """An answer that parses but breaks a rule the schema cannot state."""


class OpenAIProvider:
    """A `ModelProvider` over the Chat Completions API (see the module docstring).

    `limiter` is shared by everything that uses the same account. `cache`, when
    given, stays the caller's to close; `http_client` (the Batch API's transport) is closed
    with the provider. `deadline` bounds one call overall:
    waiting for a slot plus the request. `observer` is told of each HTTP call (its
    outcome, latency, usage and cost) once it ends; a call cut short by a cancellation
    other than the deadline is not reported.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        limiter: RateLimiter,
        request_timeout: float = 30.0,
        deadline: float = 120.0,
        cache: ResultCache | None = None,
        prices: PriceTable | None = None,
        service_tier: ServiceTier = "standard",
        api: Api = "chat",
        observer: ModelObserver | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if request_timeout <= 0 or deadline <= 0:
            raise ValueError("request_timeout and deadline must be positive")
        api_key = resolve_api_key(api_key, base_url)
        self._model = model
        self._limiter = limiter
        self._deadline = deadline
        self._cache = cache
        self._prices = prices or PriceTable()
        self._info = self._prices.catalog.info(model)
        self._tier = service_tier
        self._api: Api = api
        if self._prices.catalog.get(model) is None:
            log.warning(
                "model %s is not in the model table: it is called with the parameters every "
                "chat model takes, and its cost is not known (reported as 0); add it to a "
                "models file (docs/models.md) to fix both",
                model,
            )
        elif self._prices.price(model, service_tier) is None:
            log.warning(
                "no %s-tier price known for model %s: its cost is reported as 0",
                service_tier,
                model,
            )
        self._spent = Usage()
        self._observer: ModelObserver = observer if observer is not None else NoObserver()
        # Exactly one retry layer: the pipeline's. The SDK would retry 429s and
        # 5xx on its own, unpaced and invisible to the attempt history.
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=request_timeout,
            http_client=http_client,
        )

    @property
    def name(self) -> str:
        return f"openai:{self._model}"

    @property
    def version(self) -> str:
        return f"openai:{self._model}:{PROMPT_VERSION}"

    @property
    def spent(self) -> Usage:
        """Tokens paid for by this provider so far (cache hits add nothing)."""
        return self._spent

    def spent_usd(self) -> Decimal | None:
        """What `spent` cost, or None when the model's price is unknown."""
        return self._prices.cost(self._model, self._spent)

    async def analyze(self, request: AnalysisRequest) -> ModelResponse[Analysis]:
        names = list(dict.fromkeys(category.name for category in request.taxonomy))
        if not names:
            raise PermanentError("the analysis request has an empty taxonomy")
        schema = _strict_schema(AnalysisAnswer)
        schema["properties"]["category"] = {"type": "string", "enum": names}
        return await self._complete(
            kind="analysis",
            prompt=ANALYSIS_PROMPT,
            messages=analysis_messages(request),
            schema_name="ticket_analysis",
            schema=schema,
            request=self._settings(ANALYSIS_MAX_TOKENS, ANALYSIS_EFFORT),
            convert=lambda content: _to_analysis(content, request),
        )

    async def draft_reply(self, request: ReplyRequest) -> ModelResponse[Reply]:
        return await self._complete(
            kind="reply",
            prompt=REPLY_PROMPT,
            messages=reply_messages(request),
            schema_name="reply_draft",
            schema=_strict_schema(ReplyAnswer),
            request=self._settings(REPLY_MAX_TOKENS, REPLY_EFFORT),
            convert=_to_reply,
        )

    async def aclose(self) -> None:
        await self._client.close()

    def _settings(self, answer_tokens: int, wanted_effort: str) -> RequestSettings:
        """What this model is asked with for an answer of `answer_tokens` at best."""
        effort = self._info.effort(wanted_effort)
        max_tokens = answer_tokens
        if effort is not None and effort != "none":
            max_tokens += _REASONING_ROOM.get(effort, _DEFAULT_REASONING_ROOM)
        if self._info.max_output_tokens is not None:
            max_tokens = min(max_tokens, self._info.max_output_tokens)
        return RequestSettings(
            max_tokens=max_tokens,
            reasoning_effort=cast(ReasoningEffort, effort),
            temperature=_TEMPERATURE if self._info.takes_sampling(effort) else None,
            service_tier=api_tier(self._tier),
        )

    async def _complete(
        self,
        *,
        kind: str,
        prompt: str,
        messages: list[ChatMessage],
        schema_name: str,
        schema: dict[str, Any],
        request: RequestSettings,
        convert: Callable[[str], T],
    ) -> ModelResponse[T]:
        key = cache_key(
            model=self._model,
            prompt_version=prompt,
            # The effort shapes the answer; the tier and token room do not.
            kind=kind if request.reasoning_effort is None else f"{kind}:{request.reasoning_effort}",
            messages=[dict(message) for message in messages],
            schema_name=schema_name,
            schema=schema,
        )
        cached = await self._from_cache(key, convert)
        if cached is not None:
            return ModelResponse[T](value=cached, usage=Usage(), provider=self.name)

        attempt = _Attempt(self._model, self._observer)
        try:
            return await self._answer(messages, schema_name, schema, request, convert, attempt, key)
        finally:
            attempt.close()

    async def _answer(
        self,
        messages: list[ChatMessage],
        schema_name: str,
        schema: dict[str, Any],
        request: RequestSettings,
        convert: Callable[[str], T],
        attempt: _Attempt,
        key: str,
    ) -> ModelResponse[T]:
        """One request and its answer, validated; `attempt` reports how the call went."""
        completion = await self._paced_create(messages, schema_name, schema, request, attempt)
        usage = completion.usage
        cost = self._prices.cost(self._model, usage, self._tier)
        usage = usage.model_copy(update={"cost_usd": cost if cost is not None else Decimal(0)})
        self._spent += usage
        try:
            content = _answer_content(completion, request.max_tokens)
            try:
                value = convert(content)
            except ValueError as error:  # pydantic's ValidationError is one
                raise InvalidAnswerError(
                    f"model answer did not validate: {_explain(error)}"
                ) from None
        except (TransientError, PermanentError):
            attempt.report("refused" if _refused(completion) else "invalid", usage)
            raise
        attempt.report("ok", usage)
        await self._to_cache(key, content, usage)
        return ModelResponse[T](value=value, usage=usage, provider=self.name)

    async def _paced_create(
        self,
        messages: Sequence[ChatMessage],
        schema_name: str,
        schema: dict[str, Any],
        request: RequestSettings,
        attempt: _Attempt,
    ) -> Completed:
        """One request in its turn under the rate limits, all within the deadline."""
        estimate = (
            sum(estimate_tokens(message["content"]) for message in messages)
            + estimate_tokens(json.dumps(schema))
            + request.max_tokens
        )
        try:
            async with asyncio.timeout(self._deadline):
                async with self._limiter.slot(estimate) as slot:
                    completion = await self._create(messages, schema_name, schema, request, attempt)
                    if completion.prompt_tokens is not None:
                        # What the server counts against TPM: the real prompt plus the
                        # max_tokens it reserved up front, whatever the answer used.
                        slot.record_usage(completion.prompt_tokens + request.max_tokens)
        except TimeoutError:
            # Cut short by the deadline: a timeout if the request had been sent.
            attempt.report("timeout")
            raise TransientError(f"deadline exceeded ({self._deadline:g}s)") from None
        return completion

    async def _from_cache(self, key: str, convert: Callable[[str], T]) -> T | None:
        if self._cache is None:
            return None
        try:
            hit = await asyncio.to_thread(self._cache.get, key)
        except sqlite3.Error as error:
            # The cache saves money; it must never cost a ticket.
            log.warning("result cache unreadable, asking the model: %s", error)
            return None
        if hit is None:
            return None
        try:
            return convert(hit.answer_json)
        except ValueError:
            # Stored by an older, laxer version: ask again rather than fail.
            return None

    async def _to_cache(self, key: str, content: str, usage: Usage) -> None:
        if self._cache is None:
            return
        try:
            await asyncio.to_thread(self._cache.put, key, content, usage)
        except sqlite3.Error as error:
            # Failing here would make the pipeline retry, and pay, for an answer we have.
            log.warning("could not store a model answer in the result cache: %s", error)

    async def _create(
        self,
        messages: Sequence[ChatMessage],
        schema_name: str,
        schema: dict[str, Any],
        request: RequestSettings,
        attempt: _Attempt,
    ) -> Completed:
        attempt.start()
        try:
            raw = await create_raw(
                self._client, self._api, self._model, messages, schema_name, schema, request
            )
        except openai.APIStatusError as error:
            self._limiter.observe_headers(error.response.headers)
            attempt.stop(error.response.headers)
            attempt.report(_status_outcome(error.status_code))
            raise self._status_error(error) from None
        except openai.APITimeoutError:
            attempt.report("timeout")
            raise TransientError("OpenAI request timed out") from None
        except openai.APIConnectionError:
            attempt.report("other")
            raise TransientError("could not connect to the OpenAI API") from None
        except openai.APIError as error:
            # A response the SDK could not read: as unusable as a malformed answer.
            attempt.report("invalid")
            raise InvalidAnswerError(
                f"unreadable OpenAI response ({type(error).__name__})"
            ) from None
        self._limiter.observe_headers(raw.headers)
        attempt.stop(raw.headers)
        try:
            answer = completed(raw.parse())
        except Exception as error:
            attempt.report("invalid")
            raise InvalidAnswerError(
                f"unreadable OpenAI response ({type(error).__name__})"
            ) from None
        if answer is None:  # only a stream would not be read
            attempt.report("invalid")
            raise PermanentError("OpenAI answered with a stream, which was not asked for")
        return answer

    def _status_error(self, error: openai.APIStatusError) -> Exception:
        """Our error for an HTTP error answer, without the key or any ticket text in it."""
        status = error.status_code
        detail = _status_detail(error)
        retry_after = _retry_after(error.response.headers)
        if isinstance(error, openai.RateLimitError):
            if "insufficient_quota" in (error.code, error.type):
                return FatalError(f"OpenAI quota exhausted: add credit or raise limits ({detail})")
            if retry_after is not None:
                # The limit is the account's: every caller waits, not just this one.
                self._limiter.pause_for(retry_after)
            return TransientError(f"rate limited by OpenAI ({detail})", retry_after=retry_after)
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            # The server's text may echo part of the key: only the status and code.
            return FatalError(
                f"OpenAI refused the credentials ({detail}): check the API key and its access"
            )
        if status == 404:
            # Not about one ticket: no request to this model or URL will ever work.
            return FatalError(
                f"OpenAI model or endpoint not found ({detail}): check the model and base_url"
            )
        if status in (408, 409) or status >= 500:
            return TransientError(f"OpenAI server error ({detail})", retry_after=retry_after)
        log.debug("OpenAI rejected a request (%s): %s", detail, _scrub(error.message))
        return PermanentError(f"OpenAI rejected the request ({detail})")


# --------------------------------------------------------------------------- observing


class _Attempt:
    """One HTTP call's latency and rate-limit headers, reported to the observer at most once
    (and only if the request was sent)."""

    def __init__(self, model: str, observer: ModelObserver) -> None:
        self._model = model
        self._observer = observer
        self._started: float | None = None
        self._seconds: float | None = None
        self._remaining: dict[str, int] = {}
        self._reported = False
        self._span: Span | None = None

    def start(self) -> None:
        """The request is about to be sent: a model call span begins (a child of the
        stage's span), named and described as OpenTelemetry's GenAI conventions say."""
        self._started = time.monotonic()
        if not tracing.on():
            return
        self._span = tracing.tracer().start_span(
            f"chat {self._model}",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.system": PROVIDER_LABEL,
                "gen_ai.request.model": self._model,
            },
        )

    def stop(self, headers: Mapping[str, str]) -> None:
        """The answer came back: its latency ends here, whatever it turns out to hold."""
        if self._started is not None and self._seconds is None:
            self._seconds = time.monotonic() - self._started
        self._remaining = remaining_budget(headers)

    def report(self, outcome: CallOutcome, usage: Usage | None = None) -> None:
        if self._reported or self._started is None:
            return
        self._reported = True
        seconds = self._seconds if self._seconds is not None else time.monotonic() - self._started
        call = ModelCall(
            provider=PROVIDER_LABEL,
            model=self._model,
            outcome=outcome,
            seconds=seconds,
            usage=usage if usage is not None else Usage(),
            ratelimit_remaining=self._remaining,
        )
        self._end_span(call)
        try:
            self._observer.on_call(call)
        except Exception:
            # Metrics must never cost a ticket.
            log.warning("model call observer failed", exc_info=True)

    def _end_span(self, call: ModelCall) -> None:
        span, self._span = self._span, None
        if span is None:
            return
        span.set_attributes(
            {
                "supporter.model.outcome": call.outcome,
                "gen_ai.usage.input_tokens": call.usage.prompt_tokens,
                "gen_ai.usage.output_tokens": call.usage.completion_tokens,
            }
        )
        if call.outcome != "ok":
            tracing.failed(span, call.outcome)
        span.end()

    def close(self) -> None:
        """The call is over however it ended: a span not ended yet (the task was
        cancelled mid-call) ends now as cancelled."""
        span, self._span = self._span, None
        if span is not None:
            tracing.failed(span, "cancelled")
            span.end()


def _status_outcome(status: int) -> CallOutcome:
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    if status == 408:  # the server gave up waiting
        return "timeout"
    return "other"


def _refused(completion: Completed) -> bool:
    return bool(completion.refusal) or completion.finish == "content_filter"


# --------------------------------------------------------------------------- answers


def _answer_content(completion: Completed, max_tokens: int) -> str:
    if completion.refusal:
        raise PermanentError(f"model refused: {_scrub(completion.refusal)}")
    if completion.finish == "content_filter":
        raise PermanentError("model refused: stopped by the content filter")
    if completion.finish == "length":
        raise PermanentError(f"model answer was cut off at the token limit ({max_tokens} tokens)")
    if not completion.content:
        raise InvalidAnswerError("model answer did not validate: empty answer")
    return completion.content


def _to_analysis(content: str, request: AnalysisRequest) -> Analysis:
    answer = AnalysisAnswer.model_validate_json(content)
    if answer.category not in {category.name for category in request.taxonomy}:
        raise _InvalidAnswer("category is not one of the taxonomy's names")
    # An id the customer does not have refers to nothing: drop it rather than the answer.
    known = {tx.transaction_id for tx in request.transactions}
    related = [tx_id for tx_id in dict.fromkeys(answer.related_transaction_ids) if tx_id in known]
    return Analysis(
        category=answer.category,
        priority=answer.priority,
        sentiment=answer.sentiment,
        language=answer.language,
        summary=mask_card_numbers(answer.summary),
        confidence=answer.confidence,
        needs_human=answer.needs_human,
        related_transaction_ids=related,
    )


def _to_reply(content: str) -> Reply:
    answer = ReplyAnswer.model_validate_json(content)
    # Cited ids are kept as given: the grounding check judges them, visibly.
    return Reply(
        body=mask_card_numbers(answer.body),
        cited_transaction_ids=list(dict.fromkeys(answer.cited_transaction_ids)),
        cited_articles=list(dict.fromkeys(answer.cited_articles)),
    )


def _explain(error: ValueError) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "answer"
        # `msg` never quotes the offending value; the answer may hold ticket text.
        return f"{error.error_count()} problem(s), first at {where}: {first['msg']}"
    return str(error)


# --------------------------------------------------------------------------- requests


def _strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema as strict mode wants it: refs inlined, every object closed
    and fully required, no titles or defaults (which some compatible servers reject)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def strict(node: Any) -> Any:
        if isinstance(node, list):
            return [strict(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return strict(definitions[node["$ref"].rsplit("/", 1)[-1]])
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "properties":
                out[key] = {name: strict(item) for name, item in value.items()}
            elif key not in ("title", "default"):
                out[key] = strict(value)
        if out.get("type") == "object":
            out["additionalProperties"] = False
            out["required"] = list(out.get("properties", {}))
        return out

    result: dict[str, Any] = strict(schema)
    return result


# --------------------------------------------------------------------------- errors


def _status_detail(error: openai.APIStatusError) -> str:
    """Status, the server's error code and request id: enough to look it up, nothing more."""
    parts = [f"HTTP {error.status_code}"]
    code = error.code or error.type
    if code:
        parts.append(_scrub(code)[:_MAX_DETAIL])
    if error.param:
        parts.append(f"param {_scrub(error.param)[:_MAX_DETAIL]}")
    if error.request_id:
        parts.append(f"request {_scrub(error.request_id)[:_MAX_DETAIL]}")
    return ", ".join(parts)


def _scrub(text: str) -> str:
    """Server or model text as it may appear in errors and logs: short, card-masked, no keys."""
    words = [
        "[key]" if word.startswith(("sk-", "sess-")) else word
        for word in mask_card_numbers(text).split()
    ]
    cut = " ".join(words)
    return cut if len(cut) <= 2 * _MAX_DETAIL else cut[: 2 * _MAX_DETAIL] + "…"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    milliseconds = lowered.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
