import asyncio
import contextlib
import random

import pytest

from supporter.pipeline.retry import Reconnects, RetryPolicy, stop_if_cancelled


def test_delay_grows_exponentially_within_the_cap() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=8.0, rng=random.Random(1))
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(0 <= delay <= ceiling for delay in delays)
        # Full jitter: the spread covers most of [0, ceiling].
        assert max(delays) > 0.8 * ceiling
        assert min(delays) < 0.2 * ceiling


def test_retry_after_is_a_floor_even_above_the_cap() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0, rng=random.Random(1))
    assert policy.delay(1, retry_after=3.0) == 3.0


def test_try_limit() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.can_retry(1)
    assert policy.can_retry(2)
    assert not policy.can_retry(3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_attempts": 0}, "max_attempts"), ({"base_delay": 2.0, "max_delay": 1.0}, "base_delay")],
)
def test_invalid_policy_is_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_retry_after_beyond_the_limit_is_not_acceptable() -> None:
    policy = RetryPolicy(max_retry_after=60)
    assert policy.retry_after_acceptable(None)
    assert policy.retry_after_acceptable(60)
    assert not policy.retry_after_acceptable(61)


async def test_a_swallowed_cancellation_still_ends_a_loop_that_checks() -> None:
    rounds = 0

    async def consuming_loop() -> None:
        nonlocal rounds
        while True:
            stop_if_cancelled()
            rounds += 1
            with contextlib.suppress(asyncio.CancelledError):  # as a careless library does
                await asyncio.sleep(10)

    task = asyncio.create_task(consuming_loop())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    assert rounds == 1


def test_reconnect_pauses_grow_while_nothing_flows_and_reset_when_work_does() -> None:
    reconnects = Reconnects(base=0.5, cap=3.0)
    assert [reconnects.pause(progress=7) for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert reconnects.pause(progress=8) == 0.5
