"""Traces across processes: `supporter ingest` and each stage's worker export their
spans over OTLP (configured by the OTEL_* variables alone), and one ticket's spans
from four processes form one trace."""

from __future__ import annotations

import itertools
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.processes import (
    BROKERS,
    Processes,
    clean,
    ingest_arguments,
    sample_with_open_ids,
    stored,
)
from tests.e2e.test_workers import wait_until

from supporter.testing.otlp import OtlpReceiver, ReceivedSpan


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture
def environment(kind: str, tmp_path: Path, receiver: OtlpReceiver) -> Iterator[dict[str, str]]:
    prefix = f"e2e-trace-{uuid.uuid4().hex[:10]}"
    yield {
        **{key: value for key, value in os.environ.items() if not key.startswith("OTEL_")},
        "SUPPORTER_BROKER_URL": BROKERS[kind][0],
        "SUPPORTER_BROKER_PREFIX": prefix,
        "SUPPORTER_DB": str(tmp_path / "shared.db"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    clean(kind, prefix)


def test_one_tickets_spans_from_every_process_form_one_trace(
    tmp_path: Path, environment: dict[str, str], receiver: OtlpReceiver
) -> None:
    data, open_ids = sample_with_open_ids(tmp_path, 60)
    processes = Processes(tmp_path, environment)
    try:
        workers = [processes.start("worker", stage) for stage in ("analyze", "respond", "sink")]
        ingest = processes.run(*ingest_arguments(data, tmp_path / "rejects.jsonl"))
        assert ingest.returncode == 0, ingest.stderr.decode()[-2000:]
        wait_until(lambda: stored(tmp_path / "shared.db") >= len(open_ids), 120)
        # Stopping sends the spans each worker still holds.
        assert processes.stop(*workers) == [0, 0, 0], processes.logs()
    finally:
        processes.kill_all()

    tickets: dict[str, list[ReceivedSpan]] = defaultdict(list)
    for span in receiver.received():
        ticket = span.attributes.get("supporter.ticket_id")
        if ticket is not None:
            tickets[str(ticket)].append(span)
    assert set(tickets) == open_ids
    assert len({spans[0].trace_id for spans in tickets.values()}) == len(open_ids)
    for ticket, spans in tickets.items():
        by_service = {span.service: span for span in spans}
        assert sorted(by_service) == [
            "supporter-analyze",
            "supporter-ingest",
            "supporter-respond",
            "supporter-sink",
        ], ticket
        assert len(spans) == 4, ticket
        assert len({span.trace_id for span in spans}) == 1, ticket
        ingest_span = by_service["supporter-ingest"]
        assert ingest_span.parent_id == ""
        chain = ["supporter-ingest", "supporter-analyze", "supporter-respond", "supporter-sink"]
        for before, after in itertools.pairwise(chain):
            assert by_service[after].parent_id == by_service[before].span_id, (ticket, after)
