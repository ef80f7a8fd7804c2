"""How values are written: times (kept as seconds since `EPOCH`), amounts, e-mail names."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from functools import cache

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
DAY = 86_400
HOUR = 3_600
MINUTE = 60


@cache
def email_name(name: str) -> str:
    """ "Müller" -> "muller", "O'Brien" -> "obrien"."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(char for char in decomposed if char.isascii() and char.isalnum()).lower()


def amount_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def utc_time(at: int, style: str) -> str:
    iso = (EPOCH + timedelta(seconds=at)).isoformat(timespec="seconds")  # ...T..:..:..+00:00
    if style == "zulu":
        return iso[:19] + "Z"
    if style == "naive":
        return iso[:19]
    if style == "naive_space":
        return iso[:10] + " " + iso[11:19]
    if style == "date":
        return iso[:10]
    return iso


def ticket_time(at: int, style: str, zone: timezone) -> str:
    if style == "zoned":
        return (EPOCH + timedelta(seconds=at)).astimezone(zone).isoformat(timespec="seconds")
    return utc_time(at, style)
