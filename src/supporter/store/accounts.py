"""Users, API tokens, the review screen's sessions and the session secret, in the shared
store: every command and every replica of `supporter serve` sees the same ones.

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's second
recommended profile; https://argon2-cffi.readthedocs.io/en/stable/api.html). A token
is 256 random bits, so a plain SHA-256 of it is enough to store: nothing can be
guessed from it, and checking it on every request costs nothing.

A session is a row too, not only a signed cookie. A cookie that names its user is
valid until it expires wherever a copy of it is (a proxy's log, a stolen laptop):
signing out could only clear the browser's copy. The cookie holds a random session
id instead, kept here as its SHA-256 like a token; signing out deletes the row, a
new password deletes all of the user's rows, and a row ends `max_age` seconds after
signing in whatever the cookie says. (A per-user counter bumped at sign-out would
cost as little, but would sign the user out everywhere at once and still trust the
cookie's own timestamp for the expiry.) A request costs what it did before: one
lookup of the session's primary key joined to the user's.

Access is taken away without deleting rows: reviews name their reviewer (a user or a
token), so a disabled user or a revoked token keeps its row and its name, which is never
given to another. Disabling a user deletes their sessions (as a new password does) and
refuses their password; a revoked or expired token is refused on its next request. When
a token was last used is written at most once a minute, so a busy token costs one write
a minute, not one a request.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Row, Select, Table, bindparam, delete, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from supporter.domain.people import Principal, Role, TokenInfo, UserInfo
from supporter.store import schema
from supporter.store.base import StoreError
from supporter.store.sql import (
    DATABASE_ERRORS,
    aware,
    describe_error,
    dialect_insert,
    store_errors,
)

TOKEN_PREFIX = "sup_"
SESSION_SECRET = "session"
_hasher = PasswordHasher()
# Verified against when the user does not exist, so that a wrong name takes as long
# as a wrong password and the answer time does not tell which names exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
# How stale a token's last_used_at may get before a request writes it again.
LAST_USED_EVERY = timedelta(minutes=1)


# Built once, not on each call: every API request checks its token.
_tokens = schema.api_tokens
_TOKEN_QUERY = select(
    _tokens.c.token_id, _tokens.c.name, _tokens.c.role, _tokens.c.last_used_at
).where(
    _tokens.c.token_hash == bindparam("token_hash"),
    _tokens.c.revoked_at.is_(None),
    _tokens.c.expires_at.is_(None) | (_tokens.c.expires_at > bindparam("now")),
)
# Another replica may have written it since the select: the condition is checked again.
_TOKEN_USED = (
    update(_tokens)
    .where(
        _tokens.c.token_id == bindparam("used_id"),
        _tokens.c.last_used_at.is_(None) | (_tokens.c.last_used_at <= bindparam("stale")),
    )
    .values(last_used_at=bindparam("used_at"))
)


class NameTaken(StoreError):
    """A user or token of that name exists already."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SqlAccounts:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] | None = None) -> None:
        """`clock`: the time now (aware), for tests of session expiry."""
        self._engine = engine
        self._insert = dialect_insert(engine)
        self._clock = clock or _now

    async def add_user(self, name: str, password: str, role: Role) -> None:
        """Raises NameTaken when the name is in use."""
        hashed = await asyncio.to_thread(_hasher.hash, password)
        row = {"name": name, "password_hash": hashed, "role": role.value, "created_at": _now()}
        await self._add(schema.users, row, f"a user named {name!r} exists already")

    async def set_password(self, name: str, password: str) -> bool:
        """False when there is no such user. Every session of the user ends: whoever
        knew the old password may have signed in with it."""
        hashed = await asyncio.to_thread(_hasher.hash, password)
        users, sessions = schema.users, schema.sessions
        statement = update(users).where(users.c.name == name).values(password_hash=hashed)
        signed_in = delete(sessions).where(
            sessions.c.user_id.in_(select(users.c.user_id).where(users.c.name == name))
        )
        try:
            async with self._engine.begin() as connection:
                changed = (await connection.execute(statement)).rowcount
                await connection.execute(signed_in)
        except DATABASE_ERRORS as error:
            raise StoreError(f"could not change the password: {describe_error(error)}") from error
        return bool(changed)

    async def sign_in(self, name: str, password: str) -> Principal | None:
        """The user, when the password is theirs and they are not disabled; None otherwise."""
        users = schema.users
        query = select(users.c.password_hash, users.c.role, users.c.disabled_at).where(
            users.c.name == name
        )
        row = await self._first(query, "check a password")
        stored = row.password_hash if row is not None else _DUMMY_HASH
        try:
            await asyncio.to_thread(_hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled_at is not None:
            return None
        return Principal(name=name, role=Role(row.role), kind="user")

    async def start_session(self, name: str, max_age: int) -> str | None:
        """A new session of the user (signed in just now), valid for `max_age` seconds: its
        id, for the cookie only; None when there is no such user or they are disabled (by
        then: a sign-in racing with disabling them). Sessions that ended on their own are
        cleared out here."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        users, sessions = schema.users, schema.sessions
        # The user's row is read in the insert itself, and shared-locked on PostgreSQL:
        # disabling them either waits for this session (and then deletes it) or comes
        # first (and then nothing is inserted). A session kept past disabling would come
        # back when the user is enabled again.
        enabled = (
            select(
                literal(token_hash(session_id), sessions.c.session_hash.type),
                users.c.user_id,
                literal(now, sessions.c.created_at.type),
                literal(now + timedelta(seconds=max_age), sessions.c.expires_at.type),
            )
            .where(users.c.name == name, users.c.disabled_at.is_(None))
            .with_for_update(read=True)
        )
        started = (
            insert(sessions)
            .from_select(["session_hash", "user_id", "created_at", "expires_at"], enabled)
            .returning(sessions.c.session_hash)
        )
        signed_in = update(users).where(users.c.name == name).values(last_sign_in_at=now)
        with store_errors("start a session"):
            async with self._engine.begin() as connection:
                await connection.execute(delete(sessions).where(sessions.c.expires_at <= now))
                if (await connection.execute(started)).first() is None:
                    return None
                await connection.execute(signed_in)
        return session_id

    async def session_principal(self, session_id: str) -> Principal | None:
        """The user of a session that has not ended, as they are now; None otherwise (and
        for a disabled user, should a sign-in have raced with disabling them)."""
        users, sessions = schema.users, schema.sessions
        query = (
            select(users.c.name, users.c.role)
            .select_from(sessions.join(users, users.c.user_id == sessions.c.user_id))
            .where(
                sessions.c.session_hash == token_hash(session_id),
                sessions.c.expires_at > self._clock(),
                users.c.disabled_at.is_(None),
            )
        )
        row = await self._first(query, "check a session")
        return None if row is None else Principal(name=row.name, role=Role(row.role), kind="user")

    async def end_session(self, session_id: str) -> None:
        """Sign out: every copy of the session's cookie stops working."""
        sessions = schema.sessions
        statement = delete(sessions).where(sessions.c.session_hash == token_hash(session_id))
        with store_errors("end a session"):
            async with self._engine.begin() as connection:
                await connection.execute(statement)

    async def disable_user(self, name: str) -> bool:
        """False when there is no such user. The user can no longer sign in and every
        session of theirs ends now; their row and name stay (see the module's notes)."""
        return await self._set_disabled(name, self._clock(), "disable a user")

    async def enable_user(self, name: str) -> bool:
        """False when there is no such user. Sessions ended by disabling stay ended."""
        return await self._set_disabled(name, None, "enable a user")

    async def _set_disabled(self, name: str, when: datetime | None, doing: str) -> bool:
        users, sessions = schema.users, schema.sessions
        statement = update(users).where(users.c.name == name)
        if when is not None:
            # Disabling again keeps the first time.
            statement = statement.where(users.c.disabled_at.is_(None))
        signed_in = delete(sessions).where(
            sessions.c.user_id.in_(select(users.c.user_id).where(users.c.name == name))
        )
        exists = select(users.c.user_id).where(users.c.name == name)
        with store_errors(doing):
            async with self._engine.begin() as connection:
                if (await connection.execute(exists)).first() is None:
                    return False
                await connection.execute(statement.values(disabled_at=when))
                if when is not None:
                    await connection.execute(signed_in)
        return True

    async def users(self) -> list[UserInfo]:
        """Every user, disabled ones too, by name; no password hashes."""
        table = schema.users
        query = select(
            table.c.name,
            table.c.role,
            table.c.created_at,
            table.c.last_sign_in_at,
            table.c.disabled_at,
        ).order_by(table.c.name)
        return [UserInfo.model_validate(row) for row in await self._rows(query, "list the users")]

    async def create_token(
        self, name: str, role: Role, *, expires_at: datetime | None = None
    ) -> str:
        """A new bearer token, returned once: only its hash is kept. With `expires_at` (an
        aware time) it is refused from then on. Raises ValueError for a time without a zone."""
        if expires_at is not None:
            if expires_at.tzinfo is None or expires_at.utcoffset() is None:
                raise ValueError(f"expires_at {expires_at.isoformat()} has no time zone")
            # In UTC, as every time here: SQLite keeps no zone, so 10:00+02:00 would be
            # read back as 10:00 UTC.
            expires_at = expires_at.astimezone(UTC)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = {
            "name": name,
            "role": role.value,
            "token_hash": token_hash(token),
            "created_at": self._clock(),
            "expires_at": expires_at,
        }
        await self._add(schema.api_tokens, row, f"a token named {name!r} exists already")
        return token

    async def token_principal(self, token: str) -> Principal | None:
        """The token's owner, unless it is unknown, revoked or expired. Records when it was
        used, at most once every LAST_USED_EVERY."""
        now = self._clock()
        with store_errors("check a token"):
            async with self._engine.connect() as connection:
                found = await connection.execute(
                    _TOKEN_QUERY, {"token_hash": token_hash(token), "now": now}
                )
                row = found.first()
        if row is None:
            return None
        stale = now - LAST_USED_EVERY
        if row.last_used_at is None or aware(row.last_used_at) <= stale:
            values = {"used_id": row.token_id, "used_at": now, "stale": stale}
            with store_errors("record a token's use"):
                async with self._engine.begin() as connection:
                    await connection.execute(_TOKEN_USED, values)
        return Principal(name=row.name, role=Role(row.role), kind="token")

    async def revoke_token(self, name: str) -> bool:
        """False when there is no such token. Refused from its next request on; revoking
        again keeps the first time."""
        table = schema.api_tokens
        exists = select(table.c.token_id).where(table.c.name == name)
        statement = (
            update(table)
            .where(table.c.name == name, table.c.revoked_at.is_(None))
            .values(revoked_at=self._clock())
        )
        with store_errors("revoke a token"):
            async with self._engine.begin() as connection:
                if (await connection.execute(exists)).first() is None:
                    return False
                await connection.execute(statement)
        return True

    async def tokens(self) -> list[TokenInfo]:
        """Every token, revoked and expired ones too, by name; never the token nor its hash."""
        table = schema.api_tokens
        query = select(
            table.c.name,
            table.c.role,
            table.c.created_at,
            table.c.expires_at,
            table.c.last_used_at,
            table.c.revoked_at,
        ).order_by(table.c.name)
        return [TokenInfo.model_validate(row) for row in await self._rows(query, "list the tokens")]

    async def _rows(self, query: Select[Any], doing: str) -> list[dict[str, Any]]:
        """The rows as dicts, their times in UTC (SQLite gives them back without a zone:
        they were written in UTC)."""
        with store_errors(doing):
            async with self._engine.connect() as connection:
                rows = (await connection.execute(query)).mappings().all()
        return [
            {
                key: aware(value) if isinstance(value, datetime) else value
                for key, value in row.items()
            }
            for row in rows
        ]

    async def session_secret(self) -> str:
        """The key that signs session cookies: made by the first replica that asks, then
        read by all (a restart keeps everyone signed in)."""
        table = schema.service_secrets
        query = select(table.c.value).where(table.c.name == SESSION_SECRET)
        statement = self._insert(table).on_conflict_do_nothing(index_elements=["name"])
        try:
            async with self._engine.begin() as connection:
                value = (await connection.execute(query)).scalar()
                if value is None:
                    fresh = {"name": SESSION_SECRET, "value": secrets.token_urlsafe(48)}
                    await connection.execute(statement, [fresh])
                    value = (await connection.execute(query)).scalar_one()
        except DATABASE_ERRORS as error:
            raise StoreError(
                f"could not read the session secret: {describe_error(error)}"
            ) from error
        return str(value)

    async def _add(self, table: Table, row: dict[str, Any], taken: str) -> None:
        try:
            async with self._engine.begin() as connection:
                await connection.execute(insert(table), [row])
        except IntegrityError as error:
            raise NameTaken(taken) from error
        except DATABASE_ERRORS as error:
            raise StoreError(f"could not write to the store: {describe_error(error)}") from error

    async def _first(self, query: Select[Any], doing: str) -> Row[Any] | None:
        with store_errors(doing):
            async with self._engine.connect() as connection:
                found: Row[Any] | None = (await connection.execute(query)).first()
                return found


def _now() -> datetime:
    return datetime.now(UTC)
