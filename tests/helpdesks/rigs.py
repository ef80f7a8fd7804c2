"""Each simulated helpdesk with its connector, behind one shape, for the contract tests:
what differs between vendors (settings, credentials, how a webhook is signed, where a
note lands) is said once here, so a behaviour every connector owes is tested once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from supporter.helpdesks import chatwoot, freshdesk, helpscout, zammad, zendesk
from supporter.helpdesks.base import Helpdesk, RateLimit, WebhookRequest
from supporter.testing import (
    fake_chatwoot,
    fake_freshdesk,
    fake_helpscout,
    fake_zammad,
    fake_zendesk,
)
from supporter.testing.aiohttp_site import ServedSimulator
from supporter.testing.helpdesk_limits import Faults

SECRET = "contract-webhook-secret-5e2a"
FAST = RateLimit(6000, 60.0)


@dataclass
class Rig:
    """A running simulator and how to point a connector at it."""

    server: ServedSimulator
    faults: Faults
    credential: str
    """The simulator's own credential: a connector must never show it either."""
    connect: Callable[..., Helpdesk]
    """`connect(credential=..., webhook_secret=..., timeout=...)`, each optional."""
    add_ticket: Callable[[], int]
    written: Callable[[int], Sequence[object]]
    """What Supporter wrote into a ticket (notes, comments, articles)."""
    signed_webhook: Callable[[int], WebhookRequest]
    """A webhook about a ticket, signed with SECRET as the helpdesk signs it."""
    check_stops_at_credentials: bool
    """`check` reports nothing after refused credentials (rather than every probe)."""
    customer_writes: Callable[[int, str], object]
    """The customer adds a message to a ticket (an e-mail, a chat message)."""
    backdate: Callable[[int, datetime], None]
    """The ticket was last changed at that time (what a poll since a time goes by)."""
    open_ticket: Callable[[str], int]
    """A ticket whose customer's first message is that text."""
    long_body: str
    """The end of an over-long body the connector keeps: "start" of a first message,
    "end" (the newest messages) of a conversation."""
    replies: Callable[[int], Sequence[object]]
    """The public replies the team sent the customer on a ticket (mailed, or shown)."""
    replay_requests: int = 0
    """Requests a retry makes that finds its note behind 120 later messages."""
    search_requests: int = 0
    """Requests a retry spends searching a ticket of 120 messages for a note it did not
    write: what a first try, which has nothing to search for, saves."""


def webhook_request(headers: dict[str, str], body: bytes) -> WebhookRequest:
    """A webhook as it arrives now, its header names folded to lower case as a server does."""
    return WebhookRequest(
        headers={name.lower(): value for name, value in headers.items()},
        body=body,
        received_at=datetime.now(UTC),
    )


def _secret(value: str | None) -> SecretStr | None:
    return None if value is None else SecretStr(value)


