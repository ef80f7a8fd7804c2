"""Results as JSON Lines: one object per ticket, written as soon as it is stored."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from supporter.domain.models import TicketResult


class JsonlResultSink:
    def __init__(self, path: Path, *, append: bool = False) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a" if append else "w", encoding="utf-8")

    def write(self, results: Sequence[TicketResult]) -> None:
        self._file.writelines(result.model_dump_json() + "\n" for result in results)
        # Flushed per batch so `tail -f` shows progress and a crash loses no stored line.
        self._file.flush()

    def close(self) -> None:
        self._file.close()
