"""`supporter export reviews`: every review in the store as JSON Lines, for other tools."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, TextIO

import typer

from supporter.cli import wiring
from supporter.cli.common import fail, settings_from
from supporter.store.base import StoreError

app = typer.Typer(help="Write what the store holds for other tools.")


@app.command()
def reviews(
    out: Annotated[
        Path | None, typer.Option(help="Write here instead of to stdout (JSON Lines).")
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option(
            help="The SQLite database; SUPPORTER_STORE_URL names any other. [default: supporter.db]"
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML settings file.")] = None,
) -> None:
    """Every review, oldest first: who, when, the action, the draft and the final text,
    corrections, reason, the ticket's text, and the labels it ends with (a correction
    wins over the model's)."""
    settings = settings_from({"db": db}, config)
    if settings.store_url is None and not settings.db.is_file():
        fail(f"no database at {settings.db}: pass --db, or set SUPPORTER_STORE_URL")

    # Imported here: every other command (a `run` above all) starts without it.
    from supporter.store.reviews import SqlReviews

    async def main(stream: TextIO) -> int:
        store = await wiring.store(settings)
        count = 0
        try:
            async for item in SqlReviews(store.engine).export():
                stream.write(json.dumps(item, ensure_ascii=False) + "\n")
                count += 1
        finally:
            await store.close()
        return count

    try:
        if out is None:
            asyncio.run(main(sys.stdout))
            return
        with out.open("w", encoding="utf-8") as stream:
            count = asyncio.run(main(stream))
    except StoreError as error:
        fail(str(error))
    typer.echo(f"wrote {count} reviews to {out}", err=True)
