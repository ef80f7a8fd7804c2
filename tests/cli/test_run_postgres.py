"""`supporter run` with PostgreSQL as the store (SUPPORTER_STORE_URL)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import asyncpg
import pytest
from tests.cli.test_run import TICKETS, TRANSACTIONS
from typer.testing import CliRunner

from supporter.cli.app import app


def test_run_stores_in_postgresql_and_a_rerun_skips_done_tickets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SUPPORTER_STORE_URL", postgres_url)
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    (tmp_path / "transactions.csv").write_text(TRANSACTIONS, encoding="utf-8")
    args = [
        "run",
        "--no-progress",
        "--tickets",
        "tickets.csv",
        "--transactions",
        "transactions.csv",
    ]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert not (tmp_path / "supporter.db").exists()

    async def stored() -> int:
        connection = await asyncpg.connect(postgres_url)
        try:
            return int(await connection.fetchval("SELECT count(*) FROM results"))
        finally:
            await connection.close()

    assert asyncio.run(stored()) == 2
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0
    assert re.search(r"already done in an earlier run\s*│\s*2\s", again.output)
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 2
