"""`supporter sample-data`: realistic synthetic tickets and transactions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supporter.cli.ui import console
from supporter.sample_data import write_sample_data


def sample_data(
    tickets: Annotated[int, typer.Option(min=0, help="How many tickets to write.")] = 1000,
    out: Annotated[Path, typer.Option(help="Folder for tickets.csv and transactions.csv.")] = Path(
        "sample"
    ),
    seed: Annotated[int, typer.Option(help="Same seed, same files.")] = 7,
) -> None:
    """Write DIR/tickets.csv and DIR/transactions.csv for demos and benchmarks."""
    files = write_sample_data(out, tickets, seed=seed)
    console.print(f"wrote {files}")
