"""`supporter fake-zendesk` is filled from our tickets CSV, and the connector reads it back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from supporter.cli.fake_zendesk import fill_simulator
from supporter.domain.models import Priority
from supporter.helpdesks.base import RateLimit
from supporter.helpdesks.zendesk import Settings, ZendeskHelpdesk
from supporter.testing.fake_zendesk import (
    DEFAULT_EMAIL,
    DEFAULT_TOKEN,
    FakeZendesk,
    FakeZendeskConfig,
)

TICKETS = (
    "ticket_id,customer_id,subject,body,status,created_at,customer_email,priority\n"
    "T1,H-17,Charged twice,I was charged twice,open,2024-05-02T09:00:00Z,ann@example.com,high\n"
    "T2,H-18,Invoice,Where is my invoice?,new,2024-05-03T09:00:00Z,bob@example.com,medium\n"
)


async def test_the_csv_tickets_come_back_through_the_export(tmp_path: Path) -> None:
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    server = FakeZendesk(FakeZendeskConfig(export_limit=None))
    assert await fill_simulator(server, tmp_path / "tickets.csv") == 2
    async with server as url:
        settings = Settings(url=url, email=DEFAULT_EMAIL, token=SecretStr(DEFAULT_TOKEN))
        helpdesk = ZendeskHelpdesk(settings, export_limit=RateLimit(600, 60.0))
        try:
            page = await helpdesk.poll(None, since=datetime(2024, 5, 1, tzinfo=UTC))
        finally:
            await helpdesk.aclose()
    found = [(t.subject, t.customer_email, t.customer_id, t.priority) for t in page.tickets]
    assert found == [
        ("Charged twice", "ann@example.com", "H-17", Priority.HIGH),
        ("Invoice", "bob@example.com", "H-18", Priority.MEDIUM),
    ]
