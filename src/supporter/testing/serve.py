"""`supporter serve` as a process of its own on a free port, for tests, benchmarks and
the screenshot script: started, waited for (`/healthz`), stopped with SIGTERM."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

from supporter.testing.tansu import free_port

SUPPORTER = [sys.executable, "-m", "supporter"]


@contextlib.contextmanager
def serve_process(
    folder: Path, env: Mapping[str, str] | None = None, *arguments: str, start_timeout: float = 90
) -> Iterator[str]:
    """Run `supporter serve` in `folder` (output in folder/serve.log); yields its URL."""
    port = free_port()
    log = folder / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*SUPPORTER, "serve", "--port", str(port), *arguments],
            cwd=folder,
            env=None if env is None else dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"supporter serve exited: {log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"supporter serve did not start: {log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
