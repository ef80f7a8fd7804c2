"""An OpenAI-compatible chat-completions server for tests and benchmarks.

`FakeLLM` speaks enough of the real API that the official SDK cannot tell the
difference: structured outputs that validate against the requested JSON
schema, token usage with prompt caching, the `x-ratelimit-*` headers, and the
failures a provider really produces (429 with `retry-after`, 5xx, hangs,
malformed JSON, refusals, an exhausted quota, a bad key).

Rate limits are enforced the way providers enforce them: over short
intervals. A 3,000 RPM limit admits about 50 requests per second, refilled
continuously, not 3,000 in the first second of a minute; a client that
bursts gets 429s and one that paces evenly gets none (see DESIGN.md, "Model
calls").
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import itertools
import json
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from supporter.testing import fake_responses, fake_tokens
from supporter.testing.aiohttp_site import ServedSimulator
from supporter.testing.fake_models import FakeModels

JSONObject = dict[str, Any]


@dataclass
class FakeLLMConfig:
    """How the simulator behaves. Read on every request, so tests may change it while running.

    Injected outcomes are drawn once per admitted request, in this order:
    `error_rates` (in their insertion order), `timeout_rate`, `malformed_rate`,
    `refusal_rate`; the rest answer normally. Keep the sum at or below 1.
    """

    latency_ms: float = 20.0  # median latency of a completion
    latency_jitter: float = 0.25  # lognormal sigma; 0 = constant
    rpm: int | None = None  # requests per minute limit (None = unlimited)
    tpm: int | None = None  # tokens per minute (prompt estimate + max_tokens or completion)
    error_rates: dict[int, float] = field(default_factory=dict)  # e.g. {429: 0.1, 500: 0.05}
    timeout_rate: float = 0.0  # share of requests that hang until the client gives up
    malformed_rate: float = 0.0  # share answered 200 with content that is not valid JSON
    refusal_rate: float = 0.0  # share answered with message.refusal set and content null
    quota_exhausted: bool = False  # every request: 429 insufficient_quota (no retry headers)
    invalid_api_key: bool = False  # every request: 401 invalid_api_key
    seed: int | None = None
    # Long benchmark runs switch this off so memory stays flat.
    record_requests: bool = True
    # Fixed answers by json_schema name (e.g. {"reply_draft": '{"body": ...}'}): a test
    # can make the model say something specific, such as an unsupported promise.
    canned_answers: dict[str, str] = field(default_factory=dict)
    # Requests with service_tier "flex": this share is turned away with 429 "Resource
    # Unavailable" (not billed), and the rest answer this many times more slowly.
    flex_unavailable_rate: float = 0.0
    flex_latency_factor: float = 3.0


class FakeLLM(ServedSimulator):
    """The simulator, serving on a free loopback port for as long as the block runs::

        server = FakeLLM(FakeLLMConfig(latency_ms=5, rpm=600))
        async with server as base_url:
            client = openai.AsyncOpenAI(base_url=base_url, api_key="test")
            ...
            server.config.quota_exhausted = True  # takes effect on the next request
        assert server.outcomes["ok"] == ...

    The `x-ratelimit-limit-*` headers carry the per-minute limit, `remaining-*` what may be
    sent right now without a 429 and `reset-*` the time until the bucket is full again.
    Both enforced and injected 429s count as outcome "429".
    """

    def __init__(self, config: FakeLLMConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else FakeLLMConfig()
        self.requests: list[dict[str, Any]] = []
        self.outcomes: collections.Counter[str] = collections.Counter()
        # Outcomes and latencies come from one stream so a seeded run repeats itself;
        # generated content has its own per-request seed (see `_content_rng`).
        self._rng = random.Random(self.config.seed)
        self._limits = _RateLimits()
        self._prompt_cache = _PromptCache()
        self._schemas = _SchemaCache()
        self._known_models = FakeModels()
        self._ids = itertools.count(1)
        # More of the API on the same server (`fake_batches`): each adds its routes.
        self.mounts: list[Callable[[web.Application], None]] = []

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on `host:port` (0 = a free port) and return the base URL ending in `/v1`."""
        return f"{await super().start(host, port)}/v1"

    def _application(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_post("/v1/responses", self._responses)
        app.router.add_get("/v1/models", self._models)
        for mount in self.mounts:
            mount(app)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    # -- handlers ---------------------------------------------------------------------------

    async def _chat_completions(self, request: web.Request) -> web.Response:
        return await self._serve(request, responses=False)

    async def _responses(self, request: web.Request) -> web.Response:
        return await self._serve(request, responses=True)

    async def _serve(self, request: web.Request, *, responses: bool) -> web.Response:
        """One request to either API: the Responses API's is answered as the Chat
        Completions request it amounts to (see fake_responses)."""
        started = time.monotonic()
        config = self.config
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return self._fail(
                400, _invalid_request("We could not parse the JSON body of your request.")
            )
        if isinstance(body, dict) and config.record_requests:
            self.requests.append(body)
        # The real API checks the key first, then the request, then billing, then limits.
        if config.invalid_api_key:
            return self._fail(401, _INVALID_API_KEY)
        original, problem = body, None
        if responses:
            body, problem = fake_responses.chat_body(original)
        problem = problem or _validate(body) or self._known_models.problem(body)
        if problem is not None:
            return self._fail(400, fake_responses.renamed(problem) if responses else problem)
        if config.quota_exhausted:
            return self._fail(429, _INSUFFICIENT_QUOTA, outcome="quota")
        try:
            answer = self._answer(body, config.seed)
        except SchemaError as error:
            return self._fail(400, _invalid_request(str(error), param="response_format"))

        now = time.monotonic()
        self._limits.configure(config.rpm, config.tpm, now)
        refused = self._limits.admit(answer.reserved_tokens, now)
        headers = self._limits.headers()
        if refused is not None:
            wait, kind = refused
            return self._rate_limited(wait, kind, answer, headers)

        outcome = self._draw_outcome(config)
        latency = self._latency(config)
        if body.get("service_tier") == "flex":
            if self._rng.random() < config.flex_unavailable_rate:
                await asyncio.sleep(latency * 0.1)
                return self._fail(
                    429, _RESOURCE_UNAVAILABLE, outcome="flex_unavailable", headers=headers
                )
            latency *= config.flex_latency_factor
        if outcome == "timeout":
            self.outcomes["timeout"] += 1
            await self._stopping.wait()
            # Only reached at stop(), by a client that is still waiting.
            return _json_response(503, {"error": _server_error(503)}, headers)
        if isinstance(outcome, int):
            # Errors come back quickly, as they do from a real gateway.
            await asyncio.sleep(latency * 0.1)
            if outcome == 429:
                return self._rate_limited(self._rng.uniform(0.1, 1.0), "requests", None, headers)
            return self._fail(outcome, _server_error(outcome), headers=headers)

        cached_tokens, prefix_digests = self._prompt_cache.lookup(
            answer.prompt_text, answer.prompt_tokens
        )
        await asyncio.sleep(latency)
        # Remembered only once answered: concurrent first requests all miss, as with OpenAI.
        self._prompt_cache.remember(prefix_digests)
        self.outcomes[outcome] += 1
        payload = answer.completion(f"chatcmpl-fake{next(self._ids):010d}", outcome, cached_tokens)
        if responses:
            payload = fake_responses.response(payload, original)
        headers["openai-processing-ms"] = str(round((time.monotonic() - started) * 1000))
        return _json_response(200, payload, headers)

    def _answer(self, body: JSONObject, seed: int | None) -> _Answer:
        messages: list[JSONObject] = body["messages"]
        rng = _content_rng(seed, messages)
        response_format = body.get("response_format") or {"type": "text"}
        canned = self.config.canned_answers.get(
            str(response_format.get("json_schema", {}).get("name", ""))
        )
        if canned is not None:
            content = canned
        elif response_format["type"] == "json_schema":
            generate = self._schemas.generator(response_format["json_schema"])
            value = generate(rng, "", 0)
            content = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        elif response_format["type"] == "json_object":
            content = json.dumps({"answer": rng.choice(_PLAIN_ANSWERS)}, separators=(",", ":"))
        else:
            content = rng.choice(_PLAIN_ANSWERS)
        max_out = body.get("max_completion_tokens") or body.get("max_tokens")
        return _Answer(
            model=body["model"],
            prompt_text=_prompt_text(messages),
            prompt_tokens=fake_tokens.count_messages(
                [(str(m.get("role")), _message_text(m)) for m in messages]
            ),
            content=content,
            max_tokens=max_out if isinstance(max_out, int) and max_out > 0 else None,
            reasoning_tokens=self._known_models.reasoning_tokens(body),
            service_tier=str(body.get("service_tier") or "default"),
        )

    async def _models(self, request: web.Request) -> web.Response:
        return _json_response(200, self._known_models.listing(), {})

    async def _not_found(self, request: web.Request) -> web.Response:
        error = _invalid_request(f"Invalid URL ({request.method} {request.path})")
        return self._fail(404, error)

    # -- decisions --------------------------------------------------------------------------

    def _draw_outcome(self, config: FakeLLMConfig) -> int | str:
        draw = self._rng.random()
        shares: list[tuple[int | str, float]] = [*config.error_rates.items()]
        shares += [
            ("timeout", config.timeout_rate),
            ("malformed", config.malformed_rate),
            ("refusal", config.refusal_rate),
        ]
        for outcome, share in shares:
            if draw < share:
                return outcome
            draw -= share
        return "ok"

    def _latency(self, config: FakeLLMConfig) -> float:
        median = max(config.latency_ms, 0.0) / 1000
        if config.latency_jitter <= 0 or median == 0:
            return median
        return median * self._rng.lognormvariate(0.0, config.latency_jitter)

    # -- error answers ----------------------------------------------------------------------

    def _fail(
        self,
        status: int,
        error: JSONObject,
        *,
        outcome: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        """An OpenAI-style error, counted under `outcome` (default: its status code)."""
        self.outcomes[outcome or str(status)] += 1
        return _json_response(status, {"error": error}, headers or {})

    def _rate_limited(
        self, wait: float, kind: str, answer: _Answer | None, headers: dict[str, str]
    ) -> web.Response:
        """A 429 with retry headers; `answer` None for an injected one, which names no request."""
        unit = "RPM" if kind == "requests" else "TPM"
        limit = headers.get(f"x-ratelimit-limit-{kind}", "unlimited")
        detail = "."
        if answer is not None:
            requested = 1 if kind == "requests" else answer.reserved_tokens
            detail = f" on {answer.model}: Limit {limit}, Requested {requested}."
        error = {
            "message": (
                f"Rate limit reached for {kind} per min ({unit}){detail} "
                f"Please try again in {_duration(wait)}."
            ),
            "type": kind,
            "param": None,
            "code": "rate_limit_exceeded",
        }
        retry = {
            "retry-after": str(max(1, math.ceil(wait))),
            "retry-after-ms": str(max(1, math.ceil(wait * 1000))),
        }
        return self._fail(429, error, headers={**headers, **retry})


def serve_in_thread(
    config: FakeLLMConfig, extend: Callable[[FakeLLM], object] | None = None
) -> tuple[FakeLLM, str]:
    """The simulator on an event loop of its own, in a daemon thread, for callers that run
    blocking code meanwhile (benchmarks that start `supporter run` processes). `extend`
    adds to it before it starts (e.g. `FakeBatches`)."""
    fake = FakeLLM(config)
    if extend is not None:
        extend(fake)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    base_url = asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    return fake, base_url


@dataclass(frozen=True, slots=True)
class _Answer:
    """What a request will be answered with, known before it is admitted: its token cost
    decides admission."""

    model: str
    prompt_text: str
    prompt_tokens: int
    content: str
    max_tokens: int | None
    reasoning_tokens: int = 0
    service_tier: str = "default"

    @property
    def completion_tokens(self) -> int:
        return fake_tokens.count(self.content) + self.reasoning_tokens

    @property
    def reserved_tokens(self) -> int:
        # Providers charge the token budget up front, with max_tokens when it is given.
        return self.prompt_tokens + (self.max_tokens or self.completion_tokens)

    def completion(self, completion_id: str, outcome: str, cached_tokens: int) -> JSONObject:
        content: str | None = self.content
        refusal: str | None = None
        finish_reason = "stop"
        if outcome == "malformed":
            content = _MALFORMED_CONTENT
        elif outcome == "refusal":
            content, refusal = None, _REFUSAL
        elif self.max_tokens is not None and self.completion_tokens > self.max_tokens:
            # Cut off mid-answer, as a model that runs out of tokens is (reasoning first).
            content = self.content[: max(0, self.max_tokens - self.reasoning_tokens) * 4]
            finish_reason = "length"
        # Reasoning tokens are billed as output tokens, never shown.
        completion_tokens = fake_tokens.count(content or refusal or "") + self.reasoning_tokens
        message: JSONObject = {
            "role": "assistant",
            "content": content,
            "refusal": refusal,
            "annotations": [],
        }
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
            ],
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": self.prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": self.reasoning_tokens,
                    "audio_tokens": 0,
                },
            },
            "service_tier": self.service_tier,
            "system_fingerprint": "fp_fakellm",
        }


