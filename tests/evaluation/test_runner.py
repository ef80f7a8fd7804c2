"""Evaluating a provider on labelled examples: every example asked, failures and cost counted."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from tests.llm.stubs import PaidModel, StubClassifier

from supporter.domain.errors import FatalError, PermanentError, TransientError
from supporter.domain.models import Analysis, Priority, Sentiment
from supporter.evaluation.runner import evaluate
from supporter.llm.base import AnalysisRequest, Category, ModelResponse
from supporter.llm.cascade import CascadeProvider
from supporter.llm.local import LocalProvider
from supporter.pipeline.retry import RetryPolicy
from supporter.sources.labelled import LabelledExample

TAXONOMY = [Category(name=name) for name in ("billing", "refund")]
NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)


class Scripted:
    """Answers by the text: a (category, confidence), or errors to raise in turn first."""

    name = "scripted"
    version = "scripted-1"

    def __init__(self, script: dict[str, Any]) -> None:
        self.script = script
        self.calls = 0

    async def analyze(self, request: AnalysisRequest) -> ModelResponse[Analysis]:
        self.calls += 1
        answer = self.script[request.ticket.body]
        if isinstance(answer, list) and answer and isinstance(answer[0], Exception):
            raise answer.pop(0)
        category, confidence = answer[-1] if isinstance(answer, list) else answer
        value = Analysis(
            category=category,
            priority=Priority.LOW,
            sentiment=Sentiment.NEUTRAL,
            language="en",
            summary="",
            confidence=confidence,
            needs_human=False,
        )
        return ModelResponse[Analysis](value=value, provider=self.name)

    async def draft_reply(self, request: Any) -> Any:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def examples(*rows: tuple[str, str]) -> list[LabelledExample]:
    return [LabelledExample(line, text, label) for line, (text, label) in enumerate(rows, 2)]


async def test_every_example_is_scored_and_failures_count_as_wrong() -> None:
    provider = Scripted(
        {
            "fee question": ("billing", 0.9),
            "money back": ("refund", 0.8),
            "flaky": [TransientError("timeout"), ("refund", 0.6)],
            "refused": [PermanentError("model refused")],
            "wrong": ("billing", 0.7),
        }
    )
    report = await evaluate(
        provider,
        TAXONOMY,
        examples(
            ("fee question", "billing"),
            ("money back", "refund"),
            ("flaky", "refund"),
            ("refused", "refund"),
            ("wrong", "refund"),
            ("money back", "mystery"),
        ),
        file="holdout.csv",
        policy=NO_WAIT,
    )
    scores = report.scores
    assert (scores.examples, scores.answered, scores.failed) == (6, 5, 1)
    assert scores.accuracy == pytest.approx(3 / 6)
    assert provider.calls == 7  # the transient failure was tried again
    assert report.errors == ["model refused"]
    assert report.unknown_labels == {"mystery": 1}
    assert report.provider == "scripted"
    assert report.file == "holdout.csv"
    assert report.tickets_per_second > 0
    assert report.cascade is None


async def test_a_fatal_error_stops_the_evaluation() -> None:
    provider = Scripted({"a": [FatalError("quota exhausted")], "b": ("billing", 0.9)})
    with pytest.raises(FatalError, match="quota"):
        await evaluate(provider, TAXONOMY, examples(("a", "billing"), ("b", "billing")))


async def test_the_cascade_reports_what_it_spared() -> None:
    table = {"sure": [0.95, 0.05], "also sure": [0.02, 0.98], "unsure": [0.55, 0.45]}
    local = LocalProvider(StubClassifier(["billing", "refund"], table), TAXONOMY)
    paid = PaidModel("refund", cost="0.02")
    report = await evaluate(
        CascadeProvider(local, paid, threshold=0.9),
        TAXONOMY,
        examples(("sure", "billing"), ("also sure", "billing"), ("unsure", "refund")),
    )
    cascade = report.cascade
    assert cascade is not None
    assert (cascade.model_free, cascade.paid_answers) == (2, 1)
    assert cascade.model_free_share == pytest.approx(2 / 3)
    assert cascade.model_free_accuracy == 0.5
    assert cascade.estimated_saving_usd == Decimal("0.04")
    assert report.usage.cost_usd == Decimal("0.02")
    by = {entry.provider: entry.count for entry in report.scores.answered_by}
    assert by == {"cascade:local": 2, "cascade:paid:model": 1}


async def test_nothing_to_evaluate_is_an_error() -> None:
    with pytest.raises(ValueError, match="no labelled examples"):
        await evaluate(Scripted({}), TAXONOMY, [])
