"""Publishes in flight together, and blocks a stop request cuts short."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from supporter.brokers.base import BrokerError
from supporter.pipeline.window import PublishWindow, until_stopped


async def test_at_most_size_publishes_are_in_flight_and_each_confirmation_is_told() -> None:
    window = PublishWindow(3)
    gate = asyncio.Event()
    most = 0
    confirmed: list[int] = []

    async def publish() -> None:
        nonlocal most
        most = max(most, window.in_flight)
        await gate.wait()

    async def feed() -> None:
        for number in range(10):
            await window.put(publish(), lambda number=number: confirmed.append(number))  # type: ignore[misc]

    feeding = asyncio.create_task(feed())
    await asyncio.sleep(0.05)
    assert (window.in_flight, confirmed, feeding.done()) == (3, [], False)
    gate.set()
    await feeding
    await window.drain()
    assert most == 3
    assert sorted(confirmed) == list(range(10))


async def test_a_failed_publish_is_raised_and_not_counted() -> None:
    window = PublishWindow(4)
    confirmed: list[str] = []

    async def fails() -> None:
        raise BrokerError("connection lost")

    async def works() -> None:
        await asyncio.sleep(0)

    await window.put(works(), lambda: confirmed.append("works"))
    await window.put(fails(), lambda: confirmed.append("fails"))
    with pytest.raises(BrokerError, match="connection lost"):
        await window.drain()
    with pytest.raises(BrokerError):
        await window.put(works(), lambda: confirmed.append("later"))
    assert confirmed == ["works"]


async def test_cancel_gives_up_on_what_is_in_flight() -> None:
    window = PublishWindow(2)
    confirmed: list[str] = []
    await window.put(asyncio.sleep(60), lambda: confirmed.append("never"))
    await window.cancel()
    assert (window.in_flight, confirmed) == (0, [])


async def test_a_stop_cuts_work_short_after_its_grace() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, stop.set)
    started = loop.time()
    await until_stopped(asyncio.sleep(60), stop, grace=0.2)
    assert 0.2 <= loop.time() - started < 5


async def test_work_that_swallows_a_cancellation_is_asked_again() -> None:
    stop = asyncio.Event()
    stop.set()
    ended = asyncio.Event()

    async def stubborn() -> None:
        with contextlib.suppress(asyncio.CancelledError):  # as a library's cleanup may
            await asyncio.sleep(60)
        try:
            await asyncio.sleep(60)
        finally:
            ended.set()

    await asyncio.wait_for(until_stopped(stubborn(), stop), 5)
    assert ended.is_set()


async def test_without_a_stop_work_runs_to_its_end_and_its_errors_escape() -> None:
    stop = asyncio.Event()
    done: list[str] = []

    async def work() -> None:
        await asyncio.sleep(0.01)
        done.append("done")

    async def fails() -> None:
        raise TimeoutError("the work's own")

    await until_stopped(work(), stop)
    assert done == ["done"]
    with pytest.raises(TimeoutError, match="the work's own"):
        await until_stopped(fails(), stop)


async def test_a_put_cancelled_while_waiting_for_room_leaves_the_others_waiting() -> None:
    window = PublishWindow(1)
    gate = asyncio.Event()
    confirmed: list[str] = []
    await window.put(gate.wait(), lambda: confirmed.append("first"))
    blocked = asyncio.create_task(window.put(gate.wait(), lambda: confirmed.append("never")))
    draining = asyncio.create_task(window.drain())
    await asyncio.sleep(0.01)
    blocked.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await blocked
    assert not draining.done()
    gate.set()
    await asyncio.wait_for(draining, 5)
    assert (window.in_flight, confirmed) == (0, ["first"])


async def test_every_caller_waiting_is_woken_when_a_publish_fails() -> None:
    window = PublishWindow(1)
    gate = asyncio.Event()

    async def fails() -> None:
        await gate.wait()
        raise BrokerError("connection lost")

    await window.put(fails(), lambda: None)
    later = asyncio.create_task(window.put(asyncio.sleep(0), lambda: None))
    draining = asyncio.create_task(window.drain())
    await asyncio.sleep(0.01)
    gate.set()
    for waiting in (later, draining):
        with pytest.raises(BrokerError, match="connection lost"):
            await asyncio.wait_for(waiting, 5)
