"""The `supporter` command."""

from __future__ import annotations

import typer

from supporter.cli import dlq, worker
from supporter.cli.fake_llm import fake_llm
from supporter.cli.run import run
from supporter.cli.sample import sample_data
from supporter.cli.status import status

app = typer.Typer(
    help="Classify support tickets and draft replies grounded in payment transactions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command()(run)
app.command("sample-data")(sample_data)
app.command("fake-llm")(fake_llm)
app.add_typer(dlq.app, name="dlq")
app.add_typer(worker.app, name="worker")
app.command()(worker.ingest)
app.command()(status)


def main() -> None:
    app()
