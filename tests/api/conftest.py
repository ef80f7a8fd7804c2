"""A served Supporter in this process: the stages on the in-memory broker, the store on
a fresh database, the application reached through httpx without a socket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from supporter.cli.serve import Served, open_served
from supporter.config import Settings
from supporter.domain.people import Role
from supporter.helpdesks.base import Helpdesk
from supporter.pipeline.stats import RunStats
from supporter.store.accounts import NameTaken, SqlAccounts
from supporter.web.app import build_app

PASSWORD = "correct horse battery staple"


@dataclass
class Api:
    served: Served
    client: httpx.AsyncClient
    tokens: dict[Role, str]
    transport: httpx.AsyncBaseTransport

    def another_client(self) -> httpx.AsyncClient:
        """A client of its own (its own cookies, so its own session) on the same app."""
        return httpx.AsyncClient(transport=self.transport, base_url="http://testserver")

    @property
    def accounts(self) -> SqlAccounts:
        return self.served.services.accounts

    def auth(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def wait_for(self, ticket_id: str, status: str = "responded") -> dict[str, object]:
        """The ticket once the pipeline has stored its outcome."""
        for _ in range(200):
            answer = await self.client.get(
                f"/api/v1/tickets/{quote(ticket_id, safe='')}", headers=self.auth(Role.ADMIN)
            )
            if answer.status_code == 200 and answer.json()["status"] == status:
                body: dict[str, object] = answer.json()
                return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"ticket {ticket_id} never became {status}")


async def _token(accounts: SqlAccounts, role: Role) -> str:
    """A token named t-<role>; on a store served before, t-<role>-<n>."""
    for attempt in range(100):
        name = f"t-{role.value}" + (f"-{attempt}" if attempt else "")
        try:
            return await accounts.create_token(name, role)
        except NameTaken:
            continue
    raise AssertionError("no free token name")


@contextlib.asynccontextmanager
async def served_api(
    store_url: str, *, helpdesk: Helpdesk | None = None, **options: object
) -> AsyncIterator[Api]:
    """`supporter serve` in this process; with `helpdesk`, that connector is the
    connected helpdesk (its webhooks at /webhooks/<name>; `write_back=` and
    `poll_interval=` among the `options` as for serve)."""
    settings = Settings(
        store_url=store_url,
        llm_cache=None,
        heartbeat_interval=60,
        **options,  # type: ignore[arg-type]
    )
    async with contextlib.AsyncExitStack() as resources:
        served = await open_served(settings, resources, RunStats(), helpdesk=helpdesk)
        stages = asyncio.create_task(served.run())
        accounts = served.services.accounts
        tokens = {role: await _token(accounts, role) for role in Role}
        app = build_app(served.services, served.session_secret)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            try:
                yield Api(served, client, tokens, transport)
            finally:
                served.pipeline.request_stop()
                await stages


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with served_api(f"sqlite+aiosqlite:///{tmp_path / 's.db'}") as found:
        yield found


@pytest.fixture
async def api_on_each_database(database_url: str) -> AsyncIterator[Api]:
    async with served_api(database_url) as found:
        yield found
