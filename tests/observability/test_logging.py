"""Structured logs: the formatters, the ticket context, and a whole run's stderr."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, SupportsBytes

import pytest
from tests.cli.test_run_openai import ThreadedFakeLLM
from tests.pipeline.test_worker import TICKET

from supporter.brokers.memory import MemoryBroker
from supporter.domain.errors import PermanentError
from supporter.domain.messages import AnalyzedTicketMessage, TicketMessage, encode
from supporter.observability.logging import (
    ConsoleFormatter,
    ContextFilter,
    JsonFormatter,
    current_context,
    ticket_context,
)
from supporter.pipeline.retry import RetryPolicy
from supporter.pipeline.stats import StageCounters
from supporter.pipeline.worker import Stage, StageWorker
from supporter.store.sql import describe_error
from supporter.testing.fake_llm import FakeLLMConfig

MARKER = "QUOKKA-7731-SECRET-BODY"
TICKETS = (
    "ticket_id,customer_id,subject,body,status,created_at\n"
    f'T1,C1,Charged twice,"{MARKER} I was charged twice, 49.99 USD on 2024-05-01.",'
    "open,2024-05-02T09:00:00Z\n"
    f"T2,C2,Cancel,{MARKER} please cancel my subscription,NEW,2024-05-03\n"
    f"T3,C3,Refund,{MARKER} where is my refund for the order,open,2024-05-04\n"
    f"T4,C1,Login,{MARKER} I cannot log in to my account,open,2024-05-05\n"
)
TRANSACTIONS = (
    "transaction_id,customer_id,amount,currency,status,created_at,type,card_last4\n"
    "tx_1,C1,49.99,USD,succeeded,2024-05-01T10:00:00Z,charge,1111\n"
    "tx_2,C1,49.99,USD,succeeded,2024-05-01T10:05:00Z,charge,1111\n"
    "tx_3,C2,9.00,EUR,succeeded,2024-04-20T10:00:00Z,charge,\n"
)


def capture(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    logger = logging.getLogger(f"test.logging.{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_has_time_level_logger_message_and_context() -> None:
    logger, stream = capture(JsonFormatter())
    with ticket_context("T1", "analyze", 2):
        logger.warning("retrying ticket %s", "T1")
    [line] = json_lines(stream)
    assert line["level"] == "WARNING"
    assert line["logger"] == logger.name
    assert line["message"] == "retrying ticket T1"
    assert (line["ticket_id"], line["stage"], line["attempt"]) == ("T1", "analyze", 2)
    assert line["trace_id"] is None
    time = datetime.fromisoformat(line["time"])
    assert line["time"].endswith("Z")
    assert time.utcoffset() == timedelta(0)


def test_a_line_outside_any_ticket_has_empty_context() -> None:
    logger, stream = capture(JsonFormatter())
    logger.info("metrics on port %d", 9464)
    [line] = json_lines(stream)
    assert line["message"] == "metrics on port 9464"
    assert {line[field] for field in ("ticket_id", "stage", "attempt", "trace_id")} == {None}


def test_a_traceback_stays_on_its_one_line() -> None:
    logger, stream = capture(JsonFormatter())
    try:
        raise ValueError("first\nsecond")
    except ValueError:
        logger.exception("it broke")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["level"] == "ERROR"
    assert "ValueError: first\nsecond" in entry["exception"]


def test_extra_fields_win_over_the_context() -> None:
    logger, stream = capture(JsonFormatter())
    with ticket_context("T1", "analyze", 1):
        logger.info("about another", extra={"ticket_id": "T9"})
    [line] = json_lines(stream)
    assert (line["ticket_id"], line["stage"]) == ("T9", "analyze")


def test_the_console_shows_the_context_briefly() -> None:
    logger, stream = capture(ConsoleFormatter())
    with ticket_context("T1", "respond", 3):
        logger.warning("dead-lettered ticket T1")
    with ticket_context(stage="analyze"):
        logger.warning("dead-lettered an unreadable message")
    logger.warning("plain")
    assert stream.getvalue().splitlines() == [
        "dead-lettered ticket T1 [T1 respond try 3]",
        "dead-lettered an unreadable message [analyze]",
        "plain",
    ]


def test_the_context_is_restored_on_exit_even_after_an_error() -> None:
    def fail_inside() -> None:
        with ticket_context("T1", "sink"):
            assert current_context()["ticket_id"] == "T1"
            raise RuntimeError

    with ticket_context(stage="sink"):
        with pytest.raises(RuntimeError):
            fail_inside()
        assert current_context() == {
            "ticket_id": None,
            "stage": "sink",
            "attempt": None,
            "trace_id": None,
        }
    assert set(current_context().values()) == {None}


async def test_each_task_keeps_its_own_context() -> None:
    seen: dict[str, dict[str, Any]] = {}

    async def handle(ticket_id: str, attempt: int) -> None:
        with ticket_context(ticket_id, "analyze", attempt):
            await asyncio.sleep(0.01)
            seen[ticket_id] = current_context()

    await asyncio.gather(handle("T1", 1), handle("T2", 4))
    assert (seen["T1"]["ticket_id"], seen["T1"]["attempt"]) == ("T1", 1)
    assert (seen["T2"]["ticket_id"], seen["T2"]["attempt"]) == ("T2", 4)
    assert current_context()["ticket_id"] is None


@pytest.fixture
def flaky_simulator() -> Iterator[ThreadedFakeLLM]:
    config = FakeLLMConfig(latency_ms=2, latency_jitter=0, seed=3, error_rates={500: 0.4})
    with ThreadedFakeLLM(config) as running:
        yield running


def test_a_run_logs_json_lines_with_ticket_context_and_no_ticket_text(
    tmp_path: Path, flaky_simulator: ThreadedFakeLLM
) -> None:
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    (tmp_path / "transactions.csv").write_text(TRANSACTIONS, encoding="utf-8")
    env = {
        **os.environ,
        "OPENAI_API_KEY": "sk-test-not-a-real-key",
        "SUPPORTER_RETRY_BASE_DELAY": "0.01",
        "SUPPORTER_RETRY_MAX_DELAY": "0.05",
        "PYTHONUNBUFFERED": "1",
    }
    args = [
        *(sys.executable, "-m", "supporter", "run", "--no-progress"),
        *("--tickets", "tickets.csv", "--transactions", "transactions.csv"),
        *("--provider", "openai", "--base-url", flaky_simulator.base_url, "--rpm", "6000"),
        *("--max-attempts", "30", "--log-format", "json", "-v"),
    ]
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, timeout=120)
    stderr = done.stderr.decode("utf-8")
    assert done.returncode == 0, stderr
    assert flaky_simulator.fake.outcomes["500"] > 0

    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert lines
    for line in lines:
        assert {"time", "level", "logger", "message", "ticket_id", "stage", "attempt"} <= set(line)
    about_tickets = [line for line in lines if "ticket T" in line["message"]]
    assert any(line["message"].startswith("retrying ticket") for line in about_tickets)
    for line in about_tickets:
        assert line["ticket_id"] in {"T1", "T2", "T3", "T4"}, line
        assert f"ticket {line['ticket_id']}" in line["message"]
        assert line["stage"] in {"analyze", "respond"}, line
        assert isinstance(line["attempt"], int), line
    assert MARKER not in stderr
    assert MARKER not in done.stdout.decode("utf-8")


@pytest.fixture
def worker_lines() -> Iterator[io.StringIO]:
    """What the stage loop and a handler log, as JSON lines with their context."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    loggers = [logging.getLogger("supporter.pipeline.worker"), logging.getLogger("test.handler")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield stream
    for logger in loggers:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


