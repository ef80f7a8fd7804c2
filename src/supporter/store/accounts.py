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
from sqlalchemy import Row, Select, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from supporter.domain.people import Principal, Role
from supporter.store import schema
from supporter.store.base import StoreError
from supporter.store.sql import DATABASE_ERRORS, describe_error, dialect_insert, store_errors

TOKEN_PREFIX = "sup_"
SESSION_SECRET = "session"
_hasher = PasswordHasher()
# Verified against when the user does not exist, so that a wrong name takes as long
# as a wrong password and the answer time does not tell which names exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


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
        """The user, when the password is theirs; None otherwise."""
        query = select(schema.users.c.password_hash, schema.users.c.role).where(
            schema.users.c.name == name
        )
        row = await self._first(query, "check a password")
        stored = row.password_hash if row is not None else _DUMMY_HASH
        try:
            await asyncio.to_thread(_hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        return Principal(name=name, role=Role(row.role), kind="user")

    async def start_session(self, name: str, max_age: int) -> str:
        """A new session of the user (signed in just now), valid for `max_age` seconds: its
        id, for the cookie only. Sessions that ended on their own are cleared out here."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        users, sessions = schema.users, schema.sessions
        user_id = select(users.c.user_id).where(users.c.name == name).scalar_subquery()
        row = {
            "session_hash": token_hash(session_id),
            "user_id": user_id,
            "created_at": now,
            "expires_at": now + timedelta(seconds=max_age),
        }
        with store_errors("start a session"):
            async with self._engine.begin() as connection:
                await connection.execute(delete(sessions).where(sessions.c.expires_at <= now))
                await connection.execute(insert(sessions).values(**row))
        return session_id

    async def session_principal(self, session_id: str) -> Principal | None:
        """The user of a session that has not ended, as they are now; None otherwise."""
        users, sessions = schema.users, schema.sessions
        query = (
            select(users.c.name, users.c.role)
            .select_from(sessions.join(users, users.c.user_id == sessions.c.user_id))
            .where(
                sessions.c.session_hash == token_hash(session_id),
                sessions.c.expires_at > self._clock(),
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

    async def create_token(self, name: str, role: Role) -> str:
        """A new bearer token, returned once: only its hash is kept."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = {
            "name": name,
            "role": role.value,
            "token_hash": token_hash(token),
            "created_at": _now(),
        }
        await self._add(schema.api_tokens, row, f"a token named {name!r} exists already")
        return token

    async def token_principal(self, token: str) -> Principal | None:
        table = schema.api_tokens
        query = select(table.c.name, table.c.role).where(table.c.token_hash == token_hash(token))
        row = await self._first(query, "check a token")
        return None if row is None else Principal(name=row.name, role=Role(row.role), kind="token")

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
