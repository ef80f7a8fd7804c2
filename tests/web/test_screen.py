"""The screen's rules without a browser: sign-in attempts limited, pages behind sign-in,
the reviewer role, a stale draft sent back with the reason, and sessions that end on
the server (a copy of the cookie is refused after signing out, a new password or
disabling the user)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.api.conftest import PASSWORD, Api, served_api
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.domain.people import Principal, Role
from supporter.store import schema
from supporter.store.accounts import SqlAccounts
from supporter.web import screen
from supporter.web.app import SESSION_COOKIE
from supporter.web.signin import SignInLimiter


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    screen.limiter._failures.clear()
    async with served_api(f"sqlite+aiosqlite:///{tmp_path / 's.db'}") as found:
        await found.accounts.add_user("rui", PASSWORD, Role.REVIEWER)
        await found.accounts.add_user("ivo", PASSWORD, Role.INGEST)
        yield found


async def csrf(client: httpx.AsyncClient, path: str = "/login") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get(path)).text)
    assert found is not None
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    token = await csrf(client)
    return await client.post(
        "/login", data={"name": name, "password": password, "csrf_token": token}
    )


async def drafted(api: Api, ticket_id: str) -> None:
    """Post a ticket through the API and wait for its draft."""
    await api.client.post(
        "/api/v1/tickets",
        json={
            "ticket_id": ticket_id,
            "customer_id": "C1",
            "subject": "Refund",
            "body": "Please refund 19.99 EUR",
            "status": "open",
            "created_at": "2024-05-01",
        },
        headers=api.auth(Role.INGEST),
    )
    await api.wait_for(ticket_id)


async def test_pages_need_a_session_and_the_reviewer_role(api: Api) -> None:
    assert (await api.client.get("/")).headers["location"] == "/login"
    assert (await api.client.get("/overview")).status_code == 303
    signed = await sign_in(api.client, "ivo", PASSWORD)
    assert signed.status_code == 303
    assert (await api.client.get("/")).status_code == 403


async def test_sign_in_attempts_are_limited(api: Api) -> None:
    for _ in range(5):
        assert (await sign_in(api.client, "rui", "wrong password")).status_code == 401
    blocked = await sign_in(api.client, "rui", PASSWORD)
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.text


async def test_sign_in_attempts_sent_together_all_count(api: Api) -> None:
    """The password check takes time: attempts in flight together must not all pass the
    limit before any of them is counted."""
    clients = [api.another_client() for _ in range(12)]
    try:
        answers = await asyncio.gather(*(sign_in(c, "rui", "wrong password") for c in clients))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    codes = sorted(answer.status_code for answer in answers)
    assert codes.count(401) <= 5
    assert codes.count(429) >= 7


def test_the_limiter_forgets_names_without_recent_failures() -> None:
    limiter = SignInLimiter(limit=2, window=0.0)
    for index in range(100):
        assert not limiter.blocked(f"name:{index}")
        limiter.failed(f"name:{index}")
    assert not limiter.blocked("name:1")
    assert len(limiter) <= 1


async def test_reviewing_an_unknown_ticket_or_priority_is_refused_plainly(api: Api) -> None:
    await drafted(api, "T1")
    await sign_in(api.client, "rui", PASSWORD)
    token = await csrf(api.client, "/tickets/T1")
    fields = {"csrf_token": token, "action": "approve", "draft_version": "0" * 16}
    unknown = await api.client.post("/tickets/T9/review", data=fields)
    assert unknown.status_code == 404
    bad = await api.client.post("/tickets/T1/review", data={**fields, "priority": "asap"})
    assert bad.status_code == 422


async def test_a_login_form_without_its_token_is_refused(api: Api) -> None:
    await api.client.get("/login")
    answer = await api.client.post(
        "/login", data={"name": "rui", "password": PASSWORD, "csrf_token": "x"}
    )
    assert answer.status_code == 403


async def test_a_stale_draft_goes_back_to_the_ticket_with_the_reason(api: Api) -> None:
    await drafted(api, "T1")
    await sign_in(api.client, "rui", PASSWORD)
    token = await csrf(api.client, "/tickets/T1")
    answer = await api.client.post(
        "/tickets/T1/review",
        data={"csrf_token": token, "action": "approve", "draft_version": "0" * 16},
    )
    assert answer.status_code == 303
    assert "/tickets/T1?error=" in answer.headers["location"]
    page = await api.client.get(answer.headers["location"])
    assert "changed since it was read" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


async def test_a_second_review_of_a_decided_draft_goes_back_saying_who_decided(api: Api) -> None:
    """The form sent twice (a second tab, a back button): the draft is decided once."""
    await drafted(api, "T1")
    await sign_in(api.client, "rui", PASSWORD)
    form = (await api.client.get("/tickets/T1")).text
    assert 'id="review"' in form
    token = await csrf(api.client, "/tickets/T1")
    found = re.search(r'name="draft_version" value="([^"]+)"', form)
    assert found is not None
    fields = {"csrf_token": token, "draft_version": found.group(1)}
    first = await api.client.post(
        "/tickets/T1/review", data={**fields, "action": "approve", "reply": "First approval"}
    )
    assert (first.status_code, first.headers["location"]) == (303, "/")
    for again in (
        {"action": "approve", "reply": "Correction: sorry, the refund is 9.90"},
        {"action": "reject", "reason": "wrong tone"},
    ):
        answer = await api.client.post("/tickets/T1/review", data={**fields, **again})
        assert answer.status_code == 303
        assert "/tickets/T1?error=" in answer.headers["location"]
        page = await api.client.get(answer.headers["location"])
        assert re.search(r"already approved by rui at \d{4}-\d\d-\d\d \d\d:\d\d", page.text)
    # The ticket shows the decision and the reply as approved, and no form to review it.
    page = (await api.client.get("/tickets/T1")).text
    assert 'id="review"' not in page
    assert 'id="decision"' in page
    assert "First approval" in page
    assert "Correction" not in page
    detail = await api.wait_for("T1")
    assert [(r["action"], r["reply"]) for r in detail["reviews"]] == [  # type: ignore[attr-defined]
        ("approve", "First approval")
    ]


def replaying(api: Api, cookie: str) -> httpx.AsyncClient:
    """Another client sending a copy of a session cookie (a stolen one, a proxy's)."""
    client = api.another_client()
    client.cookies.set(SESSION_COOKIE, cookie)
    return client


async def refused(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 303
    assert page.headers["location"] == "/login"
    assert (await client.get("/api/v1/tickets")).status_code == 401


async def test_a_copy_of_the_cookie_is_refused_once_its_session_signed_out(api: Api) -> None:
    assert (await sign_in(api.client, "rui", PASSWORD)).status_code == 303
    copied = api.client.cookies[SESSION_COOKIE]
    async with replaying(api, copied) as thief:
        assert (await thief.get("/")).status_code == 200
        assert (await thief.get("/api/v1/tickets")).status_code == 200
        token = await csrf(api.client, "/")
        signed_out = await api.client.post("/logout", data={"csrf_token": token})
        assert signed_out.headers["location"] == "/login"
        await refused(thief)


async def test_a_new_password_ends_the_users_sessions(api: Api, tmp_path: Path) -> None:
    await sign_in(api.client, "rui", PASSWORD)
    copied = api.client.cookies[SESSION_COOKIE]
    async with api.another_client() as other:
        await sign_in(other, "ivo", PASSWORD)
        changed = await asyncio.to_thread(
            CliRunner().invoke,
            app,
            ["users", "password", "rui", "--password-stdin", "--db", str(tmp_path / "s.db")],
            input="another long password\n",
        )
        assert changed.exit_code == 0, changed.output
        async with replaying(api, copied) as thief:
            await refused(thief)
        await refused(api.client)
        # Another user's session goes on.
        assert (await other.get("/api/v1/tickets")).status_code == 403
    assert (await sign_in(api.client, "rui", "another long password")).status_code == 303
    assert (await api.client.get("/")).status_code == 200


async def test_a_disabled_user_is_signed_out_everywhere_at_once(api: Api, tmp_path: Path) -> None:
    await sign_in(api.client, "rui", PASSWORD)
    copied = api.client.cookies[SESSION_COOKIE]
    async with api.another_client() as other:
        await sign_in(other, "ivo", PASSWORD)
        disabled = await asyncio.to_thread(
            CliRunner().invoke, app, ["users", "disable", "rui", "--db", str(tmp_path / "s.db")]
        )
        assert disabled.exit_code == 0, disabled.output
        async with replaying(api, copied) as thief:
            await refused(thief)
        await refused(api.client)
        # Another user's session goes on.
        assert (await other.get("/api/v1/tickets")).status_code == 403
    again = await sign_in(api.client, "rui", PASSWORD)
    assert again.status_code == 401
    assert "Wrong name or password." in again.text
    await refused(api.client)


async def test_a_session_past_its_max_age_is_refused_though_its_cookie_is_still_signed(
    api: Api,
) -> None:
    # The cookie's own signature stays valid for hours; the session's row ends now.
    api.served.services.session_max_age = 1
    await sign_in(api.client, "rui", PASSWORD)
    assert (await api.client.get("/")).status_code == 200
    await asyncio.sleep(1.1)
    await refused(api.client)


async def test_a_card_number_in_a_review_stored_unmasked_is_shown_masked(api: Api) -> None:
    """Reviews stored before text was masked on the way in: the API, its 409 and the
    ticket's page show them masked."""
    await drafted(api, "T1")
    detail = await api.wait_for("T1")
    draft = detail["draft"]
    assert isinstance(draft, dict)
    url = "/api/v1/tickets/T1/review"
    first = {"action": "approve", "draft_version": draft["version"], "reply": "First approval"}
    approved = await api.client.post(url, json=first, headers=api.auth(Role.REVIEWER))
    assert approved.status_code == 201, approved.text
    card = "4111 1111 1111 1111"
    async with api.served.services.store.engine.begin() as connection:
        await connection.execute(
            schema.reviews.update().values(reply=f"Refunded to {card}.", draft=f"Draft {card}")
        )
    shown = await api.wait_for("T1")
    again = await api.client.post(url, json=first, headers=api.auth(Role.REVIEWER))
    assert again.status_code == 409, again.text
    await sign_in(api.client, "rui", PASSWORD)
    page = (await api.client.get("/tickets/T1")).text
    for text in (str(shown["reviews"]), str(shown["decision"]), again.text, page):
        assert "Refunded to **** 1111." in text
        assert "1111 1111 1111" not in text


async def test_a_user_disabled_while_signing_in_gets_no_session(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Disabled between the password check and the session: refused like a wrong
    password, and still signed out once enabled again."""
    check = SqlAccounts.sign_in

    async def then_disabled(self: SqlAccounts, name: str, password: str) -> Principal | None:
        found = await check(self, name, password)
        assert await self.disable_user(name)
        return found

    monkeypatch.setattr(SqlAccounts, "sign_in", then_disabled)
    answer = await sign_in(api.client, "rui", PASSWORD)
    monkeypatch.undo()
    assert answer.status_code == 401
    assert "Wrong name or password." in answer.text
    assert await api.accounts.enable_user("rui")
    await refused(api.client)
