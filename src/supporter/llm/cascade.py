"""The cascade: the local model answers where it is sure enough, a language model elsewhere.

A ticket whose local confidence (a calibrated probability) reaches
`threshold` is analysed and answered by the local provider, with no model
call; any other goes to the remote provider for both steps. Which one answered
is recorded in the result's `provider`: `cascade:local` or `cascade:` and the
remote's name (`cascade:openai:gpt-6-luna`).

The reply step decides again rather than remembering: the local model's
probability of the analysed category reaches the threshold exactly when the
local model answered the analysis (the remote's category, chosen where no
label reached it, cannot). So the stages may run in different processes.
"""

from __future__ import annotations

from typing import Final, TypeVar

from supporter.domain.models import Analysis, Reply
from supporter.llm.base import AnalysisRequest, ModelProvider, ModelResponse, ReplyRequest
from supporter.llm.local import LocalProvider

CASCADE_PREFIX: Final = "cascade:"
LOCAL_ANSWER: Final = CASCADE_PREFIX + "local"
"""The `provider` of a result the local model answered: no model call was made."""

T = TypeVar("T", Analysis, Reply)


class CascadeProvider:
    def __init__(self, local: LocalProvider, remote: ModelProvider, threshold: float) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"the cascade's threshold must be within [0, 1], not {threshold}")
        self._local = local
        self._remote = remote
        self._threshold = threshold

    @property
    def name(self) -> str:
        return "cascade"

    @property
    def version(self) -> str:
        return f"cascade:{self._threshold:g}:{self._local.version}:{self._remote.version}"

    @property
    def threshold(self) -> float:
        return self._threshold

    async def analyze(self, request: AnalysisRequest) -> ModelResponse[Analysis]:
        answer = await self._local.analyze(request)
        if answer.value.confidence < self._threshold:
            answer = await self._remote.analyze(request)
        return _relabel(answer)

    async def draft_reply(self, request: ReplyRequest) -> ModelResponse[Reply]:
        confidence = await self._local.confidence(request.ticket, request.analysis.category)
        drafter = self._local if confidence >= self._threshold else self._remote
        return _relabel(await drafter.draft_reply(request))

    async def aclose(self) -> None:
        try:
            await self._remote.aclose()
        finally:
            await self._local.aclose()


def _relabel(answer: ModelResponse[T]) -> ModelResponse[T]:
    return answer.model_copy(update={"provider": CASCADE_PREFIX + answer.provider})
