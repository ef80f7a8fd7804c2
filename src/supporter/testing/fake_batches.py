"""OpenAI's Files and Batch APIs, mounted on the `FakeLLM` simulator.

Written from OpenAI's API reference and Batch guide (the shapes below follow them):
https://developers.openai.com/api/reference/resources/files,
https://developers.openai.com/api/reference/resources/batches and
https://developers.openai.com/api/docs/guides/batch.

- `POST /v1/files` (multipart: `file`, `purpose`), `GET /v1/files` (purpose, order,
  after, limit), `GET /v1/files/{id}`, `GET /v1/files/{id}/content`, `DELETE /v1/files/{id}`.
- `POST /v1/batches` (`input_file_id`, `endpoint`, `completion_window` "24h",
  `metadata`), `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`, `GET /v1/batches`
  (newest first, paged with `after` and `limit`).
- The state machine: validating → in_progress → finalizing → completed, or failed (a bad
  input file), expired (the completion window passed: what was answered is in the output
  file, the rest in the error file as `batch_expired`), cancelling → cancelled.
- Each request of a batch is answered by the simulator's real-time endpoint itself (an
  HTTP request to its own URL), so batch answers are made by the same logic, with the
  same token counts and injected failures. A 429 is waited out, as the real service
  queues the request rather than failing it. Answers other than 2xx and non-HTTP
  failures go to the error file; 2xx answers to the output file.

Speed is configurable (`FakeBatchConfig`) so tests and benchmarks finish in seconds;
`completion_window_seconds` stands for the 24 hours.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from aiohttp import web

from supporter.testing.fake_llm import FakeLLM, JSONObject

BatchStatus = Literal[
    "validating",
    "failed",
    "in_progress",
    "finalizing",
    "completed",
    "expired",
    "cancelling",
    "cancelled",
]
_TERMINAL = frozenset({"failed", "completed", "expired", "cancelled"})
ENDPOINTS = ("/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions")
_FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
_EXPIRED_ERROR = {
    "code": "batch_expired",
    "message": "This request could not be executed before the completion window expired.",
}


@dataclass
class FakeBatchConfig:
    """How fast batches move. Read while they run, so tests may change it (e.g. `paused`)."""

    validating_seconds: float = 0.0
    finalizing_seconds: float = 0.0
    # Stands for the 24 h completion window: a batch not done by then expires.
    completion_window_seconds: float = 24 * 3600.0
    # Requests of one batch answered at once (each by the real-time endpoint).
    concurrency: int = 16
    # While True, batches in progress answer nothing more (to test cancel and expiry).
    paused: bool = False
    # A request whose answer takes longer fails with `request_timeout` in the error file.
    request_timeout: float = 30.0
    # OpenAI's limits: 50,000 requests and 200 MB per batch input file.
    max_requests_per_file: int = 50_000
    max_file_bytes: int = 200 * 1024 * 1024


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int

    def json(self) -> JSONObject:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": None,
        }


@dataclass
class _Batch:
    id: str
    endpoint: str
    input_file_id: str
    metadata: dict[str, str] | None
    created_at: int
    deadline: float  # monotonic time the completion window ends
    status: BatchStatus = "validating"
    times: dict[str, int] = field(default_factory=dict)
    total: int = 0
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[JSONObject] | None = None
    cancel_requested: bool = False
    task: asyncio.Task[None] | None = None

    def json(self) -> JSONObject:
        window = self.times.get("expires_at", self.created_at + 24 * 3600)
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": None if self.errors is None else {"object": "list", "data": self.errors},
            "input_file_id": self.input_file_id,
            "completion_window": "24h",
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "in_progress_at": self.times.get("in_progress_at"),
            "expires_at": window,
            "finalizing_at": self.times.get("finalizing_at"),
            "completed_at": self.times.get("completed_at"),
            "failed_at": self.times.get("failed_at"),
            "expired_at": self.times.get("expired_at"),
            "cancelling_at": self.times.get("cancelling_at"),
            "cancelled_at": self.times.get("cancelled_at"),
            "request_counts": {
                "total": self.total,
                "completed": self.completed,
                "failed": self.failed,
            },
            "metadata": self.metadata,
        }


class _InvalidInput(ValueError):
    """A line of a batch input file that the service rejects while validating."""

    def __init__(self, line: int, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.error = {"code": code, "message": message, "param": param, "line": line}


class FakeBatches:
    """The Files and Batch APIs of one `FakeLLM`; create it before the server starts::

    server = FakeLLM(FakeLLMConfig(latency_ms=1))
    batches = FakeBatches(server, FakeBatchConfig(completion_window_seconds=5))
    async with server as base_url:
        ...  # client.files.create(...), client.batches.create(...)
    assert batches.executed == ...
    """

    def __init__(self, server: FakeLLM, config: FakeBatchConfig | None = None) -> None:
        self.config = config if config is not None else FakeBatchConfig()
        self.files: dict[str, _File] = {}
        self.batches: dict[str, _Batch] = {}
        # Requests of batches answered so far (each one a real-time request paid for).
        self.executed = 0
        self._server = server
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        server.mounts.append(self._mount)

    def _mount(self, app: web.Application) -> None:
        app.router.add_post("/v1/files", self._upload)
        app.router.add_get("/v1/files", self._list_files)
        app.router.add_get("/v1/files/{file_id}", self._retrieve_file)
        app.router.add_delete("/v1/files/{file_id}", self._delete_file)
        app.router.add_get("/v1/files/{file_id}/content", self._file_content)
        app.router.add_post("/v1/batches", self._create_batch)
        app.router.add_get("/v1/batches", self._list_batches)
        app.router.add_get("/v1/batches/{batch_id}", self._retrieve_batch)
        app.router.add_post("/v1/batches/{batch_id}/cancel", self._cancel_batch)
        app.on_cleanup.append(self._stop)

    async def _stop(self, app: web.Application) -> None:
        tasks = [batch.task for batch in self.batches.values() if batch.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):024x}"

    # -- files --------------------------------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.Response:
        if self._server.config.invalid_api_key:
            return _error(401, "Incorrect API key provided.", code="invalid_api_key")
        try:
            reader = await request.multipart()
        except (AssertionError, ValueError, KeyError):
            return _error(400, "The request must be multipart/form-data.")
        purpose: str | None = None
        filename = "upload"
        content = bytearray()
        limit = self.config.max_file_bytes
        while (part := await reader.next()) is not None:
            if not isinstance(part, aiohttp.BodyPartReader):
                continue
            if part.name == "purpose":
                purpose = (await part.text()).strip()
            elif part.name == "file":
                filename = part.filename or filename
                while chunk := await part.read_chunk():
                    content += chunk
                    if len(content) > limit:
                        return _error(
                            400,
                            f"File is too large: a batch input file can be at most {limit} bytes.",
                            param="file",
                        )
        if purpose is None:
            return _error(400, "Missing required parameter: 'purpose'.", param="purpose")
        if purpose not in _FILE_PURPOSES:
            return _error(400, f"Invalid value for 'purpose': {purpose!r}.", param="purpose")
        if not content:
            return _error(400, "Missing required parameter: 'file'.", param="file")
        file = _File(self._new_id("file-"), filename, purpose, bytes(content), int(time.time()))
        self.files[file.id] = file
        return _json(200, file.json())

    async def _list_files(self, request: web.Request) -> web.Response:
        purpose = request.query.get("purpose")
        files = [f for f in self.files.values() if purpose is None or f.purpose == purpose]
        if request.query.get("order", "desc") == "desc":
            files.reverse()
        return _page(request, [f.json() for f in files], default_limit=10_000, max_limit=10_000)

    def _file(self, request: web.Request) -> _File | web.Response:
        file_id = request.match_info["file_id"]
        file = self.files.get(file_id)
        if file is None:
            return _error(404, f"No such File object: {file_id}", param="id")
        return file

    async def _retrieve_file(self, request: web.Request) -> web.Response:
        file = self._file(request)
        return file if isinstance(file, web.Response) else _json(200, file.json())

    async def _delete_file(self, request: web.Request) -> web.Response:
        file = self._file(request)
        if isinstance(file, web.Response):
            return file
        del self.files[file.id]
        return _json(200, {"id": file.id, "object": "file", "deleted": True})

    async def _file_content(self, request: web.Request) -> web.Response:
        file = self._file(request)
        if isinstance(file, web.Response):
            return file
        return web.Response(body=file.content, content_type="application/octet-stream")

    # -- batches ------------------------------------------------------------------------------

    async def _create_batch(self, request: web.Request) -> web.Response:
        if self._server.config.invalid_api_key:
            return _error(401, "Incorrect API key provided.", code="invalid_api_key")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.")
        problem = _check_create(body)
        if problem is not None:
            return problem
        file = self.files.get(body["input_file_id"])
        if file is None:
            return _error(404, f"No such File object: {body['input_file_id']}", "input_file_id")
        if file.purpose != "batch":
            return _error(
                400, "The input file must be uploaded with purpose 'batch'.", "input_file_id"
            )
        now = time.time()
        batch = _Batch(
            id=self._new_id("batch_"),
            endpoint=body["endpoint"],
            input_file_id=file.id,
            metadata=body.get("metadata"),
            created_at=int(now),
            deadline=time.monotonic() + self.config.completion_window_seconds,
        )
        batch.times["expires_at"] = int(now + self.config.completion_window_seconds)
        self.batches[batch.id] = batch
        # The service calls itself back at the address the batch was created through.
        origin = f"{request.url.scheme}://{request.host}"
        batch.task = asyncio.create_task(self._run(batch, file, origin))
        return _json(200, batch.json())

    async def _list_batches(self, request: web.Request) -> web.Response:
        newest_first = [batch.json() for batch in reversed(self.batches.values())]
        return _page(request, newest_first, default_limit=20, max_limit=100)

    async def _retrieve_batch(self, request: web.Request) -> web.Response:
        batch = self._batch(request)
        return batch if isinstance(batch, web.Response) else _json(200, batch.json())

    async def _cancel_batch(self, request: web.Request) -> web.Response:
        batch = self._batch(request)
        if isinstance(batch, web.Response):
            return batch
        if batch.status in _TERMINAL or batch.status == "cancelling":
            return _error(
                409, f"Cannot cancel a batch with status '{batch.status}'.", code="conflict"
            )
        batch.cancel_requested = True
        batch.status = "cancelling"
        batch.times["cancelling_at"] = int(time.time())
        return _json(200, batch.json())

    def _batch(self, request: web.Request) -> _Batch | web.Response:
        batch_id = request.match_info["batch_id"]
        batch = self.batches.get(batch_id)
        if batch is None:
            return _error(404, f"No batch found with id '{batch_id}'.", param="batch_id")
        return batch

    # -- the state machine --------------------------------------------------------------------

    async def _run(self, batch: _Batch, file: _File, origin: str) -> None:
        await asyncio.sleep(self.config.validating_seconds)
        try:
            lines = self._parse(file.content, batch.endpoint)
        except _InvalidInput as error:
            batch.errors = [error.error]
            self._finish(batch, "failed")
            return
        batch.total = len(lines)
        if batch.cancel_requested:
            self._finish(batch, "cancelled")
            return
        batch.status = "in_progress"
        batch.times["in_progress_at"] = int(time.time())
        outputs: list[JSONObject] = []
        errors: list[JSONObject] = []
        pending = list(reversed(lines))
        workers = [
            asyncio.create_task(self._work(batch, pending, origin, outputs, errors))
            for _ in range(max(1, self.config.concurrency))
        ]
        await asyncio.gather(*workers)
        if batch.cancel_requested:
            self._write(batch, outputs, errors)
            self._finish(batch, "cancelled")
            return
        if pending:  # the window closed first: what is left fails as expired
            for line in pending:
                errors.append(_error_line(self._new_id("batch_req_"), line, _EXPIRED_ERROR))
            batch.failed += len(pending)
            self._write(batch, outputs, errors)
            self._finish(batch, "expired")
            return
        batch.status = "finalizing"
        batch.times["finalizing_at"] = int(time.time())
        await asyncio.sleep(self.config.finalizing_seconds)
        self._write(batch, outputs, errors)
        self._finish(batch, "completed")

    async def _work(
        self,
        batch: _Batch,
        pending: list[JSONObject],
        origin: str,
        outputs: list[JSONObject],
        errors: list[JSONObject],
    ) -> None:
        while pending:
            if batch.cancel_requested or time.monotonic() >= batch.deadline:
                return
            if self.config.paused:
                await asyncio.sleep(0.01)
                continue
            line = pending.pop()
            status, answer, request_id = await self._answer(origin, line)
            self.executed += 1
            line_id = self._new_id("batch_req_")
            if status is None:
                errors.append(_error_line(line_id, line, answer))
                batch.failed += 1
                continue
            response = {"status_code": status, "request_id": request_id, "body": answer}
            entry = {"id": line_id, "custom_id": line["custom_id"], "response": response}
            entry["error"] = None
            if 200 <= status < 300:
                outputs.append(entry)
                batch.completed += 1
            else:
                errors.append(entry)
                batch.failed += 1

    async def _answer(
        self, origin: str, line: JSONObject
    ) -> tuple[int | None, JSONObject, str | None]:
        """(status, body, request id) from the real-time endpoint; status None and an error
        object when no HTTP answer came."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        while True:
            try:
                async with self._session.post(
                    origin + line["url"],
                    json=line["body"],
                    headers={"Authorization": "Bearer batch"},
                    timeout=aiohttp.ClientTimeout(total=self.config.request_timeout),
                ) as answer:
                    body = await answer.json(content_type=None)
                    if answer.status == 429 and body.get("error", {}).get("type") != (
                        "insufficient_quota"
                    ):
                        await asyncio.sleep(float(answer.headers.get("retry-after-ms", 100)) / 1000)
                        continue
                    return answer.status, body, answer.headers.get("x-request-id")
            except TimeoutError:
                return None, {"code": "request_timeout", "message": "Request timed out."}, None
            except (aiohttp.ClientError, ValueError) as error:
                return None, {"code": "server_error", "message": str(error)}, None

    def _parse(self, content: bytes, endpoint: str) -> list[JSONObject]:
        lines: list[JSONObject] = []
        seen: set[str] = set()
        for number, raw in enumerate(content.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                raise _InvalidInput(
                    number, "invalid_json_line", "This line is not valid JSON."
                ) from None
            if not isinstance(line, dict):
                raise _InvalidInput(number, "invalid_json_line", "A line must be a JSON object.")
            for key in ("custom_id", "method", "url", "body"):
                if key not in line:
                    raise _InvalidInput(
                        number, "missing_required_parameter", f"Missing '{key}'.", key
                    )
            if line["custom_id"] in seen:
                raise _InvalidInput(
                    number,
                    "duplicate_custom_id",
                    f"The custom_id {line['custom_id']!r} is used by more than one request.",
                    "custom_id",
                )
            seen.add(line["custom_id"])
            if line["method"] != "POST" or line["url"] != endpoint:
                raise _InvalidInput(
                    number,
                    "invalid_url",
                    f"Every request must be POST {endpoint}, the batch's endpoint.",
                    "url",
                )
            lines.append(line)
        if not lines:
            raise _InvalidInput(0, "empty_file", "The input file has no requests.")
        limit = self.config.max_requests_per_file
        if len(lines) > limit:
            raise _InvalidInput(
                limit + 1,
                "too_many_requests",
                f"A batch input file can hold at most {limit} requests; this one has {len(lines)}.",
            )
        return lines

    def _write(self, batch: _Batch, outputs: list[JSONObject], errors: list[JSONObject]) -> None:
        for name, entries in (("output_file_id", outputs), ("error_file_id", errors)):
            if not entries:
                continue
            content = "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in entries)
            file = _File(
                self._new_id("file-"),
                f"{batch.id}_{name.split('_')[0]}.jsonl",
                "batch_output",
                content.encode(),
                int(time.time()),
            )
            self.files[file.id] = file
            setattr(batch, name, file.id)

    def _finish(self, batch: _Batch, status: BatchStatus) -> None:
        batch.status = status
        batch.times[f"{status}_at"] = int(time.time())


def _check_create(body: JSONObject) -> web.Response | None:
    for key in ("input_file_id", "endpoint", "completion_window"):
        if not isinstance(body.get(key), str):
            return _error(400, f"Missing required parameter: '{key}'.", param=key)
    if body["endpoint"] not in ENDPOINTS:
        supported = ", ".join(ENDPOINTS)
        return _error(
            400, f"Invalid endpoint {body['endpoint']!r}: use one of {supported}.", "endpoint"
        )
    if body["completion_window"] != "24h":
        return _error(
            400, "Invalid completion_window: only '24h' is supported.", "completion_window"
        )
    metadata = body.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict)
        or len(metadata) > 16
        or any(len(str(k)) > 64 or len(str(v)) > 512 for k, v in metadata.items())
    ):
        return _error(
            400,
            "metadata: at most 16 pairs, keys up to 64 and values up to 512 characters.",
            "metadata",
        )
    return None


def _error_line(line_id: str, line: JSONObject, error: JSONObject) -> JSONObject:
    return {"id": line_id, "custom_id": line["custom_id"], "response": None, "error": error}


def _page(
    request: web.Request, items: list[JSONObject], *, default_limit: int, max_limit: int
) -> web.Response:
    """A cursor page: items after the id `after`, at most `limit`, with `has_more`."""
    try:
        limit = int(request.query.get("limit", default_limit))
    except ValueError:
        return _error(400, "Invalid value for 'limit': expected an integer.", param="limit")
    if not 1 <= limit <= max_limit:
        return _error(400, f"'limit' must be between 1 and {max_limit}.", param="limit")
    after = request.query.get("after")
    if after is not None:
        ids = [item["id"] for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    page = items[:limit]
    return _json(
        200,
        {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(items) > limit,
        },
    )


def _error(
    status: int, message: str, param: str | None = None, *, code: str | None = None
) -> web.Response:
    kind = "invalid_request_error"
    return _json(
        status, {"error": {"message": message, "type": kind, "param": param, "code": code}}
    )


def _json(status: int, payload: Any) -> web.Response:
    return web.json_response(
        payload, status=status, headers={"x-request-id": f"req_fake{time.monotonic_ns():x}"}
    )
