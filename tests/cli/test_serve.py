"""`supporter serve --helpdesk`: how far back its first poll of the helpdesk reaches."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.helpdesks.rigs import zammad_rig
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.cli.serve import open_served
from supporter.config import Settings
from supporter.pipeline.stages import TICKETS
from supporter.pipeline.stats import RunStats


@pytest.mark.parametrize(("days", "taken"), [(30, 1), (1, 0)])
async def test_first_poll_days_is_how_far_back_serve_first_polls(
    tmp_path: Path, days: int, taken: int
) -> None:
    """A ticket last updated ten days before Supporter was connected: open backlog."""
    async with zammad_rig() as rig:
        rig.backdate(rig.add_ticket(), datetime.now(UTC) - timedelta(days=10))
        helpdesk = rig.connect()
        settings = Settings(
            store_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}",
            llm_cache=None,
            first_poll_days=days,
        )
        try:
            async with contextlib.AsyncExitStack() as resources:
                served = await open_served(settings, resources, RunStats(), helpdesk=helpdesk)
                assert served.poller is not None
                await served.pipeline.broker.declare(TICKETS)  # as its stages do
                await served.poller.poll_once()
                assert await served.pipeline.broker.depth(TICKETS) == taken
        finally:
            await helpdesk.aclose()


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("a month", "Invalid value for '--first-poll-days'"),
        ("0", "--first-poll-days: first_poll_days: Input should be greater than or equal to 1"),
        ("-5", "--first-poll-days: first_poll_days: Input should be greater than or equal to 1"),
    ],
)
def test_a_bad_first_poll_days_stops_serve_naming_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, said: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["serve", "--first-poll-days", value])
    assert result.exit_code == 2
    assert said in " ".join(result.output.split())
    assert not (tmp_path / "supporter.db").exists()  # stopped before it opened anything
