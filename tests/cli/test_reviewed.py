"""`supporter train --from-store` and `supporter eval --from-store`: the tickets people
reviewed, with their corrections, as labelled data."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from tests.classifier.labelled import LABELS, clear_examples
from tests.store.test_reviews import outcome
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.domain.models import Ticket
from supporter.domain.people import ReviewAction
from supporter.store.base import Outcome
from supporter.store.reviews import Review, SqlReviews
from supporter.store.sql import SqlStore, sqlite_url

pytestmark = pytest.mark.slow


async def _reviewed(db: Path, examples: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """Each example stored with a wrong model category, then reviewed: the first ones
    approved with a correction, one rejected with a correction, one rejected without."""
    store = await SqlStore.open(sqlite_url(db))
    try:
        outcomes = []
        for n, (text, _) in enumerate(examples):
            made = outcome(f"T{n:03d}", "wrong_label", "0")
            assert made.ticket is not None
            ticket = Ticket.model_validate({**made.ticket.model_dump(), "body": text})
            outcomes.append(Outcome(result=made.result, ticket=ticket))
        await store.save("v1", outcomes)
        reviews = SqlReviews(store.engine)
        for n, (_, label) in enumerate(examples):
            version = (await reviews.detail(f"T{n:03d}")).draft_version
            assert version is not None
            if n == 0:
                review = Review(ReviewAction.REJECT, version, "ana", reason="tone")
            elif n == 1:
                review = Review(ReviewAction.REJECT, version, "ana", category=label, reason="x")
            else:
                review = Review(ReviewAction.APPROVE, version, "ana", category=label)
            await reviews.review(f"T{n:03d}", review)
        return await reviews.labelled()
    finally:
        await store.close()


def test_the_classifier_learns_the_corrected_labels_and_eval_scores_on_them(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    examples = clear_examples(per_label=12)
    labelled = asyncio.run(_reviewed(db, examples))
    assert len(labelled) == len(examples) - 1  # a rejection without a correction says nothing
    assert {label for _, _, label in labelled} == set(LABELS)
    runner = CliRunner()
    trained = runner.invoke(
        app,
        ["train", "--from-store", "--db", str(db), "--out", str(tmp_path / "m"), "--no-progress"],
    )
    assert trained.exit_code == 0, trained.output
    metadata = json.loads((tmp_path / "m" / "model.json").read_text())
    assert sorted(metadata["labels"]) == sorted(LABELS)
    assert metadata["examples"] == len(examples) - 1
    scored = runner.invoke(
        app,
        [
            "eval",
            "--from-store",
            "--db",
            str(db),
            "--provider",
            "local",
            "--model-path",
            str(tmp_path / "m"),
            "--no-progress",
            "--json",
            str(tmp_path / "e.json"),
        ],
    )
    assert scored.exit_code == 0, scored.output
    assert json.loads((tmp_path / "e.json").read_text())["scores"]["accuracy"] > 0.8


def test_from_store_needs_reviews_and_excludes_a_file(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    asyncio.run(_reviewed(db, []))
    runner = CliRunner()
    empty = runner.invoke(app, ["train", "--from-store", "--db", str(db), "--out", "m"])
    assert empty.exit_code == 2
    assert "no reviewed tickets yet" in empty.output
    both = runner.invoke(app, ["eval", "--from-store", "--labeled", "x.csv", "--db", str(db)])
    assert both.exit_code == 2
    neither = runner.invoke(app, ["train", "--out", "m"])
    assert neither.exit_code == 2
    assert "--from-store" in neither.output
