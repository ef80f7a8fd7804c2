"""What the `fake-<helpdesk>` commands share: the injected errors, filling the simulator
from a tickets CSV, serving it until Ctrl-C and the tally of its answers. Each command
keeps its own options, credentials and the mapping of a ticket onto its helpdesk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

import typer

from supporter.cli.common import fail
from supporter.cli.fake_llm import parse_error_rates, serve_simulator, show_credentials
from supporter.cli.ui import console
from supporter.sources.base import SourceError

if TYPE_CHECKING:
    from supporter.testing.helpdesk_limits import AnswerLog


class HelpdeskSimulator(Protocol):
    log: AnswerLog

    async def start(self, host: str, port: int) -> str: ...

    async def stop(self) -> None: ...


def error_rates(error_rate: str | None) -> dict[int, float]:
    """`--error-rate` parsed; a bad value names the option (exit 2)."""
    try:
        return parse_error_rates(error_rate)
    except typer.BadParameter as error:
        error.param_hint = "'--error-rate'"
        raise


def serve_helpdesk_simulator(
    server: HelpdeskSimulator,
    *,
    fill: Callable[[], Coroutine[Any, Any, int]] | None,
    loaded: str,
    credentials: dict[str, str],
    host: str,
    port: int,
    what: str,
) -> None:
    """Fill `server` (`fill` returns how many `loaded`: "tickets"), print the credentials,
    serve until Ctrl-C, then tally its answers."""
    if fill is not None:
        try:
            added = asyncio.run(fill())
        except SourceError as error:
            fail(str(error))
        console.print(f"{added:,} {loaded} loaded", highlight=False)
    show_credentials(credentials)
    asyncio.run(serve_simulator(server, host, port, what))
    total = sum(server.log.outcomes.values())
    console.print(f"answered {total:,} requests: {dict(server.log.outcomes.most_common())}")
