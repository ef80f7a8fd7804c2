"""`supporter helpdesk check NAME`: one line per check, exit 1 when one fails, 2 when
the helpdesk is not configured, and never a credential, even one a connector's own
words would show."""

from __future__ import annotations

import http.server
import re
import sys
import threading
import types
from collections.abc import Iterator, Sequence

import pytest
from pydantic import SecretStr
from tests.helpdesks.fakes import FakeHelpdesk
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.domain.errors import FatalError
from supporter.helpdesks.base import CheckResult, HelpdeskSettings

runner = CliRunner()
TOKEN = "rt-token-0123456789"


class RtSettings(HelpdeskSettings):
    url: str
    token: SecretStr


class Checked(FakeHelpdesk):
    def __init__(self, settings: RtSettings, results: Sequence[CheckResult] | None) -> None:
        super().__init__(name="rt")
        self.settings = settings
        self.results = results

    async def check(self) -> Sequence[CheckResult]:
        if self.results is None:
            raise FatalError("401 from GET /REST/2.0/rt: check the token")
        token = self.settings.token.get_secret_value()
        return [*self.results, CheckResult("echo", True, f"sent Authorization: token {token}")]


def install(results: Sequence[CheckResult] | None) -> Iterator[None]:
    module = types.ModuleType("supporter.helpdesks.rt")
    module.Settings = RtSettings  # type: ignore[attr-defined]
    module.connect = lambda settings: Checked(settings, results)  # type: ignore[attr-defined]
    saved = sys.modules.get(module.__name__)
    sys.modules[module.__name__] = module
    yield
    if saved is None:
        del sys.modules[module.__name__]
    else:
        sys.modules[module.__name__] = saved


@pytest.fixture
def passing() -> Iterator[None]:
    yield from install([CheckResult("credentials", True, "signed in as supporter")])


@pytest.fixture
def failing() -> Iterator[None]:
    yield from install(
        [
            CheckResult("credentials", True, "signed in as supporter"),
            CheckResult("queue", False, "no queue named Billing"),
        ]
    )


@pytest.fixture
def raising() -> Iterator[None]:
    yield from install(None)


ENV = {"SUPPORTER_RT_URL": "http://127.0.0.1:9", "SUPPORTER_RT_TOKEN": TOKEN}


def test_every_check_passing_exits_0_and_hides_the_token(passing: None) -> None:
    result = runner.invoke(app, ["helpdesk", "check", "rt"], env=ENV)
    assert result.exit_code == 0, result.output
    assert "signed in as supporter" in result.output
    assert TOKEN not in result.output
    assert "[hidden]" in result.output


def test_a_failed_check_exits_1(failing: None) -> None:
    result = runner.invoke(app, ["helpdesk", "check", "rt"], env=ENV)
    assert result.exit_code == 1
    assert "no queue named Billing" in result.output
    assert TOKEN not in result.output


def test_a_connector_that_cannot_start_is_a_failed_check(raising: None) -> None:
    result = runner.invoke(app, ["helpdesk", "check", "rt"], env=ENV)
    assert result.exit_code == 1
    assert "check the token" in result.output


def test_a_missing_setting_is_named_and_exits_2(passing: None) -> None:
    result = runner.invoke(app, ["helpdesk", "check", "rt"], env={"SUPPORTER_RT_TOKEN": TOKEN})
    assert result.exit_code == 2
    assert "SUPPORTER_RT_URL" in result.output
    assert TOKEN not in result.output


def test_an_unknown_helpdesk_exits_2() -> None:
    result = runner.invoke(app, ["helpdesk", "check", "gorgias"])
    assert result.exit_code == 2
    assert "unknown helpdesk" in result.output


def test_a_write_back_worker_without_a_helpdesk_stops_before_work() -> None:
    result = runner.invoke(
        app, ["worker", "write-back"], env={"SUPPORTER_BROKER_URL": "amqp://127.0.0.1:9/"}
    )
    assert result.exit_code == 2
    assert "--helpdesk and --write-back" in result.output


class WebhookRoute(http.server.BaseHTTPRequestHandler):
    """Answers as `supporter serve --helpdesk rt` does to an unsigned webhook; under
    /open, as a route that takes unsigned webhooks would (a broken or unguarded one)."""

    def do_POST(self) -> None:
        answers = {"/webhooks/rt": 401, "/open/webhooks/rt": 200}
        self.send_response(answers.get(self.path, 404))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def supporter_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), WebhookRoute)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_webhook_route_is_checked_when_its_address_is_given(
    passing: None, supporter_url: str
) -> None:
    command = ["helpdesk", "check", "rt", "--webhook-url"]
    reached = runner.invoke(app, [*command, supporter_url + "/"], env=ENV, terminal_width=200)
    assert reached.exit_code == 0, reached.output
    assert "refuses an unsigned request" in reached.output
    elsewhere = runner.invoke(app, [*command, supporter_url + "/other"], env=ENV)
    assert elsewhere.exit_code == 1
    assert "404" in elsewhere.output
    unguarded = runner.invoke(app, [*command, supporter_url + "/open"], env=ENV, terminal_width=200)
    assert unguarded.exit_code == 1
    cells = re.sub(r"[│\s]+", " ", unguarded.output)  # the table wraps its cells
    assert "answered 200, not 401 to an unsigned request" in cells
    closed = runner.invoke(app, [*command, "http://127.0.0.1:9"], env=ENV, terminal_width=200)
    assert closed.exit_code == 1
    assert "cannot reach" in closed.output
