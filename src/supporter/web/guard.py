"""A plain ASGI middleware (no per-request task, unlike Starlette's `BaseHTTPMiddleware`)
that refuses URLs holding a NUL and adds the security headers to every answer."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Guard:
    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        self._app = app
        self._headers = dict(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self._headers.items():
                    headers.setdefault(name, value)
            await send(message)

        # No id or filter holds a NUL, and PostgreSQL refuses one in any text it is sent.
        raw = bytes(scope.get("raw_path") or b"") + b"?" + bytes(scope.get("query_string", b""))
        if b"%00" in raw or "\x00" in scope["path"]:
            refusal = PlainTextResponse("NUL characters are not allowed in URLs", 400)
            await refusal(scope, receive, with_headers)
            return
        await self._app(scope, receive, with_headers)
