"""Publishes in flight together, and work that a stop request cuts short.

A publish returns once the broker has confirmed the message: a round trip. Made
one after another, those round trips, not the work, set a publisher's pace. A
`PublishWindow` keeps up to `size` publishes in flight at once and tells of each
confirmation as it comes; the bound keeps memory flat. A publish that waits for
room, and `drain`, are woken by the publish that ends, not by watching every publish
in flight (`asyncio.wait` over the window added and removed a callback on each of
them for every message: about a tenth of `supporter ingest`'s CPU).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

_CANCEL_TRIES = 50
_CANCEL_PATIENCE = 0.1


class PublishWindow:
    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a publish window holds at least one publish")
        self._size = size
        self._in_flight: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None
        # One future per caller waiting for a publish to end (its own: cancelling one
        # waiter must not cancel another's wait).
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def put(
        self, publish: Coroutine[Any, Any, None], on_confirmed: Callable[[], None]
    ) -> None:
        """Start `publish`, once fewer than `size` are in flight; `on_confirmed` is called
        when it returns. Raises the first failure of an earlier publish."""
        try:
            while len(self._in_flight) >= self._size and self._failure is None:
                await self._one_ended()
            self._raise_failure()
        except BaseException:
            publish.close()  # never started: no "never awaited" warning
            raise
        task = asyncio.create_task(publish)
        self._in_flight.add(task)

        def settled(task: asyncio.Task[None]) -> None:
            self._in_flight.discard(task)
            try:
                if task.cancelled():
                    return
                if (error := task.exception()) is not None:
                    self._failure = self._failure or error
                    return
                on_confirmed()
            finally:
                self._wake()

        task.add_done_callback(settled)

    async def drain(self) -> None:
        """Wait until every publish is confirmed; raises the first failure."""
        while self._in_flight and self._failure is None:
            await self._one_ended()
        self._raise_failure()

    async def _one_ended(self) -> None:
        """Until a publish in flight ends (confirmed, failed or cancelled)."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            # Cancelled before a publish ended: no longer waiting.
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def cancel(self) -> None:
        """Give up on the publishes still in flight (each may or may not have reached
        the broker: its message counts as not published)."""
        await _cancel(set(self._in_flight))

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure


async def until_stopped(
    work: Coroutine[Any, Any, None], stop: asyncio.Event, *, grace: float = 0.0
) -> None:
    """Run `work` to its end, or cancel it `grace` seconds after `stop` is set,
    wherever it waits: a full queue, a slow broker, a paused stage. Its errors are
    raised; being cut short is not one."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait({task}, timeout=grace)
    finally:
        stopping.cancel()
        await _cancel({task})
    if not task.cancelled():
        task.result()


async def _cancel(tasks: set[asyncio.Task[None]]) -> None:
    """Cancel `tasks` and wait for them to end, asking again while one does not:
    a client library may swallow a cancellation that lands in its own cleanup."""
    for _ in range(_CANCEL_TRIES):
        pending = {task for task in tasks if not task.done()}
        if not pending:
            return
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=_CANCEL_PATIENCE)
    log.warning("%d tasks did not end when cancelled: left behind", len(pending))
