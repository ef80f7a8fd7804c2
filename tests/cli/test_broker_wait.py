"""A worker started before its broker waits for it (`SUPPORTER_BROKER_WAIT`), then
gives up with the reason; a broker that refuses, or a URL that is wrong, fails at once.
(Waiting and then working, and stopping while waiting: tests/e2e/test_broker_start_order.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.conftest import require_service
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.testing.tansu import free_port

runner = CliRunner()


def environment(tmp_path: Path, url: str, wait: str) -> dict[str, str]:
    return {
        "SUPPORTER_BROKER_URL": url,
        "SUPPORTER_BROKER_WAIT": wait,
        "SUPPORTER_DB": str(tmp_path / "store.db"),
        "SUPPORTER_STORE_URL": "",
        "SUPPORTER_METRICS_PORT": "0",
    }


def unreachable(kind: str) -> tuple[str, str]:
    """A URL of `kind` where nothing listens, and how messages show it."""
    port = free_port()
    if kind == "rabbitmq":
        return f"amqp://guest:s3cret@127.0.0.1:{port}/", f"amqp://guest:***@127.0.0.1:{port}/"
    if kind == "redis":
        return (
            f"redis://default:s3cret@127.0.0.1:{port}/0",
            f"redis://default:***@127.0.0.1:{port}/0",
        )
    if kind == "redis-query":  # the password as redis-py also takes it
        return (
            f"redis://127.0.0.1:{port}/0?password=s3cret",
            f"redis://127.0.0.1:{port}/0?password=***",
        )
    url = f"kafka://127.0.0.1:{port}?idempotence=false"
    return url, url


@pytest.mark.parametrize("kind", ["rabbitmq", "redis", "redis-query", "kafka"])
def test_a_worker_gives_up_on_a_broker_still_out_of_reach_and_says_why(
    tmp_path: Path, kind: str
) -> None:
    url, shown = unreachable(kind)
    result = runner.invoke(
        app, ["worker", "analyze"], env=environment(tmp_path, url, "2"), terminal_width=2000
    )
    assert result.exit_code == 1, result.output
    [error] = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert error.startswith("error: the broker cannot be reached: ")
    assert shown in error
    assert "Connect call failed" in error or "Unable to bootstrap" in error
    assert re.search(r"\(waited \d+ s for it\)$", error), error
    assert "s3cret" not in result.output


@pytest.mark.parametrize(
    ("kind", "url", "said"),
    [
        (
            "rabbitmq",
            "amqp://guest:wrong-s3cret@127.0.0.1:5672/",
            "RabbitMQ at amqp://guest:***@127.0.0.1:5672/ refused the connection",
        ),
        (
            "redis",
            "redis://nobody:wrong-s3cret@127.0.0.1:6379/0",
            "Redis at redis://nobody:***@127.0.0.1:6379/0 refused the login",
        ),
    ],
)
def test_bad_credentials_fail_at_once(tmp_path: Path, kind: str, url: str, said: str) -> None:
    require_service(kind, "127.0.0.1", 5672 if kind == "rabbitmq" else 6379)
    # A wait as long as a test may take: a refusal must not start it.
    result = runner.invoke(
        app, ["worker", "analyze"], env=environment(tmp_path, url, "600"), terminal_width=2000
    )
    assert result.exit_code == 1, result.output
    assert f"error: the broker cannot be reached: {said}" in result.output
    assert "waiting" not in result.output
    assert "wrong-s3cret" not in result.output


@pytest.mark.parametrize(
    ("command", "url", "said"),
    [
        (
            ["worker", "respond"],
            "amqp://guest:s3cret@127.0.0.1:56x72/",
            "error: malformed RabbitMQ URL amqp://guest:***@127.0.0.1:56x72/: ",
        ),
        (
            ["worker", "sink"],
            "redis://:s3cret@127.0.0.1:63x79/0",
            "error: malformed Redis URL redis://:***@127.0.0.1:63x79/0: ",
        ),
        (
            ["serve", "--port", "0"],
            "amqp://guest:s3cret@/",
            "error: malformed RabbitMQ URL amqp://guest:***@/: no host",
        ),
    ],
)
def test_a_malformed_url_fails_at_once(
    tmp_path: Path, command: list[str], url: str, said: str
) -> None:
    result = runner.invoke(app, command, env=environment(tmp_path, url, "600"), terminal_width=2000)
    assert result.exit_code == 2, result.output
    assert said in result.output
    assert "Traceback" not in result.output
    assert "s3cret" not in result.output
