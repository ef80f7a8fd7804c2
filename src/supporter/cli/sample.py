"""`supporter sample-data`: realistic synthetic tickets and transactions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supporter.cli.ui import console


def sample_data(
    tickets: Annotated[int, typer.Option(min=0, help="How many tickets to write.")] = 1000,
    out: Annotated[Path, typer.Option(help="Folder for tickets.csv and transactions.csv.")] = Path(
        "sample"
    ),
    seed: Annotated[int, typer.Option(help="Same seed, same files.")] = 7,
    knowledge: Annotated[
        bool,
        typer.Option(
            "--knowledge",
            help="Also write DIR/help-center/ (the sample company's articles in English and German, and saved replies) and DIR/knowledge-pairs.csv (tickets labelled with the article that answers them, for `supporter eval --knowledge`).",
        ),
    ] = False,
) -> None:
    """Write DIR/tickets.csv and DIR/transactions.csv for demos and benchmarks."""
    # Imported here: every other command (a `run` above all) starts without it.
    from supporter.sample_data import write_sample_data

    files = write_sample_data(out, tickets, seed=seed)
    console.print(f"wrote {files}")
    if knowledge:
        # Imported here: YAML (the articles' front matter) only for --knowledge.
        from supporter.sample_data.help_center import write_help_center

        console.print(f"wrote {write_help_center(out, seed=seed)}")
