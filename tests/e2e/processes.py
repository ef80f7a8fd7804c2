"""What the end-to-end tests share: the brokers, `supporter` commands as processes of
their own (output in log files: a pipe nobody reads fills up and blocks the
process), sample data, and counting what the store holds."""

from __future__ import annotations

import asyncio
import csv
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import asyncpg

from supporter.brokers.base import Broker
from supporter.brokers.kafka import KafkaBroker
from supporter.brokers.rabbitmq import RabbitMQBroker
from supporter.brokers.redis import RedisStreamsBroker
from supporter.pipeline.orchestrator import QUEUES

SUPPORTER = [sys.executable, "-m", "supporter"]
BROKERS = {
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672/", 5672),
    "redis": ("redis://127.0.0.1:6379/0", 6379),
    # Tansu on a port of its own, started for the session: the `kind` fixture fills it in.
    "kafka": ("kafka://", 0),
}
# Kafka settings for every process on Tansu: it lets a consumer group form after half
# the session timeout, so a short one makes joins (and a killed worker's eviction) quick.
KAFKA_ENVIRONMENT = {"SUPPORTER_KAFKA_SESSION_TIMEOUT": "6"}


def connect(kind: str, url: str, prefix: str) -> Broker:
    if kind == "rabbitmq":
        return RabbitMQBroker(url, prefix=prefix)
    if kind == "kafka":
        return KafkaBroker(url, prefix=prefix)
    return RedisStreamsBroker(url, prefix=prefix)


async def _clean(kind: str, url: str, prefix: str) -> None:
    if kind == "rabbitmq":
        rabbit = RabbitMQBroker(url, prefix=prefix)
        for queue in QUEUES:
            await rabbit.delete(queue)
        await rabbit.close()
    elif kind == "kafka":
        kafka = KafkaBroker(url, prefix=prefix)
        for queue in QUEUES:
            await kafka.delete(queue)
        await kafka.close()
    else:
        redis = RedisStreamsBroker(url, prefix=prefix)
        await redis.delete_keys()
        await redis.close()


def clean(kind: str, prefix: str) -> None:
    """Remove the queues (streams) a test made under `prefix`."""
    asyncio.run(_clean(kind, BROKERS[kind][0], prefix))


class Processes:
    """`supporter` commands started by one test, each logging to its own file."""

    def __init__(self, folder: Path, environment: dict[str, str]) -> None:
        self._folder = folder
        self._environment = environment
        self._started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(
        self, *arguments: str, environment: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = self._folder / f"{len(self._started)}-{'-'.join(arguments[:2])}.log"
        # Several workers on one host would contend for the default metrics port.
        env = {
            "SUPPORTER_METRICS_PORT": "0",
            **KAFKA_ENVIRONMENT,
            **(environment or self._environment),
        }
        with log.open("wb") as file:
            process = subprocess.Popen(
                [*SUPPORTER, *arguments],
                env=env,
                stdout=file,
                stderr=subprocess.STDOUT,
            )
        self._started.append((process, log))
        return process

    def run(self, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
        """A command to its end; its output is returned, not logged."""
        return subprocess.run(
            [*SUPPORTER, *arguments],
            env={**KAFKA_ENVIRONMENT, **self._environment},
            capture_output=True,
            timeout=timeout,
        )

    def stop(self, *processes: subprocess.Popen[bytes]) -> list[int]:
        """SIGTERM to these (by default every one still running), then their exit codes;
        one that has not stopped after a minute is killed (-9)."""
        chosen = list(processes) or [process for process, _ in self._started]
        for process in chosen:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = []
        for process in chosen:
            try:
                codes.append(process.wait(timeout=60))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(process.wait())
        return codes

    def kill_all(self) -> None:
        for process, _ in self._started:
            if process.poll() is None:
                process.kill()
                process.wait()

    def output(self, process: subprocess.Popen[bytes]) -> str:
        """All that `process` has written so far."""
        [log] = [log for started, log in self._started if started is process]
        return log.read_text(errors="replace")

    def logs(self) -> str:
        """The end of every log, to explain a failed assertion."""
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}" for _, log in self._started
        )


def ingest_arguments(data: Path, rejects: Path, *, transactions: bool = True) -> list[str]:
    arguments = ["ingest", "--tickets", str(data / "tickets.csv"), "--rejects", str(rejects)]
    if transactions:
        arguments += ["--transactions", str(data / "transactions.csv")]
    return arguments


def stored(db: Path) -> int:
    """Results in a shared SQLite store."""
    if not db.exists():
        return 0
    with sqlite3.connect(db) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM results").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def stored_in(store_url: str) -> int:
    """Results in a PostgreSQL store."""

    async def count() -> int:
        connection = await asyncpg.connect(store_url)
        try:
            return int(await connection.fetchval("SELECT count(*) FROM results"))
        except asyncpg.UndefinedTableError:
            return 0
        finally:
            await connection.close()

    return asyncio.run(count())


def sample_with_open_ids(folder: Path, tickets: int) -> tuple[Path, set[str]]:
    """Sample data written by the CLI, and the ids of its tickets that wait for an answer."""
    data = folder / "data"
    subprocess.run(
        [*SUPPORTER, "sample-data", "--tickets", str(tickets), "--out", str(data)],
        check=True,
        capture_output=True,
    )
    with (data / "tickets.csv").open(encoding="utf-8", newline="") as file:
        open_ids = {
            row["ticket_id"]
            for row in csv.DictReader(file)
            if row["status"].strip().lower() in {"new", "open"}
        }
    return data, open_ids
