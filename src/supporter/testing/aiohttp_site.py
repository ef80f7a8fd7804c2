"""Serving a simulator's aiohttp application on a loopback port, shared by the simulators."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from aiohttp import web


async def bind(
    app: web.Application, host: str, port: int, **runner: Any
) -> tuple[web.AppRunner, str]:
    """Serve `app` on `host:port` (0 = a free port); returns the runner and `http://host:port`.

    Without an access log and with a short shutdown timeout, so a stop does not sit out
    the latencies of requests in flight; `runner` adds `web.AppRunner` options.
    """
    started = web.AppRunner(app, access_log=None, shutdown_timeout=0.5, **runner)
    await started.setup()
    try:
        await web.TCPSite(started, host, port).start()
    except OSError:
        await started.cleanup()
        raise
    shown_host = f"[{host}]" if ":" in host else host
    return started, f"http://{shown_host}:{started.addresses[0][1]}"


class ServedSimulator:
    """Start, stop and `async with` for a simulator whose routes `_application` builds.

    `url` is the base URL while serving. `_stopping` is set at stop, so an injected hang
    (`Faults`) ends with the server instead of outliving it; a handler is cancelled when
    its client gives up, as a real server's request would end.
    """

    def __init__(self) -> None:
        self.url = ""
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None

    def _application(self) -> web.Application:
        raise NotImplementedError

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on `host:port` (0 = a free port); returns the base URL (no trailing slash)."""
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        self._stopping = asyncio.Event()
        self._runner, self.url = await bind(
            self._application(), host, port, handler_cancellation=True
        )
        return self.url

    async def stop(self) -> None:
        self._stopping.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> str:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
