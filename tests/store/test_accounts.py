"""Accounts in the store: the session secret is made once and shared; sessions end on
the server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from supporter.domain.people import Principal, Role
from supporter.store.accounts import SqlAccounts, token_hash
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


async def test_a_disabled_user_cannot_sign_in_and_their_sessions_end_at_once(
    database_url: str,
) -> None:
    store = await SqlStore.open(database_url)
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    accounts = SqlAccounts(store.engine, clock=lambda: now)
    try:
        await accounts.add_user("ana", PASSWORD, Role.ADMIN)
        await accounts.add_user("rui", PASSWORD, Role.REVIEWER)
        sessions = [await accounts.start_session("rui", 3600) for _ in range(2)]
        other = await accounts.start_session("ana", 3600)

        assert await accounts.disable_user("rui")
        for session in sessions:
            assert await accounts.session_principal(session) is None
        assert await accounts.sign_in("rui", PASSWORD) is None
        assert await accounts.session_principal(other) is not None
        # A session of a disabled user (a sign-in racing with disabling) is not started.
        assert await accounts.start_session("rui", 3600) is None
        assert await accounts.start_session("nobody", 3600) is None

        later = now + timedelta(hours=1)
        again = SqlAccounts(store.engine, clock=lambda: later)
        assert await again.disable_user("rui")
        assert await accounts.disable_user("nobody") is False
        assert await accounts.enable_user("nobody") is False
        listed = {user.name: user for user in await accounts.users()}
        assert listed["rui"].disabled_at == now  # disabling again keeps the first time
        assert listed["rui"].last_sign_in_at == now
        assert await _session_rows(store) == 1  # ana's
        assert listed["ana"].disabled_at is None

        assert await accounts.enable_user("rui")
        assert await accounts.sign_in("rui", PASSWORD) is not None
        assert await accounts.session_principal(sessions[0]) is None  # ended for good
        assert [user.disabled_at for user in await accounts.users()] == [None, None]
    finally:
        await store.close()


async def test_users_are_listed_with_their_last_sign_in_and_no_hash(database_url: str) -> None:
    store = await SqlStore.open(database_url)
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    accounts = SqlAccounts(store.engine, clock=lambda: now)
    try:
        await accounts.add_user("rui", PASSWORD, Role.REVIEWER)
        await accounts.add_user("ana", PASSWORD, Role.ADMIN)
        await accounts.start_session("ana", 3600)
        listed = await accounts.users()
        assert [(user.name, user.role) for user in listed] == [
            ("ana", Role.ADMIN),
            ("rui", Role.REVIEWER),
        ]
        assert [user.last_sign_in_at for user in listed] == [now, None]
        assert all(user.created_at.tzinfo is not None for user in listed)
        assert "argon2" not in repr(listed)
    finally:
        await store.close()


async def test_a_revoked_or_expired_token_is_refused_and_use_is_recorded_once_a_minute(
    database_url: str,
) -> None:
    store = await SqlStore.open(database_url)
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def clock() -> datetime:
        return now

    accounts = SqlAccounts(store.engine, clock=clock)
    try:
        forever = await accounts.create_token("helpdesk", Role.INGEST)
        brief = await accounts.create_token(
            "contractor", Role.REVIEWER, expires_at=now + timedelta(hours=1)
        )
        assert await accounts.token_principal(forever) == Principal(
            name="helpdesk", role=Role.INGEST, kind="token"
        )
        assert await accounts.token_principal(brief) is not None
        first_use = now

        now += timedelta(seconds=59)
        assert await accounts.token_principal(forever) is not None
        used = {token.name: token.last_used_at for token in await accounts.tokens()}
        assert used == {"contractor": first_use, "helpdesk": first_use}
        now += timedelta(seconds=1)
        assert await accounts.token_principal(forever) is not None
        used = {token.name: token.last_used_at for token in await accounts.tokens()}
        assert used == {"contractor": first_use, "helpdesk": now}

        now = first_use + timedelta(hours=1)
        assert await accounts.token_principal(brief) is None
        assert await accounts.token_principal(forever) is not None

        assert await accounts.revoke_token("helpdesk")
        assert await accounts.token_principal(forever) is None
        assert await accounts.revoke_token("nothing") is False
        listed = await accounts.tokens()
        assert [(t.name, t.state(now)) for t in listed] == [
            ("contractor", "expired"),
            ("helpdesk", "revoked"),
        ]
        assert listed[0].expires_at == first_use + timedelta(hours=1)
        assert listed[1].revoked_at == now
        for secret in (forever, brief, token_hash(forever), token_hash(brief)):
            assert secret not in repr(listed)
    finally:
        await store.close()


async def test_a_sign_in_racing_with_disabling_the_user_gets_no_session(
    database_url: str,
) -> None:
    """Disabled between the password check and the session: no session is started, so none
    comes back when the user is enabled again."""
    store = await SqlStore.open(database_url)
    accounts = SqlAccounts(store.engine)
    try:
        await accounts.add_user("rui", PASSWORD, Role.REVIEWER)
        assert await accounts.sign_in("rui", PASSWORD) is not None
        assert await accounts.disable_user("rui")
        raced = await accounts.start_session("rui", 3600)
        assert await accounts.enable_user("rui")
        assert raced is None
        assert await _session_rows(store) == 0
        assert [user.last_sign_in_at for user in await accounts.users()] == [None]
    finally:
        await store.close()


async def test_an_expiry_in_another_zone_is_the_same_moment(database_url: str) -> None:
    """SQLite keeps no zone: 10:00+02:00 must not be stored as 10:00 UTC."""
    store = await SqlStore.open(database_url)
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    accounts = SqlAccounts(store.engine, clock=lambda: now)
    try:
        ends = datetime(2026, 1, 5, 10, 0, tzinfo=timezone(timedelta(hours=2)))
        token = await accounts.create_token("contractor", Role.REVIEWER, expires_at=ends)
        [listed] = await accounts.tokens()
        assert listed.expires_at == ends
        assert listed.expires_at.utcoffset() == timedelta(0)
        assert await accounts.token_principal(token) is None  # 08:00 UTC has passed
        with pytest.raises(ValueError, match="has no time zone"):
            await accounts.create_token("naive", Role.REVIEWER, expires_at=datetime(2026, 2, 1))
        assert [token.name for token in await accounts.tokens()] == ["contractor"]
    finally:
        await store.close()
