"""Requests gathered into OpenAI batches, and their answers handed back one by one.

A caller asks for one request's answer (`Batcher.answer`) and waits. Requests that
arrive close together (no new one for `gather_seconds`, or a full file) are looked up
in the ledger first: one answered before is answered from it, one pending in a batch
waits for that batch (a rerun after a crash resumes polling, paying nothing twice),
and the rest are written as JSON Lines, uploaded with purpose `batch` (split at the
file limits) and sent as batches with a 24 h completion window. Each batch is polled
until it ends; then its output and error files are downloaded, stored, and matched
to the waiting callers by `custom_id`.

Follows OpenAI's Batch guide and reference:
https://developers.openai.com/api/docs/guides/batch and
https://developers.openai.com/api/reference/resources/batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, Protocol, TypeVar

import openai
from openai.types import Batch

from supporter.domain.batches import StoredBatch, StoredRequest

log = logging.getLogger(__name__)

T = TypeVar("T")

TERMINAL: Final = frozenset({"completed", "failed", "expired", "cancelled"})
# OpenAI's limits on one batch input file.
MAX_REQUESTS: Final = 50_000
MAX_BYTES: Final = 200 * 1024 * 1024
_LIST_PAGE: Final = 100


class BatchLedger(Protocol):
    """Where batches and their requests are remembered (the store)."""

    async def requests(self, custom_ids: Sequence[str]) -> dict[str, StoredRequest]: ...

    async def uploaded(
        self, input_file_id: str, endpoint: str, custom_ids: Sequence[str]
    ) -> None: ...

    async def created(self, input_file_id: str, batch_id: str, status: str) -> None: ...

    async def progressed(
        self, input_file_id: str, status: str, completed: int, failed: int
    ) -> None: ...

    async def collected(
        self,
        input_file_id: str,
        status: str,
        answers: Mapping[str, StoredRequest],
        reason: str,
    ) -> None: ...

    async def batch(self, input_file_id: str) -> StoredBatch | None: ...


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """One request's outcome: an HTTP answer (`status_code`, `body`), or none and why."""

    status_code: int | None
    body: bytes = b""
    reason: str | None = None
    # No answer because the Batch API could not be reached (not the request's fault).
    unavailable: bool = False


@dataclass(frozen=True, slots=True)
class BatchProgress:
    batch_id: str
    status: str
    total: int
    completed: int
    failed: int


@dataclass(frozen=True, slots=True)
class BatchSettings:
    max_requests: int = MAX_REQUESTS
    max_bytes: int = MAX_BYTES
    # Requests are sent once none has arrived for this long (or a file is full).
    gather_seconds: float = 2.0
    poll_interval: float = 30.0

    def __post_init__(self) -> None:
        if not 1 <= self.max_requests <= MAX_REQUESTS:
            raise ValueError(f"batch max_requests must be between 1 and {MAX_REQUESTS}")
        if not 1 <= self.max_bytes <= MAX_BYTES:
            raise ValueError(f"batch max_bytes must be between 1 and {MAX_BYTES}")
        if self.gather_seconds < 0 or self.poll_interval <= 0:
            raise ValueError("gather_seconds must be >= 0 and poll_interval positive")


@dataclass(eq=False)
class _Request:
    custom_id: str
    url: str
    line: bytes
    waiters: list[asyncio.Future[BatchAnswer]] = field(default_factory=list)


@dataclass(eq=False)
class _Tracker:
    """The requests of this process waiting for one batch (by its input file)."""

    input_file_id: str
    requests: dict[str, _Request] = field(default_factory=dict)


