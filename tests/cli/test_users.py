"""`supporter users` and `supporter tokens`: accounts in the store, secrets shown once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.domain.people import Principal, Role
from supporter.store.accounts import SqlAccounts
from supporter.store.sql import SqlStore, sqlite_url

runner = CliRunner()
PASSWORD = "correct horse battery staple"


async def _check(
    db: Path, name: str, password: str, token: str | None = None
) -> tuple[Principal | None, Principal | None, list[str]]:
    store = await SqlStore.open(sqlite_url(db))
    try:
        accounts = SqlAccounts(store.engine)
        user = await accounts.sign_in(name, password)
        owner = await accounts.token_principal(token) if token else None
        hashes = await _all_hashes(store)
        return user, owner, hashes
    finally:
        await store.close()


async def _all_hashes(store: SqlStore) -> list[str]:
    from sqlalchemy import text

    async with store.engine.connect() as connection:
        users = (await connection.execute(text("SELECT password_hash FROM users"))).scalars()
        found = list(users)
        tokens = (await connection.execute(text("SELECT token_hash FROM api_tokens"))).scalars()
        return found + list(tokens)


def test_a_user_added_signs_in_with_that_password_only(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    added = runner.invoke(
        app,
        ["users", "add", "ana", "--role", "admin", "--password-stdin", "--db", str(db)],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    user, _, hashes = asyncio.run(_check(db, "ana", PASSWORD))
    assert user is not None
    assert user.role is Role.ADMIN
    assert hashes[0].startswith("$argon2id$")
    assert PASSWORD not in hashes[0]
    wrong, _, _ = asyncio.run(_check(db, "ana", PASSWORD + "!"))
    assert wrong is None
    nobody, _, _ = asyncio.run(_check(db, "bea", PASSWORD))
    assert nobody is None

    again = runner.invoke(
        app, ["users", "add", "ana", "--password-stdin", "--db", str(db)], input=PASSWORD + "\n"
    )
    assert again.exit_code == 2
    assert "exists already" in again.output

    changed = runner.invoke(
        app,
        ["users", "password", "ana", "--password-stdin", "--db", str(db)],
        input="another long password\n",
    )
    assert changed.exit_code == 0
    assert asyncio.run(_check(db, "ana", "another long password"))[0] is not None
    missing = runner.invoke(
        app,
        ["users", "password", "bea", "--password-stdin", "--db", str(db)],
        input="another long password\n",
    )
    assert missing.exit_code == 2


def test_a_short_password_is_refused(tmp_path: Path) -> None:
    short = runner.invoke(
        app,
        ["users", "add", "ana", "--password-stdin", "--db", str(tmp_path / "s.db")],
        input="short\n",
    )
    assert short.exit_code == 2
    assert "too short" in short.output


def test_a_token_is_printed_once_and_only_its_hash_is_kept(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    made = runner.invoke(
        app, ["tokens", "create", "--name", "helpdesk", "--role", "ingest", "--db", str(db)]
    )
    assert made.exit_code == 0, made.output
    token = made.stdout.splitlines()[0]
    assert token.startswith("sup_")
    _, owner, hashes = asyncio.run(_check(db, "x", PASSWORD, token))
    assert owner is not None
    assert (owner.name, owner.role) == ("helpdesk", Role.INGEST)
    assert token not in hashes
    twice = runner.invoke(app, ["tokens", "create", "--name", "helpdesk", "--db", str(db)])
    assert twice.exit_code == 2
