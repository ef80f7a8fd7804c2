"""`supporter train`, `supporter eval` and `run --provider local|cascade` from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.classifier.labelled import LABELS, clear_examples, write_labelled_csv
from tests.cli.test_run import TICKETS, TRANSACTIONS
from tests.cli.test_run_openai import ThreadedFakeLLM
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.testing.fake_llm import FakeLLMConfig


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    (tmp_path / "transactions.csv").write_text(TRANSACTIONS, encoding="utf-8")
    rows = [("", text, label) for text, label in clear_examples(per_label=30)]
    with (tmp_path / "history.csv").open("w", encoding="utf-8") as handle:
        handle.write("subject,body,category\n")
        handle.writelines(f'"{subject}","{body}",{label}\n' for subject, body, label in rows)
    write_labelled_csv(
        tmp_path / "holdout.csv", clear_examples(per_label=10, seed=1), ("body", "category")
    )
    return tmp_path


@pytest.fixture
def simulator() -> Iterator[ThreadedFakeLLM]:
    with ThreadedFakeLLM(FakeLLMConfig(latency_ms=2, latency_jitter=0, seed=1)) as running:
        yield running


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def train_model(out: str = "model") -> None:
    code, output = invoke(
        "train",
        "--labeled",
        "history.csv",
        "--text-column",
        "subject",
        "--text-column",
        "body",
        "--label-column",
        "category",
        "--out",
        out,
        "--no-progress",
    )
    assert code == 0, output


def evaluate(*args: str) -> tuple[int, str]:
    return invoke(
        "eval",
        "--labeled",
        "holdout.csv",
        "--text-column",
        "body",
        "--label-column",
        "category",
        "--no-progress",
        *args,
    )


def results() -> dict[str, dict[str, object]]:
    lines = Path("results.jsonl").read_text(encoding="utf-8").splitlines()
    return {line["ticket_id"]: line for line in map(json.loads, lines)}


def test_train_then_evaluate_the_local_model(workdir: Path) -> None:
    train_model()
    metadata = json.loads(Path("model/model.json").read_text())
    assert metadata["labels"] == LABELS
    assert metadata["examples"] == 30 * len(LABELS)
    assert metadata["text_columns"] == ["subject", "body"]

    code, output = evaluate("--provider", "local", "--model-path", "model", "--json", "r.json")
    assert code == 0, output
    assert "macro-F1" in output
    assert "Per label" in output
    report = json.loads(Path("r.json").read_text())
    scores = report["scores"]
    assert report["provider"] == "local"
    assert scores["examples"] == 10 * len(LABELS)
    assert scores["accuracy"] >= 0.95
    assert scores["macro_f1"] >= 0.95
    assert 0 <= scores["expected_calibration_error"] < 0.2
    assert sorted(label["label"] for label in scores["labels"]) == LABELS
    assert [row["threshold"] for row in scores["thresholds"]] == [0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    assert report["tickets_per_second"] > 0


def test_evaluate_the_offline_rules_on_their_own_taxonomy(workdir: Path) -> None:
    write_labelled_csv(
        Path("default.csv"),
        [
            ("I was charged twice for the same order", "duplicate_charge"),
            ("Please refund my money, I returned the item", "refund_request"),
            ("I cannot log in, please reset my password", "account_access"),
            ("Cancel my subscription today", "subscription_cancellation"),
        ],
        ("text", "label"),
    )
    code, output = invoke("eval", "--labeled", "default.csv", "--no-progress", "--json", "r.json")
    assert code == 0, output
    report = json.loads(Path("r.json").read_text())
    assert report["provider"] == "offline"
    assert report["scores"]["examples"] == 4
    assert report["scores"]["accuracy"] >= 0.75
    assert report["unknown_labels"] == {}


def test_run_with_the_local_model(workdir: Path) -> None:
    train_model()
    code, output = invoke(
        "run", "--no-progress", "--tickets", "tickets.csv", "--transactions", "transactions.csv",
        "--provider", "local", "--model-path", "model",
    )  # fmt: skip
    assert code == 0, output
    records = results()
    assert sorted(records) == ["T1", "T2"]
    assert {record["provider"] for record in records.values()} == {"local"}
    analysis = records["T1"]["analysis"]
    assert isinstance(analysis, dict)
    assert analysis["category"] == "duplicate_charge"


def test_the_cascade_calls_the_llm_only_where_the_model_is_unsure(
    workdir: Path, simulator: ThreadedFakeLLM
) -> None:
    train_model()
    code, output = invoke(
        "run", "--no-progress", "--tickets", "tickets.csv", "--transactions", "transactions.csv",
        "--provider", "cascade", "--model-path", "model", "--threshold", "0.9",
        "--base-url", simulator.base_url,
    )  # fmt: skip
    assert code == 0, output
    records = results()
    # T1 names a cue the model learnt ("charged twice"); T2 asks about something it never saw.
    assert records["T1"]["provider"] == "cascade:local"
    assert records["T2"]["provider"] == "cascade:openai:gpt-6-luna"
    assert len(simulator.fake.requests) == 2  # T2's analysis and reply
    assert "answered without a model call" in output
    assert "1 (50.0%)" in output
    assert "cost saved" in output


def test_an_incompatible_model_is_refused_with_a_clear_message(workdir: Path) -> None:
    train_model()
    metadata = json.loads(Path("model/model.json").read_text())
    metadata["format"] = 99
    Path("model/model.json").write_text(json.dumps(metadata))
    code, output = invoke(
        "run", "--no-progress", "--tickets", "tickets.csv", "--transactions", "transactions.csv",
        "--provider", "local", "--model-path", "model",
    )  # fmt: skip
    assert code == 2
    assert "format 99" in output
    assert "supporter train" in output
    code, output = evaluate("--provider", "local", "--model-path", "model")
    assert code == 2
    assert "format 99" in output


def test_the_local_provider_needs_a_model(workdir: Path) -> None:
    code, output = invoke(
        "run", "--no-progress", "--tickets", "tickets.csv", "--transactions", "transactions.csv",
        "--provider", "local",
    )  # fmt: skip
    assert code == 2
    assert "--model-path" in output


def test_train_reports_what_it_cannot_use(workdir: Path) -> None:
    code, output = invoke("train", "--labeled", "history.csv", "--out", "m", "--no-progress")
    assert code == 2
    assert "no column 'text'" in output
    write_labelled_csv(Path("one.csv"), [("a", "x"), ("b", "x"), ("c", "y")], ("text", "label"))
    code, output = invoke("train", "--labeled", "one.csv", "--out", "m", "--no-progress")
    assert code == 2
    assert "y has only one" in output
    assert not Path("m").exists()


def test_evaluate_the_cascade_against_the_simulator(
    workdir: Path, simulator: ThreadedFakeLLM
) -> None:
    train_model()
    write_labelled_csv(
        Path("mixed.csv"),
        [*clear_examples(per_label=2, seed=2), ("Please cancel my subscription", "card_delivery")],
        ("body", "category"),
    )
    code, output = invoke(
        "eval", "--labeled", "mixed.csv", "--text-column", "body", "--label-column", "category",
        "--provider", "cascade", "--model-path", "model", "--threshold", "0.9",
        "--base-url", simulator.base_url, "--no-progress", "--json", "r.json",
    )  # fmt: skip
    assert code == 0, output
    report = json.loads(Path("r.json").read_text())
    cascade = report["cascade"]
    assert cascade["model_free"] == 2 * len(LABELS)
    assert cascade["model_free_accuracy"] == 1.0
    assert cascade["paid_answers"] == 1
    assert float(cascade["estimated_saving_usd"]) > 0
    by = {entry["provider"]: entry["count"] for entry in report["scores"]["answered_by"]}
    assert by == {"cascade:local": 8, "cascade:openai:gpt-6-luna": 1}
    assert len(simulator.fake.requests) == 1
    assert "answered without a model call" in output
