"""A draft is reviewed once: `serve --helpdesk zendesk --write-back after-review
--public-replies` against the Zendesk simulator, through the real write-back path. A
second review of a decided draft is a 409 and writes nothing; two reviewers at once,
one wins and the store records as approved exactly what reached the customer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from tests.api.conftest import Api, served_api
from tests.helpdesks.rigs import SECRET, Rig, zendesk_rig

from supporter.domain.people import Role
from supporter.testing.fake_zendesk import FakeZendesk, signed_webhook, trigger_body


@dataclass
class Desk:
    api: Api
    zendesk: FakeZendesk

    def replies(self, ticket: int) -> list[str]:
        """What Supporter wrote into the ticket (the customer's message comes first)."""
        return [str(comment["body"]) for comment in self.zendesk.comments[ticket][1:]]

    async def replies_after(self, ticket: int, count: int) -> list[str]:
        """Once `count` are written, and a moment more for any extra one to arrive."""
        for _ in range(200):
            if len(self.replies(ticket)) >= count:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        return self.replies(ticket)

    async def drafted(self) -> tuple[int, dict[str, object]]:
        """A new Zendesk ticket announced by webhook, once Supporter has its draft."""
        ticket = self.zendesk.add_ticket(
            "Charged twice", "You charged my card twice for 99.00 EUR. Please refund one."
        )
        body = trigger_body(ticket)
        answer = await self.api.client.post(
            "/webhooks/zendesk", content=body, headers=signed_webhook(SECRET, body)
        )
        assert answer.status_code == 200, answer.text
        detail = await self.api.wait_for(str(ticket))
        draft = detail["draft"]
        assert isinstance(draft, dict)
        return ticket, draft

    async def reviewer(self, name: str) -> dict[str, str]:
        token = await self.api.accounts.create_token(name, Role.REVIEWER)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with zendesk_rig() as found:
        yield found


@pytest.fixture
async def desk(rig: Rig, database_url: str) -> AsyncIterator[Desk]:
    async with served_api(
        database_url,
        helpdesk=rig.connect(),
        write_back="after-review",
        public_replies=True,
        poll_interval=0,
    ) as api:
        assert isinstance(rig.server, FakeZendesk)
        yield Desk(api, rig.server)


async def review(
    desk: Desk, ticket: int, headers: dict[str, str], **body: object
) -> httpx.Response:
    return await desk.api.client.post(
        f"/api/v1/tickets/{ticket}/review", json=body, headers=headers
    )


async def test_a_second_review_of_an_approved_draft_is_a_409_and_writes_nothing(
    desk: Desk,
) -> None:
    ticket, draft = await desk.drafted()
    bob = await desk.reviewer("bob")
    first = await review(
        desk,
        ticket,
        bob,
        action="approve",
        draft_version=draft["version"],
        reply="First approval: we refunded 99.00",
    )
    assert first.status_code == 201, first.text
    assert await desk.replies_after(ticket, 1) == ["First approval: we refunded 99.00"]

    for again in (
        {"action": "approve", "reply": "Correction: sorry, the refund is 9.90"},
        {"action": "reject", "reason": "wrong amount"},
        # The same approval sent again (a retry): its write-back is queued again and the
        # write-back stage, which writes a version once, writes nothing.
        {"action": "approve", "reply": "First approval: we refunded 99.00"},
    ):
        answer = await review(desk, ticket, bob, draft_version=draft["version"], **again)
        assert answer.status_code == 409, answer.text
        conflict = answer.json()
        assert conflict["review"] == first.json()
        assert conflict["detail"].startswith(
            f"the draft of ticket '{ticket}' was already approved by bob at "
        )
    assert await desk.replies_after(ticket, 1) == ["First approval: we refunded 99.00"]
    detail = await desk.api.wait_for(str(ticket))
    assert detail["reviews"] == [first.json()]
    assert detail["decision"] == first.json()


async def test_two_reviewers_at_once_one_wins_and_is_what_the_customer_got(desk: Desk) -> None:
    bob, cy = await desk.reviewer("bob"), await desk.reviewer("cy")
    for _ in range(3):
        ticket, draft = await desk.drafted()
        answers = await asyncio.gather(
            review(
                desk, ticket, bob, action="approve", draft_version=draft["version"], reply="Bob"
            ),
            review(
                desk,
                ticket,
                cy,
                action="approve",
                draft_version=draft["version"],
                reply="Cy reply",
                category="duplicate_charge",
                priority="high",
            ),
        )
        assert sorted(answer.status_code for answer in answers) == [201, 409]
        [won] = [answer.json() for answer in answers if answer.status_code == 201]
        [lost] = [answer.json() for answer in answers if answer.status_code == 409]
        assert lost["review"] == won
        written = await desk.replies_after(ticket, 1)
        detail = await desk.api.wait_for(str(ticket))
        assert detail["decision"] == won
        assert detail["reviews"] == [won]
        assert written == [won["reply"]]
        queue = await desk.api.client.get(
            "/api/v1/tickets", params={"review": "approved"}, headers=bob
        )
        assert str(ticket) in [row["ticket_id"] for row in queue.json()["tickets"]]
