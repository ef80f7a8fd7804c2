"""The checks every connector's webhook verification is made of."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from supporter.helpdesks.base import REPLAY_WINDOW_SECONDS, WebhookRejected, WebhookRequest
from supporter.helpdesks.webhooks import (
    check_age,
    check_signature,
    signature_headers,
    webhook_key,
)

ARRIVED = datetime(2026, 1, 1, 12, tzinfo=UTC)


def request(**headers: str) -> WebhookRequest:
    return WebhookRequest(headers=headers, body=b"{}", received_at=ARRIVED)


def test_without_a_secret_the_refusal_names_the_variable_to_set() -> None:
    with pytest.raises(WebhookRejected, match="SUPPORTER_DEMO_WEBHOOK_SECRET") as refused:
        webhook_key(None, "SUPPORTER_DEMO_WEBHOOK_SECRET")
    assert refused.value.reason == "not_configured"
    assert webhook_key(SecretStr("s3cret"), "SUPPORTER_DEMO_WEBHOOK_SECRET") == b"s3cret"


def test_every_named_header_is_required_whatever_its_case() -> None:
    assert signature_headers(request(**{"x-sig": "a", "x-at": "1"}), "X-Sig", "X-At") == ("a", "1")
    for headers in ({"x-sig": "a"}, {"x-sig": "", "x-at": "1"}, {}):
        with pytest.raises(WebhookRejected, match="X-Sig or X-At") as refused:
            signature_headers(request(**headers), "X-Sig", "X-At")
        assert refused.value.reason == "missing_signature"


def test_a_signature_matches_exactly_and_a_refusal_shows_neither_side() -> None:
    check_signature(" sha1=abc ", "sha1=abc", "X-Sig")
    check_signature("abc", b"abc", "X-Sig")
    for given in ("sha1=abd", "sha1=ab", ""):
        with pytest.raises(WebhookRejected) as refused:
            check_signature(given, "sha1=abc", "X-Sig")
        assert refused.value.reason == "bad_signature"
        assert "abc" not in str(refused.value)
        assert "X-Sig" in str(refused.value)


@pytest.mark.parametrize("seconds", [0.0, REPLAY_WINDOW_SECONDS, -REPLAY_WINDOW_SECONDS])
def test_a_signature_within_the_window_either_way_is_fresh(seconds: float) -> None:
    check_age(request(), ARRIVED - timedelta(seconds=seconds))


@pytest.mark.parametrize("seconds", [REPLAY_WINDOW_SECONDS + 1, -REPLAY_WINDOW_SECONDS - 1])
def test_a_signature_older_or_newer_than_the_window_is_a_replay(seconds: float) -> None:
    with pytest.raises(WebhookRejected) as refused:
        check_age(request(), ARRIVED - timedelta(seconds=seconds))
    assert refused.value.reason == "replay"
