"""`serve --helpdesk`: webhooks at /webhooks/<helpdesk> (signatures, duplicates,
failures), the drafts written back, and approvals written back after review, with a
connector that implements the port in the test (the vendors' own are tested against
their simulators)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.api.conftest import Api, served_api
from tests.helpdesks.fakes import NAME, FakeHelpdesk, signed, ticket

from supporter.api.webhooks import MAX_BODY_BYTES
from supporter.domain.errors import PermanentError
from supporter.domain.messages import DeadLetterMessage, WriteBackMessage
from supporter.domain.models import Analysis, Priority, Reply, Sentiment
from supporter.domain.people import Role
from supporter.helpdesks.base import HelpdeskUnavailable, WriteBackMode
from supporter.store.helpdesks import SqlHelpdeskState


@pytest.fixture
def helpdesk() -> FakeHelpdesk:
    return FakeHelpdesk(tickets={"1": ticket("1"), "2": ticket("2")})


@pytest.fixture
async def api(tmp_path: Path, helpdesk: FakeHelpdesk) -> AsyncIterator[Api]:
    async with served_api(
        f"sqlite+aiosqlite:///{tmp_path / 's.db'}",
        helpdesk=helpdesk,
        write_back="note",
        poll_interval=0,
    ) as found:
        yield found


async def post(api: Api, payload: dict[str, object], **overrides: str) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {**signed(body), "content-type": "application/json", **overrides}
    return await api.client.post(f"/webhooks/{NAME}", content=body, headers=headers)


async def written(helpdesk: FakeHelpdesk, count: int) -> None:
    for _ in range(200):
        if len(helpdesk.calls) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(helpdesk.calls)} write-backs, not {count}")


async def metrics(api: Api) -> str:
    return (await api.client.get("/metrics")).text


async def test_a_webhook_brings_a_ticket_whose_draft_is_written_back_as_a_note(
    api: Api, helpdesk: FakeHelpdesk
) -> None:
    answer = await post(api, {"delivery": "d1", "ticket_ids": ["1"]})
    assert answer.status_code == 200
    assert answer.json() == {"outcome": "accepted"}
    assert helpdesk.fetched == ["1"]
    await api.wait_for("1")
    await written(helpdesk, 1)
    [call] = helpdesk.calls
    assert call.mode is WriteBackMode.NOTE
    assert call.draft.note is not None
    assert "not sent to the customer" in call.draft.note
    # Counted once the stage has recorded the note's id, just after the call.
    wrote = 'supporter_helpdesk_write_backs_total{helpdesk="zendesk",outcome="written"} 1.0'
    for _ in range(100):
        text = await metrics(api)
        if wrote in text:
            break
        await asyncio.sleep(0.02)
    assert wrote in text
    assert 'supporter_helpdesk_webhooks_total{helpdesk="zendesk",outcome="accepted"} 1.0' in text


async def test_a_bad_or_missing_signature_is_a_401_that_is_counted(
    api: Api, helpdesk: FakeHelpdesk
) -> None:
    bad = await post(api, {"ticket_ids": ["1"]}, **{"x-demo-signature": "0" * 64})
    assert bad.status_code == 401
    assert bad.json() == {"detail": "webhook refused: bad_signature"}
    unsigned = await api.client.post(f"/webhooks/{NAME}", content=b'{"ticket_ids": ["1"]}')
    assert unsigned.status_code == 401
    old = json.dumps({"ticket_ids": ["1"]}).encode()
    replayed = await api.client.post(
        f"/webhooks/{NAME}", content=old, headers=signed(old, at=time.time() - 3600)
    )
    assert replayed.status_code == 401
    assert helpdesk.fetched == []
    text = await metrics(api)
    for reason in ("bad_signature", "missing_signature", "replay"):
        labels = f'helpdesk="zendesk",reason="{reason}"'
        assert f"supporter_helpdesk_webhooks_rejected_total{{{labels}}} 1.0" in text


async def test_a_delivery_sent_twice_is_taken_once(api: Api, helpdesk: FakeHelpdesk) -> None:
    first = await post(api, {"delivery": "d7", "ticket_ids": ["2"]})
    again = await post(api, {"delivery": "d7", "ticket_ids": ["2"]})
    assert first.json() == {"outcome": "accepted"}
    assert again.json() == {"outcome": "duplicate"}
    assert helpdesk.fetched == ["2"]
    await api.wait_for("2")
    await written(helpdesk, 1)
    # Another delivery of the same, unchanged ticket publishes nothing new either.
    await post(api, {"delivery": "d8", "ticket_ids": ["2"]})
    await asyncio.sleep(0.3)
    assert len(helpdesk.calls) == 1
    assert api.served.pipeline.stats.write_backs[(NAME, "written")] == 1


async def test_a_delivery_not_taken_is_a_503_and_taken_when_sent_again(
    api: Api, helpdesk: FakeHelpdesk
) -> None:
    real = helpdesk.fetch_ticket
    failures = [HelpdeskUnavailable("the helpdesk is down")]

    async def flaky(ticket_id: str) -> object:
        if failures:
            raise failures.pop()
        return await real(ticket_id)

    helpdesk.fetch_ticket = flaky  # type: ignore[method-assign,assignment]
    down = await post(api, {"delivery": "d9", "ticket_ids": ["1"]})
    assert down.status_code == 503
    again = await post(api, {"delivery": "d9", "ticket_ids": ["1"]})
    assert again.json() == {"outcome": "accepted"}
    await api.wait_for("1")


async def test_webhooks_of_a_helpdesk_not_connected_are_a_404(api: Api) -> None:
    answer = await api.client.post("/webhooks/freshdesk", content=b"{}")
    assert answer.status_code == 404


async def test_a_body_too_large_is_refused_before_it_is_read(api: Api) -> None:
    answer = await api.client.post(f"/webhooks/{NAME}", content=b"x" * (1024 * 1024 + 1))
    assert answer.status_code == 413


async def in_chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_body_sent_in_small_chunks_is_read_whole_up_to_the_cap(
    api: Api, helpdesk: FakeHelpdesk
) -> None:
    head = json.dumps({"delivery": "d-chunked", "ticket_ids": ["1"], "pad": ""}).encode()
    pad = b"x" * (MAX_BODY_BYTES - len(head))
    body = head.replace(b'"pad": ""', b'"pad": "' + pad + b'"')
    assert len(body) == MAX_BODY_BYTES
    # No content-length: the cap is enforced while reading, 64 bytes at a time.
    taken = await api.client.post(
        f"/webhooks/{NAME}", content=in_chunks(body, 64), headers=signed(body)
    )
    assert taken.status_code == 200, taken.text
    assert taken.json() == {"outcome": "accepted"}
    assert helpdesk.fetched == ["1"]
    over = body + b" "
    refused = await api.client.post(
        f"/webhooks/{NAME}", content=in_chunks(over, 64), headers=signed(over)
    )
    assert refused.status_code == 413
    assert helpdesk.fetched == ["1"]


async def test_after_review_writes_back_only_what_a_reviewer_approved(tmp_path: Path) -> None:
    helpdesk = FakeHelpdesk(tickets={"1": ticket("1"), "2": ticket("2")})
    async with served_api(
        f"sqlite+aiosqlite:///{tmp_path / 's.db'}",
        helpdesk=helpdesk,
        write_back="after-review",
        poll_interval=0,
    ) as api:
        await post(api, {"delivery": "a", "ticket_ids": ["1", "2"]})
        one = await api.wait_for("1")
        two = await api.wait_for("2")
        await asyncio.sleep(0.3)
        assert helpdesk.calls == []  # stored drafts wait for a reviewer
        reviewer = api.auth(Role.REVIEWER)
        for ticket_id, detail, action in (("1", one, "approve"), ("2", two, "reject")):
            draft = detail["draft"]
            assert isinstance(draft, dict)
            body: dict[str, object] = {"action": action, "draft_version": draft["version"]}
            if action == "approve":
                body["reply"] = "Approved and edited."
            else:
                body["reason"] = "wrong tone"
            answer = await api.client.post(
                f"/api/v1/tickets/{ticket_id}/review", json=body, headers=reviewer
            )
            assert answer.status_code == 201
        await written(helpdesk, 1)
        await asyncio.sleep(0.3)
        [call] = helpdesk.calls
        assert call.draft.ticket_id == "1"
        assert call.mode is WriteBackMode.AFTER_REVIEW
        assert call.draft.note is not None
        assert "Approved and edited." in call.draft.note
        assert "Approved by t-reviewer in the review screen." in call.draft.note
        assert not call.draft.public


async def test_a_restart_sends_the_write_backs_a_stopped_process_did_not(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    helpdesk = FakeHelpdesk(tickets={"1": ticket("1")})
    # Read only: the draft is stored, nothing is written back.
    async with served_api(url, helpdesk=helpdesk, poll_interval=0) as api:
        await post(api, {"delivery": "r1", "ticket_ids": ["1"]})
        await api.wait_for("1")
    assert helpdesk.calls == []
    async with served_api(url, helpdesk=helpdesk, write_back="note", poll_interval=0) as api:
        await written(helpdesk, 1)
        # Stopped only once the store has the write recorded: a stop between the
        # helpdesk's answer and that record would rightly send it again on restart.
        state = SqlHelpdeskState(api.served.services.store.engine)
        for _ in range(200):
            record = await state.write_back(helpdesk.name, "1")
            if record is not None and record.written_at is not None:
                break
            await asyncio.sleep(0.05)
    async with served_api(url, helpdesk=helpdesk, write_back="note", poll_interval=0) as api:
        await asyncio.sleep(0.3)
        assert api.served.pipeline.stats.write_backs_published == 0
    assert len(helpdesk.calls) == 1


async def test_a_write_backs_dead_letter_is_replayed_through_the_api(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    helpdesk = FakeHelpdesk(
        tickets={"1": ticket("1")}, failures_for={"1": [PermanentError("field missing")]}
    )
    async with served_api(url, helpdesk=helpdesk, write_back="note", poll_interval=0) as api:
        await post(api, {"delivery": "x", "ticket_ids": ["1"]})
        admin = api.auth(Role.ADMIN)
        letters: list[dict[str, object]] = []
        for _ in range(200):
            letters = (await api.client.get("/api/v1/dead-letters", headers=admin)).json()
            if letters:
                break
            await asyncio.sleep(0.05)
        [letter] = letters
        assert (letter["queue"], letter["ticket_id"]) == ("write-back", "1")
        # The draft stands: only writing it back failed.
        assert (await api.wait_for("1"))["status"] == "responded"
        replayed = await api.client.post(
            f"/api/v1/dead-letters/{letter['id']}/replay", headers=admin
        )
        assert replayed.status_code == 202
        await written(helpdesk, 1)
        for _ in range(100):
            if not (await api.client.get("/api/v1/dead-letters", headers=admin)).json():
                break
            await asyncio.sleep(0.05)
        assert (await api.client.get("/api/v1/dead-letters", headers=admin)).json() == []


async def test_without_a_write_back_its_dead_letter_is_not_replayed_here(tmp_path: Path) -> None:
    async with served_api(f"sqlite+aiosqlite:///{tmp_path / 's.db'}", poll_interval=0) as api:
        store = api.served.services.store
        await store.keep_dead_letters(
            [
                DeadLetterMessage(
                    stage="write-back",
                    queue="write-back",
                    reason="gave up",
                    error_type="HelpdeskUnavailable",
                    ticket_id="1",
                    original="{}",
                )
            ]
        )
        [letter] = await store.dead_letters()
        answer = await api.client.post(
            f"/api/v1/dead-letters/{letter.id}/replay", headers=api.auth(Role.ADMIN)
        )
        assert answer.status_code == 409
        assert "--helpdesk" in answer.json()["detail"]


async def test_a_write_back_this_server_must_not_guess_at_is_not_replayed_here(
    api: Api, helpdesk: FakeHelpdesk
) -> None:
    """An approved draft from before the public/note choice was recorded, and a
    write-back to another helpdesk: 409, nothing written (this server's own settings
    are not a guess to make for them)."""
    approved = WriteBackMessage(
        origin_id="review-1",
        helpdesk=NAME,
        mode="after-review",
        ticket=ticket("1"),
        analysis=Analysis(
            category="billing",
            priority=Priority.HIGH,
            sentiment=Sentiment.NEGATIVE,
            language="en",
            summary="charged twice",
            confidence=0.9,
            needs_human=False,
        ),
        reply=Reply(body="We refunded it."),
        approved_by="bob",
    )
    elsewhere = approved.model_copy(update={"helpdesk": "freshdesk", "public_reply": False})
    store = api.served.services.store
    await store.keep_dead_letters(
        [
            DeadLetterMessage(
                stage="write-back",
                queue="write-back",
                reason="gave up",
                error_type="HelpdeskUnavailable",
                ticket_id=ticket_id,
                original=message.model_dump_json(),
            )
            for ticket_id, message in (("1", approved), ("2", elsewhere))
        ]
    )
    unrecorded, other = await store.dead_letters()
    admin = api.auth(Role.ADMIN)
    answer = await api.client.post(f"/api/v1/dead-letters/{unrecorded.id}/replay", headers=admin)
    assert answer.status_code == 409
    assert f"dlq replay --id {unrecorded.id} --public-replies" in answer.json()["detail"]
    answer = await api.client.post(f"/api/v1/dead-letters/{other.id}/replay", headers=admin)
    assert answer.status_code == 409
    assert "freshdesk" in answer.json()["detail"]
    await asyncio.sleep(0.2)
    assert helpdesk.calls == []
    assert len(await store.dead_letters()) == 2


async def test_a_slow_delivery_is_answered_202_and_still_taken(
    api: Api, helpdesk: FakeHelpdesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("supporter.pipeline.helpdesk_intake.ANSWER_WITHIN", 0.05)
    real = helpdesk.fetch_ticket
    failures = [HelpdeskUnavailable("the helpdesk is slow, then down")]

    async def slow(ticket_id: str) -> object:
        await asyncio.sleep(0.3)
        if ticket_id == "2" and failures:
            raise failures.pop()
        return await real(ticket_id)

    helpdesk.fetch_ticket = slow  # type: ignore[method-assign,assignment]
    answer = await post(api, {"delivery": "s1", "ticket_ids": ["1"]})
    assert answer.status_code == 202
    await api.wait_for("1")

    # Failing after its 202: counted, and the delivery is forgotten so a resend is taken.
    late = await post(api, {"delivery": "s2", "ticket_ids": ["2"]})
    assert late.status_code == 202
    failed = 'supporter_helpdesk_webhooks_total{helpdesk="zendesk",outcome="failed"} 1.0'
    for _ in range(100):
        if failed in await metrics(api):
            break
        await asyncio.sleep(0.05)
    assert failed in await metrics(api)
    again = await post(api, {"delivery": "s2", "ticket_ids": ["2"]})
    assert again.status_code == 202
    await api.wait_for("2")
