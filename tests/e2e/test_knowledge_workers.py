"""`--knowledge` on broker workers: the index in the PostgreSQL store's tables, shared by
separate respond workers; every reply cites the help center, as one process's would."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from tests.conftest import require_service
from tests.e2e.processes import BROKERS, SUPPORTER, Processes, clean, stored_in

from supporter.domain.knowledge import article_of
from supporter.knowledge.documents import KnowledgeError
from supporter.knowledge.folder import read_knowledge


def on_problem(problem: KnowledgeError) -> None:
    raise problem


@pytest.mark.parametrize("kind", ["redis", "rabbitmq"])
def test_respond_workers_share_the_index_and_cite_the_help_center(
    tmp_path: Path, kind: str, store_url: str
) -> None:
    require_service(kind, "127.0.0.1", BROKERS[kind][1])
    data = tmp_path / "data"
    subprocess.run(
        [*SUPPORTER, "sample-data", "--tickets", "10", "--out", str(data), "--knowledge"],
        check=True,
        capture_output=True,
    )
    # The held-out labelled tickets are tickets like any other (and say which article
    # answers each, and in which language).
    tickets = data / "knowledge-heldout.csv"
    with tickets.open(encoding="utf-8", newline="") as file:
        labelled = {row["ticket_id"]: row for row in csv.DictReader(file)}
    prefix = f"e2e-{uuid.uuid4().hex[:10]}"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SUPPORTER_")},
        "SUPPORTER_BROKER_URL": BROKERS[kind][0],
        "SUPPORTER_BROKER_PREFIX": prefix,
        "SUPPORTER_STORE_URL": store_url,
        "SUPPORTER_KNOWLEDGE": str(data / "help-center"),
    }
    processes = Processes(tmp_path, environment)
    out = tmp_path / "results.jsonl"
    try:
        indexed = processes.run("knowledge", "index", str(data / "help-center"))
        assert indexed.returncode == 0, indexed.stderr.decode()[-2000:]
        assert "(schema supporter_knowledge): 44 added" in indexed.stderr.decode()
        workers = [
            processes.start("worker", "analyze"),
            processes.start("worker", "respond"),
            processes.start("worker", "respond"),
            processes.start("worker", "sink", "--out", str(out)),
        ]
        ingest = processes.run(
            "ingest",
            "--tickets",
            str(tickets),
            "--transactions",
            str(data / "transactions.csv"),
            "--rejects",
            str(tmp_path / "rejects.jsonl"),
        )
        assert ingest.returncode == 0, ingest.stderr.decode()[-2000:]
        deadline = time.monotonic() + 180
        while stored_in(store_url) < len(labelled) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert processes.stop(*workers) == [0, 0, 0, 0], processes.logs()
        # The same tickets through one process on the same index, for comparison.
        one_process = tmp_path / "one-process.jsonl"
        run = processes.run(
            "run",
            "--no-progress",
            "--force",
            "--tickets",
            str(tickets),
            "--transactions",
            str(data / "transactions.csv"),
            "--knowledge",
            str(data / "help-center"),
            "--out",
            str(one_process),
            "--rejects",
            str(tmp_path / "rejects-run.jsonl"),
        )
        assert run.returncode == 0, run.stderr.decode()[-2000:]
    finally:
        processes.kill_all()
        clean(kind, prefix)
    results = {
        record["ticket_id"]: record
        for record in map(json.loads, out.read_text(encoding="utf-8").splitlines())
    }
    assert set(results) == set(labelled)
    indexed_ids = {
        document.article_id for document in read_knowledge(data / "help-center", on_problem)
    }
    for ticket_id, record in results.items():
        cited = record["reply"]["cited_articles"]
        assert cited, f"{ticket_id} cites nothing"
        assert {article_of(passage) for passage in cited} <= indexed_ids
        assert record["reply"]["knowledge_version"]
    right = sum(
        labelled[t]["article_id"] in map(article_of, r["reply"]["cited_articles"])
        for t, r in results.items()
    )
    assert right >= len(results) / 2, f"only {right} of {len(results)} cite their article"
    alone = {
        record["ticket_id"]: record["reply"]["cited_articles"]
        for record in map(json.loads, one_process.read_text(encoding="utf-8").splitlines())
    }
    assert alone == {t: r["reply"]["cited_articles"] for t, r in results.items()}
