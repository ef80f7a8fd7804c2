"""`supporter run` with PostgreSQL as the store (SUPPORTER_STORE_URL)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from tests.cli.test_run import TICKETS, TRANSACTIONS
from tests.conftest import require_service
from typer.testing import CliRunner

from supporter.cli.app import app

SERVER = "postgresql://postgres@127.0.0.1:5432"


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(f"{SERVER}/postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def database() -> Iterator[str]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"supporter_cli_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{SERVER}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


def test_run_stores_in_postgresql_and_a_rerun_skips_done_tickets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SUPPORTER_STORE_URL", database)
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
        connection = await asyncpg.connect(database)
        try:
            return int(await connection.fetchval("SELECT count(*) FROM results"))
        finally:
            await connection.close()

    assert asyncio.run(stored()) == 2
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0
    assert re.search(r"already done in an earlier run\s*│\s*2\s", again.output)
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 2
