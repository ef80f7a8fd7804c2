"""Accounts in the store: the session secret is made once and shared; sessions end on
the server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from supporter.domain.people import Principal, Role
from supporter.store.accounts import SqlAccounts
from supporter.store.sql import SqlStore

PASSWORD = "correct horse battery staple"


async def test_the_session_secret_is_made_once_and_every_replica_reads_the_same(
    database_url: str,
) -> None:
    stores = [await SqlStore.open(database_url) for _ in range(3)]
    try:
        secrets = await asyncio.gather(*(SqlAccounts(s.engine).session_secret() for s in stores))
        assert len(set(secrets)) == 1
        assert len(secrets[0]) >= 48
        assert await SqlAccounts(stores[0].engine).session_secret() == secrets[0]
    finally:
        for store in stores:
            await store.close()


async def test_a_session_ends_at_sign_out_at_a_new_password_and_at_its_max_age(
    database_url: str,
) -> None:
    store = await SqlStore.open(database_url)
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    accounts = SqlAccounts(store.engine, clock=lambda: now)
    try:
        await accounts.add_user("ana", PASSWORD, Role.ADMIN)
        await accounts.add_user("rui", PASSWORD, Role.REVIEWER)
        first, second = [await accounts.start_session("ana", 3600) for _ in range(2)]
        other = await accounts.start_session("rui", 3600)
        assert first != second
        assert await accounts.session_principal(first) == Principal(
            name="ana", role=Role.ADMIN, kind="user"
        )
        assert await accounts.session_principal("not-a-session") is None

        await accounts.end_session(first)
        assert await accounts.session_principal(first) is None
        assert await accounts.session_principal(second) is not None

        assert await accounts.set_password("ana", PASSWORD + " again")
        assert await accounts.session_principal(second) is None
        assert await accounts.session_principal(other) is not None

        now += timedelta(seconds=3599)
        assert await accounts.session_principal(other) is not None
        now += timedelta(seconds=1)
        assert await accounts.session_principal(other) is None
        # A new sign-in clears out the rows of sessions that ended on their own.
        latest = await accounts.start_session("rui", 3600)
        assert await _session_rows(store) == 1
        assert await accounts.session_principal(latest) is not None
    finally:
        await store.close()


async def _session_rows(store: SqlStore) -> int:
    async with store.engine.connect() as connection:
        return int((await connection.execute(text("SELECT count(*) FROM sessions"))).scalar_one())
