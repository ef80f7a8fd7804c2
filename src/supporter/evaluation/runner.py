"""Have a provider classify labelled examples, as the analyze stage would, and score it.

Each example becomes an open ticket with the text as its body and no
transactions, and goes through the same `Analyzer` as in the pipeline. A
transient failure is retried under the pipeline's policy; a permanent one
leaves the example without an answer (counted wrong); a fatal one (quota,
credentials) stops the evaluation.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from pydantic import BaseModel, ConfigDict

from supporter.analysis.analyzer import Analyzer
from supporter.domain.errors import FatalError, PermanentError, TransientError
from supporter.domain.models import Ticket, Usage
from supporter.evaluation.metrics import Prediction, Scores, score
from supporter.llm.base import Category, ModelProvider
from supporter.llm.cascade import CASCADE_PREFIX, LOCAL_ANSWER
from supporter.pipeline.retry import RetryPolicy
from supporter.sources.labelled import LabelledExample

_CREATED_AT: Final = datetime(2024, 1, 1, tzinfo=UTC)
_SHOWN_ERRORS: Final = 5

Progress = Callable[[int, int], None]
"""Told (examples done, examples in all) as the evaluation goes."""


class CascadeFigures(BaseModel):
    """What the cascade's local model spared, as in the run summary."""

    model_config = ConfigDict(frozen=True)

    model_free: int
    model_free_share: float
    model_free_accuracy: float | None
    paid_answers: int
    # The mean cost of the paid LLM answers times the model-free ones; None when nothing was paid.
    estimated_saving_usd: Decimal | None


class EvalReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    provider: str
    provider_version: str
    skipped_rows: int
    # Labels in the file that are not in the provider's taxonomy: it can never answer them.
    unknown_labels: dict[str, int]
    scores: Scores
    seconds: float
    tickets_per_second: float
    usage: Usage
    cascade: CascadeFigures | None
    errors: list[str]


@dataclass(frozen=True)
class _Outcome:
    prediction: Prediction
    usage: Usage
    error: str | None


async def evaluate(
    provider: ModelProvider,
    taxonomy: Sequence[Category],
    examples: Sequence[LabelledExample],
    *,
    file: str = "",
    skipped_rows: int = 0,
    concurrency: int = 8,
    policy: RetryPolicy | None = None,
    progress: Progress | None = None,
) -> EvalReport:
    """Every example classified by `provider` and scored. Raises FatalError when the
    provider cannot go on, ValueError when there are no examples."""
    if not examples:
        raise ValueError("no labelled examples to evaluate")
    analyzer = Analyzer(provider, taxonomy)
    retry = policy or RetryPolicy()
    outcomes: list[_Outcome | None] = [None] * len(examples)
    queue = iter(enumerate(examples))
    done = 0
    fatal: FatalError | None = None

    async def work() -> None:
        nonlocal done, fatal
        for position, example in queue:
            if fatal is not None:
                return
            try:
                outcomes[position] = await _classify(analyzer, example, retry)
            except FatalError as error:
                fatal = error
                return
            done += 1
            if progress is not None:
                progress(done, len(examples))

    started = time.perf_counter()
    await asyncio.gather(*(work() for _ in range(max(1, min(concurrency, len(examples))))))
    seconds = time.perf_counter() - started
    if fatal is not None:
        raise fatal

    finished = [outcome for outcome in outcomes if outcome is not None]
    predictions = [outcome.prediction for outcome in finished]
    usage = sum((outcome.usage for outcome in finished), Usage())
    names = {category.name for category in taxonomy}
    unknown = Counter(example.label for example in examples if example.label not in names)
    return EvalReport(
        file=file,
        provider=provider.name,
        provider_version=provider.version,
        skipped_rows=skipped_rows,
        unknown_labels=dict(unknown.most_common()),
        scores=score(predictions),
        seconds=round(seconds, 3),
        tickets_per_second=round(len(examples) / seconds, 1) if seconds > 0 else 0.0,
        usage=usage,
        cascade=_cascade_figures(finished),
        errors=list(dict.fromkeys(o.error for o in finished if o.error))[:_SHOWN_ERRORS],
    )


async def _classify(analyzer: Analyzer, example: LabelledExample, policy: RetryPolicy) -> _Outcome:
    ticket = Ticket(
        ticket_id=f"line-{example.line}",
        customer_id="evaluation",
        subject="",
        body=example.text,
        status="open",
        created_at=_CREATED_AT,
    )
    attempt = 1
    while True:
        try:
            _, response = await analyzer.analyze(ticket, [])
        except FatalError:
            raise
        except TransientError as error:
            if not policy.can_retry(attempt):
                return _failed(example, f"{error} (after {attempt} tries)")
            await asyncio.sleep(policy.delay(attempt, error.retry_after))
            attempt += 1
            continue
        except PermanentError as error:
            return _failed(example, str(error))
        except Exception as error:
            # The pipeline would retry the unexpected; one wrong answer is enough to score.
            return _failed(example, f"{type(error).__name__}: {error}")
        analysis = response.value
        return _Outcome(
            Prediction(example.label, analysis.category, analysis.confidence, response.provider),
            response.usage,
            None,
        )


def _failed(example: LabelledExample, reason: str) -> _Outcome:
    return _Outcome(Prediction(example.label, None), Usage(), reason)


def _cascade_figures(outcomes: Sequence[_Outcome]) -> CascadeFigures | None:
    answered = [o for o in outcomes if o.prediction.provider is not None]
    if not any((o.prediction.provider or "").startswith(CASCADE_PREFIX) for o in answered):
        return None
    local = [o.prediction for o in answered if o.prediction.provider == LOCAL_ANSWER]
    paid = [o.usage.cost_usd for o in answered if o.usage.cost_usd > 0]
    return CascadeFigures(
        model_free=len(local),
        model_free_share=len(local) / len(outcomes),
        model_free_accuracy=sum(p.correct for p in local) / len(local) if local else None,
        paid_answers=len(paid),
        estimated_saving_usd=sum(paid, Decimal(0)) / len(paid) * len(local) if paid else None,
    )