async def test_the_stage_loop_logs_each_message_with_its_ticket_stage_and_try(
    worker_lines: io.StringIO,
) -> None:
    async def refuse(message: TicketMessage) -> AnalyzedTicketMessage:
        logging.getLogger("test.handler").info("calling the model")
        raise PermanentError("refused")

    broker = MemoryBroker()
    for queue in ("in", "out", "in.dead"):
        await broker.declare(queue)
    stage = Stage("analyze", "in", "out", TicketMessage, refuse)
    worker = StageWorker(stage, broker, RetryPolicy(), StageCounters(), lambda error: None)
    await broker.publish("in", encode(TicketMessage(ticket=TICKET, attempt=3)), message_id="m1")
    await broker.publish("in", b"not json", message_id="m2")
    async with broker.consume("in", prefetch=2) as deliveries:
        for _ in range(2):
            await worker.process(await anext(deliveries))

    lines = json_lines(worker_lines)
    context = [(line["ticket_id"], line["stage"], line["attempt"]) for line in lines]
    assert context == [("T1", "analyze", 3), ("T1", "analyze", 3), (None, "analyze", None)]
    assert lines[0]["message"] == "calling the model"
    assert lines[1]["message"].startswith("dead-lettered ticket T1")
    assert lines[2]["message"].startswith("dead-lettered an unreadable message")
    assert set(current_context().values()) == {None}


