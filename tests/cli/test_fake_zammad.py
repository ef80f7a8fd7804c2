"""`supporter fake-zammad` is filled from our tickets CSV, and the connector reads it back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from supporter.cli.fake_zammad import fill_simulator
from supporter.domain.models import Priority
from supporter.helpdesks.zammad import Settings, Zammad
from supporter.testing.fake_zammad import DEFAULT_TOKEN, FakeZammad

TICKETS = (
    "ticket_id,customer_id,subject,body,status,created_at,customer_email,priority\n"
    "T1,H-17,Charged twice,I was charged twice,open,2024-05-02T09:00:00Z,ann@example.com,high\n"
    "T2,H-18,Invoice,Where is my invoice?,new,2024-05-03T09:00:00Z,,urgent\n"
)


async def test_the_csv_tickets_come_back_through_the_search(tmp_path: Path) -> None:
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    server = FakeZammad()
    assert await fill_simulator(server, tmp_path / "tickets.csv") == 2
    async with server as url:
        helpdesk = Zammad(Settings(url=url, token=SecretStr(DEFAULT_TOKEN)), settle=0.0)
        try:
            page = await helpdesk.poll(None, since=datetime(2024, 5, 1, tzinfo=UTC))
        finally:
            await helpdesk.aclose()
    found = [(t.subject, t.body, t.customer_email, t.priority) for t in page.tickets]
    assert found == [
        ("Charged twice", "I was charged twice", "ann@example.com", Priority.HIGH),
        ("Invoice", "Where is my invoice?", "H-18@customers.invalid", Priority.HIGH),
    ]
