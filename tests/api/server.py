"""`supporter serve` as a process of its own on a free port, with users and a token."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from supporter.domain.people import Role
from supporter.store.accounts import SqlAccounts
from supporter.store.sql import SqlStore, sqlite_url
from supporter.testing.serve import serve_process

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    db: Path


async def _accounts(db: Path) -> str:
    store = await SqlStore.open(sqlite_url(db))
    try:
        accounts = SqlAccounts(store.engine)
        await accounts.add_user("ana", PASSWORD, Role.ADMIN)
        await accounts.add_user("rui", PASSWORD, Role.REVIEWER)
        return await accounts.create_token("test", Role.ADMIN)
    finally:
        await store.close()


@contextlib.contextmanager
def running_serve(folder: Path) -> Iterator[Server]:
    """A served Supporter on an SQLite file in `folder` (users ana, admin, and rui,
    reviewer, both with PASSWORD, and an admin token)."""
    db = folder / "serve.db"
    token = asyncio.run(_accounts(db))
    with serve_process(folder, None, "--db", str(db)) as url:
        yield Server(url, token, db)
