"""`supporter fake-zendesk`: serve the Zendesk simulator, filled from a tickets CSV, to try
`supporter serve --helpdesk zendesk` without a Zendesk account."""

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
    from supporter.testing.fake_zendesk import FakeZendesk


def _default_email() -> str:
    from supporter.testing.fake_zendesk import DEFAULT_EMAIL

    return DEFAULT_EMAIL


def _default_token() -> str:
    from supporter.testing.fake_zendesk import DEFAULT_TOKEN

    return DEFAULT_TOKEN


_PRIORITIES = {"low": "low", "medium": "normal", "high": "high", "urgent": "urgent"}


def fake_zendesk(
    # First: defaults computed when the command runs cannot follow the plain defaults.
    email: Annotated[
        str,
        typer.Option(
            default_factory=_default_email,
            show_default=SIMULATOR_CREDENTIAL,
            help="The agent's address clients sign in with (SUPPORTER_ZENDESK_EMAIL).",
        ),
    ],
    token: Annotated[
        str,
        typer.Option(
            default_factory=_default_token,
            show_default=SIMULATOR_CREDENTIAL,
            help="The API token clients must send (SUPPORTER_ZENDESK_TOKEN).",
        ),
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0 = any free port).")
    ] = 12112,
    error_rate: Annotated[
        str | None, typer.Option(help="Injected errors as STATUS=SHARE pairs: '503=0.05'.")
    ] = None,
    tickets: Annotated[
        Path | None, typer.Option(help="Tickets CSV: each ticket becomes a Zendesk ticket.")
    ] = None,
) -> None:
    """Serve a simulated Zendesk Support API (tickets, comments, the incremental export) until
    Ctrl-C, with Zendesk's limits: 100 ticket updates and 10 exports a minute.

    Then `SUPPORTER_ZENDESK_URL=<url> SUPPORTER_ZENDESK_EMAIL=<email>
    SUPPORTER_ZENDESK_TOKEN=<token> supporter helpdesk check zendesk`.
    """
    from supporter.testing.fake_zendesk import FakeZendesk, FakeZendeskConfig
    from supporter.testing.helpdesk_limits import Faults

    config = FakeZendeskConfig(
        email=email, api_token=token, faults=Faults(error_rates=error_rates(error_rate))
    )
    server = FakeZendesk(config)
    serve_helpdesk_simulator(
        server,
        fill=None if tickets is None else lambda: fill_simulator(server, tickets),
        loaded="tickets",
        credentials={"SUPPORTER_ZENDESK_EMAIL": email, "SUPPORTER_ZENDESK_TOKEN": token},
        host=host,
        port=port,
        what="simulated Zendesk API",
    )


async def fill_simulator(server: FakeZendesk, tickets: Path) -> int:
    """Each ticket of the CSV as a Zendesk ticket created when the CSV says (what the
    analysis measures the customer's payments from) and updated now, as if just put into
    this helpdesk: `serve`'s first poll looks back `first_poll_days`, and a sample's
    tickets may be older still."""
    added = 0
    async for ticket in CsvTicketSource(tickets).tickets(lambda reject: None):
        server.add_ticket(
            ticket.subject,
            ticket.body,
            requester_email=ticket.customer_email,
            requester_external_id=ticket.customer_id,
            tags=ticket.tags,
            priority=_PRIORITIES.get(ticket.priority or ""),
            status=ticket.status,
            created_at=ticket.created_at.timestamp(),
            channel=ticket.channel or "email",
        )
        added += 1
    return added
