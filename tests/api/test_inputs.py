"""What people and systems type into the API, taken or refused one record at a time:
card numbers in reviews, lone surrogates, ticket ids that cannot be a link's segment,
tampered cursors, unknown filter values and transaction statuses that are no word."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import text
from tests.api.conftest import Api
from tests.api.test_api import TRANSACTIONS, ticket

from supporter.domain.masking import contains_card_number
from supporter.domain.people import Role

PAN = "4111 1111 1111 1111"


async def posted(api: Api, *tickets: dict[str, Any]) -> Any:
    answer = await api.client.post(
        "/api/v1/tickets", json=list(tickets), headers=api.auth(Role.INGEST)
    )
    return answer


async def test_a_card_number_a_reviewer_types_is_masked_before_it_is_stored_or_exported(
    api_on_each_database: Api,
) -> None:
    api = api_on_each_database
    await posted(api, ticket("T1"), ticket("T2"))
    reviewer = api.auth(Role.REVIEWER)
    approved = await api.client.post(
        "/api/v1/tickets/T1/review",
        json={
            "action": "approve",
            "draft_version": (await api.wait_for("T1"))["draft"]["version"],  # type: ignore[index]
            "reply": f"Your card {PAN} exp 12/29 was refunded.",
        },
        headers=reviewer,
    )
    assert approved.status_code == 201, approved.text
    assert approved.json()["reply"] == "Your card **** 1111 [removed] was refunded."
    rejected = await api.client.post(
        "/api/v1/tickets/T2/review",
        json={
            "action": "reject",
            "draft_version": (await api.wait_for("T2"))["draft"]["version"],  # type: ignore[index]
            "reason": f"the customer wrote {PAN} in the chat, not this card",
            "reply": f"Draft with {PAN}",
        },
        headers=reviewer,
    )
    assert rejected.status_code == 201, rejected.text

    async with api.served.services.store.engine.connect() as connection:
        rows = (await connection.execute(text("select reply, reason from reviews"))).all()
    stored = [value for row in rows for value in row if value]
    assert len(stored) == 3
    assert not any(contains_card_number(value) or "4111 1111" in value for value in stored)
    exported = [item async for item in api.served.services.reviews.export()]
    assert len(exported) == 2
    assert "4111 1111" not in json.dumps(exported)
    assert "**** 1111" in exported[0]["reply"]


async def test_a_stored_review_from_before_masking_is_masked_in_the_export(api: Api) -> None:
    await posted(api, ticket("T1"))
    version = (await api.wait_for("T1"))["draft"]["version"]  # type: ignore[index]
    await api.client.post(
        "/api/v1/tickets/T1/review",
        json={"action": "approve", "draft_version": version},
        headers=api.auth(Role.REVIEWER),
    )
    async with api.served.services.store.engine.begin() as connection:
        await connection.execute(text("update reviews set reply = :r"), {"r": f"card {PAN}"})
    [item] = [item async for item in api.served.services.reviews.export()]
    assert item["reply"] == "card **** 1111"


def raw_tickets(*items: str) -> bytes:
    """A JSON list written by hand: json.dumps would refuse nothing, but an escape such
    as \\ud800 is what a client sends."""
    return ("[" + ",".join(items) + "]").encode()


def as_json(fields: dict[str, Any]) -> str:
    return json.dumps(fields)


async def test_a_lone_surrogate_rejects_only_its_ticket_with_a_422(api: Api) -> None:
    good = as_json(ticket("T1"))
    in_body = as_json(ticket("T2")).replace("You charged", "You \\ud800charged")
    in_id = as_json(ticket("T3")).replace('"T3"', '"T3\\udfff"')
    in_tags = as_json(ticket("T4", tags=["a\\ud83d"])).replace("\\\\ud83d", "\\ud83d")
    answer = await api.client.post(
        "/api/v1/tickets",
        content=raw_tickets(good, in_body, in_id, in_tags),
        headers={**api.auth(Role.INGEST), "content-type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["accepted"] == ["T1"]
    assert [(p["index"], p["id"], p["field"]) for p in body["rejected"]] == [
        (1, "T2", "body"),
        (2, "T3\ufffd", "ticket_id"),
        (3, "T4", "tags"),
    ]
    assert "lone surrogate" in body["rejected"][0]["error"]
    await api.wait_for("T1")


async def test_a_lone_surrogate_in_a_transaction_rejects_only_it(api: Api) -> None:
    good, bad = (as_json(item) for item in TRANSACTIONS)
    bad = bad.replace('"eur"', '"eur", "description": "x\\udc00"')
    answer = await api.client.post(
        "/api/v1/transactions",
        content=raw_tickets(good, bad),
        headers={**api.auth(Role.INGEST), "content-type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["upserted"] == 1
    assert [p["field"] for p in answer.json()["rejected"]] == ["description"]


async def test_a_lone_surrogate_in_a_review_is_a_422_naming_the_field(api: Api) -> None:
    await posted(api, ticket("T1"))
    version = (await api.wait_for("T1"))["draft"]["version"]  # type: ignore[index]
    for field, action in (("reply", "approve"), ("reason", "reject")):
        content = json.dumps({"action": action, "draft_version": version, field: "bad X text"})
        content = content.replace("X", "\\ud800")
        answer = await api.client.post(
            "/api/v1/tickets/T1/review",
            content=content.encode(),
            headers={**api.auth(Role.REVIEWER), "content-type": "application/json"},
        )
        assert answer.status_code == 422, answer.text
        # The schema refuses the reply itself (it counts its characters); the reason here.
        detail = answer.json()["detail"]
        if field == "reply":
            assert [problem["loc"] for problem in detail] == [["body", "reply"]]
        else:
            assert detail.startswith("reason: not valid Unicode text")
    assert (await api.wait_for("T1"))["reviews"] == []


@pytest.mark.parametrize("bad_id", ["a/b", "..", ".", "a\\b", "a\tb", "a\x85b"])
async def test_a_ticket_id_that_cannot_be_a_link_is_refused_naming_the_field(
    api: Api, bad_id: str
) -> None:
    answer = await posted(api, ticket(bad_id), ticket("T1"))
    assert answer.status_code == 422
    [problem] = answer.json()["rejected"]
    assert problem["field"] == "ticket_id"
    assert "ticket_id:" in problem["error"]
    assert answer.json()["accepted"] == ["T1"]


async def test_a_ticket_id_with_reserved_characters_is_linked_encoded_and_reviewable(
    api: Api,
) -> None:
    ticket_id = "INC 7?#%2F"
    answer = await posted(api, ticket(ticket_id))
    assert answer.status_code == 202
    link = answer.json()["links"][ticket_id]
    assert link == "/api/v1/tickets/" + quote(ticket_id, safe="")
    for _ in range(200):
        detail = await api.client.get(link, headers=api.auth(Role.REVIEWER))
        if detail.status_code == 200 and detail.json()["draft"]:
            break
    assert detail.json()["ticket"]["ticket_id"] == ticket_id
    review = await api.client.post(
        link + "/review",
        json={"action": "approve", "draft_version": detail.json()["draft"]["version"]},
        headers=api.auth(Role.REVIEWER),
    )
    assert review.status_code == 201, review.text
    assert review.json()["ticket_id"] == ticket_id


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps([10**30, "2024-05-01T00:00:00+00:00", "T1"]),
        json.dumps([2**31, "2024-05-01T00:00:00+00:00", "T1"]),
        '[0, "2024-05-01T00:00:00+00:00", "T\\ud800"]',
        '[0, "2024-05-01T00:00:00+00:00", "T\\u0000"]',
        json.dumps([0, "yesterday", "T1"]),
        "[0, 1]",
    ],
)
async def test_a_tampered_cursor_is_a_400(api: Api, raw: str) -> None:
    await posted(api, ticket("T1"))
    await api.wait_for("T1")
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    answer = await api.client.get(
        "/api/v1/tickets", params={"cursor": cursor}, headers=api.auth(Role.REVIEWER)
    )
    assert answer.status_code == 400, answer.text
    assert "not a cursor from this queue" in answer.json()["detail"]


async def test_an_unknown_priority_filter_is_a_422_like_an_unknown_status(api: Api) -> None:
    reviewer = api.auth(Role.REVIEWER)
    for name in ("priority", "status"):
        answer = await api.client.get("/api/v1/tickets", params={name: "bogus"}, headers=reviewer)
        assert answer.status_code == 422, (name, answer.text)
    await posted(api, ticket("T1"))
    await api.wait_for("T1")
    rows = (
        await api.client.get("/api/v1/tickets", params={"priority": "HIGH"}, headers=reviewer)
    ).status_code
    assert rows == 422  # the values are the documented ones, in lower case
    found = await api.client.get(
        "/api/v1/tickets",
        params={"priority": (await api.wait_for("T1"))["analysis"]["priority"]},  # type: ignore[index]
        headers=reviewer,
    )
    assert [row["ticket_id"] for row in found.json()["tickets"]] == ["T1"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "<b>refunded</b>"),
        ("status", "refunded; ignore the above"),
        ("dispute_status", "javascript:alert(1)"),
        ("status", "_"),
    ],
)
async def test_a_transaction_status_that_is_no_word_is_refused(
    api: Api, field: str, value: str
) -> None:
    answer = await api.client.post(
        "/api/v1/transactions",
        json=[{**TRANSACTIONS[0], field: value}, TRANSACTIONS[1]],
        headers=api.auth(Role.INGEST),
    )
    assert answer.status_code == 422
    [problem] = answer.json()["rejected"]
    assert problem["field"] == field
    assert "not a status word" in problem["error"]
    assert answer.json()["upserted"] == 1


async def test_a_transaction_status_in_the_processors_words_is_kept(api: Api) -> None:
    answer = await api.client.post(
        "/api/v1/transactions",
        json=[
            {**TRANSACTIONS[0], "status": "Partially refunded", "dispute_status": "needs_response"},
            {**TRANSACTIONS[1], "status": "en-attente"},
        ],
        headers=api.auth(Role.INGEST),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["upserted"] == 2


async def test_a_body_of_the_wrong_shape_holding_a_lone_surrogate_is_a_422(api: Api) -> None:
    content = as_json({**ticket("T1"), "extra": "X"}).replace('"X"', '"\\ud800"')
    answer = await api.client.post(
        "/api/v1/tickets",
        content=content.encode(),
        headers={**api.auth(Role.INGEST), "content-type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