# -- rate limits ------------------------------------------------------------------------------


class _Bucket:
    """A token bucket holding one second's worth of a per-minute limit, refilled continuously."""

    __slots__ = ("capacity", "level", "per_minute", "rate", "updated")

    def __init__(self, per_minute: int, now: float) -> None:
        if per_minute <= 0:
            raise ValueError(f"a per-minute limit must be positive, got {per_minute}")
        self.per_minute = per_minute
        self.rate = per_minute / 60
        self.capacity = max(self.rate, 1.0)
        self.level = self.capacity
        self.updated = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait(self, cost: int) -> float:
        """Seconds until `cost` fits. A cost above the capacity fits into a full bucket
        (and leaves it in debt): one big request must never be refused forever."""
        need = min(cost, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def headers(self, kind: str) -> dict[str, str]:
        # `limit` is the per-minute figure clients configure; `remaining` is what may be
        # sent right now without a 429, and `reset` the time until the bucket is full.
        return {
            f"x-ratelimit-limit-{kind}": str(self.per_minute),
            f"x-ratelimit-remaining-{kind}": str(max(0, math.floor(self.level))),
            f"x-ratelimit-reset-{kind}": _duration((self.capacity - self.level) / self.rate),
        }


class _RateLimits:
    def __init__(self) -> None:
        self.requests: _Bucket | None = None
        self.tokens: _Bucket | None = None

    def configure(self, rpm: int | None, tpm: int | None, now: float) -> None:
        """Follow the (mutable) config; a changed limit starts with a full bucket."""
        if rpm is None:
            self.requests = None
        elif self.requests is None or self.requests.per_minute != rpm:
            self.requests = _Bucket(rpm, now)
        if tpm is None:
            self.tokens = None
        elif self.tokens is None or self.tokens.per_minute != tpm:
            self.tokens = _Bucket(tpm, now)

    def admit(self, tokens: int, now: float) -> tuple[float, str] | None:
        """Spend one request and `tokens`, or return (seconds to wait, which limit). A refused
        request spends nothing."""
        everything = ((self.requests, 1, "requests"), (self.tokens, tokens, "tokens"))
        charges = [(b, cost, kind) for b, cost, kind in everything if b is not None]
        worst: tuple[float, str] | None = None
        for bucket, cost, kind in charges:
            bucket.refill(now)
            wait = bucket.wait(cost)
            if wait > 0 and (worst is None or wait > worst[0]):
                worst = (wait, kind)
        if worst is not None:
            return worst
        for bucket, cost, _ in charges:
            bucket.level -= cost
        return None

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.requests is not None:
            headers.update(self.requests.headers("requests"))
        if self.tokens is not None:
            headers.update(self.tokens.headers("tokens"))
        return headers


def _duration(seconds: float) -> str:
    """OpenAI's (Go's) duration format: "0s", "120ms", "1.5s", "6m0s"."""
    millis = max(0, math.ceil(seconds * 1000))
    if millis == 0:
        return "0s"
    if millis < 1000:
        return f"{millis}ms"
    minutes, rest = divmod(millis, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


# -- prompt caching ---------------------------------------------------------------------------

# OpenAI caches prompts of 1024+ tokens in 128-token steps. At ~4 characters a token the
# prefixes are compared every 512 characters from the 4096th on.
_CACHE_MIN_CHARS = 1024 * 4
_CACHE_STEP_CHARS = 128 * 4


class _PromptCache:
    """Digests of the prompt prefixes seen so far; the least recently used are forgotten
    first, so a shared system prompt stays cached through a long benchmark."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self._seen: dict[bytes, None] = {}
        self._max_entries = max_entries

    def lookup(self, prompt: str, prompt_tokens: int) -> tuple[int, list[bytes]]:
        """(cached tokens, digests of this prompt's cacheable prefixes)."""
        digests: list[bytes] = []
        if len(prompt) < _CACHE_MIN_CHARS:
            return 0, digests
        hasher = hashlib.blake2b(digest_size=16)
        hasher.update(prompt[:_CACHE_MIN_CHARS].encode())
        longest = 0
        end = _CACHE_MIN_CHARS
        while True:
            digest = hasher.copy().digest()
            digests.append(digest)
            if digest in self._seen:
                longest = end
            if end + _CACHE_STEP_CHARS > len(prompt):
                break
            hasher.update(prompt[end : end + _CACHE_STEP_CHARS].encode())
            end += _CACHE_STEP_CHARS
        cached = min(longest // 4, prompt_tokens)
        return cached - cached % 128, digests

    def remember(self, digests: list[bytes]) -> None:
        for digest in digests:
            self._seen.pop(digest, None)  # re-insert: dicts keep insertion order
            self._seen[digest] = None
        while len(self._seen) > self._max_entries:
            del self._seen[next(iter(self._seen))]


def _message_text(message: JSONObject) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def _prompt_text(messages: list[JSONObject]) -> str:
    return "".join(f"{m.get('role')}\n{_message_text(m)}\n" for m in messages)


def _content_rng(seed: int | None, messages: list[JSONObject]) -> random.Random:
    """Same seed and same last user message, same answer: reruns of a benchmark compare."""
    last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    digest = hashlib.blake2b(_message_text(last_user).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big") ^ (seed or 0))


# -- request validation and error bodies ------------------------------------------------------


def _validate(body: Any) -> JSONObject | None:
    if not isinstance(body, dict):
        return _invalid_request("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return _invalid_request("you must provide a model parameter", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _invalid_request(
            "Missing or empty required parameter: 'messages'.", param="messages"
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            return _invalid_request(
                f"Invalid value for 'messages[{index}]': expected an object with a 'role'.",
                param=f"messages[{index}]",
            )
    if body.get("stream"):
        return _invalid_request("The simulator does not stream; leave 'stream' unset.", "stream")
    response_format = body.get("response_format")
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        return _invalid_request(
            f"Invalid value: {kind!r}. Supported values are: 'json_object', 'json_schema', "
            "and 'text'.",
            param="response_format.type",
        )
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if (
            not isinstance(spec, dict)
            or not isinstance(spec.get("name"), str)
            or not isinstance(spec.get("schema"), dict)
        ):
            return _invalid_request(
                "Missing required parameter: 'response_format.json_schema' with a 'name' "
                "and a 'schema' object.",
                param="response_format.json_schema",
            )
    return None


def _invalid_request(message: str, param: str | None = None) -> JSONObject:
    return {"message": message, "type": "invalid_request_error", "param": param, "code": None}


_INVALID_API_KEY: JSONObject = {
    "message": "Incorrect API key provided. You can find your API key at "
    "https://platform.openai.com/account/api-keys.",
    "type": "invalid_request_error",
    "param": None,
    "code": "invalid_api_key",
}
_INSUFFICIENT_QUOTA: JSONObject = {
    "message": "You exceeded your current quota, please check your plan and billing details.",
    "type": "insufficient_quota",
    "param": None,
    "code": "insufficient_quota",
}
# "the API will return a 429 Resource Unavailable error code, and you will not be charged"
# (https://developers.openai.com/api/docs/guides/flex-processing): no retry headers.
_RESOURCE_UNAVAILABLE: JSONObject = {
    "message": "Resource Unavailable: flex processing has no capacity for this request "
    "right now. Please try again later, or use the default service tier.",
    "type": "invalid_request_error",
    "param": None,
    "code": "resource_unavailable",
}
_SERVER_ERROR_MESSAGES = {
    408: "Request timed out.",
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The engine is currently overloaded, please try again later.",
    504: "Gateway timeout.",
}


def _server_error(status: int) -> JSONObject:
    message = _SERVER_ERROR_MESSAGES.get(status, f"Simulated error {status}.")
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return {"message": message, "type": kind, "param": None, "code": None}


def _json_response(status: int, payload: JSONObject, headers: dict[str, str]) -> web.Response:
    headers["x-request-id"] = f"req_fake{time.monotonic_ns():x}"
    return web.Response(
        status=status,
        body=json.dumps(payload, ensure_ascii=False).encode(),
        content_type="application/json",
        headers=headers,
    )


_MALFORMED_CONTENT = "{not json"
_REFUSAL = "I can't help with that."
_PLAIN_ANSWERS = (
    "Thanks for reaching out. This is a simulated answer.",
    "Happy to help: this reply comes from the simulated model.",
    "Understood. Here is a short simulated response.",
)


# -- values that satisfy a JSON schema --------------------------------------------------------


class SchemaError(ValueError):
    """A response_format schema the simulator (or OpenAI's strict mode) would reject."""


# A generator takes the request's RNG, the name of the field it fills (the array's name for
# array items) and the nesting depth.
ValueGenerator = Callable[[random.Random, str, int], Any]

# Arrays deeper than this get their minimum length, and optional values deeper than this are
# null, so recursive schemas end; past _MAX_DEPTH a schema cannot be satisfied finitely.
_SHALLOW_DEPTH = 6
_MAX_DEPTH = 40


class _SchemaCache:
    """Compiled generators by schema: a run sends the same few schemas thousands of times."""

    def __init__(self, max_entries: int = 256) -> None:
        self._generators: dict[str, ValueGenerator] = {}
        self._max_entries = max_entries

    def generator(self, spec: JSONObject) -> ValueGenerator:
        key = json.dumps(spec, sort_keys=True)
        generate = self._generators.get(key)
        if generate is None:
            generate = compile_schema(
                spec["schema"], strict=spec.get("strict") is True, name=spec.get("name", "response")
            )
            if len(self._generators) >= self._max_entries:
                self._generators.clear()
            self._generators[key] = generate
        return generate


def compile_schema(
    schema: JSONObject, *, strict: bool = False, name: str = "response"
) -> ValueGenerator:
    """A generator of plausible values that validate against `schema`.

    Covers what pydantic's `model_json_schema()` and OpenAI strict mode produce: objects,
    strings (enum, const, minLength/maxLength, a few formats), integers and numbers with
    bounds, booleans, arrays (items, minItems/maxItems), anyOf/oneOf (with null), allOf,
    type lists, and $defs/$ref including recursion. `pattern` is not honoured. With
    `strict`, objects must set additionalProperties false and require every property, as
    OpenAI demands, or SchemaError says which object does not.
    """
    return _SchemaCompiler(schema, strict, name).compile(schema, ())


class _SchemaCompiler:
    def __init__(self, root: JSONObject, strict: bool, name: str) -> None:
        self._root = root
        self._strict = strict
        self._name = name
        self._refs: dict[str, ValueGenerator] = {}

    def compile(self, node: Any, path: tuple[str, ...]) -> ValueGenerator:
        if not isinstance(node, dict):
            raise self._error(path, "a schema must be an object")
        if "$ref" in node:
            return self._ref(node["$ref"], path)
        if "const" in node:
            const = node["const"]
            return lambda rng, name, depth: const
        if "enum" in node:
            choices = list(node["enum"])
            if not choices:
                raise self._error(path, "'enum' must not be empty")
            return lambda rng, name, depth: rng.choice(choices)
        for key in ("anyOf", "oneOf"):
            if key in node:
                return self._any_of(node[key], (*path, key))
        if "allOf" in node:
            return self.compile(_merge_all_of(node), path)
        kind = node.get("type")
        if isinstance(kind, list):
            return self._any_of([{**node, "type": each} for each in kind], path)
        if kind is None and "properties" in node:
            kind = "object"
        match kind:
            case "object":
                return self._object(node, path)
            case "array":
                return self._array(node, path)
            case "string" | None:
                return _string(node)
            case "integer" | "number":
                return self._number(node, path, integer=kind == "integer")
            case "boolean":
                return _boolean
            case "null":
                return lambda rng, name, depth: None
        raise self._error(path, f"unsupported type {kind!r}")

    def _ref(self, ref: Any, path: tuple[str, ...]) -> ValueGenerator:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise self._error(path, f"only local references are supported, got {ref!r}")
        refs = self._refs
        if ref not in refs:
            # Placeholder first: a recursive reference compiles to a lookup, resolved by the
            # time anything is generated.
            refs[ref] = _unreachable
            target: Any = self._root
            for part in filter(None, ref[1:].split("/")):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise self._error(path, f"reference {ref!r} does not resolve")
                target = target[part]
            refs[ref] = self.compile(target, tuple(filter(None, ref[1:].split("/"))))
        return lambda rng, name, depth: refs[ref](rng, name, depth)

    def _any_of(self, branches: Any, path: tuple[str, ...]) -> ValueGenerator:
        if not isinstance(branches, list) or not branches:
            raise self._error(path, "anyOf must be a non-empty list")
        nullable = any(isinstance(b, dict) and b.get("type") == "null" for b in branches)
        others = [
            self.compile(b, (*path, str(i)))
            for i, b in enumerate(branches)
            if not (isinstance(b, dict) and b.get("type") == "null")
        ]

        def generate(rng: random.Random, name: str, depth: int) -> Any:
            # Mostly a value: a model fills optional fields more often than not.
            if nullable and (not others or depth >= _SHALLOW_DEPTH or rng.random() < 0.25):
                return None
            return rng.choice(others)(rng, name, depth)

        return generate

    def _object(self, node: JSONObject, path: tuple[str, ...]) -> ValueGenerator:
        properties = node.get("properties", {})
        if not isinstance(properties, dict):
            raise self._error(path, "'properties' must be an object")
        if self._strict:
            if node.get("additionalProperties") is not False:
                raise self._error(
                    path, "'additionalProperties' is required to be supplied and to be false"
                )
            missing = [key for key in properties if key not in node.get("required", [])]
            if missing:
                raise self._error(
                    path,
                    "'required' is required to be supplied and to be an array including every "
                    f"key in properties. Missing {missing[0]!r}",
                )
        fields = [
            (key, self.compile(value, (*path, "properties", key)))
            for key, value in properties.items()
        ]

        def generate(rng: random.Random, name: str, depth: int) -> Any:
            if depth > _MAX_DEPTH:
                raise SchemaError(
                    f"Invalid schema for response_format {self._name!r}: it "
                    "recurses without end (no optional or array break)"
                )
            return {key: field(rng, key, depth + 1) for key, field in fields}

        return generate

    def _array(self, node: JSONObject, path: tuple[str, ...]) -> ValueGenerator:
        items = self.compile(node.get("items", {}), (*path, "items"))
        min_items = int(node.get("minItems", 0))
        max_items = node.get("maxItems")

        def generate(rng: random.Random, name: str, depth: int) -> Any:
            # Lists of ids stay empty: a simulated reply must never cite invented
            # transactions. Other lists get one item so nested schemas are exercised.
            usual = min_items if depth >= _SHALLOW_DEPTH or _usually_empty(name) else 1
            count = max(min_items, usual)
            if max_items is not None:
                count = min(count, int(max_items))
            return [items(rng, name, depth + 1) for _ in range(count)]

        return generate

    def _number(self, node: JSONObject, path: tuple[str, ...], *, integer: bool) -> ValueGenerator:
        step = 1 if integer else 0.01
        low = node.get("minimum")
        high = node.get("maximum")
        if "exclusiveMinimum" in node:
            low = node["exclusiveMinimum"] + step
        if "exclusiveMaximum" in node:
            high = node["exclusiveMaximum"] - step
        if low is None:
            low = 0 if high is None or high >= 0 else high - 100
        if high is None:
            high = low + (10 if integer else 100)
        if integer:
            low, high = math.ceil(low), math.floor(high)
        if low > high:
            raise self._error(path, f"no number lies between {low} and {high}")

        def generate(rng: random.Random, name: str, depth: int) -> Any:
            if integer:
                return rng.randint(low, high)
            # Scores land where a fairly sure model puts them, whatever the declared range.
            value = rng.uniform(0.5, 0.95) if _looks_like_score(name) else rng.uniform(low, high)
            return min(max(round(value, 2), low), high)

        return generate

    def _error(self, path: tuple[str, ...], problem: str) -> SchemaError:
        context = ", ".join(repr(part) for part in path)
        return SchemaError(
            f"Invalid schema for response_format {self._name!r}: In context=({context}), {problem}."
        )


def _unreachable(rng: random.Random, name: str, depth: int) -> Any:
    raise AssertionError("a $ref placeholder was called before it was compiled")


def _merge_all_of(node: JSONObject) -> JSONObject:
    merged = {key: value for key, value in node.items() if key != "allOf"}
    for part in node["allOf"]:
        if not isinstance(part, dict):
            continue
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged.setdefault(key, value)
    return merged


# Field-name fragments and the sentences a support model would plausibly put there.
_TEXTS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("language", "lang", "locale"), ("en",)),
    (("currency",), ("USD", "EUR")),
    (("email",), ("customer@example.com",)),
    (
        ("summary", "title", "subject"),
        (
            "Customer asks about a charge on their account.",
            "Customer reports a payment problem and wants it resolved.",
            "Customer requests help with a refund.",
        ),
    ),
    (
        ("body", "reply", "message", "response", "answer", "draft", "text", "content"),
        (
            "Thank you for reaching out. We have reviewed your account and will follow up "
            "with the details shortly.",
            "Thanks for contacting us. We are looking into your payment and will get back to "
            "you within one business day.",
        ),
    ),
    (("reason", "explanation", "rationale", "problem"), ("Based on the ticket text.",)),
    (("category", "intent", "topic"), ("billing", "refund", "other")),
    (("sentiment",), ("neutral",)),
)
_FORMATS = {
    "date-time": "2024-01-15T10:30:00Z",
    "date": "2024-01-15",
    "time": "10:30:00",
    "email": "customer@example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.com/",
}


def _string(node: JSONObject) -> ValueGenerator:
    min_length = int(node.get("minLength", 0))
    max_length = node.get("maxLength")
    fixed = _FORMATS.get(node.get("format", ""))

    def generate(rng: random.Random, name: str, depth: int) -> Any:
        text = fixed if fixed is not None else _text_for(name, rng)
        if max_length is not None:
            text = text[: int(max_length)]
        return text.ljust(min_length, "x")

    return generate


def _text_for(name: str, rng: random.Random) -> str:
    lowered = name.lower()
    # An id the model was not given is not something it should make up.
    if lowered == "id" or lowered.endswith(("_id", "_ids", "ids")):
        return ""
    for fragments, texts in _TEXTS:
        if any(fragment in lowered for fragment in fragments):
            return rng.choice(texts)
    return "Simulated text."


def _boolean(rng: random.Random, name: str, depth: int) -> Any:
    words = set(name.lower().split("_"))
    if words & {"passed", "valid", "grounded", "success", "ok"}:
        return True
    if words & {"human", "escalate", "escalation", "urgent"}:
        return rng.random() < 0.15
    return rng.random() < 0.5


def _usually_empty(name: str) -> bool:
    lowered = name.lower()
    return (
        lowered.endswith("ids")
        or lowered.startswith("cited")
        or lowered
        in (
            "problems",
            "errors",
            "warnings",
            "issues",
        )
    )


def _looks_like_score(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in ("confidence", "score", "probability"))
