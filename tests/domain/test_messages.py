"""Messages as bytes: what a broker carries is the JSON, and within one process the
consumer takes the message itself, whose JSON is then never made: that must give the
same results as parsing the JSON at every hop."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import SupportsBytes

import pytest
from pydantic import BaseModel, ValidationError

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.memory import MemoryBroker
from supporter.domain.messages import (
    AnalyzedTicketMessage,
    Payload,
    TicketMessage,
    decode,
    decode_as,
    encode,
)
from supporter.domain.models import Ticket, Transaction
from supporter.llm.offline import OfflineProvider
from supporter.pipeline.orchestrator import Pipeline, PipelineOptions
from supporter.sample_data import write_sample_data
from supporter.sinks.jsonl import JsonlResultSink
from supporter.sources.base import Reject
from supporter.sources.csv import CsvTicketSource, CsvTransactionSource
from supporter.store.sql import SqlStore, sqlite_url
from supporter.transactions.sqlite import SqliteTransactionIndex


def _message() -> TicketMessage:
    ticket = Ticket(
        ticket_id="T1",
        customer_id="C1",
        subject="Charged twice",
        body="Order 1001, card **** 4242",
        status="open",
        created_at=datetime(2024, 5, 2, 10, tzinfo=UTC),
    )
    charge = Transaction(
        transaction_id="tx_1",
        customer_id="C1",
        amount=Decimal("99.00"),
        currency="USD",
        status="succeeded",
        created_at=datetime(2024, 5, 1, 9, tzinfo=UTC),
    )
    return TicketMessage(ticket=ticket, transactions=[charge])


def test_a_payload_is_the_message_and_its_bytes_are_its_json() -> None:
    message = _message()
    payload = encode(message)
    assert decode(payload) is message
    assert decode_as(TicketMessage, payload) is message
    assert bytes(payload) == message.model_dump_json().encode()
    assert bytes(payload) is bytes(payload)  # made once


def test_bytes_from_elsewhere_are_parsed_and_validated() -> None:
    message = _message()
    plain = bytes(encode(message))
    assert decode(plain) == message
    assert decode(plain) is not message
    assert decode_as(TicketMessage, plain) == message
    assert decode_as(TicketMessage, plain.decode()) == message
    with pytest.raises(ValidationError):
        decode_as(AnalyzedTicketMessage, plain)
    with pytest.raises(ValidationError):
        decode_as(TicketMessage, b'{"kind": "ticket"}')


def test_a_message_of_another_kind_is_parsed_as_the_kind_asked_for() -> None:
    with pytest.raises(ValidationError):
        decode_as(AnalyzedTicketMessage, encode(_message()))


class _RecordingBroker(MemoryBroker):
    """Keeps every body published; with `plain`, hands consumers bytes alone (as a
    broker between processes does), so every stage parses what it takes."""

    def __init__(self, *, plain: bool) -> None:
        super().__init__(maxsize=64)
        self.plain = plain
        self.published: list[SupportsBytes] = []

    async def publish(
        self,
        queue: str,
        body: SupportsBytes,
        *,
        message_id: str,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        key: str | None = None,
    ) -> None:
        self.published.append(body)
        await super().publish(
            queue,
            bytes(body) if self.plain else body,
            message_id=message_id,
            headers=headers,
            delay=delay,
            key=key,
        )


async def _run(data: Path, out: Path, *, plain: bool) -> _RecordingBroker:
    store = await SqlStore.open(sqlite_url(out.with_suffix(".db")))
    broker = _RecordingBroker(plain=plain)
    sink = JsonlResultSink(out)
    index = SqliteTransactionIndex()
    rejects: list[Reject] = []
    try:
        await index.load(
            CsvTransactionSource(data / "transactions.csv").transactions(rejects.append)
        )
        pipeline = Pipeline(
            broker,
            store,
            OfflineProvider(DEFAULT_TAXONOMY),
            DEFAULT_TAXONOMY,
            [sink],
            PipelineOptions(),
        )
        report = await pipeline.run(CsvTicketSource(data / "tickets.csv"), index, rejects.append)
        assert report.exit_code == 0
    finally:
        index.close()
        sink.close()
        await broker.close()
        await store.close()
    return broker


async def test_taking_the_message_gives_the_results_parsing_gives(tmp_path: Path) -> None:
    data = tmp_path / "sample"
    write_sample_data(data, 400, seed=11)
    taken = await _run(data, tmp_path / "taken.jsonl", plain=False)
    parsed = await _run(data, tmp_path / "parsed.jsonl", plain=True)
    assert (tmp_path / "taken.jsonl").read_bytes() == (tmp_path / "parsed.jsonl").read_bytes()
    assert len(taken.published) == len(parsed.published) > 3 * 250
    # In one process no hop made its message's JSON...
    assert all(isinstance(body, Payload) and body._json is None for body in taken.published)
    # ...and every message of every hop: its JSON parses back to an equal message.
    for body in taken.published:
        assert isinstance(body, Payload)
        message: BaseModel = body.message
        assert decode(bytes(body)) == message
