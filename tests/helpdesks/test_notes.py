"""The draft's marker and the times a search for a note written before a crash stops at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from supporter.helpdesks.notes import iso_time, reaches_before, unix_time

CLAIM = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def test_a_page_reaches_before_the_claim_when_one_of_its_messages_is_older() -> None:
    newer, older = CLAIM + timedelta(seconds=1), CLAIM - timedelta(seconds=1)
    assert reaches_before([newer, older], CLAIM)
    assert not reaches_before([newer, CLAIM], CLAIM)
    # A message whose time cannot be read neither ends the search nor stops it alone.
    assert not reaches_before([None, newer], CLAIM)
    # Without a claim the whole ticket is searched.
    assert not reaches_before([older], None)


def test_times_as_helpdesks_write_them() -> None:
    assert iso_time("2026-12-07T01:00:00Z") == CLAIM
    assert iso_time("2026-12-07T01:00:00.000Z") == CLAIM  # Zammad's
    assert iso_time("2026-12-07T02:00:00+01:00") == CLAIM
    offset = iso_time("2026-12-07T02:00:00+01:00")
    assert offset is not None
    assert offset.tzinfo is UTC


def test_a_time_without_a_zone_is_utc_as_every_helpdesk_documents() -> None:
    """Not dropped: a page of such times still tells a search it went back far enough."""
    assert iso_time("2026-12-07T01:00:00") == CLAIM
    assert iso_time("2026-12-07T01:00:00.000") == CLAIM
    assert reaches_before([iso_time("2026-12-07T00:59:59")], CLAIM)
    assert not reaches_before([iso_time("2026-12-07T01:00:01")], CLAIM)
    assert unix_time(CLAIM.timestamp()) == CLAIM
    assert unix_time(int(CLAIM.timestamp())) == CLAIM


def test_a_time_that_cannot_be_read_is_none() -> None:
    assert iso_time("yesterday") is None
    assert iso_time(None) is None
    assert iso_time(1765069200) is None
    assert iso_time("") is None
    assert unix_time("1765069200") is None
    assert unix_time(True) is None
