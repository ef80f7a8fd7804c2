"""Test doubles for the model port: the real offline provider with failures injected."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.domain.models import Analysis, Reply
from supporter.llm.base import AnalysisRequest, ModelResponse, ReplyRequest
from supporter.llm.offline import OfflineProvider


class FlakyProvider:
    """Raises `error(ticket_id)` for a ticket's first `failures[ticket_id]` analyze calls."""

    def __init__(
        self,
        failures: dict[str, int],
        error: Callable[[str], Exception],
        *,
        on_reply: bool = False,
    ) -> None:
        self._inner = OfflineProvider(list(DEFAULT_TAXONOMY))
        self._failures = failures
        self._error = error
        self._on_reply = on_reply
        self.calls: Counter[str] = Counter()

    @property
    def name(self) -> str:
        return "offline"

    @property
    def version(self) -> str:
        return self._inner.version

    def _maybe_fail(self, ticket_id: str) -> None:
        self.calls[ticket_id] += 1
        if self.calls[ticket_id] <= self._failures.get(ticket_id, 0):
            raise self._error(ticket_id)

    async def analyze(self, request: AnalysisRequest) -> ModelResponse[Analysis]:
        if not self._on_reply:
            self._maybe_fail(request.ticket.ticket_id)
        return await self._inner.analyze(request)

    async def draft_reply(self, request: ReplyRequest) -> ModelResponse[Reply]:
        if self._on_reply:
            self._maybe_fail(request.ticket.ticket_id)
        return await self._inner.draft_reply(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
