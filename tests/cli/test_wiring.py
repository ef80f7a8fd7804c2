"""Choices made from settings."""

from __future__ import annotations

from supporter.cli.wiring import model_timeouts
from supporter.config import Settings


def test_flex_waits_longer_by_default_and_explicit_timeouts_win() -> None:
    assert model_timeouts(Settings()) == (30.0, 120.0)
    # OpenAI's flex guide: flex requests may queue; raise the timeout to 15 minutes.
    assert model_timeouts(Settings(service_tier="flex")) == (900.0, 960.0)
    assert model_timeouts(Settings(service_tier="flex", request_timeout=60)) == (60.0, 120.0)
    assert model_timeouts(Settings(request_timeout=5, ticket_deadline=20)) == (5.0, 20.0)
