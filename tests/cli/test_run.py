"""`supporter run` end to end through the command line, as a user runs it."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.domain.masking import contains_card_number

TICKETS = (
    "ticket_id,customer_id,subject,body,status,created_at\n"
    'T1,C1,Charged twice,"I was charged twice, 49.99 USD on 2024-05-01. '
    'Card 4111 1111 1111 1111",open,2024-05-02T09:00:00Z\n'
    "T2,C2,Cancel,Please cancel my subscription,NEW,2024-05-03\n"
    "T3,C1,Thanks,All good now,closed,2024-05-03\n"
    "T4,C3,Bad date,Hello,open,not-a-date\n"
)
TRANSACTIONS = (
    "transaction_id,customer_id,amount,currency,status,created_at,type,card_last4\n"
    "tx_1,C1,49.99,USD,succeeded,2024-05-01T10:00:00Z,charge,1111\n"
    "tx_2,C1,49.99,USD,succeeded,2024-05-01T10:05:00Z,charge,1111\n"
    "tx_3,C2,9.00,EUR,succeeded,2024-04-20T10:00:00Z,charge,\n"
    "tx_4,C2,abc,EUR,succeeded,2024-04-20T10:00:00Z,charge,\n"
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    (tmp_path / "transactions.csv").write_text(TRANSACTIONS, encoding="utf-8")
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["run", "--no-progress", *args])
    return result.exit_code, result.output


def test_run_writes_one_result_per_open_ticket(workdir: Path) -> None:
    code, output = invoke(
        "--tickets", "tickets.csv", "--transactions", "transactions.csv", "--format", "csv"
    )
    assert code == 0, output
    lines = [json.loads(line) for line in Path("results.jsonl").read_text().splitlines()]
    by_id = {line["ticket_id"]: line for line in lines}
    assert sorted(by_id) == ["T1", "T2"]
    t1 = by_id["T1"]
    assert t1["status"] == "responded"
    assert t1["analysis"]["category"] == "duplicate_charge"
    assert set(t1["analysis"]["related_transaction_ids"]) >= {"tx_1", "tx_2"}
    assert t1["reply"]["cited_transaction_ids"]
    assert t1["provider"] == "offline"
    assert t1["error"] is None
    with Path("results.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["ticket_id"] for row in rows] == [line["ticket_id"] for line in lines]
    rejects = [json.loads(line) for line in Path("rejects.jsonl").read_text().splitlines()]
    assert {(r["source"], r["line"]) for r in rejects} == {("tickets", 5), ("transactions", 5)}
    assert "tickets read" in output
    assert "duplicate_charge" in output


def test_no_full_card_number_reaches_any_output(workdir: Path) -> None:
    (workdir / "tickets.csv").write_text(
        TICKETS + 'T5,C1,Card,"my card 5500-0000-0000-0004 exp 12/27 was charged",open,zzz\n',
        encoding="utf-8",
    )
    code, _ = invoke("--tickets", "tickets.csv", "--transactions", "transactions.csv")
    assert code == 0
    for name in ("results.jsonl", "rejects.jsonl", "supporter.db"):
        data = (workdir / name).read_bytes().decode("utf-8", errors="replace")
        assert not contains_card_number(data), name
    assert "**** 1111" in Path("results.jsonl").read_text() + Path(
        "supporter.db"
    ).read_bytes().decode("utf-8", errors="replace")


def test_rerun_skips_done_tickets_and_still_outputs_each_once(workdir: Path) -> None:
    args = ("--tickets", "tickets.csv", "--transactions", "transactions.csv")
    assert invoke(*args)[0] == 0
    first = Path("results.jsonl").read_text().splitlines()
    code, output = invoke(*args)
    assert code == 0
    second = Path("results.jsonl").read_text().splitlines()
    assert sorted(second) == sorted(first)
    assert re.search(r"already done in an earlier run\s*│\s*2\s", output)


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("ticket_id,customer_id,subject,status,created_at", "body"),
        ("id,customer_id,subject,body,status,created_at", "ticket_id"),
    ],
)
def test_missing_column_stops_before_any_work(workdir: Path, header: str, column: str) -> None:
    (workdir / "tickets.csv").write_text(header + "\n", encoding="utf-8")
    code, output = invoke("--tickets", "tickets.csv", "--transactions", "transactions.csv")
    assert code == 2
    assert "tickets.csv" in output
    assert column in output
    assert not (workdir / "results.jsonl").exists()


def test_an_unrecognised_transactions_file_stops_naming_its_header(workdir: Path) -> None:
    (workdir / "payments.csv").write_text("Datum;Betrag\n01.02.2024;5,00\n", encoding="utf-8")
    code, output = invoke("--tickets", "tickets.csv", "--transactions", "payments.csv")
    assert code == 2
    flat = " ".join(output.split())
    assert "not a transactions format Supporter recognises" in flat
    assert "header: Datum, Betrag" in flat
    assert "--transactions-format NAME" in flat
    assert not (workdir / "results.jsonl").exists()


def test_a_named_format_that_does_not_exist_stops(workdir: Path) -> None:
    code, output = invoke(
        "--tickets", "tickets.csv", "--transactions", "transactions.csv", "--tickets-format", "nope"
    )
    assert code == 2
    assert "--tickets-format: unknown format 'nope'" in " ".join(output.split())


def test_column_mapping_lets_an_export_be_used_as_is(workdir: Path) -> None:
    text = TICKETS.replace("ticket_id,", "Id,", 1).replace(",body,", ",Description,", 1)
    (workdir / "tickets.csv").write_text(text, encoding="utf-8")
    code, output = invoke(
        "--tickets",
        "tickets.csv",
        "--transactions",
        "transactions.csv",
        "--ticket-columns",
        "ticket_id=Id,body=Description",
    )
    assert code == 0, output
    assert len(Path("results.jsonl").read_text().splitlines()) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ticket-columns", "ticket_id"], "FIELD=COLUMN"),
        (["--max-attempts", "0"], "max_attempts"),
        (["--tickets", "nope.csv"], "nope.csv"),
        (["--provider", "gpt"], "provider"),
    ],
)
def test_bad_options_exit_2_with_a_message(workdir: Path, args: list[str], message: str) -> None:
    base = {"--tickets": "tickets.csv", "--transactions": "transactions.csv"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    code, output = invoke(*[item for pair in base.items() for item in pair])
    assert code == 2
    assert message in output


def test_settings_come_from_the_config_file_and_environment(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "supporter.toml").write_text(
        'tickets = "tickets.csv"\ntransactions = "transactions.csv"\nout = "from-file.jsonl"\n'
        'open_statuses = ["closed"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("SUPPORTER_OUT", "from-env.jsonl")
    code, output = invoke("--open-statuses", "open,new,closed")
    assert code == 0, output
    assert not Path("from-file.jsonl").exists()
    assert len(Path("from-env.jsonl").read_text().splitlines()) == 3


def test_sigterm_mid_run_stops_cleanly_and_a_rerun_finishes(tmp_path: Path) -> None:
    supporter = [sys.executable, "-m", "supporter"]
    subprocess.run(
        [*supporter, "sample-data", "--tickets", "20000", "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    args = [
        *supporter,
        "run",
        "--no-progress",
        "--tickets",
        str(tmp_path / "tickets.csv"),
        "--transactions",
        str(tmp_path / "transactions.csv"),
        "--db",
        str(tmp_path / "s.db"),
        "--out",
        str(tmp_path / "out.jsonl"),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    out = tmp_path / "out.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.exists() and len(out.read_bytes().splitlines()) > 200:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr.decode()
    first = {json.loads(line)["ticket_id"] for line in out.read_text().splitlines()}
    assert first

    rerun = subprocess.run(args, capture_output=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr.decode()
    ids = [json.loads(line)["ticket_id"] for line in out.read_text().splitlines()]
    assert len(ids) == len(set(ids))
    assert first <= set(ids)
    with (tmp_path / "tickets.csv").open(encoding="utf-8", newline="") as file:
        open_ids = {
            row["ticket_id"]
            for row in csv.DictReader(file)
            if row["status"].lower() in {"new", "open"}
        }
    assert set(ids) == open_ids


def test_an_output_path_that_cannot_be_written_exits_2(workdir: Path) -> None:
    (workdir / "taken").write_text("a file, not a folder")
    code, output = invoke(
        "--tickets", "tickets.csv", "--transactions", "transactions.csv", "--out", "taken/r.jsonl"
    )
    assert code == 2
    assert "cannot write" in output
    assert "taken" in output
