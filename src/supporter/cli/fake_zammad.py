"""`supporter fake-zammad`: serve the Zammad simulator, filled from a tickets CSV, to try
`supporter serve --helpdesk zammad` without a Zammad instance."""

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
    from supporter.testing.fake_zammad import FakeZammad

# Zammad's default priorities by id: 1 low, 2 normal, 3 high (no urgent).
_PRIORITY_IDS = {"low": 1, "medium": 2, "high": 3, "urgent": 3}


def _default_token() -> str:
    from supporter.testing.fake_zammad import DEFAULT_TOKEN

    return DEFAULT_TOKEN


def fake_zammad(
    # First: a default computed when the command runs cannot follow the plain defaults.
    token: Annotated[
        str,
        typer.Option(
            default_factory=_default_token,
            show_default=SIMULATOR_CREDENTIAL,
            help="The access token clients must send (SUPPORTER_ZAMMAD_TOKEN).",
        ),
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0 = any free port).")
    ] = 12113,
    error_rate: Annotated[
        str | None, typer.Option(help="Injected errors as STATUS=SHARE pairs: '503=0.05'.")
    ] = None,
    tickets: Annotated[
        Path | None, typer.Option(help="Tickets CSV: each ticket becomes a Zammad ticket.")
    ] = None,
) -> None:
    """Serve a simulated Zammad REST API (tickets, articles, tags, the ticket search) until
    Ctrl-C, pacing clients at 300 requests a minute.

    Then `SUPPORTER_ZAMMAD_URL=<url> SUPPORTER_ZAMMAD_TOKEN=<token> supporter helpdesk
    check zammad`.
    """
    from supporter.testing.fake_zammad import FakeZammad, FakeZammadConfig
    from supporter.testing.helpdesk_limits import Faults

    server = FakeZammad(
        FakeZammadConfig(token=token, faults=Faults(error_rates=error_rates(error_rate)))
    )
    serve_helpdesk_simulator(
        server,
        fill=None if tickets is None else lambda: fill_simulator(server, tickets),
        loaded="tickets",
        credentials={"SUPPORTER_ZAMMAD_TOKEN": token},
        host=host,
        port=port,
        what="simulated Zammad API",
    )


async def fill_simulator(server: FakeZammad, tickets: Path) -> int:
    """Each ticket of the CSV as a Zammad ticket opened by its customer's e-mail."""
    added = 0
    async for ticket in CsvTicketSource(tickets).tickets(lambda reject: None):
        server.add_ticket(
            ticket.subject,
            ticket.body,
            customer_email=ticket.customer_email or f"{ticket.customer_id}@customers.invalid",
            priority_id=_PRIORITY_IDS.get(ticket.priority or "", 2),
            created_at=ticket.created_at,
            tags=ticket.tags,
        )
        added += 1
    return added
