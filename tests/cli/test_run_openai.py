"""`supporter run --provider openai` end to end: the real SDK against the simulator."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.cli.test_run import TICKETS, TRANSACTIONS
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.domain.masking import contains_card_number
from supporter.testing.fake_llm import FakeLLM, FakeLLMConfig


class ThreadedFakeLLM:
    """The simulator on its own event loop, so the CLI can run its own with asyncio.run."""

    def __init__(self, config: FakeLLMConfig) -> None:
        self.fake = FakeLLM(config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> ThreadedFakeLLM:
        self._thread.start()
        self.base_url = asyncio.run_coroutine_threadsafe(self.fake.start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def simulator() -> Iterator[ThreadedFakeLLM]:
    with ThreadedFakeLLM(FakeLLMConfig(latency_ms=2, latency_jitter=0, seed=1)) as running:
        yield running


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    (tmp_path / "transactions.csv").write_text(TRANSACTIONS, encoding="utf-8")
    return tmp_path


def run_openai(simulator: ThreadedFakeLLM, *extra: str) -> tuple[int, str]:
    args = [
        "run",
        "--no-progress",
        "--tickets",
        "tickets.csv",
        "--transactions",
        "transactions.csv",
        "--provider",
        "openai",
        "--base-url",
        simulator.base_url,
        "--rpm",
        "6000",
        *extra,
    ]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def results() -> dict[str, dict[str, object]]:
    lines = Path("results.jsonl").read_text(encoding="utf-8").splitlines()
    return {line["ticket_id"]: line for line in map(json.loads, lines)}


def test_openai_run_answers_every_ticket_with_tokens_and_cost(
    workdir: Path, simulator: ThreadedFakeLLM
) -> None:
    code, output = run_openai(simulator)
    assert code == 0, output
    records = results()
    assert sorted(records) == ["T1", "T2"]
    for record in records.values():
        assert record["provider"] == "openai:gpt-6-luna"
        usage = record["usage"]
        assert isinstance(usage, dict)
        assert usage["prompt_tokens"] > 0
        # The default model reasons: its reasoning is billed as output.
        assert 0 < usage["reasoning_tokens"] < usage["completion_tokens"]
        assert float(usage["cost_usd"]) > 0
    assert "cost (USD)" in output
    assert "reasoning" in output
    assert "sk-test-not-a-real-key" not in output
    # Two calls per ticket, and the card number in T1 never went over the wire.
    assert len(simulator.fake.requests) == 4
    assert not contains_card_number(json.dumps(simulator.fake.requests))
    # A reasoning model: no sampling parameters, little effort to classify, more to reply.
    efforts = {
        request["response_format"]["json_schema"]["name"]: request["reasoning_effort"]
        for request in simulator.fake.requests
    }
    assert efforts == {"ticket_analysis": "low", "reply_draft": "medium"}
    assert all("temperature" not in request for request in simulator.fake.requests)

    # The same input again is answered from the result cache: no request is paid twice.
    code, _ = run_openai(simulator, "--force")
    assert code == 0
    assert len(simulator.fake.requests) == 4


def test_an_exhausted_quota_stops_the_run_and_burns_nothing(
    workdir: Path, simulator: ThreadedFakeLLM
) -> None:
    simulator.fake.config.quota_exhausted = True
    code, output = run_openai(simulator)
    assert code == 1
    assert "quota" in output
    assert "stopped" in output
    assert results() == {}
    dead = CliRunner().invoke(app, ["dlq", "list", "--json"])
    assert dead.output.strip() == ""

    simulator.fake.config.quota_exhausted = False
    code, output = run_openai(simulator)
    assert code == 0, output
    assert sorted(results()) == ["T1", "T2"]


def test_the_offline_fallback_answers_when_the_model_refuses(
    workdir: Path, simulator: ThreadedFakeLLM
) -> None:
    simulator.fake.config.refusal_rate = 1.0
    code, output = run_openai(simulator, "--fallback", "offline")
    assert code == 0, output
    assert {record["provider"] for record in results().values()} == {"offline (fallback)"}
    assert "answered by the fallback" in output


def test_without_a_key_or_server_the_run_stops_before_any_work(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--no-progress",
            "--tickets",
            "tickets.csv",
            "--transactions",
            "transactions.csv",
            "--provider",
            "openai",
        ],
    )
    assert result.exit_code == 2
    assert "OPENAI_API_KEY" in result.output


def test_server_errors_are_retried_until_every_ticket_is_answered(
    workdir: Path, simulator: ThreadedFakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTER_RETRY_BASE_DELAY", "0.01")
    monkeypatch.setenv("SUPPORTER_RETRY_MAX_DELAY", "0.05")
    simulator.fake.config.error_rates = {500: 0.3, 503: 0.2}
    code, output = run_openai(simulator, "--max-attempts", "30")
    assert code == 0, output
    records = results()
    assert {record["status"] for record in records.values()} == {"responded"}
    failed_calls = simulator.fake.outcomes["500"] + simulator.fake.outcomes["503"]
    assert failed_calls > 0
    # Every failed call shows up as one more try of its ticket, none retried twice.
    assert sum(int(str(record["attempts"])) for record in records.values()) == 2 + failed_calls


def test_a_model_draft_that_invents_and_promises_is_held_for_review(
    workdir: Path, simulator: ThreadedFakeLLM
) -> None:
    simulator.fake.config.canned_answers = {
        "reply_draft": json.dumps(
            {
                "body": "We will refund your 999.00 USD charge tx_777 today.",
                "cited_transaction_ids": ["tx_777"],
            }
        )
    }
    code, output = run_openai(simulator)
    assert code == 0, output
    for record in results().values():
        assert record["status"] == "responded"
        assert record["analysis"]["needs_human"] is True  # type: ignore[index]
        grounding = record["grounding"]
        assert isinstance(grounding, dict)
        assert grounding["passed"] is False
        problems = " ".join(grounding["problems"])
        assert "999.00" in problems
        assert "tx_777" in problems
    assert "failed grounding check" in output


def test_an_outage_opens_the_circuit_and_the_run_resumes_when_it_recovers(
    workdir: Path, simulator: ThreadedFakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTER_CIRCUIT_THRESHOLD", "2")
    monkeypatch.setenv("SUPPORTER_CIRCUIT_RESET_AFTER", "0.3")
    monkeypatch.setenv("SUPPORTER_RETRY_BASE_DELAY", "0.01")
    monkeypatch.setenv("SUPPORTER_RETRY_MAX_DELAY", "0.05")
    simulator.fake.config.error_rates = {503: 1.0}
    done = threading.Event()

    def recover() -> None:
        # The outage lasts a second from the failure that opens the circuit, however
        # long the run took to start (the startup's time varies with the machine's load).
        while simulator.fake.outcomes["503"] < 2 and not done.wait(0.01):
            pass
        if not done.wait(1.0):
            simulator.fake.config.error_rates = {}

    recovery = threading.Thread(target=recover)
    recovery.start()
    try:
        code, output = run_openai(simulator, "--max-attempts", "10", "-v")
    finally:
        done.set()
        recovery.join()
    assert code == 0, output
    assert {record["status"] for record in results().values()} == {"responded"}
    assert "circuit analyze open" in output
    # Paused, not hammering: two failures to open it, then one trial every 0.3 s.
    assert simulator.fake.outcomes["503"] <= 2 + 1.0 / 0.3 + 2


def test_gpt_4o_keeps_working_until_its_shutdown_with_a_warning(
    workdir: Path, simulator: ThreadedFakeLLM
) -> None:
    # The packaged date (2027-01-14) moved closer, so the test does not depend on today.
    soon = date.today() + timedelta(days=30)
    Path("models.toml").write_text(
        f'[models."gpt-4o"]\nshutdown = {soon.isoformat()}\n', encoding="utf-8"
    )
    code, output = run_openai(simulator, "--model", "gpt-4o", "--models-file", "models.toml")
    assert code == 0, output
    assert {record["provider"] for record in results().values()} == {"openai:gpt-4o"}
    # It does not reason: the sampling parameters it takes, no reasoning effort.
    assert all(request["temperature"] == 0.2 for request in simulator.fake.requests)
    assert all("reasoning_effort" not in request for request in simulator.fake.requests)
    assert f"model gpt-4o shuts down on {soon} (in 30 days)" in " ".join(output.split())
    assert "--model gpt-6-luna" in output


def test_a_model_past_its_shutdown_is_refused_naming_its_replacement(
    workdir: Path, simulator: ThreadedFakeLLM
) -> None:
    yesterday = date.today() - timedelta(days=1)
    Path("models.toml").write_text(
        f'[models."gpt-4o"]\nshutdown = {yesterday.isoformat()}\n', encoding="utf-8"
    )
    code, output = run_openai(simulator, "--model", "gpt-4o", "--models-file", "models.toml")
    assert code == 2, output
    assert f"model gpt-4o was shut down on {yesterday}" in " ".join(output.split())
    assert "--model gpt-6-luna" in output
    assert simulator.fake.requests == []


def test_flex_answers_every_ticket_through_resource_unavailable_errors_at_flex_prices(
    workdir: Path, simulator: ThreadedFakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTER_RETRY_BASE_DELAY", "0.01")
    monkeypatch.setenv("SUPPORTER_RETRY_MAX_DELAY", "0.05")
    code, output = run_openai(simulator, "--llm-cache", "standard.db")
    assert code == 0, output
    standard = {tid: record["usage"] for tid, record in results().items()}

    simulator.fake.config.flex_unavailable_rate = 0.5
    code, output = run_openai(
        simulator,
        *("--service-tier", "flex", "--max-attempts", "30", "--llm-cache", "flex.db", "--force"),
    )
    assert code == 0, output
    records = results()
    assert {record["status"] for record in records.values()} == {"responded"}
    turned_away = simulator.fake.outcomes["flex_unavailable"]
    assert turned_away > 0
    # Each 429 was one more try of its ticket: retried, not fatal, nothing lost.
    assert sum(int(str(record["attempts"])) for record in records.values()) == 2 + turned_away
    flex_requests = [r for r in simulator.fake.requests if r.get("service_tier") == "flex"]
    assert len(flex_requests) == 4 + turned_away
    assert len(simulator.fake.requests) == 4 + len(flex_requests)
    for tid, record in records.items():
        usage, before = record["usage"], standard[tid]
        assert isinstance(usage, dict)
        assert isinstance(before, dict)
        # The same tokens (prompt caching aside) at half of gpt-6-luna's standard price.
        assert float(usage["cost_usd"]) < 0.6 * float(before["cost_usd"])


def test_a_run_through_the_responses_api(workdir: Path, simulator: ThreadedFakeLLM) -> None:
    code, output = run_openai(simulator, "--api", "responses")
    assert code == 0, output
    records = results()
    assert {record["status"] for record in records.values()} == {"responded"}
    assert all("input" in request for request in simulator.fake.requests)
    for record in records.values():
        usage = record["usage"]
        assert isinstance(usage, dict)
        assert usage["reasoning_tokens"] > 0
        assert float(usage["cost_usd"]) > 0
