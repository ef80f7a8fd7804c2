"""Processes started before their broker (compose, systemd): workers, `serve` and
`ingest` wait for it instead of exiting, say so once, work once it is there, and stop
at once when told to while they wait."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import start_tansu
from tests.e2e.processes import (
    Processes,
    clean,
    ingest_arguments,
    sample_with_open_ids,
    stored_in,
)
from tests.proxy import TcpProxy

from supporter.testing.tansu import TansuServer, free_port

EXAMPLES = Path(__file__).parents[2] / "examples"
WAITING = "waiting up to 300 s for the broker, which cannot be reached yet: "


def wait_until(done: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.1)


def records(output: str) -> list[dict[str, Any]]:
    """The JSON log lines of a process (SUPPORTER_LOG_FORMAT=json)."""
    found = []
    for line in output.splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def said(output: str, start: str) -> list[dict[str, Any]]:
    return [record for record in records(output) if record["message"].startswith(start)]


def late_broker_url(kind: str, port: int) -> tuple[str, str]:
    """The URL of a broker of `kind` that will listen on `port`, and how logs show it."""
    if kind == "rabbitmq":
        return f"amqp://guest:guest@127.0.0.1:{port}/", f"amqp://guest:***@127.0.0.1:{port}/"
    if kind == "redis":
        # Any password passes the test server's default user, which has none.
        return (
            f"redis://default:s3cret@127.0.0.1:{port}/0",
            f"redis://default:***@127.0.0.1:{port}/0",
        )
    url = f"kafka://127.0.0.1:{port}?idempotence=false"
    return url, url


def test_workers_started_before_their_broker_wait_for_it_and_then_work(
    tmp_path: Path, kind: str, store_url: str
) -> None:
    port = free_port()
    url, shown = late_broker_url(kind, port)
    prefix = f"e2e-late-{uuid.uuid4().hex[:8]}"
    environment = {
        **os.environ,
        "SUPPORTER_BROKER_URL": url,
        "SUPPORTER_BROKER_PREFIX": prefix,
        "SUPPORTER_STORE_URL": store_url,
        "SUPPORTER_LOG_FORMAT": "json",
    }
    data, open_ids = sample_with_open_ids(tmp_path, 60)
    processes = Processes(tmp_path, environment)
    # The broker comes up later: a relay on its port to the real one, or (Kafka, whose
    # clients go where the server advertises) a server of its own on that port.
    relay = TcpProxy("127.0.0.1", 5672 if kind == "rabbitmq" else 6379)
    kafka_server = TansuServer(port) if kind == "kafka" else None
    workers = [processes.start("worker", stage) for stage in ("analyze", "respond", "sink")]
    try:
        wait_until(
            lambda: (
                all(said(processes.output(worker), WAITING) for worker in workers)
                or any(worker.poll() is not None for worker in workers)
            ),
            90,
        )
        time.sleep(2.0)
        alive_while_waiting = [worker.poll() is None for worker in workers]
        assert alive_while_waiting == [True, True, True], processes.logs()
        if kafka_server is not None:
            start_tansu(kafka_server)
        else:
            relay.start(port)
        ingest = processes.run(*ingest_arguments(data, tmp_path / "rejects.jsonl"))
        assert ingest.returncode == 0, ingest.stdout.decode()[-2000:]
        wait_until(lambda: stored_in(store_url) >= len(open_ids), 120)
        alive = [worker.poll() is None for worker in workers]
        codes = processes.stop(*workers)
    finally:
        processes.kill_all()
        if kafka_server is not None:
            kafka_server.stop()
        else:
            relay.close()
            clean(kind, prefix)
    assert alive == [True, True, True], processes.logs()
    assert codes == [0, 0, 0], processes.logs()
    assert stored_in(store_url) == len(open_ids)
    for worker in workers:
        output = processes.output(worker)
        [waiting] = said(output, WAITING)
        assert waiting["level"] == "WARNING"
        assert shown in waiting["message"]
        assert len(said(output, "reached the broker after")) == 1
        assert "s3cret" not in output


@pytest.mark.parametrize(
    ("command", "stop", "code"),
    [
        (["worker", "analyze"], signal.SIGTERM, 0),
        (["worker", "sink"], signal.SIGINT, 0),
        # As when stopped while publishing: a rerun publishes the rest.
        (
            [
                "ingest",
                "--tickets",
                str(EXAMPLES / "tickets.csv"),
                "--transactions",
                str(EXAMPLES / "transactions.csv"),
            ],
            signal.SIGTERM,
            130,
        ),
        # As when stopped while serving: uvicorn hands the signal back when it is done.
        (["serve", "--port", "0"], signal.SIGTERM, -signal.SIGTERM),
    ],
    ids=["worker-SIGTERM", "worker-SIGINT", "ingest", "serve"],
)
def test_a_stop_while_waiting_for_the_broker_is_an_ordinary_stop(
    tmp_path: Path, command: list[str], stop: signal.Signals, code: int
) -> None:
    port = free_port()  # nothing listens there
    environment = {
        **os.environ,
        "SUPPORTER_BROKER_URL": f"amqp://guest:s3cret@127.0.0.1:{port}/",
        "SUPPORTER_DB": str(tmp_path / "store.db"),
        "SUPPORTER_REJECTS": str(tmp_path / "rejects.jsonl"),
        "SUPPORTER_LOG_FORMAT": "json",
    }
    processes = Processes(tmp_path, environment)
    process = processes.start(*command)
    try:
        wait_until(
            lambda: bool(said(processes.output(process), WAITING)) or process.poll() is not None,
            90,
        )
        waiting = process.poll() is None
        process.send_signal(stop)
        # Well within the shutdown timeout (30 s), and nowhere near the wait's 300 s.
        stopped = process.wait(timeout=30)
    finally:
        processes.kill_all()
    output = processes.output(process)
    assert waiting, output
    assert said(output, WAITING), output
    assert stopped == code, output
    assert "s3cret" not in output


def test_a_worker_stops_while_its_broker_accepts_but_never_answers(tmp_path: Path) -> None:
    """A host that takes the connection and says nothing (a firewall, a hung server):
    the first connect is still under way when the stop comes. Cut short, aio-pika's
    connection used to go on reconnecting by itself and keep the process alive."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        environment = {
            **os.environ,
            "SUPPORTER_BROKER_URL": f"amqp://guest:s3cret@127.0.0.1:{port}/",
            "SUPPORTER_DB": str(tmp_path / "store.db"),
            "SUPPORTER_LOG_FORMAT": "json",
            "SUPPORTER_METRICS_PORT": "0",
        }
        processes = Processes(tmp_path, environment)
        process = processes.start("worker", "analyze")
        try:
            wait_until(
                lambda: "started" in processes.output(process) or process.poll() is not None, 60
            )
            time.sleep(1.0)  # connecting: the server took the connection, answers nothing
            running = process.poll() is None
            process.send_signal(signal.SIGTERM)
            stopped = process.wait(timeout=30)
        finally:
            processes.kill_all()
    output = processes.output(process)
    assert running, output
    assert stopped == 0, output
    assert "s3cret" not in output
