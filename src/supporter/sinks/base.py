"""The result-sink port: takes finished results in batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from supporter.domain.models import TicketResult


class ResultSink(Protocol):
    def write(self, results: Sequence[TicketResult]) -> None: ...

    def close(self) -> None: ...