@asynccontextmanager
async def zendesk_rig() -> AsyncIterator[Rig]:
    server = fake_zendesk.FakeZendesk(
        fake_zendesk.FakeZendeskConfig(export_lag_seconds=0, account_limit=None, export_limit=None)
    )
    async with server as url:
        field = server.add_ticket_field("Supporter category")

        def connect(
            credential: str = fake_zendesk.DEFAULT_TOKEN,
            webhook_secret: str | None = SECRET,
            timeout: float = 2.0,
        ) -> Helpdesk:
            settings = zendesk.Settings(
                url=url,
                email=fake_zendesk.DEFAULT_EMAIL,
                token=SecretStr(credential),
                webhook_secret=_secret(webhook_secret),
                category_field=field,
            )
            return zendesk.ZendeskHelpdesk(
                settings, account_limit=FAST, export_limit=FAST, timeout=timeout, max_wait=10.0
            )

        def backdate(ticket: int, when: datetime) -> None:
            record = server.tickets[ticket]
            record["generated_timestamp"] = when.timestamp()
            record["updated_at"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")

        def signed(ticket: int) -> WebhookRequest:
            body = fake_zendesk.trigger_body(ticket)
            return webhook_request(fake_zendesk.signed_webhook(SECRET, body), body)

        yield Rig(
            server,
            server.config.faults,
            fake_zendesk.DEFAULT_TOKEN,
            connect,
            lambda: server.add_ticket("Charged twice", "Two charges"),
            lambda ticket: [c for c in server.comments[ticket][1:] if not c["public"]],
            signed,
            check_stops_at_credentials=True,
            customer_writes=lambda ticket, text: server.add_comment(ticket, text),
            backdate=backdate,
            open_ticket=lambda words: server.add_ticket("Charged twice", words),
            long_body="start",
            replies=lambda ticket: [
                c
                for c in server.comments[ticket]
                if c["public"] and c["author_id"] != server.tickets[ticket]["requester_id"]
            ],
            replay_requests=4,  # the ticket, the API user, two pages of 100 comments (newest first)
            search_requests=0,  # the comments are read only when the version's tag is there
        )


@asynccontextmanager
async def freshdesk_rig() -> AsyncIterator[Rig]:
    server = fake_freshdesk.FakeFreshdesk(
        fake_freshdesk.FakeFreshdeskConfig(per_minute=None, endpoint_limits={})
    )
    async with server as url:

        def connect(
            credential: str = fake_freshdesk.DEFAULT_API_KEY,
            webhook_secret: str | None = SECRET,
            timeout: float = 5.0,
        ) -> Helpdesk:
            settings: dict[str, Any] = {
                "url": url,
                "api_key": SecretStr(credential),
                "webhook_secret": _secret(webhook_secret),
                "category_field": "cf_category",
                "rate_limit": 6000,
                "plan": "enterprise",
                "timeout": timeout,
            }
            return freshdesk.connect(freshdesk.Settings(**settings))

        yield Rig(
            server,
            server.config.faults,
            fake_freshdesk.DEFAULT_API_KEY,
            connect,
            lambda: server.add_ticket("Charged twice", "Two charges", "ann@example.com"),
            lambda ticket: [
                c for c in server.notes(ticket) if c["source"] == fake_freshdesk.NOTE_SOURCE
            ],
            lambda ticket: webhook_request(*server.webhook(ticket, SECRET)),
            check_stops_at_credentials=True,
            customer_writes=server.add_incoming,
            backdate=server.touch,
            open_ticket=lambda words: server.add_ticket("Charged twice", words, "ann@example.com"),
            long_body="start",
            replies=lambda ticket: [
                c
                for c in server.notes(ticket)
                if c["source"] == fake_freshdesk.REPLY_SOURCE and not c["incoming"]
            ],
            replay_requests=3,  # the ticket with ten conversations, two pages of 100 of all of them
            search_requests=2,  # the two pages of conversations
        )


@asynccontextmanager
async def helpscout_rig() -> AsyncIterator[Rig]:
    server = fake_helpscout.FakeHelpScout(fake_helpscout.FakeHelpScoutConfig(per_minute=None))
    async with server as url:

        def backdate(conversation: int, when: datetime) -> None:
            server.conversations[conversation]["modifiedAt"] = when.timestamp()

        def connect(
            credential: str = fake_helpscout.DEFAULT_CLIENT_SECRET,
            webhook_secret: str | None = SECRET,
            timeout: float = 5.0,
        ) -> Helpdesk:
            settings: dict[str, Any] = {
                "url": url,
                "client_id": fake_helpscout.DEFAULT_CLIENT_ID,
                "client_secret": SecretStr(credential),
                "webhook_secret": _secret(webhook_secret),
                "category_field": 77,
                "rate_limit": 6000,
                "timeout": timeout,
            }
            return helpscout.connect(helpscout.Settings(**settings))

        yield Rig(
            server,
            server.config.faults,
            fake_helpscout.DEFAULT_CLIENT_SECRET,
            connect,
            lambda: server.add_conversation("Charged twice", "Two charges", "ann@example.com"),
            lambda conversation: server.threads(conversation, "note"),
            lambda conversation: webhook_request(*server.webhook(conversation, SECRET)),
            check_stops_at_credentials=True,
            customer_writes=lambda conversation, text: server.add_thread(
                conversation, "customer", text
            ),
            backdate=backdate,
            open_ticket=lambda words: server.add_conversation(
                "Charged twice", words, "ann@example.com"
            ),
            long_body="end",
            replies=lambda conversation: [
                t for t in server.threads(conversation, "reply") if t["state"] == "published"
            ],
            replay_requests=1,  # the conversation, every thread embedded
            search_requests=0,  # the threads come with the conversation
        )


@asynccontextmanager
async def zammad_rig() -> AsyncIterator[Rig]:
    server = fake_zammad.FakeZammad(fake_zammad.FakeZammadConfig(rate_per_minute=None))
    async with server as url:

        def connect(
            credential: str = fake_zammad.DEFAULT_TOKEN,
            webhook_secret: str | None = SECRET,
            timeout: float = 30.0,
        ) -> Helpdesk:
            settings = zammad.Settings(
                url=url,
                token=SecretStr(credential),
                webhook_secret=_secret(webhook_secret),
                rate_limit=6000,
            )
            return zammad.Zammad(settings, timeout=timeout, settle=0.0)

        def signed(ticket: int) -> WebhookRequest:
            body = server.webhook_body(ticket)
            return webhook_request(fake_zammad.signed_webhook(SECRET, body), body)

        yield Rig(
            server,
            server.config.faults,
            fake_zammad.DEFAULT_TOKEN,
            connect,
            lambda: server.add_ticket("Charged twice", "Two charges"),
            server.notes,
            signed,
            check_stops_at_credentials=False,
            customer_writes=lambda ticket, text: server.add_article(ticket, text),
            backdate=server.set_updated,
            open_ticket=lambda words: server.add_ticket("Charged twice", words),
            long_body="start",
            replies=lambda ticket: [
                a for a in server.articles[ticket] if a["sender"] == "Agent" and not a["internal"]
            ],
            replay_requests=4,  # every article in one list; the update and two tags as always
            search_requests=1,  # the list of articles
        )


@asynccontextmanager
async def chatwoot_rig() -> AsyncIterator[Rig]:
    server = fake_chatwoot.FakeChatwoot(fake_chatwoot.FakeChatwootConfig(rate_per_window=None))
    async with server as url:

        def connect(
            credential: str = fake_chatwoot.DEFAULT_TOKEN,
            webhook_secret: str | None = SECRET,
            timeout: float = 30.0,
        ) -> Helpdesk:
            settings = chatwoot.Settings(
                url=url,
                account_id=fake_chatwoot.DEFAULT_ACCOUNT,
                token=SecretStr(credential),
                webhook_secret=_secret(webhook_secret),
                rate_limit=6000,
            )
            return chatwoot.Chatwoot(settings, timeout=timeout)

        def backdate(conversation: int, when: datetime) -> None:
            record = server.conversations[conversation]
            record["last_activity_at"] = record["timestamp"] = int(when.timestamp())

        def signed(conversation: int) -> WebhookRequest:
            body = server.conversation_webhook(conversation)
            return webhook_request(fake_chatwoot.signed_webhook(SECRET, body), body)

        yield Rig(
            server,
            server.config.faults,
            fake_chatwoot.DEFAULT_TOKEN,
            connect,
            lambda: server.add_conversation("Charged twice"),
            server.private_notes,
            signed,
            check_stops_at_credentials=False,
            customer_writes=lambda conversation, text: server.add_message(conversation, text),
            backdate=backdate,
            open_ticket=server.add_conversation,
            long_body="end",
            replies=server.public_replies,
            replay_requests=8,  # the conversation, seven pages of 20 messages back to the note
            search_requests=7,  # seven pages of 20 messages, the last one short
        )


RIGS = {
    "zendesk": zendesk_rig,
    "freshdesk": freshdesk_rig,
    "helpscout": helpscout_rig,
    "zammad": zammad_rig,
    "chatwoot": chatwoot_rig,
}
"""Request Tracker is not here: it runs as a real RT (tests/helpdesks/conftest.py) and
takes no webhooks."""
