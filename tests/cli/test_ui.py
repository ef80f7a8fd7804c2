"""The closing summaries a person reads on the terminal."""

from __future__ import annotations

import io
import re

from rich.console import Console
from rich.table import Table

from supporter.cli.ui import ingest_summary
from supporter.pipeline.stats import RunStats


def rendered(table: Table) -> str:
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text()


def test_ingest_counts_what_it_published_not_what_the_workers_made_of_it() -> None:
    # ingest publishes and exits: "responded 0" and "0 tickets/s" read as a failure.
    stats = RunStats(started=0.0, finished=2.0, read=6, skipped_status=1, already_done=1)
    stats.published = 4
    text = rendered(ingest_summary(stats))
    assert text.startswith("Supporter ingest")
    assert re.search(r"published now\s+│\s+4 │", text)
    assert "2 tickets published/s" in text
    assert "responded" not in text
    assert "supporter status" in text