def custom_id_of(url: str, body: Mapping[str, Any]) -> str:
    """The same request always gets the same id: that is what a rerun finds it by."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.blake2b(f"{url}\n{canonical}".encode(), digest_size=16).hexdigest()
    return f"supporter-{digest}"


class Batcher:
    """See the module docstring. `on_progress` hears of each batch whose state changed."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        ledger: BatchLedger,
        settings: BatchSettings | None = None,
        *,
        on_progress: Callable[[BatchProgress], None] | None = None,
    ) -> None:
        self._client = client
        self._ledger = ledger
        self._settings = settings if settings is not None else BatchSettings()
        self._on_progress = on_progress
        self._open: dict[str, _Request] = {}
        self._incoming: list[_Request] = []
        self._arrived = asyncio.Event()
        self._trackers: dict[str, _Tracker] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._gatherer: asyncio.Task[None] | None = None
        self._files = itertools.count(1)

    async def answer(self, url: str, body: Mapping[str, Any]) -> BatchAnswer:
        """The answer to `POST url` with `body`, once its batch has one."""
        custom_id = custom_id_of(url, body)
        request = self._open.get(custom_id)
        if request is None:
            line = {"custom_id": custom_id, "method": "POST", "url": url, "body": body}
            encoded = json.dumps(line, separators=(",", ":"), ensure_ascii=False) + "\n"
            request = _Request(custom_id, url, encoded.encode())
            self._open[custom_id] = request
            self._incoming.append(request)
            self._arrived.set()
        future: asyncio.Future[BatchAnswer] = asyncio.get_running_loop().create_future()
        request.waiters.append(future)
        if self._gatherer is None or self._gatherer.done():
            self._gatherer = asyncio.create_task(self._gather(), name="batch-gather")
        try:
            return await future
        finally:
            with contextlib.suppress(ValueError):
                request.waiters.remove(future)

    async def aclose(self) -> None:
        tasks = [*self._tasks, *([self._gatherer] if self._gatherer else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- gathering ----------------------------------------------------------------------------

    async def _gather(self) -> None:
        while True:
            await self._arrived.wait()
            while len(self._incoming) < self._settings.max_requests:
                self._arrived.clear()
                try:
                    async with asyncio.timeout(self._settings.gather_seconds):
                        await self._arrived.wait()
                except TimeoutError:
                    break
            self._arrived.clear()
            group, self._incoming = self._incoming, []
            try:
                await self._dispatch(group)
            except Exception as error:
                self._fail(group, _unavailable(error))

    async def _dispatch(self, group: list[_Request]) -> None:
        stored = await self._ledger.requests([request.custom_id for request in group])
        fresh: list[_Request] = []
        for request in group:
            known = stored.get(request.custom_id)
            if known is None or known.state == "failed":
                fresh.append(request)
            elif known.state == "answered":
                self._resolve(request, _answer_of(known))
            else:
                assert known.input_file_id is not None
                self._follow(known.input_file_id, [request])
        by_url: dict[str, list[_Request]] = {}
        for request in fresh:
            by_url.setdefault(request.url, []).append(request)
        for url, requests in by_url.items():
            for chunk in self._files_of(requests):
                await self._submit(url, chunk)

    def _files_of(self, requests: list[_Request]) -> list[list[_Request]]:
        """Split at the request and byte limits of one input file."""
        chunks: list[list[_Request]] = [[]]
        size = 0
        for request in requests:
            chunk = chunks[-1]
            if chunk and (
                len(chunk) >= self._settings.max_requests
                or size + len(request.line) > self._settings.max_bytes
            ):
                chunk = []
                chunks.append(chunk)
                size = 0
            chunk.append(request)
            size += len(request.line)
        return [chunk for chunk in chunks if chunk]

    async def _submit(self, url: str, requests: list[_Request]) -> None:
        content = b"".join(request.line for request in requests)
        try:
            uploaded = await self._client.files.create(
                file=(f"supporter-{next(self._files)}.jsonl", content), purpose="batch"
            )
        except openai.APIError as error:
            self._fail(requests, _api_failure(error))
            return
        del content
        await self._ledger.uploaded(uploaded.id, url, [r.custom_id for r in requests])
        for request in requests:
            # Uploaded: a file's worth of prompts need not wait in memory for the answers.
            request.line = b""
        log.info("uploaded %d requests for a batch (file %s)", len(requests), uploaded.id)
        self._follow(uploaded.id, requests)

    # -- following a batch --------------------------------------------------------------------

    def _follow(self, input_file_id: str, requests: list[_Request]) -> None:
        # A batch collected while these were looked up is simply followed again: it is
        # over, so that costs one look at it and one download of its files.
        tracker = self._trackers.get(input_file_id)
        if tracker is None:
            tracker = self._trackers[input_file_id] = _Tracker(input_file_id)
            task = asyncio.create_task(self._track(tracker), name=f"batch-{input_file_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        for request in requests:
            tracker.requests[request.custom_id] = request

    async def _track(self, tracker: _Tracker) -> None:
        try:
            batch = await self._until_done(tracker.input_file_id)
            answers, reason = await self._results(batch)
            await self._ledger.collected(tracker.input_file_id, batch.status, answers, reason)
        except _Stop as stop:
            failed = stop.answer
            self._close(tracker, lambda request: failed)
            return
        except Exception as error:
            unavailable = _unavailable(error)
            self._close(tracker, lambda request: unavailable)
            return
        self._close(
            tracker,
            lambda request: (
                _answer_of(answers[request.custom_id])
                if request.custom_id in answers
                else BatchAnswer(None, reason=reason)
            ),
        )

    def _close(self, tracker: _Tracker, answer: Callable[[_Request], BatchAnswer]) -> None:
        del self._trackers[tracker.input_file_id]
        for request in tracker.requests.values():
            self._resolve(request, answer(request))

    async def _until_done(self, input_file_id: str) -> Batch:
        stored = await self._ledger.batch(input_file_id)
        if stored is None:
            raise _Stop(BatchAnswer(None, reason=f"no batch recorded for file {input_file_id}"))
        batch_id = stored.batch_id or await self._find(input_file_id)
        if batch_id is None:
            endpoint: Any = stored.endpoint
            batch = await self._call(
                lambda: self._client.batches.create(
                    input_file_id=input_file_id,
                    endpoint=endpoint,
                    completion_window="24h",
                    metadata={"created_by": "supporter"},
                )
            )
            batch_id = batch.id
            await self._ledger.created(input_file_id, batch.id, batch.status)
            log.info("created batch %s (%d requests)", batch.id, stored.requests)
        seen: tuple[str, int, int] | None = None
        while True:
            batch = await self._call(lambda: self._client.batches.retrieve(batch_id))
            counts = batch.request_counts
            done, failed = (counts.completed, counts.failed) if counts else (0, 0)
            if (batch.status, done, failed) != seen:
                seen = (batch.status, done, failed)
                await self._ledger.progressed(input_file_id, batch.status, done, failed)
                self._report(batch)
            if batch.status in TERMINAL:
                return batch
            await asyncio.sleep(self._settings.poll_interval)

    async def _find(self, input_file_id: str) -> str | None:
        """A batch created for this file by a run that crashed before recording it."""
        async for batch in self._client.batches.list(limit=_LIST_PAGE):
            if batch.input_file_id == input_file_id:
                await self._ledger.created(input_file_id, batch.id, batch.status)
                return batch.id
        return None

    async def _call(self, call: Callable[[], Awaitable[T]]) -> T:
        """An API call while following a batch: a refusal stops it, an outage is waited out
        (the batch goes on without us)."""
        while True:
            try:
                return await call()
            except (openai.APIConnectionError, openai.InternalServerError) as error:
                log.warning("Batch API unavailable, trying again: %s", type(error).__name__)
            except openai.RateLimitError as error:
                if "insufficient_quota" in (error.code, error.type):
                    raise _Stop(_api_failure(error)) from None
                log.warning("Batch API rate limited, trying again")
            except openai.APIStatusError as error:
                raise _Stop(_api_failure(error)) from None
            await asyncio.sleep(self._settings.poll_interval)

    async def _results(self, batch: Batch) -> tuple[dict[str, StoredRequest], str]:
        """Answers by custom_id from the output and error files, and why the rest failed."""
        answers: dict[str, StoredRequest] = {}
        for file_id in filter(None, (batch.output_file_id, batch.error_file_id)):
            content = await self._call(partial(self._client.files.content, file_id))
            for line in content.content.splitlines():
                if line.strip():
                    entry = _entry(json.loads(line))
                    answers[entry.custom_id] = entry
        reason = f"batch {batch.id} {batch.status}"
        if batch.errors and batch.errors.data:
            first = batch.errors.data[0]
            reason += f": {first.code} at line {first.line}: {first.message}"
        return answers, reason

    def _report(self, batch: Batch) -> None:
        counts = batch.request_counts
        progress = BatchProgress(
            batch.id,
            batch.status,
            counts.total if counts else 0,
            counts.completed if counts else 0,
            counts.failed if counts else 0,
        )
        log.info(
            "batch %s: %s, %d of %d done, %d failed",
            progress.batch_id,
            progress.status,
            progress.completed,
            progress.total,
            progress.failed,
        )
        if self._on_progress is not None:
            self._on_progress(progress)

    # -- answering callers --------------------------------------------------------------------

    def _resolve(self, request: _Request, answer: BatchAnswer) -> None:
        if self._open.get(request.custom_id) is request:
            del self._open[request.custom_id]
        for waiter in request.waiters:
            if not waiter.done():
                waiter.set_result(answer)

    def _fail(self, requests: list[_Request], answer: BatchAnswer) -> None:
        for request in requests:
            self._resolve(request, answer)


class _Stop(Exception):
    """Following a batch cannot go on: its requests get `answer`."""

    def __init__(self, answer: BatchAnswer) -> None:
        super().__init__(answer.reason)
        self.answer = answer


def _entry(line: Mapping[str, Any]) -> StoredRequest:
    """One line of an output or error file."""
    custom_id = str(line.get("custom_id"))
    response = line.get("response")
    if isinstance(response, Mapping) and isinstance(response.get("status_code"), int):
        status = response["status_code"]
        body = json.dumps(response.get("body"), ensure_ascii=False)
        return StoredRequest(
            custom_id,
            "answered" if 200 <= status < 300 else "failed",
            None,
            status_code=status,
            body=body,
        )
    error = line.get("error") or {}
    reason = f"{error.get('code') or 'error'}: {error.get('message') or 'no answer'}"
    return StoredRequest(custom_id, "failed", None, error=reason)


def _answer_of(stored: StoredRequest) -> BatchAnswer:
    if stored.status_code is None:
        return BatchAnswer(None, reason=stored.error)
    return BatchAnswer(stored.status_code, (stored.body or "null").encode())


def _api_failure(error: openai.APIError) -> BatchAnswer:
    """The Batch API refused: its answer stands for the request's (a bad key is a bad key)."""
    if isinstance(error, openai.APIStatusError):
        return BatchAnswer(error.status_code, error.response.content, reason=str(error))
    return _unavailable(error)


def _unavailable(error: BaseException) -> BatchAnswer:
    return BatchAnswer(
        None, reason=f"Batch API unavailable ({type(error).__name__})", unavailable=True
    )
