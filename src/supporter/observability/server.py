"""The metrics port: `/metrics` for Prometheus, `/healthz` and `/readyz` for Kubernetes.

`/healthz` answers while the process (its event loop) is up; `/readyz` only while
every check (the broker, the store) answers within `timeout`, with the reason of
the first that does not otherwise, so that a pod cut off from them gets no work.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType

from aiohttp import web

from supporter.brokers.base import Broker
from supporter.observability.metrics import CONTENT_TYPE, DEFAULT_PORT, Metrics

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[object]]


class MetricsServer:
    """Serves one pipeline's metrics and probes; `port=0` takes a free port (`.port`)."""

    def __init__(
        self,
        metrics: Metrics,
        broker: Broker,
        queues: Iterable[str],
        checks: Mapping[str, ReadinessCheck],
        *,
        port: int = DEFAULT_PORT,
        host: str = "0.0.0.0",
        timeout: float = 2.0,
    ) -> None:
        self._metrics = metrics
        self._broker = broker
        self._queues = list(queues)
        self._checks = dict(checks)
        self._host = host
        self._timeout = timeout
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._scrape)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self.port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        if self.port == 0:
            server = site._server
            assert isinstance(server, asyncio.Server)
            self.port = server.sockets[0].getsockname()[1]
        log.info("metrics and probes on http://%s:%d/metrics", self._host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> MetricsServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _scrape(self, request: web.Request) -> web.Response:
        await self._metrics.refresh_queue_depths(self._broker, self._queues, patience=self._timeout)
        return web.Response(body=self._metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        reason = await not_ready(self._checks, self._timeout)
        if reason is None:
            return web.Response(text="ready\n")
        return web.Response(status=503, text=f"not ready: {reason}\n")


async def not_ready(checks: Mapping[str, ReadinessCheck], patience: float) -> str | None:
    """Why the process is not ready (the first check that fails or does not answer
    within `patience` seconds), or None when every check answers."""
    for name, check in checks.items():
        try:
            async with asyncio.timeout(patience):
                await check()
        except TimeoutError:
            reason = f"{name}: no answer within {patience:g}s"
        except Exception as error:
            reason = f"{name}: {error or type(error).__name__}"
        else:
            continue
        log.warning("not ready: %s", reason)
        return reason
    return None
