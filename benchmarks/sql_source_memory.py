"""Peak memory of the SQL sources as the table grows: N synthetic transactions in a
fresh PostgreSQL, MariaDB or SQLite database, read through `SqlTransactionSource`
(what `--transactions postgresql://… --transactions-table …` does) in a process of
its own, which reports its resident memory before the read and at its peak.

    .venv/bin/python benchmarks/sql_source_memory.py --rows 10000 100000 1000000

`--loaded` also reads each table the way streaming avoids (all rows fetched at once),
to show what the server-side cursor saves. Each database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory

import asyncmy
import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from supporter.sources.sql import SqlTransactionSource

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
MARIADB = "mariadb://root@127.0.0.1:3306"
BATCH = 1000
COLUMNS = (
    "'tx_' || {pad} AS transaction_id, 'C' || ({n} % 50000) AS customer_id, "
    "({n} % 50000) / 100.0 AS amount, 'EUR' AS currency, 'succeeded' AS status, "
    "{created} AS created_at, 'order ' || {n} || ' for a yearly plan' AS description"
)


def _memory() -> dict[str, float]:
    """Resident memory now and at its peak (MiB), from /proc."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {name: int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM")}


async def _read(url: str, loaded: bool) -> dict[str, float]:
    before = _memory()["VmRSS"]
    began = time.perf_counter()
    rows = 0
    if loaded:
        scheme, rest = url.split("://", 1)
        driver = {"postgresql": "asyncpg", "mariadb": "asyncmy", "sqlite": "aiosqlite"}[scheme]
        engine = create_async_engine(f"{scheme}+{driver}://{rest}")
        async with engine.connect() as connection:
            rows = len((await connection.execute(text("SELECT * FROM bench_tx"))).all())
        await engine.dispose()
    else:
        source = SqlTransactionSource(url, table_name="bench_tx", batch_size=BATCH)
        async for _ in source.transactions(lambda reject: None):
            rows += 1
    seconds = time.perf_counter() - began
    return {"rows": rows, "seconds": seconds, "before": before, "peak": _memory()["VmHWM"]}


async def _postgres(rows: int) -> tuple[str, str]:
    name = f"supporter_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(f"{POSTGRES}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    connection = await asyncpg.connect(f"{POSTGRES}/{name}")
    columns = COLUMNS.format(
        n="g",
        pad="lpad(g::text, 9, '0')",
        created="timestamp '2024-01-01' + g * interval '1 second'",
    )
    await connection.execute(
        f"CREATE TABLE bench_tx AS SELECT {columns} FROM generate_series(1, {rows}) g"
    )
    await connection.close()
    return f"{POSTGRES}/{name}", name


async def _drop_postgres(name: str) -> None:
    admin = await asyncpg.connect(f"{POSTGRES}/postgres")
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


async def _mariadb(rows: int) -> tuple[str, str]:
    name = f"supporter_bench_{uuid.uuid4().hex[:10]}"
    connection = await asyncmy.connect(host="127.0.0.1", port=3306, user="root")
    # MariaDB's || is OR unless PIPES_AS_CONCAT: spell the concatenations as CONCAT.
    columns = (
        "CONCAT('tx_', LPAD(seq, 9, '0')) AS transaction_id, CONCAT('C', seq % 50000) AS "
        "customer_id, (seq % 50000) / 100.0 AS amount, 'EUR' AS currency, 'succeeded' AS "
        "status, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND AS created_at, "
        "CONCAT('order ', seq, ' for a yearly plan') AS description"
    )
    async with connection.cursor() as cursor:
        await cursor.execute(f"CREATE DATABASE `{name}`")
        await cursor.execute(f"USE `{name}`")
        await cursor.execute(f"CREATE TABLE bench_tx AS SELECT {columns} FROM seq_1_to_{rows}")
    await connection.commit()
    connection.close()
    return f"{MARIADB}/{name}", name


async def _drop_mariadb(name: str) -> None:
    connection = await asyncmy.connect(host="127.0.0.1", port=3306, user="root")
    async with connection.cursor() as cursor:
        await cursor.execute(f"DROP DATABASE `{name}`")
    connection.close()


def _sqlite(rows: int, folder: Path) -> str:
    import sqlite3

    path = folder / f"bench-{rows}.db"
    columns = COLUMNS.format(
        n="n",
        pad="printf('%09d', n)",
        created="datetime('2024-01-01', '+' || n || ' seconds')",
    )
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE bench_tx AS WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL "
            f"SELECT n + 1 FROM g WHERE n < {rows}) SELECT {columns} FROM g"
        )
    connection.close()
    return f"sqlite:///{path}"


def _measure(url: str, loaded: bool) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", url] + (["--loaded"] if loaded else [])
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(output))


async def main(sizes: list[int], databases: list[str], loaded: bool) -> None:
    print("| database | rows | how | seconds | rows/s | RSS before | peak RSS | growth (MiB) |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    with TemporaryDirectory() as folder:
        for database in databases:
            for rows in sizes:
                name = ""
                if database == "postgresql":
                    url, name = await _postgres(rows)
                elif database == "mariadb":
                    url, name = await _mariadb(rows)
                else:
                    url = _sqlite(rows, Path(folder))
                try:
                    for how in ["streamed", "loaded"] if loaded else ["streamed"]:
                        result = _measure(url, how == "loaded")
                        assert result["rows"] == rows, result
                        growth = result["peak"] - result["before"]
                        print(
                            f"| {database} | {rows:,} | {how} | {result['seconds']:.1f} | "
                            f"{rows / result['seconds']:,.0f} | {result['before']:.0f} | "
                            f"{result['peak']:.0f} | {growth:.0f} |",
                            flush=True,
                        )
                finally:
                    if database == "postgresql":
                        await _drop_postgres(name)
                    elif database == "mariadb":
                        await _drop_mariadb(name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--databases", nargs="+", default=["postgresql", "mariadb", "sqlite"])
    parser.add_argument("--loaded", action="store_true", help="Also fetch all rows at once.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(asyncio.run(_read(arguments.child, arguments.loaded))))
    else:
        asyncio.run(main(arguments.rows, arguments.databases, arguments.loaded))
