"""What the screen takes from a URL: a tampered cursor is a 400, `?error=` shows only a
message of ours, a ticket id with reserved characters is linked encoded and reviewable,
and a card number typed into a reply is masked before it is stored."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text
from tests.api.conftest import PASSWORD, Api, served_api
from tests.web.test_screen import csrf, drafted, sign_in

from supporter.domain.people import Role
from supporter.web import screen


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    screen.limiter._failures.clear()
    async with served_api(f"sqlite+aiosqlite:///{tmp_path / 's.db'}") as found:
        await found.accounts.add_user("rui", PASSWORD, Role.REVIEWER)
        yield found


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        base64.urlsafe_b64encode(json.dumps([10**30, "2024-05-01", "T1"]).encode()).decode(),
    ],
)
async def test_a_tampered_cursor_on_the_queue_is_a_400(api: Api, cursor: str) -> None:
    await sign_in(api.client, "rui", PASSWORD)
    answer = await api.client.get("/", params={"cursor": cursor})
    assert answer.status_code == 400
    assert "not a cursor from this queue" in answer.text


async def test_the_ticket_page_shows_only_its_own_error_messages(api: Api) -> None:
    await drafted(api, "T1")
    await sign_in(api.client, "rui", PASSWORD)
    spoof = "Your session expired: sign in again at https://evil.example"
    page = await api.client.get("/tickets/T1", params={"error": spoof})
    assert page.status_code == 200
    assert "evil.example" not in page.text
    assert 'role="alert"' not in page.text
    known = await api.client.get("/tickets/T1", params={"error": "reason"})
    assert "reason: required to reject." in known.text
    # Who decided a draft is told from the store, not from the link.
    undecided = await api.client.get("/tickets/T1", params={"error": "reviewed"})
    assert "approved or rejected already" in undecided.text
    assert "already approved by" not in undecided.text


async def test_a_refused_review_redirects_with_a_code_not_the_text(api: Api) -> None:
    await drafted(api, "T1")
    await sign_in(api.client, "rui", PASSWORD)
    token = await csrf(api.client, "/tickets/T1")
    version = re.search(
        r'name="draft_version" value="([^"]+)"', (await api.client.get("/tickets/T1")).text
    )
    assert version is not None
    answer = await api.client.post(
        "/tickets/T1/review",
        data={"csrf_token": token, "action": "reject", "draft_version": version.group(1)},
    )
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("/tickets/T1?error=reason")
    stale = await api.client.post(
        "/tickets/T1/review",
        data={"csrf_token": token, "action": "approve", "draft_version": "0" * 16},
    )
    assert stale.headers["location"].endswith("/tickets/T1?error=conflict")


async def test_an_id_with_reserved_characters_is_linked_encoded_and_reviewed_on_the_screen(
    api: Api,
) -> None:
    ticket_id = "INC 7?#%"
    await drafted(api, ticket_id)
    await sign_in(api.client, "rui", PASSWORD)
    queue = await api.client.get("/")
    link = "/tickets/" + quote(ticket_id, safe="/")
    assert f'href="{html.escape(link)}"' in queue.text
    page = await api.client.get(link)
    assert page.status_code == 200
    assert html.escape(ticket_id) in page.text
    token = await csrf(api.client, link)
    version = re.search(r'name="draft_version" value="([^"]+)"', page.text)
    assert version is not None
    reply = "Refunded to card 4111 1111 1111 1111 today."
    answer = await api.client.post(
        link + "/review",
        data={
            "csrf_token": token,
            "action": "approve",
            "draft_version": version.group(1),
            "reply": reply,
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    async with api.served.services.store.engine.connect() as connection:
        stored = (await connection.execute(text("select ticket_id, reply from reviews"))).all()
    assert [tuple(row) for row in stored] == [(ticket_id, "Refunded to card **** 1111 today.")]
