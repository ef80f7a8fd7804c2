"""`supporter models` against the simulator: what the key can use, prices and shutdown dates."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from rich.console import Console
from tests.cli.test_run_openai import ThreadedFakeLLM
from typer.testing import CliRunner

from supporter.cli import models
from supporter.cli.app import app
from supporter.testing.fake_llm import FakeLLMConfig


@pytest.fixture
def simulator() -> Iterator[ThreadedFakeLLM]:
    with ThreadedFakeLLM(FakeLLMConfig(latency_ms=1, latency_jitter=0)) as running:
        yield running


def test_lists_models_with_prices_and_shutdown_dates(
    simulator: ThreadedFakeLLM,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["models", "--base-url", simulator.base_url, "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["model"]: row for row in json.loads(result.output)}
    assert rows["gpt-4o"]["shutdown_date"] == "2027-01-14"
    assert rows["gpt-4o"]["replacement"] == "gpt-6-luna"
    assert rows["gpt-4o"]["prices"]["flex"] == "-"  # not offered: not guessed
    assert rows["gpt-6-luna"]["shutdown_date"] is None
    assert rows["gpt-6-luna"]["prices"]["standard"] == "0.1 / 0.01 / 0.125 / 0.5"
    assert rows["fake-llm"]["known"] is False


def test_the_table_marks_models_without_a_price(
    simulator: ThreadedFakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A console as wide as the table: the shared one takes its width from wherever
    # the process started (80 columns under a test runner's worker).
    monkeypatch.setattr(models, "console", Console(stderr=True, width=200))
    result = CliRunner().invoke(app, ["models", "--base-url", simulator.base_url])
    assert result.exit_code == 0, result.output
    assert "fake-llm (no price known)" in result.output
    assert "2027-01-14" in result.output
