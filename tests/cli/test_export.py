"""`supporter export reviews`: the reviews as JSON Lines."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.store.test_reviews import outcome
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.domain.people import ReviewAction
from supporter.store.reviews import Review, SqlReviews
from supporter.store.sql import SqlStore, sqlite_url


async def _reviewed(db: Path) -> None:
    store = await SqlStore.open(sqlite_url(db))
    try:
        await store.save("v1", [outcome("T1", "refund_request", "0.001")])
        reviews = SqlReviews(store.engine)
        version = (await reviews.detail("T1")).draft_version
        assert version is not None
        await reviews.review("T1", Review(ReviewAction.REJECT, version, "ana", reason="tone"))
    finally:
        await store.close()


def test_the_reviews_are_written_as_json_lines(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    asyncio.run(_reviewed(db))
    out = tmp_path / "reviews.jsonl"
    written = CliRunner().invoke(app, ["export", "reviews", "--db", str(db), "--out", str(out)])
    assert written.exit_code == 0, written.output
    (line,) = out.read_text().splitlines()
    review = json.loads(line)
    assert (review["ticket_id"], review["action"], review["reason"]) == ("T1", "reject", "tone")
    assert review["final_category"] == "refund_request"
    to_stdout = CliRunner().invoke(app, ["export", "reviews", "--db", str(db)])
    assert json.loads(to_stdout.stdout) == review


def test_no_database_is_an_error_not_an_empty_export(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["export", "reviews", "--db", str(tmp_path / "no.db")])
    assert missing.exit_code == 2
    assert "no database" in missing.output
