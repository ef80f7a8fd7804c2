"""An HTTP transport for the openai SDK that sends model requests through the Batch API.

The OpenAI provider builds its requests and reads its answers exactly as in real time;
only the transport under its HTTP client differs: a `POST` to a batchable endpoint is
handed to the `Batcher`, and the answer from the batch's output or error file comes
back as that request's HTTP response. So whatever the provider sends in real time
(model parameters, Structured Outputs, the Responses API) is what a batch line holds,
and its answers are judged by the same code. Other requests pass through unchanged.
"""

from __future__ import annotations

import json
from typing import Final

import httpx2 as httpx

from supporter.llm.batch.batcher import BatchAnswer, Batcher

# What the Batch API accepts, as the paths the SDK posts to under its base URL.
BATCHABLE: Final = ("/responses", "/chat/completions", "/embeddings", "/completions")


class BatchFailedError(Exception):
    """The request's batch gave no answer for it. The SDK passes it through unwrapped, as
    it does any error that is not one of its HTTP client's (`request_exceptions`)."""

    def __init__(self, answer: BatchAnswer) -> None:
        super().__init__(answer.reason)
        self.reason = answer.reason or "no answer"
        self.unavailable = answer.unavailable


class BatchTransport(httpx.AsyncBaseTransport):
    def __init__(self, batcher: Batcher, passthrough: httpx.AsyncBaseTransport) -> None:
        self._batcher = batcher
        self._passthrough = passthrough

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        endpoint = _endpoint(request)
        if endpoint is None:
            return await self._passthrough.handle_async_request(request)
        body = json.loads(await request.aread())
        answer = await self._batcher.answer(endpoint, body)
        if answer.status_code is None:
            raise BatchFailedError(answer)
        return httpx.Response(
            answer.status_code,
            headers={"content-type": "application/json"},
            content=answer.body,
            request=request,
        )

    async def aclose(self) -> None:
        await self._passthrough.aclose()


def _endpoint(request: httpx.Request) -> str | None:
    """The batch line's `url` (`/v1/chat/completions`) for a batchable request, else None."""
    if request.method != "POST":
        return None
    path = request.url.path.rstrip("/")
    for suffix in BATCHABLE:
        if path.endswith(suffix):
            return "/v1" + suffix
    return None
