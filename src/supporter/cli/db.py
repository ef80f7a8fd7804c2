"""`supporter db`: which schema revision the store is at, and upgrading it as a step
of its own (every open of the store upgrades it too)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from supporter.cli.common import fail, settings_from
from supporter.config import Settings
from supporter.store import migrations, sql
from supporter.store.base import StoreError
from supporter.store.schema import SCHEMA_VERSION

app = typer.Typer(help="The store's tables: their schema revision, and upgrading them.")

DbOption = Annotated[
    Path | None,
    typer.Option(
        help="The SQLite database; SUPPORTER_STORE_URL names any other. [default: supporter.db]"
    ),
]
ConfigOption = Annotated[Path | None, typer.Option(help="TOML settings file.")]


def _url(settings: Settings) -> str:
    return settings.store_url or sql.sqlite_url(settings.db)


def _where(settings: Settings) -> str:
    # Without the password, which a store URL may carry.
    return (
        make_url(settings.store_url).render_as_string() if settings.store_url else str(settings.db)
    )


@app.command()
def upgrade(db: DbOption = None, config: ConfigOption = None) -> None:
    """Bring the store's tables to this Supporter's schema, creating them if need be.

    Workers do the same when they start; run this first to do it once, on its own
    (an init step of a deployment).
    """
    settings = settings_from({"db": db}, config)
    try:
        done = asyncio.run(sql.upgrade(_url(settings)))
    except StoreError as error:
        fail(str(error))
    if done.before == done.after:
        typer.echo(f"{_where(settings)}: at {done.after} already")
    else:
        typer.echo(f"{_where(settings)}: {done.before or 'empty'} → {done.after}")


@app.command()
def current(db: DbOption = None, config: ConfigOption = None) -> None:
    """The store's schema revision, and the one this Supporter works with."""
    settings = settings_from({"db": db}, config)
    if settings.store_url is None and not settings.db.is_file():
        # Connecting would create an empty database file: say so instead.
        fail(f"no database at {settings.db}: pass --db, or set SUPPORTER_STORE_URL")
    try:
        found = asyncio.run(sql.revision(_url(settings)))
    except StoreError as error:
        fail(str(error))
    head = migrations.head()
    typer.echo(f"store: {found or 'empty'} ({_where(settings)})")
    typer.echo(f"this Supporter: {head} (schema version {SCHEMA_VERSION})")
    if found is None:
        typer.echo("no tables yet: `supporter db upgrade` creates them")
    elif found == head:
        typer.echo("up to date")
    elif migrations.known(found):
        typer.echo(f"behind: `supporter db upgrade` (or any worker starting) brings it to {head}")
    else:
        typer.echo("made by a newer Supporter: upgrade Supporter to use this store")
