"""`supporter run` reading tickets and transactions from databases, as a user runs it."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from pathlib import Path

import asyncpg
import pytest
from tests.cli.test_run import TICKETS, TRANSACTIONS
from typer.testing import CliRunner

from supporter.cli.app import app


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["run", "--no-progress", *args])
    return result.exit_code, result.output


def _rows(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.splitlines()[1:]]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_run_reads_tickets_from_postgresql_and_transactions_from_sqlite(
    workdir: Path, postgres_url: str
) -> None:
    async def fill_tickets() -> None:
        connection = await asyncpg.connect(postgres_url)
        try:
            await connection.execute(
                "CREATE TABLE helpdesk (id text, customer text, subject text, body text, "
                "status text, created_at timestamptz)"
            )
            # The CSV fixture's bodies hold commas: insert its rows as the csv module reads them.
            rows = list(csv.reader(io.StringIO(TICKETS)))[1:]
            await connection.executemany(
                "INSERT INTO helpdesk VALUES ($1, $2, $3, $4, $5, "
                "CASE WHEN $6 = 'not-a-date' THEN NULL ELSE $6::timestamptz END)",
                rows,
            )
        finally:
            await connection.close()

    asyncio.run(fill_tickets())
    with sqlite3.connect(workdir / "payments.db") as payments:
        payments.execute(
            "CREATE TABLE tx (transaction_id, customer_id, amount, currency, status, "
            "created_at, type, card_last4)"
        )
        payments.executemany("INSERT INTO tx VALUES (?,?,?,?,?,?,?,?)", _rows(TRANSACTIONS))
    payments.close()

    code, output = _invoke(
        "--tickets",
        postgres_url,
        "--tickets-table",
        "helpdesk",
        "--ticket-columns",
        "ticket_id=id,customer_id=customer",
        "--transactions",
        f"sqlite:///{workdir / 'payments.db'}",
        "--transactions-query",
        "SELECT * FROM tx WHERE customer_id IN ('C1', 'C2')",
        "--sql-batch-size",
        "2",
    )

    assert code == 0, output
    results = {
        line["ticket_id"]: line
        for line in map(json.loads, Path("results.jsonl").read_text().splitlines())
    }
    assert sorted(results) == ["T1", "T2"]
    assert set(results["T1"]["analysis"]["related_transaction_ids"]) >= {"tx_1", "tx_2"}
    rejects = [json.loads(line) for line in Path("rejects.jsonl").read_text().splitlines()]
    # T4's created_at is NULL in the table; tx_4's amount is 'abc'.
    assert {(r["source"], r["line"], r["reason"].split(":")[0]) for r in rejects} == {
        ("tickets", 4, "created_at"),
        ("transactions", 4, "amount"),
    }


def test_a_query_option_without_a_database_url_stops_before_any_work(workdir: Path) -> None:
    (workdir / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    (workdir / "transactions.csv").write_text(TRANSACTIONS, encoding="utf-8")
    code, output = _invoke(
        "--tickets",
        "tickets.csv",
        "--tickets-query",
        "SELECT 1",
        "--transactions",
        "transactions.csv",
    )
    assert code == 2
    assert "--tickets-query reads a database" in output
    assert not (workdir / "results.jsonl").exists()


def test_an_unreachable_database_stops_before_any_work_without_its_password(
    workdir: Path,
) -> None:
    (workdir / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    code, output = _invoke(
        "--tickets",
        "tickets.csv",
        "--transactions",
        "mariadb://support:s3cret@127.0.0.1:1/payments",
        "--transactions-table",
        "payments",
    )
    assert code == 2
    assert "mariadb://support:***@127.0.0.1:1/payments: cannot read the transactions" in output
    assert "s3cret" not in output
    assert not (workdir / "results.jsonl").exists()
