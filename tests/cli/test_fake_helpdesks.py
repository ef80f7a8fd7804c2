"""The helpdesk simulators' commands alike: --help says where their credentials come
from, each prints them, as the variables a connector reads, before it serves, and a
tickets CSV or an --error-rate it cannot use is an error naming it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.testing import fake_chatwoot, fake_zammad, fake_zendesk

CREDENTIALS = {
    "fake-zendesk": {
        "SUPPORTER_ZENDESK_EMAIL": fake_zendesk.DEFAULT_EMAIL,
        "SUPPORTER_ZENDESK_TOKEN": fake_zendesk.DEFAULT_TOKEN,
    },
    "fake-zammad": {"SUPPORTER_ZAMMAD_TOKEN": fake_zammad.DEFAULT_TOKEN},
    "fake-chatwoot": {
        "SUPPORTER_CHATWOOT_ACCOUNT_ID": str(fake_chatwoot.DEFAULT_ACCOUNT),
        "SUPPORTER_CHATWOOT_TOKEN": fake_chatwoot.DEFAULT_TOKEN,
    },
}


@pytest.mark.parametrize("command", sorted(CREDENTIALS))
def test_help_says_where_the_credentials_come_from(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "(dynamic)" not in result.output
    assert "the simulator's test credential, printed at start" in result.output


@pytest.mark.parametrize("command", sorted(CREDENTIALS))
def test_the_credentials_are_printed_before_serving(command: str) -> None:
    # A port taken: the command prints its credentials, then cannot listen and stops.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, [command, "--port", str(port)], terminal_width=400)
    assert result.exit_code == 1, result.output
    shown = " ".join(f"{name}={value}" for name, value in CREDENTIALS[command].items())
    assert shown in result.output
    assert "cannot listen" in result.output


@pytest.mark.parametrize("command", sorted(CREDENTIALS))
def test_a_csv_that_cannot_be_read_is_an_error_naming_it(command: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [command, "--tickets", str(tmp_path / "none.csv")])
    assert result.exit_code != 0
    assert "none.csv" in result.output


@pytest.mark.parametrize("command", sorted(CREDENTIALS))
def test_an_error_rate_it_cannot_use_names_the_option(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--error-rate", "503=2"], terminal_width=200)
    assert result.exit_code == 2
    assert "--error-rate" in result.output
    assert "STATUS=SHARE" in result.output
