"""`supporter fake-chatwoot` is filled from our tickets CSV, and the connector reads it back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from supporter.cli.fake_chatwoot import fill_simulator
from supporter.domain.models import Priority
from supporter.helpdesks.chatwoot import Chatwoot, Settings
from supporter.testing.fake_chatwoot import (
    DEFAULT_ACCOUNT,
    DEFAULT_TOKEN,
    FakeChatwoot,
    FakeChatwootConfig,
)

TICKETS = (
    "ticket_id,customer_id,subject,body,status,created_at,customer_email,priority\n"
    "T1,H-17,Charged twice,I was charged twice,open,2024-05-02T09:00:00Z,ann@example.com,high\n"
    "T2,H-18,,Where is my invoice?,new,2024-05-03T09:00:00Z,bob@example.com,\n"
)


async def test_the_csv_tickets_come_back_as_conversations(tmp_path: Path) -> None:
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    server = FakeChatwoot(FakeChatwootConfig(rate_per_window=None))
    assert await fill_simulator(server, tmp_path / "tickets.csv") == 2
    async with server as url:
        settings = Settings(url=url, account_id=DEFAULT_ACCOUNT, token=SecretStr(DEFAULT_TOKEN))
        helpdesk = Chatwoot(settings)
        try:
            page = await helpdesk.poll(None, since=datetime(2024, 5, 1, tzinfo=UTC))
        finally:
            await helpdesk.aclose()
    found = sorted((t.customer_id, t.body, t.customer_email, t.priority) for t in page.tickets)
    assert found == [
        ("H-17", "Charged twice\n\nI was charged twice", "ann@example.com", Priority.HIGH),
        ("H-18", "Where is my invoice?", "bob@example.com", None),
    ]
