"""`supporter serve` as a process of its own on a free port, with an admin token."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from supporter.domain.people import Role
from supporter.store.accounts import SqlAccounts
from supporter.store.sql import SqlStore, sqlite_url

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    db: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _accounts(db: Path) -> str:
    store = await SqlStore.open(sqlite_url(db))
    try:
        accounts = SqlAccounts(store.engine)
        await accounts.add_user("ana", PASSWORD, Role.ADMIN)
        await accounts.add_user("rui", PASSWORD, Role.REVIEWER)
        return await accounts.create_token("test", Role.ADMIN)
    finally:
        await store.close()


@contextlib.contextmanager
def running_serve(folder: Path, *arguments: str) -> Iterator[Server]:
    """A served Supporter on an SQLite file in `folder` (users ana, admin, and rui,
    reviewer, both with PASSWORD); stopped with SIGTERM afterwards."""
    db = folder / "serve.db"
    token = asyncio.run(_accounts(db))
    port = free_port()
    log = folder / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "supporter",
                "serve",
                "--port",
                str(port),
                "--db",
                str(db),
                *arguments,
            ],
            cwd=folder,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise AssertionError(f"serve exited: {log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"serve did not start: {log.read_text()}")
            time.sleep(0.2)
        yield Server(url, token, db)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
