"""Backlogs through OpenAI's Batch API at half price (`supporter run --batch`)."""

from supporter.llm.batch.batcher import (
    MAX_BYTES,
    MAX_REQUESTS,
    TERMINAL,
    BatchAnswer,
    Batcher,
    BatchLedger,
    BatchProgress,
    BatchSettings,
)
from supporter.llm.batch.provider import (
    BatchProvider,
    BatchRequestError,
    batch_client,
)

__all__ = [
    "MAX_BYTES",
    "MAX_REQUESTS",
    "TERMINAL",
    "BatchAnswer",
    "BatchLedger",
    "BatchProgress",
    "BatchProvider",
    "BatchRequestError",
    "BatchSettings",
    "Batcher",
    "batch_client",
]
