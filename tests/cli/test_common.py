"""Helpers every command shares."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from supporter.cli.common import run_traced


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_a_command_runs_with_its_start_up_objects_out_of_the_collectors_view() -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)

    async def main() -> int:
        # Objects the command makes from here on are still the collector's to look at.
        assert gc.get_threshold()[0] == 10_000
        return gc.get_freeze_count()

    frozen = run_traced("supporter-test", main())
    # Everything that existed before the command started: the modules' objects.
    assert frozen > 10_000
    assert gc.get_threshold() == (10_000, 10, 10)
