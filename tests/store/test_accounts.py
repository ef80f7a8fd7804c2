"""Accounts in the store: the session secret is made once and shared."""

from __future__ import annotations

import asyncio

from supporter.store.accounts import SqlAccounts
from supporter.store.sql import SqlStore


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
