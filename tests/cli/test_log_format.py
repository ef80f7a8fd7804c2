"""Every command that logs honours --log-format and SUPPORTER_LOG_FORMAT, as `run` and
`worker` do: a log shipper reading JSON lines must not meet a console line."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from supporter.cli import dlq, transactions
from supporter.cli import eval as eval_cli
from supporter.cli.app import app

COMMANDS = {
    "dlq replay": (dlq, ["dlq", "replay", "--db", "run.db", "--no-progress"]),
    "eval": (eval_cli, ["eval", "--labeled", "labelled.csv", "--no-progress"]),
    "transactions load": (transactions, ["transactions", "load", "transactions.csv"]),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("how", ["option", "environment"])
def test_the_command_sets_up_logging_in_the_format_asked(
    command: str, how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, args = COMMANDS[command]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run.db").write_bytes(b"")
    (tmp_path / "labelled.csv").write_text("text,label\nhello,billing\n", encoding="utf-8")
    (tmp_path / "transactions.csv").write_text("transaction_id\n", encoding="utf-8")
    monkeypatch.delenv("SUPPORTER_LOG_FORMAT", raising=False)
    formats: list[str] = []

    def setup_logging(verbose: bool, log_format: str = "console") -> None:
        formats.append(log_format)
        raise typer.Exit(0)  # what the command does next is not the point here

    monkeypatch.setattr(module, "setup_logging", setup_logging)
    if how == "option":
        args = [*args, "--log-format", "json"]
    else:
        monkeypatch.setenv("SUPPORTER_LOG_FORMAT", "json")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert formats == ["json"]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_console_stays_the_default(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, args = COMMANDS[command]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run.db").write_bytes(b"")
    monkeypatch.delenv("SUPPORTER_LOG_FORMAT", raising=False)
    formats: list[str] = []

    def setup_logging(verbose: bool, log_format: str = "console") -> None:
        formats.append(log_format)
        raise typer.Exit(0)

    monkeypatch.setattr(module, "setup_logging", setup_logging)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert formats == ["console"]
