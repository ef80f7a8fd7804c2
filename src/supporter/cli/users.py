"""`supporter users` and `supporter tokens`: who may use `supporter serve`, kept in the
shared store (`--db`, or SUPPORTER_STORE_URL)."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from supporter.cli import wiring
from supporter.cli.common import fail, settings_from
from supporter.domain.people import Role, TokenInfo, UserInfo
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


JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object per line on stdout.")]
_DURATION = re.compile(r"(\d+)([dh])")


def _on_accounts(
    db: Path | None,
    config: Path | None,
    work: Callable[[SqlAccounts], Awaitable[T]],
    *,
    existing: bool = False,
) -> T:
    """`work` on the store's accounts. `existing`: refuse an SQLite file that is not there
    (opening it would make an empty store, and a typo would look like no users)."""
    from supporter.store.accounts import SqlAccounts

    settings = settings_from({"db": db}, config)
    if existing and settings.store_url is None and not settings.db.is_file():
        fail(f"no database at {settings.db}: pass the --db that serve uses")

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


@users_app.command("list")
def list_users(
    db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Show every user: role, when added, last sign-in, and whether disabled."""
    found = _on_accounts(db, config, lambda accounts: accounts.users(), existing=True)
    if as_json:
        for user in found:
            typer.echo(json.dumps(user.model_dump(mode="json")))
        return
    _table(
        f"{len(found)} users (times in UTC)",
        ("name", "role", "created", "last sign-in", "disabled"),
        [_user_row(user) for user in found],
    )


def _user_row(user: UserInfo) -> list[str]:
    return [
        user.name,
        user.role.value,
        _when(user.created_at),
        _when(user.last_sign_in_at) or "never",
        _when(user.disabled_at),
    ]


@users_app.command("disable")
def disable_user(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Take a user's access away: every session of theirs ends at once and their password
    is refused. The name stays theirs in the reviews they made (never given to another)."""
    if not _on_accounts(db, config, lambda accounts: accounts.disable_user(name), existing=True):
        fail(f"no user named {name!r} (see supporter users list)")
    typer.echo(f"disabled {name}: signed out everywhere, and cannot sign in")


@users_app.command("enable")
def enable_user(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Let a disabled user sign in again (with their password as it was)."""
    if not _on_accounts(db, config, lambda accounts: accounts.enable_user(name), existing=True):
        fail(f"no user named {name!r} (see supporter users list)")
    typer.echo(f"enabled {name}")


@tokens_app.command("create")
def create_token(
    name: Annotated[str, typer.Option(help="What the token is for (e.g. helpdesk).")],
    role: RoleOption = Role.INGEST,
    expires_in: Annotated[
        str | None,
        typer.Option(help="Refuse the token after this long: days or hours, like 90d or 12h."),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(help="Refuse the token after this day (YYYY-MM-DD, to its end in UTC)."),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Make a bearer token and print it: this is the only time it is shown."""
    if not name.strip() or len(name) > 64:
        fail("the name must be 1 to 64 characters")
    expires_at = _expiry(expires_in, expires, datetime.now(UTC))
    token = _on_accounts(
        db, config, lambda accounts: accounts.create_token(name, role, expires_at=expires_at)
    )
    typer.echo(token)
    until = f", valid until {_when(expires_at)} UTC" if expires_at else ""
    typer.echo(
        f"token {name!r} ({role.value}) created{until}; it is not shown again: keep it now",
        err=True,
    )


def _expiry(expires_in: str | None, expires: str | None, now: datetime) -> datetime | None:
    """When a new token stops working: None for never."""
    if expires_in is not None and expires is not None:
        fail("give --expires-in or --expires, not both")
    if expires_in is not None:
        found = _DURATION.fullmatch(expires_in.strip())
        if found is None or int(found.group(1)) == 0:
            fail(
                f"--expires-in: {expires_in!r} is not a duration: a number of days or hours, like 90d or 12h"
            )
        amount = int(found.group(1))
        try:
            return now + (
                timedelta(days=amount) if found.group(2) == "d" else timedelta(hours=amount)
            )
        except OverflowError:
            fail(f"--expires-in: {expires_in!r} is too long")
    if expires is not None:
        try:
            day = date.fromisoformat(expires.strip())
        except ValueError:
            fail(f"--expires: {expires!r} is not a date like 2026-12-31")
        if day < now.date():
            fail(f"--expires: {expires} is in the past")
        # Valid through that day: refused from the midnight after it, UTC.
        end = datetime.combine(day, datetime.min.time(), UTC)
        try:
            return end + timedelta(days=1)
        except OverflowError:
            fail(f"--expires: {expires!r} is too far ahead")
    return None


@tokens_app.command("list")
def list_tokens(
    db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Show every token: role, when made, when it expires, last use, and whether revoked
    (never the token itself)."""
    found = _on_accounts(db, config, lambda accounts: accounts.tokens(), existing=True)
    if as_json:
        for token in found:
            typer.echo(json.dumps(token.model_dump(mode="json")))
        return
    now = datetime.now(UTC)
    _table(
        f"{len(found)} tokens (times in UTC)",
        ("name", "role", "created", "expires", "last used", "state"),
        [_token_row(token, now) for token in found],
    )


def _token_row(token: TokenInfo, now: datetime) -> list[str]:
    return [
        token.name,
        token.role.value,
        _when(token.created_at),
        _when(token.expires_at) or "never",
        _when(token.last_used_at) or "never",
        token.state(now),
    ]


@tokens_app.command("revoke")
def revoke_token(
    name: Annotated[str, typer.Argument(help="The token's name (see supporter tokens list).")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Refuse a token from its next request on. Its name stays taken (reviews made with it
    name it): give the replacement another."""
    if not _on_accounts(db, config, lambda accounts: accounts.revoke_token(name), existing=True):
        fail(f"no token named {name!r} (see supporter tokens list)")
    typer.echo(f"revoked {name}: refused from now on")


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _table(title: str, columns: tuple[str, ...], rows: list[list[str]]) -> None:
    """On stdout: the listing is the command's output (for grep), not a message."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console(soft_wrap=True).print(table)
