"""`supporter run --knowledge`: replies that cite the help center, and reruns that redo
only the tickets whose cited passages changed."""

from __future__ import annotations

import contextlib
import csv
import json
import re
from pathlib import Path

import pytest
from tests.cli.test_run import TRANSACTIONS, invoke

from supporter.cli import wiring
from supporter.config import ConfigError, Settings

TICKETS = (
    "ticket_id,customer_id,subject,body,status,created_at\n"
    'T1,C1,Charged twice,"I was charged twice, 49.99 USD on 2024-05-01.",open,'
    "2024-05-02T09:00:00Z\n"
    "T2,C2,Cancel,Please cancel my subscription,open,2024-05-03\n"
    "T3,C2,Kündigung,Bitte kündigen Sie mein Abonnement,open,2024-05-03\n"
)
CANCEL = "# Cancel a subscription\n\nCancel under Settings, Plan; it ends after {days} days.\n"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("SUPPORTER_DB", "SUPPORTER_KNOWLEDGE", "SUPPORTER_KNOWLEDGE_INDEX"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    (tmp_path / "transactions.csv").write_text(TRANSACTIONS, encoding="utf-8")
    help_center = tmp_path / "help-center"
    help_center.mkdir()
    (help_center / "cancel.md").write_text(
        "---\nid: cancel\nlanguage: en\n---\n" + CANCEL.format(days=30)
    )
    (help_center / "kuendigen.md").write_text(
        "---\nid: kuendigen\nlanguage: de\n---\n# Kündigung\n\n"
        "Sie können Ihr Abonnement in den Einstellungen kündigen.\n"
    )
    (help_center / "replies.csv").write_text(
        "title,body,category,language\n"
        'Duplicate,"We see {{amount}} on {{date}} ({{transaction_id}}) and will look into it.",'
        "duplicate_charge,en\n"
    )
    return tmp_path


def run(*extra: str) -> tuple[dict[str, dict[str, object]], str]:
    code, output = invoke(
        "--tickets",
        "tickets.csv",
        "--transactions",
        "transactions.csv",
        "--knowledge",
        "help-center",
        *extra,
    )
    assert code == 0, output
    lines = [json.loads(line) for line in Path("results.jsonl").read_text().splitlines()]
    return {line["ticket_id"]: line for line in lines}, output


def test_replies_cite_the_help_center_in_the_tickets_language(workdir: Path) -> None:
    results, output = run("--format", "csv")
    assert "3 added, 0 changed, 0 removed" in output
    replies = {ticket: record["reply"] for ticket, record in results.items()}
    assert replies["T1"]["cited_articles"] == ["replies/duplicate#1"]  # type: ignore[index]
    assert replies["T1"]["body"].startswith("We see 49.99 USD on 2024-05-01")  # type: ignore[index]
    assert replies["T2"]["cited_articles"] == ["cancel#1"]  # type: ignore[index]
    assert "it ends after 30 days" in replies["T2"]["body"]  # type: ignore[index]
    assert replies["T3"]["cited_articles"] == ["kuendigen#1"]  # type: ignore[index]
    for record in results.values():
        assert record["grounding"]["passed"], record  # type: ignore[index]
    with Path("results.csv").open(encoding="utf-8") as file:
        flat = {row["ticket_id"]: row for row in csv.DictReader(file)}
    assert flat["T3"]["cited_articles"] == "kuendigen#1"


def test_a_draft_quoting_an_article_with_inline_html_holds_no_markup(workdir: Path) -> None:
    (workdir / "help-center" / "cancel.md").write_text(
        "---\nid: cancel\nlanguage: en\n---\n# Cancel a subscription\n\n"
        "Cancel under <b>Settings</b>, Plan<script>steal()</script>; it ends after 30 days, "
        '<a href="javascript:steal()">or here</a>, [or there](javascript:steal()).\n'
    )
    results, _ = run()
    reply = results["T2"]["reply"]
    assert reply["cited_articles"] == ["cancel#1"]  # type: ignore[index]
    body = str(reply["body"])  # type: ignore[index]
    assert "Cancel under Settings, Plan; it ends after 30 days, or here, or there." in body
    assert "<" not in body
    assert "javascript" not in body
    assert "steal" not in body


def test_a_changed_article_redoes_only_the_tickets_that_cited_it(workdir: Path) -> None:
    first, _ = run()
    _, output = run()
    assert re.search(r"already done in an earlier run\s*│\s*3\s", output)
    (workdir / "help-center" / "cancel.md").write_text(
        "---\nid: cancel\nlanguage: en\n---\n" + CANCEL.format(days=14)
    )
    again, output = run()
    assert "0 added, 1 changed, 0 removed" in output
    assert re.search(r"already done in an earlier run\s*│\s*2\s", output)
    assert "it ends after 14 days" in again["T2"]["reply"]["body"]  # type: ignore[index]
    assert again["T1"] == first["T1"]


def test_a_missing_knowledge_folder_stops_before_any_work(workdir: Path) -> None:
    code, output = invoke(
        "--tickets",
        "tickets.csv",
        "--transactions",
        "transactions.csv",
        "--knowledge",
        "missing-folder",
    )
    assert code == 2
    assert "missing-folder: no such file or folder" in output


async def test_a_worker_without_an_index_says_what_to_run(workdir: Path) -> None:
    settings = Settings(knowledge=Path("help-center"), knowledge_index=Path("none.db"))
    async with contextlib.AsyncExitStack() as resources:
        with pytest.raises(ConfigError, match="run `supporter knowledge index help-center` first"):
            await wiring.knowledge_retriever(settings, resources)
        assert await wiring.knowledge_retriever(Settings(), resources) is None
        (workdir / "indexes").mkdir()
        in_a_folder = Settings(knowledge=Path("help-center"), knowledge_index=Path("indexes"))
        with pytest.raises(ConfigError, match="knowledge index indexes is a folder"):
            await wiring.knowledge_retriever(in_a_folder, resources)
