"""A webhook the helpdesk signed whose body cannot be read is a 400 naming why (the
helpdesk's log then shows a payload to fix, not a secret to check); a bad signature stays
a 401."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.api.conftest import Api, served_api
from tests.helpdesks.fakes import NAME, FakeHelpdesk, signed, ticket


@pytest.fixture
def helpdesk() -> FakeHelpdesk:
    return FakeHelpdesk(tickets={"1": ticket("1")})


@pytest.fixture
async def api(tmp_path: Path, helpdesk: FakeHelpdesk) -> AsyncIterator[Api]:
    async with served_api(
        f"sqlite+aiosqlite:///{tmp_path / 's.db'}", helpdesk=helpdesk, write_back="note"
    ) as found:
        yield found


async def send(api: Api, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await api.client.post(
        f"/webhooks/{NAME}", content=body, headers={**headers, "content-type": "application/json"}
    )


async def test_a_signed_body_that_is_not_json_is_a_400_with_the_reason(
    api: Api, helpdesk: FakeHelpdesk
) -> None:
    answer = await send(api, b"not json", signed(b"not json"))
    assert answer.status_code == 400
    assert answer.json() == {"detail": "webhook refused: bad_payload: not JSON"}
    unsigned = await send(api, b"not json", {"x-demo-signature": "0" * 64, "x-demo-timestamp": "1"})
    assert unsigned.status_code == 401
    assert helpdesk.fetched == []
    metrics = (await api.client.get("/metrics")).text
    labels = 'helpdesk="zendesk",reason="bad_payload"'
    assert f"supporter_helpdesk_webhooks_rejected_total{{{labels}}} 1.0" in metrics


@pytest.mark.parametrize(
    "body",
    [
        b'{"ticket_ids": ["1\\ud800"]}',
        b'{"delivery": "d\\udfff", "ticket_ids": ["1"]}',
    ],
)
async def test_a_lone_surrogate_in_a_signed_webhooks_ids_is_a_400_not_a_crash(
    api: Api, helpdesk: FakeHelpdesk, body: bytes
) -> None:
    answer = await send(api, body, signed(body))
    assert answer.status_code == 400, answer.text
    assert "not valid Unicode text" in answer.json()["detail"]
    assert helpdesk.fetched == []
