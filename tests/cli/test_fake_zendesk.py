"""`supporter fake-zendesk` is filled from our tickets CSV, and the connector reads it back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from supporter.cli.fake_zendesk import fill_simulator
from supporter.domain.models import Priority
from supporter.helpdesks.base import RateLimit
from supporter.helpdesks.zendesk import Settings, ZendeskHelpdesk
from supporter.pipeline.helpdesk_intake import PollOptions
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


async def test_the_csv_tickets_come_back_through_the_first_poll_of_serve(tmp_path: Path) -> None:
    # Tickets dated as the CSV says, but changed now: `serve` polls a day back at first,
    # and found none of a sample's tickets (all older) when they were dated updated then.
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    server = FakeZendesk(FakeZendeskConfig(export_limit=None, export_lag_seconds=0.0))
    assert await fill_simulator(server, tmp_path / "tickets.csv") == 2
    async with server as url:
        settings = Settings(url=url, email=DEFAULT_EMAIL, token=SecretStr(DEFAULT_TOKEN))
        helpdesk = ZendeskHelpdesk(settings, export_limit=RateLimit(600, 60.0))
        try:
            since = datetime.now(UTC) - PollOptions().first_lookback
            page = await helpdesk.poll(None, since=since)
        finally:
            await helpdesk.aclose()
    found = [
        (t.subject, t.customer_email, t.customer_id, t.priority, t.created_at) for t in page.tickets
    ]
    assert found == [
        (
            "Charged twice",
            "ann@example.com",
            "H-17",
            Priority.HIGH,
            datetime(2024, 5, 2, 9, tzinfo=UTC),
        ),
        (
            "Invoice",
            "bob@example.com",
            "H-18",
            Priority.MEDIUM,
            datetime(2024, 5, 3, 9, tzinfo=UTC),
        ),
    ]
