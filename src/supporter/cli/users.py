"""`supporter users` and `supporter tokens`: who may use `supporter serve`, kept in the
shared store (`--db`, or SUPPORTER_STORE_URL)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from supporter.cli import wiring
from supporter.cli.common import fail, settings_from
from supporter.domain.people import Role
from supporter.store.base import StoreError

# Argon2 hashes a dummy password when its module loads: only these commands need it.
if TYPE_CHECKING:
    from supporter.store.accounts import SqlAccounts

users_app = typer.Typer(help="People who sign in to the review screen.")
tokens_app = typer.Typer(help="Bearer tokens for the HTTP API.")

T = TypeVar("T")
MIN_PASSWORD = 12
DbOption = Annotated[
    Path | None,
    typer.Option(
        help="The SQLite database; SUPPORTER_STORE_URL names any other. [default: supporter.db]"
    ),
]
ConfigOption = Annotated[Path | None, typer.Option(help="TOML settings file.")]
RoleOption = Annotated[
    Role,
    typer.Option(
        help="admin: everything; reviewer: read and review drafts; ingest: post tickets and transactions."
    ),
]


def _on_accounts(
    db: Path | None, config: Path | None, work: Callable[[SqlAccounts], Awaitable[T]]
) -> T:
    from supporter.store.accounts import SqlAccounts

    settings = settings_from({"db": db}, config)

    async def main() -> T:
        store = await wiring.store(settings)
        try:
            return await work(SqlAccounts(store.engine))
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except StoreError as error:
        fail(str(error))


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        fail(f"the password is too short: at least {MIN_PASSWORD} characters")
    return password


@users_app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="The name to sign in with.")],
    role: RoleOption = Role.REVIEWER,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Add a user; the password is asked for (twice), or read with --password-stdin."""
    if not name.strip() or len(name) > 64:
        fail("the name must be 1 to 64 characters")
    password = _password(password_stdin)
    _on_accounts(db, config, lambda accounts: accounts.add_user(name, password, role))
    typer.echo(f"added {name} ({role.value})")


@users_app.command("password")
def set_password(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Give a user a new password."""
    password = _password(password_stdin)
    if not _on_accounts(db, config, lambda accounts: accounts.set_password(name, password)):
        fail(f"no user named {name!r}")
    typer.echo(f"changed the password of {name}")


@tokens_app.command("create")
def create_token(
    name: Annotated[str, typer.Option(help="What the token is for (e.g. helpdesk).")],
    role: RoleOption = Role.INGEST,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Make a bearer token and print it: this is the only time it is shown."""
    if not name.strip() or len(name) > 64:
        fail("the name must be 1 to 64 characters")
    token = _on_accounts(db, config, lambda accounts: accounts.create_token(name, role))
    typer.echo(token)
    typer.echo(
        f"token {name!r} ({role.value}) created; it is not shown again: keep it now", err=True
    )
