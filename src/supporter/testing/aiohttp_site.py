"""Serving a simulator's aiohttp application on a loopback port, shared by the simulators."""

from __future__ import annotations

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
