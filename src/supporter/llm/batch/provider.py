"""The batch provider: the OpenAI provider's requests, answered through the Batch API.

Every analysis and reply is asked of an `OpenAIProvider` whose HTTP transport hands
the request to the `Batcher` (see `transport`): same requests, same checks of the
answers, same result cache, costed at the price table's batch tier. A request its
batch did not answer (expired, cancelled, an error line) raises `BatchRequestError`:
the pipeline tries it again in a later batch and dead-letters it after its last try.
With a `realtime` provider, such a request is asked of it at once instead.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TypeVar

import httpx2 as httpx
import openai
from pydantic import BaseModel

from supporter.domain.errors import InvalidAnswerError, TransientError
from supporter.domain.models import Analysis, Reply, Usage
from supporter.llm.base import (
    AnalysisRequest,
    ModelObserver,
    ModelProvider,
    ModelResponse,
    ReplyRequest,
)
from supporter.llm.batch.batcher import Batcher, BatchLedger, BatchProgress, BatchSettings
from supporter.llm.batch.transport import BatchFailedError, BatchTransport
from supporter.llm.cache import ResultCache
from supporter.llm.openai import OpenAIProvider, resolve_api_key
from supporter.llm.openai_wire import Api
from supporter.llm.pricing import PriceTable
from supporter.llm.ratelimit import RateLimiter

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

# A batch answers within its 24 h window; a call waits that long and a little more.
_WAIT_SECONDS = 26 * 3600.0
# Requests waiting for batches are not calls in flight at a provider: no bound but memory.
_WAITING = 1_000_000


class BatchRequestError(InvalidAnswerError):
    """The batch ended without an answer to this request: try it in another batch.

    The Batch API is up when it says so, so no circuit breaker opens for it."""


def batch_client(base_url: str | None, api_key: str | None = None) -> openai.AsyncOpenAI:
    """A client for files and batches, with the SDK's own retries: those calls are not a
    ticket's, and the pipeline's retry policy does not see them. ValueError without a key
    (but for a local server, which takes any)."""
    return openai.AsyncOpenAI(
        api_key=resolve_api_key(api_key, base_url), base_url=base_url, max_retries=2
    )


class BatchProvider:
    """A `ModelProvider` over the Batch API (see the module docstring)."""

    def __init__(
        self,
        model: str,
        ledger: BatchLedger,
        settings: BatchSettings | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        cache: ResultCache | None = None,
        prices: PriceTable | None = None,
        observer: ModelObserver | None = None,
        api: Api = "chat",
        realtime: ModelProvider | None = None,
        on_progress: Callable[[BatchProgress], None] | None = None,
    ) -> None:
        self._model = model
        self._realtime = realtime
        client = batch_client(base_url, api_key)
        self._batcher = Batcher(client, ledger, settings, on_progress=on_progress)
        self._client = client
        transport = BatchTransport(self._batcher, passthrough=httpx.AsyncHTTPTransport())
        self._inner = OpenAIProvider(
            model,
            api_key=api_key,
            base_url=base_url,
            limiter=RateLimiter(None, None, _WAITING),
            request_timeout=_WAIT_SECONDS,
            deadline=_WAIT_SECONDS,
            cache=cache,
            prices=prices,
            # Costed at the price table's batch tier (https://openai.com/api/pricing/).
            service_tier="batch",
            api=api,
            observer=observer,
            http_client=httpx.AsyncClient(transport=transport, timeout=_WAIT_SECONDS),
        )

    @property
    def name(self) -> str:
        return f"openai-batch:{self._model}"

    @property
    def version(self) -> str:
        # The same model and prompts answer the same in a batch: results are shared
        # with real-time runs, and a ticket done one way is not redone the other.
        return self._inner.version

    @property
    def spent(self) -> Usage:
        return self._inner.spent

    def spent_usd(self) -> Decimal | None:
        return self._inner.spent_usd()

    async def analyze(self, request: AnalysisRequest) -> ModelResponse[Analysis]:
        return await self._batched(lambda provider: provider.analyze(request))

    async def draft_reply(self, request: ReplyRequest) -> ModelResponse[Reply]:
        return await self._batched(lambda provider: provider.draft_reply(request))

    async def aclose(self) -> None:
        await self._batcher.aclose()
        await self._inner.aclose()
        await self._client.close()

    async def _batched(
        self, call: Callable[[ModelProvider], Awaitable[ModelResponse[T]]]
    ) -> ModelResponse[T]:
        try:
            response = await call(self._inner)
        except BatchFailedError as failure:
            if failure.unavailable:
                raise TransientError(failure.reason) from None
            if self._realtime is None:
                raise BatchRequestError(f"batch request failed: {failure.reason}") from None
            log.info("asking in real time what a batch did not answer: %s", failure.reason)
            return await call(self._realtime)
        return response.model_copy(update={"provider": self.name})
