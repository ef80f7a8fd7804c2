"""Rejected input rows as JSON Lines: source, file, line, reason and the (masked) raw row."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from supporter.domain.models import Reject


class JsonlRejectWriter:
    """A `RejectHandler` that writes each reject to a file (or only counts, without one).

    The file is created even when nothing is rejected, so an old one never lingers.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("w", encoding="utf-8")

    def __call__(self, reject: Reject) -> None:
        if self._file is None:
            return
        self._file.write(reject.model_dump_json() + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
