"""`supporter sample-data --knowledge` and `supporter eval --knowledge` on what it wrote."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from supporter.cli.app import app
from supporter.knowledge.folder import read_knowledge

runner = CliRunner()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    result = runner.invoke(app, ["sample-data", "--tickets", "5", "--out", str(out), "--knowledge"])
    assert result.exit_code == 0, result.output
    return out


def evaluate(sample: Path, labelled: Path, *options: str) -> Result:
    help_center = str(sample / "help-center")
    return runner.invoke(
        app, ["eval", "--knowledge", help_center, "--labeled", str(labelled), *options]
    )


def test_the_sample_help_center_has_two_languages_and_its_own_policies(sample: Path) -> None:
    documents = list(read_knowledge(sample / "help-center", pytest.fail))
    articles = [d for d in documents if d.kind == "article"]
    assert len(articles) >= 40
    assert {d.language for d in articles} == {"en", "de"}
    assert sum(d.kind == "saved_reply" for d in documents) == 4
    refunds = next(d for d in articles if d.article_id == "refund-window")
    assert "within 14 days" in refunds.sections[0].text


def test_labelled_tickets_name_existing_articles_and_a_part_is_held_out(sample: Path) -> None:
    ids = {d.article_id for d in read_knowledge(sample / "help-center", pytest.fail)}
    tune = list(csv.DictReader((sample / "knowledge-pairs.csv").open(encoding="utf-8")))
    held_out = list(csv.DictReader((sample / "knowledge-heldout.csv").open(encoding="utf-8")))
    assert len(tune) + len(held_out) >= 300
    assert len(held_out) == 120
    assert {row["article_id"] for row in tune + held_out} <= ids
    assert not {row["body"] for row in tune} & {row["body"] for row in held_out}
    assert {row["language"] for row in held_out} == {"en", "de"}


def test_eval_scores_retrieval_and_citations(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    report = tmp_path / "report.json"
    result = evaluate(sample, sample / "knowledge-heldout.csv", "--json", str(report))
    assert result.exit_code == 0, result.output
    assert "recall@5" in result.output
    scores = json.loads(report.read_text())
    assert scores["examples"] == 120
    assert scores["failed"] == 0
    assert scores["recall_at_5"] >= 0.9
    assert scores["recall_at_1"] <= scores["recall_at_5"]
    assert 0 < scores["mrr"] <= 1
    # The offline provider cites exactly its best passage: accuracy is recall@1.
    assert scores["citation_accuracy"] == scores["recall_at_1"]
    assert scores["uncited"] == 0


def test_eval_names_a_missing_label_column(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    labelled = tmp_path / "labels.csv"
    labelled.write_text("subject,body,label\nhi,refund please,refund-window\n")
    result = evaluate(sample, labelled)
    assert result.exit_code == 2
    assert "no column 'article_id'" in result.output
