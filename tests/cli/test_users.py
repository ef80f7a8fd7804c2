"""`supporter users` and `supporter tokens`: accounts in the store, secrets shown once."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
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


def _add(db: Path, name: str, role: str = "reviewer") -> None:
    added = runner.invoke(
        app,
        ["users", "add", name, "--role", role, "--password-stdin", "--db", str(db)],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output


def test_a_disabled_user_is_listed_as_such_and_cannot_sign_in(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _add(db, "ana", "admin")
    _add(db, "rui")
    disabled = runner.invoke(app, ["users", "disable", "rui", "--db", str(db)])
    assert disabled.exit_code == 0, disabled.output
    assert asyncio.run(_check(db, "rui", PASSWORD))[0] is None
    assert asyncio.run(_check(db, "ana", PASSWORD))[0] is not None

    listed = runner.invoke(app, ["users", "list", "--json", "--db", str(db)])
    assert listed.exit_code == 0, listed.output
    rows = {row["name"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert set(rows) == {"ana", "rui"}
    assert rows["rui"]["disabled_at"] is not None
    assert rows["ana"]["disabled_at"] is None
    assert rows["ana"]["role"] == "admin"
    table = runner.invoke(app, ["users", "list", "--db", str(db)])
    assert "2 users" in table.stdout
    assert "argon2" not in listed.stdout + table.stdout

    enabled = runner.invoke(app, ["users", "enable", "rui", "--db", str(db)])
    assert enabled.exit_code == 0, enabled.output
    assert asyncio.run(_check(db, "rui", PASSWORD))[0] is not None


def test_disabling_enabling_or_revoking_an_unknown_name_fails_plainly(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _add(db, "ana", "admin")
    for command, kind in (("users disable", "user"), ("users enable", "user")):
        answer = runner.invoke(app, [*command.split(), "bea", "--db", str(db)])
        assert answer.exit_code == 2
        assert f"no {kind} named 'bea'" in answer.output
    revoked = runner.invoke(app, ["tokens", "revoke", "bea", "--db", str(db)])
    assert revoked.exit_code == 2
    assert "no token named 'bea'" in revoked.output


def test_the_commands_on_existing_accounts_refuse_a_missing_database(tmp_path: Path) -> None:
    db = tmp_path / "typo.db"
    for command in (
        ["users", "list"],
        ["users", "disable", "ana"],
        ["users", "enable", "ana"],
        ["tokens", "list"],
        ["tokens", "revoke", "x"],
    ):
        answer = runner.invoke(app, [*command, "--db", str(db)])
        assert answer.exit_code == 2, command
        assert f"no database at {db}" in answer.output
    assert not db.exists()


def test_tokens_are_listed_with_their_state_and_never_their_secret(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    made = {}
    for name, *expiry in (("helpdesk",), ("contractor", "--expires-in", "12h"), ("old",)):
        answer = runner.invoke(app, ["tokens", "create", "--name", name, *expiry, "--db", str(db)])
        assert answer.exit_code == 0, answer.output
        made[name] = answer.stdout.splitlines()[0]
    revoked = runner.invoke(app, ["tokens", "revoke", "old", "--db", str(db)])
    assert revoked.exit_code == 0, revoked.output
    assert asyncio.run(_check(db, "x", PASSWORD, made["old"]))[1] is None
    assert asyncio.run(_check(db, "x", PASSWORD, made["helpdesk"]))[1] is not None

    listed = runner.invoke(app, ["tokens", "list", "--json", "--db", str(db)])
    assert listed.exit_code == 0, listed.output
    rows = {row["name"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert rows["old"]["revoked_at"] is not None
    assert rows["helpdesk"]["expires_at"] is None
    assert rows["helpdesk"]["last_used_at"] is not None  # checked above
    expires = datetime.fromisoformat(rows["contractor"]["expires_at"])
    assert timedelta(hours=11) < expires - datetime.now(UTC) <= timedelta(hours=12)
    table = runner.invoke(app, ["tokens", "list", "--db", str(db)])
    assert table.exit_code == 0
    lines = {line.split()[1]: line for line in table.stdout.splitlines() if "│" in line}
    assert "revoked" in lines["old"]
    assert "active" in lines["helpdesk"]
    for token in made.values():
        assert token not in listed.stdout + table.stdout
        assert token.removeprefix("sup_")[:8] not in listed.stdout + table.stdout


def test_a_token_can_expire_at_the_end_of_a_day(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    day = (datetime.now(UTC) + timedelta(days=30)).date()
    made = runner.invoke(
        app, ["tokens", "create", "--name", "t", "--expires", day.isoformat(), "--db", str(db)]
    )
    assert made.exit_code == 0, made.output
    assert "valid until" in made.stderr
    listed = runner.invoke(app, ["tokens", "list", "--json", "--db", str(db)])
    expires = datetime.fromisoformat(json.loads(listed.stdout)["expires_at"])
    assert expires == datetime.combine(day + timedelta(days=1), time(), UTC)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--expires-in", "90"], "'90' is not a duration"),
        (["--expires-in", "3 weeks"], "'3 weeks' is not a duration"),
        (["--expires-in", "0d"], "'0d' is not a duration"),
        (["--expires-in", "99999999999d"], "'99999999999d' is too long"),
        (["--expires", "31/12/2030"], "'31/12/2030' is not a date"),
        (["--expires", "2020-01-01"], "2020-01-01 is in the past"),
        (["--expires", "9999-12-31"], "'9999-12-31' is too far ahead"),
        (["--expires-in", "1d", "--expires", "2030-01-01"], "not both"),
    ],
)
def test_a_bad_expiry_is_refused_and_no_token_is_made(
    tmp_path: Path, options: list[str], message: str
) -> None:
    db = tmp_path / "s.db"
    answer = runner.invoke(app, ["tokens", "create", "--name", "t", *options, "--db", str(db)])
    assert answer.exit_code == 2
    assert message in answer.output
    assert "sup_" not in answer.output
    assert not db.exists()
