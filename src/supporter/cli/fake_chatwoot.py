"""`supporter fake-chatwoot`: serve the Chatwoot simulator, filled from a tickets CSV, to
try `supporter serve --helpdesk chatwoot` without a Chatwoot account."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supporter.cli.fake_helpdesk import error_rates, serve_helpdesk_simulator
from supporter.cli.fake_llm import SIMULATOR_CREDENTIAL
from supporter.sources.csv import CsvTicketSource

# The simulator (aiohttp) is imported when the command runs: every other command would
# pay for it at start-up (tests/cli/test_lazy_imports.py).
if TYPE_CHECKING:
    from supporter.testing.fake_chatwoot import FakeChatwoot


def _default_token() -> str:
    from supporter.testing.fake_chatwoot import DEFAULT_TOKEN

    return DEFAULT_TOKEN


def _default_account() -> int:
    from supporter.testing.fake_chatwoot import DEFAULT_ACCOUNT

    return DEFAULT_ACCOUNT


def fake_chatwoot(
    # First: defaults computed when the command runs cannot follow the plain defaults.
    token: Annotated[
        str,
        typer.Option(
            default_factory=_default_token,
            show_default=SIMULATOR_CREDENTIAL,
            help="The access token clients must send (SUPPORTER_CHATWOOT_TOKEN).",
        ),
    ],
    account_id: Annotated[
        int,
        typer.Option(
            default_factory=_default_account,
            show_default=SIMULATOR_CREDENTIAL,
            help="The account's id (SUPPORTER_CHATWOOT_ACCOUNT_ID).",
        ),
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0 = any free port).")
    ] = 12114,
    error_rate: Annotated[
        str | None, typer.Option(help="Injected errors as STATUS=SHARE pairs: '503=0.05'.")
    ] = None,
    tickets: Annotated[
        Path | None,
        typer.Option(help="Tickets CSV: each ticket becomes a Chatwoot conversation."),
    ] = None,
) -> None:
    """Serve a simulated Chatwoot Application API (conversations, messages, labels) until
    Ctrl-C, throttling at 60 requests a minute in fixed windows as Chatwoot documents.

    Then `SUPPORTER_CHATWOOT_URL=<url> SUPPORTER_CHATWOOT_ACCOUNT_ID=<id>
    SUPPORTER_CHATWOOT_TOKEN=<token> supporter helpdesk check chatwoot`.
    """
    from supporter.testing.fake_chatwoot import FakeChatwoot, FakeChatwootConfig
    from supporter.testing.helpdesk_limits import Faults

    config = FakeChatwootConfig(
        token=token, account_id=account_id, faults=Faults(error_rates=error_rates(error_rate))
    )
    server = FakeChatwoot(config)
    serve_helpdesk_simulator(
        server,
        fill=None if tickets is None else lambda: fill_simulator(server, tickets),
        loaded="conversations",
        credentials={
            "SUPPORTER_CHATWOOT_ACCOUNT_ID": str(account_id),
            "SUPPORTER_CHATWOOT_TOKEN": token,
        },
        host=host,
        port=port,
        what="simulated Chatwoot API",
    )


async def fill_simulator(server: FakeChatwoot, tickets: Path) -> int:
    """Each ticket of the CSV as a conversation its contact opened with the ticket's text;
    the contact's identifier is the ticket's customer id (what joins it to payments)."""
    added = 0
    async for ticket in CsvTicketSource(tickets).tickets(lambda reject: None):
        text = f"{ticket.subject}\n\n{ticket.body}" if ticket.subject else ticket.body
        server.add_conversation(
            text,
            email=ticket.customer_email,
            identifier=ticket.customer_id,
            labels=ticket.tags,
            priority=ticket.priority.value if ticket.priority else None,
        )
        added += 1
    return added
