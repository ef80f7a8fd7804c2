"""A TCP relay to a server that can cut every connection through it at once, as a
network failure or a server restart would, refuse connections for a while, as a server
that is down would, or hold everything sent through it, as a server that stops
answering would; it runs on a thread of its own, so the processes
and event loops of a test can all go through it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class TcpProxy:
    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._flowing = threading.Event()
        self._flowing.set()
        self._down = threading.Event()
        self.port = 0

    def start(self, port: int = 0) -> int:
        """Listen on loopback `port` (by default a free one); returns it."""
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._relay, "127.0.0.1", port))
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def connections(self) -> int:
        """The connections relayed now."""

        async def count() -> int:
            return len(self._writers) // 2

        return self._call(count())

    def sever(self) -> int:
        """Cut every open connection; returns how many sockets were cut."""

        async def cut() -> int:
            count = len(self._writers)
            for writer in self._writers:
                writer.transport.abort()
            self._writers.clear()
            return count

        return self._call(cut())

    def go_down(self) -> int:
        """Cut every open connection and refuse new ones until `come_up`: the server
        is down. Returns how many sockets were cut."""
        self._down.set()
        return self.sever()

    def come_up(self) -> None:
        self._down.clear()

    def hold(self) -> None:
        """Relay nothing more, either way, until `release`: connections stay open and
        every request goes unanswered."""
        self._flowing.clear()

    def release(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        """Cut every connection and stop listening (new connections are refused)."""
        if not self._thread.is_alive():
            return

        self._flowing.set()

        async def stop() -> None:
            for writer in self._writers:
                writer.transport.abort()
            if self._server is not None:
                self._server.close()

        self._call(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _relay(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        if self._down.is_set():
            client_out.transport.abort()
            return
        try:
            server_in, server_out = await asyncio.open_connection(*self._target)
        except OSError:
            client_out.transport.abort()
            return
        self._writers |= {client_out, server_out}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    while not self._flowing.is_set():
                        await asyncio.sleep(0.01)
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(client_in, server_out), pipe(server_in, client_out))