async def test_an_unexpected_error_quoting_the_ticket_is_logged_by_its_type_only(
    worker_lines: io.StringIO,
) -> None:
    """A library's error may quote its input (a pydantic ValidationError quotes the
    value): at INFO and above only its type is logged, on retry and on dead-lettering."""

    async def quote_the_body(message: TicketMessage) -> AnalyzedTicketMessage:
        raise ValueError(f"cannot parse {message.ticket.body!r}: {MARKER}")

    broker = MemoryBroker()
    for queue in ("in", "out", "in.dead"):
        await broker.declare(queue)
    stage = Stage("analyze", "in", "out", TicketMessage, quote_the_body)
    worker = StageWorker(
        stage, broker, RetryPolicy(max_attempts=2, base_delay=0), StageCounters(), lambda e: None
    )
    await broker.publish("in", encode(TicketMessage(ticket=TICKET, attempt=1)), message_id="m1")
    async with broker.consume("in", prefetch=1) as deliveries:
        await worker.process(await anext(deliveries))  # retried
        await worker.process(await anext(deliveries))  # dead-lettered

    lines = json_lines(worker_lines)
    loud = [line for line in lines if line["level"] != "DEBUG"]
    messages = [line["message"] for line in loud]
    assert any(
        m.startswith("unexpected error in stage analyze for ticket T1: ValueError")
        for m in messages
    )
    assert any(m.startswith("retrying ticket T1") and m.endswith("ValueError") for m in messages)
    assert any(
        m.startswith("dead-lettered ticket T1") and m.endswith("ValueError") for m in messages
    )
    for line in loud:
        assert MARKER not in json.dumps(line), line
    # The traceback, with the error's own words, is there for whoever debugs at DEBUG.
    assert any("exception" in line for line in lines if line["level"] == "DEBUG")


async def test_a_failure_to_settle_quoting_the_ticket_is_logged_by_its_type_only(
    worker_lines: io.StringIO,
) -> None:
    """A bug on the way out (here: publishing the result) is logged at ERROR by its
    type, the traceback with its words at DEBUG; the message goes back to the queue."""

    class QuotingBroker(MemoryBroker):
        async def publish(self, queue: str, body: SupportsBytes, **options: Any) -> None:
            if queue == "out":
                raise RuntimeError(f"cannot encode {bytes(body)[:400]!r} {MARKER}")
            await super().publish(queue, body, **options)

    async def analyze(message: TicketMessage) -> TicketMessage:
        return message

    broker = QuotingBroker()
    for queue in ("in", "out", "in.dead"):
        await broker.declare(queue)
    stage = Stage("analyze", "in", "out", TicketMessage, analyze)
    worker = StageWorker(stage, broker, RetryPolicy(), StageCounters(), lambda e: None)
    await broker.publish("in", encode(TicketMessage(ticket=TICKET)), message_id="m1")
    async with broker.consume("in", prefetch=1) as deliveries:
        await worker.process(await anext(deliveries))
        again = await anext(deliveries)
        assert again.message_id == "m1"
        await again.ack()

    lines = json_lines(worker_lines)
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert [line["message"] for line in errors] == [
        "stage analyze could not settle message m1: RuntimeError"
    ]
    for line in lines:
        if line["level"] != "DEBUG":
            assert MARKER not in json.dumps(line), line
    assert any(MARKER in line.get("exception", "") for line in lines if line["level"] == "DEBUG")


def test_a_database_error_is_described_without_the_row_it_quotes() -> None:
    class NotNullViolationError(Exception):
        pass

    class IntegrityError(Exception):
        def __init__(self, orig: Exception) -> None:
            super().__init__(f"(IntegrityError) {orig}\n[SQL: INSERT …]")
            self.orig = orig

    row = (
        'null value in column "x" violates not-null constraint\n'
        f"DETAIL:  Failing row contains (T1, {MARKER})."
    )
    described = describe_error(IntegrityError(NotNullViolationError(row)))
    assert described == (
        'NotNullViolationError: null value in column "x" violates not-null constraint'
    )
    assert MARKER not in described
