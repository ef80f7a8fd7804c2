"""`supporter helpdesk check NAME`: what the connector can reach and do, before serving."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr
from rich.markup import escape
from rich.table import Table

from supporter.cli.common import fail, settings_from, setup_logging
from supporter.cli.ui import console
from supporter.domain.errors import SupporterError
from supporter.helpdesks import registry
from supporter.helpdesks.base import CheckResult, HelpdeskSettings
from supporter.helpdesks.registry import HelpdeskConfigError

app = typer.Typer(help="The helpdesks Supporter takes tickets from and writes drafts into.")

_HIDDEN = "[hidden]"


@app.command()
def check(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(registry.HELPDESKS)}.")],
    config: Annotated[Path | None, typer.Option(help="TOML settings file.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
    webhook_url: Annotated[
        str | None,
        typer.Option(
            help="Supporter's address as the helpdesk calls it (https://supporter.example.com):"
            " checks that POST <url>/webhooks/<name> is reached and refuses an unsigned request.",
        ),
    ] = None,
) -> None:
    """Check credentials, permissions, webhook reachability and limits.

    Prints one line per check, never a credential. Exit status 1 when any check
    fails, 2 when the helpdesk is not configured. The webhook is checked from this
    machine (give --webhook-url): the helpdesk's own network may still be kept out."""
    settings = settings_from({}, config)
    setup_logging(verbose, settings.log_format)
    table_config = settings.helpdesks.get(name)
    try:
        connector_settings = registry.load_settings(name, config=table_config)
    except HelpdeskConfigError as error:
        fail(str(error))
    results = asyncio.run(_check(name, table_config))
    if webhook_url is not None:
        results = [*results, asyncio.run(_check_webhook(webhook_url, name))]
    secrets = _secret_values(connector_settings)
    table = Table(title=f"{name}: {sum(r.ok for r in results)} of {len(results)} checks passed")
    for column in ("check", "result", "detail"):
        table.add_column(column)
    for result in results:
        # Escaped: a helpdesk's words are data, not markup.
        table.add_row(
            escape(_redacted(result.name, secrets)),
            "[green]ok[/]" if result.ok else "[bold red]failed[/]",
            escape(_redacted(result.detail, secrets)),
        )
    console.print(table)
    raise typer.Exit(0 if results and all(result.ok for result in results) else 1)


async def _check(name: str, table_config: Mapping[str, Any] | None) -> Sequence[CheckResult]:
    connector = registry.connect(name, config=table_config)
    try:
        return list(await connector.check())
    except SupporterError as error:
        # A connector reports what fails as results; one that raises could not start.
        return [CheckResult("reach the helpdesk", False, str(error) or type(error).__name__)]
    finally:
        await connector.aclose()


async def _check_webhook(base_url: str, name: str) -> CheckResult:
    """An unsigned POST to the webhook route: 401 says Supporter serves it there and
    refuses what the helpdesk did not sign."""
    # Imported here: every other command would pay for it at start-up.
    import httpx2 as httpx

    url = f"{base_url.rstrip('/')}/webhooks/{name}"
    try:
        async with httpx.AsyncClient(timeout=10.0, follow_redirects=False) as client:
            response = await client.post(url, content=b"{}")
    except httpx.HTTPError as error:
        return CheckResult("webhook", False, f"cannot reach {url}: {type(error).__name__}")
    status = response.status_code
    if status == 401:
        return CheckResult("webhook", True, f"{url} answers and refuses an unsigned request")
    if status == 404:
        detail = f"{url} answered 404: is `supporter serve --helpdesk {name}` running there?"
    else:
        detail = f"{url} answered {status}, not 401 to an unsigned request"
    return CheckResult("webhook", False, detail)


def _secret_values(settings: HelpdeskSettings) -> list[str]:
    """The configured credentials: whatever a connector's check says, they are hidden."""
    values = [getattr(settings, field) for field in type(settings).model_fields]
    return [value.get_secret_value() for value in values if isinstance(value, SecretStr)]


def _redacted(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, _HIDDEN)
    return text
