"""`supporter transactions load`, and `supporter ingest` relying on what it loaded."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.cli.test_run import TRANSACTIONS
from tests.conftest import require_service
from typer.testing import CliRunner

from supporter.brokers.redis import RedisStreamsBroker
from supporter.cli.app import app
from supporter.store.sql import SqlStore, sqlite_url
from supporter.transactions.sql import SqlTransactionIndex

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("SUPPORTER_STORE_URL", "SUPPORTER_BROKER_URL", "SUPPORTER_DB"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "transactions.csv").write_text(TRANSACTIONS, encoding="utf-8")
    return tmp_path


async def window(db: Path, customer: str) -> list[str]:
    store = await SqlStore.open(sqlite_url(db))
    try:
        found = await SqlTransactionIndex(store.engine).recent(
            customer, until=datetime(2024, 5, 2, tzinfo=UTC), days=90, limit=10
        )
    finally:
        await store.close()
    return [transaction.transaction_id for transaction in found]


def test_load_puts_the_valid_rows_in_the_store_and_rejects_the_rest(workdir: Path) -> None:
    result = runner.invoke(app, ["transactions", "load", "transactions.csv"])
    assert result.exit_code == 0, result.output
    assert "loaded 3 transactions" in result.output
    assert "1 row rejected (see rejects.jsonl)" in result.output
    rejects = [json.loads(line) for line in (workdir / "rejects.jsonl").read_text().splitlines()]
    assert [(r["file"], r["line"]) for r in rejects] == [("transactions.csv", 5)]
    assert "amount" in rejects[0]["reason"]
    assert asyncio.run(window(workdir / "supporter.db", "C1")) == ["tx_2", "tx_1"]


def test_loading_the_file_again_adds_nothing(workdir: Path) -> None:
    for _ in range(2):
        result = runner.invoke(app, ["transactions", "load", "transactions.csv"])
        assert result.exit_code == 0, result.output
    assert "(3 there now)" in result.output


def test_a_missing_file_is_named(workdir: Path) -> None:
    result = runner.invoke(app, ["transactions", "load", "nowhere.csv"])
    assert result.exit_code == 2
    assert "nowhere.csv" in result.output
    assert not (workdir / "supporter.db").exists()


def test_a_file_without_the_needed_columns_is_refused(workdir: Path) -> None:
    (workdir / "bad.csv").write_text("id,amount\n1,2\n", encoding="utf-8")
    result = runner.invoke(app, ["transactions", "load", "bad.csv"])
    assert result.exit_code == 2
    assert "bad.csv" in result.output
    assert "customer_id" in result.output


def test_ingest_without_transactions_needs_them_in_the_store(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"cli-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SUPPORTER_BROKER_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SUPPORTER_BROKER_PREFIX", prefix)
    (workdir / "tickets.csv").write_text(
        "ticket_id,customer_id,subject,body,status,created_at\n"
        "T1,C1,Refund,Please refund,open,2024-05-02\n",
        encoding="utf-8",
    )
    try:
        result = runner.invoke(app, ["ingest", "--tickets", "tickets.csv"])
        assert result.exit_code == 2
        assert "the store holds no transactions" in result.output
        assert "supporter transactions load" in result.output

        assert runner.invoke(app, ["transactions", "load", "transactions.csv"]).exit_code == 0
        result = runner.invoke(app, ["ingest", "--tickets", "tickets.csv"])
        assert result.exit_code == 0, result.output
        assert re.search(r"published now\s+│\s+1 │", result.output)
    finally:
        asyncio.run(clean(prefix))


async def clean(prefix: str) -> None:
    broker = RedisStreamsBroker("redis://127.0.0.1:6379/0", prefix=prefix)
    await broker.delete_keys()
    await broker.close()


def test_load_keeps_the_join_columns_normalised_and_finds_by_email_and_reference(
    workdir: Path,
) -> None:
    (workdir / "payments.csv").write_text(
        "transaction_id,customer_id,amount,currency,status,created_at,customer_email,"
        "amount_refunded,dispute_status,disputed_amount,references\n"
        "ch_1,cus_A,49.99,USD,succeeded,2024-05-01,Alice.Martin@Example.com ,10.00,,,#1001\n"
        "ch_2,cus_B,5.00,USD,succeeded,2024-05-01,bob@example.com,,lost,5.00,\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["transactions", "load", "payments.csv"])
    assert result.exit_code == 0, result.output

    async def stored() -> tuple[list[tuple[object, ...]], list[str], list[str]]:
        store = await SqlStore.open(sqlite_url(workdir / "supporter.db"))
        index = SqlTransactionIndex(store.engine)
        until = datetime(2024, 5, 2, tzinfo=UTC)
        try:
            async with store.engine.connect() as connection:
                rows = await connection.exec_driver_sql(
                    "SELECT transaction_id, customer_email, amount_refunded, dispute_status, "
                    "disputed_amount FROM transactions ORDER BY transaction_id"
                )
                columns = [tuple(row) for row in rows]
            by_email = await index.recent(
                None, email="alice.martin@example.com", until=until, days=90, limit=5
            )
            by_reference = await index.referenced(["1001"], until=until, limit=5)
        finally:
            await store.close()
        return (
            columns,
            [t.transaction_id for t in by_email],
            [t.transaction_id for t in by_reference],
        )

    columns, by_email, by_reference = asyncio.run(stored())
    assert [(tid, email, status) for tid, email, _, status, _ in columns] == [
        ("ch_1", "alice.martin@example.com", None),
        ("ch_2", "bob@example.com", "lost"),
    ]
    assert float(columns[0][2]) == 10.0  # type: ignore[arg-type]
    assert by_email == ["ch_1"]
    assert by_reference == ["ch_1"]
