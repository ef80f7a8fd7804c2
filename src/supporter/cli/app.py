"""The `supporter` command."""

from __future__ import annotations

import typer

from supporter.cli import batch, db, dlq, export, helpdesk, knowledge, transactions, users, worker
from supporter.cli.eval import evaluate_command
from supporter.cli.fake_chatwoot import fake_chatwoot
from supporter.cli.fake_llm import fake_llm
from supporter.cli.fake_stripe import fake_stripe
from supporter.cli.fake_zammad import fake_zammad
from supporter.cli.fake_zendesk import fake_zendesk
from supporter.cli.inspect import inspect
from supporter.cli.models import models
from supporter.cli.run import run
from supporter.cli.sample import sample_data
from supporter.cli.serve import serve
from supporter.cli.status import status
from supporter.cli.train import train

app = typer.Typer(
    help="Classify support tickets and draft replies grounded in payment transactions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command()(run)
app.command()(train)
app.command()(inspect)
app.command("eval")(evaluate_command)
app.command("sample-data")(sample_data)
app.command("fake-llm")(fake_llm)
app.command("fake-stripe")(fake_stripe)
app.command("fake-zendesk")(fake_zendesk)
app.command("fake-zammad")(fake_zammad)
app.command("fake-chatwoot")(fake_chatwoot)
app.add_typer(dlq.app, name="dlq")
app.add_typer(batch.app, name="batch")
app.add_typer(db.app, name="db")
app.add_typer(worker.app, name="worker")
app.add_typer(transactions.app, name="transactions")
app.add_typer(knowledge.app, name="knowledge")
app.add_typer(users.users_app, name="users")
app.add_typer(users.tokens_app, name="tokens")
app.add_typer(export.app, name="export")
app.add_typer(helpdesk.app, name="helpdesk")
app.command()(worker.ingest)
app.command()(status)
app.command()(models)
app.command()(serve)


def main() -> None:
    app()
