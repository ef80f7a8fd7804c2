"""`supporter models`: the models the API key can use, with prices and shutdown dates."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from supporter.cli.common import fail, settings_from
from supporter.cli.ui import console
from supporter.llm.catalog import SERVICE_TIERS, SHUTDOWN_WARNING_DAYS, ModelCatalog, ModelPrice


async def _listed(base_url: str | None) -> list[tuple[str, str | None]]:
    """(id, shutdown date) of each model `GET /v1/models` lists for this key.
    https://developers.openai.com/api/reference/resources/models/methods/list"""
    # Imported here: the OpenAI SDK is slow to import, and most commands never use it.
    import openai

    key = os.environ.get("OPENAI_API_KEY") or ("not-needed" if base_url else None)
    if key is None:
        fail("no OpenAI API key: set OPENAI_API_KEY, or give --base-url for a local server")
    async with openai.AsyncOpenAI(api_key=key, base_url=base_url, max_retries=2) as client:
        try:
            return [(model.id, model.shutdown_date) async for model in client.models.list()]
        except openai.AuthenticationError:
            fail("OpenAI refused the API key: check OPENAI_API_KEY")
        except openai.APIError as error:
            fail(f"could not list the models: {type(error).__name__}")


def _price(price: ModelPrice | None) -> str:
    if price is None:
        return "-"
    parts = [price.input, price.cached_input, price.cache_write or price.input, price.output]
    return " / ".join(f"{part.normalize():f}" for part in parts)


def _rows(
    listed: list[tuple[str, str | None]], catalog: ModelCatalog, today: dt.date
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name, shutdown in sorted(listed):
        known = catalog.get(name)
        # The server's date wins: it is the newest word; the table's fills in.
        date = shutdown or (known.shutdown.isoformat() if known and known.shutdown else None)
        days = (dt.date.fromisoformat(date) - today).days if date else None
        prices = known.prices if known else {}
        rows.append(
            {
                "model": name,
                "shutdown_date": date,
                "days_left": days,
                "replacement": known.replacement if known else None,
                "known": known is not None,
                "prices": {tier: _price(prices.get(tier)) for tier in SERVICE_TIERS},
            }
        )
    return rows


def models(
    base_url: Annotated[
        str | None,
        typer.Option(envvar="OPENAI_BASE_URL", help="An OpenAI-compatible server."),
    ] = None,
    models_file: Annotated[
        Path | None, typer.Option(help="A TOML table of models over the packaged one.")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML settings file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the models your API key can use, with prices per 1M tokens and shutdown dates.

    Prices are input / cached input / cache write / output in USD per 1M tokens, from
    the model table (docs/models.md says how to update it); "-" where not known.
    """
    settings = settings_from({"base_url": base_url, "models_file": models_file}, config)
    try:
        catalog = ModelCatalog.load(settings.models_file)
    except ValueError as error:
        fail(str(error))
    listed = asyncio.run(_listed(settings.base_url))
    rows = _rows(listed, catalog, dt.datetime.now(dt.UTC).date())
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("model", "shuts down", "replacement", "standard", "batch", "flex", "priority"):
        table.add_column(column)
    for row in rows:
        days = row["days_left"]
        when = "-" if row["shutdown_date"] is None else f"{row['shutdown_date']} ({days} days)"
        if isinstance(days, int) and days <= SHUTDOWN_WARNING_DAYS:
            when = f"[bold red]{when}[/]"
        prices = row["prices"]
        assert isinstance(prices, dict)
        name = str(row["model"]) if row["known"] else f"{row['model']} (no price known)"
        table.add_row(name, when, str(row["replacement"] or "-"), *prices.values())
    console.print(table)
