"""Scores for predictions against known labels: accuracy, F1, confusions, calibration.

Conventions, stated once:

- A prediction that failed (no label) counts as wrong and belongs to no label's
  predictions; it has no confidence, so calibration figures leave it out.
- Macro-F1 is the unweighted mean over every label that occurs as truth or as
  prediction (as scikit-learn does); a label with no predictions has precision 0.
- Expected calibration error: the answered predictions are put in equal-width
  bins of confidence ([0, 0.1), [0.1, 0.2), ..., [0.9, 1.0]) and ECE is the mean
  over bins of |accuracy - mean confidence|, weighted by each bin's share.
- Accuracy at a threshold is over the predictions whose confidence is at least
  the threshold, with their share of all examples.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel, ConfigDict

DEFAULT_THRESHOLDS: Final = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
CALIBRATION_BINS: Final = 10
TOP_CONFUSED: Final = 10


@dataclass(frozen=True, slots=True)
class Prediction:
    truth: str
    label: str | None  # None: the provider gave no answer
    confidence: float | None = None
    provider: str | None = None

    @property
    def correct(self) -> bool:
        return self.label == self.truth


class _Figures(BaseModel):
    model_config = ConfigDict(frozen=True)


class LabelScore(_Figures):
    label: str
    support: int
    predicted: int
    precision: float
    recall: float
    f1: float


class ConfusedPair(_Figures):
    truth: str
    predicted: str
    count: int


class CalibrationBin(_Figures):
    low: float
    high: float
    count: int
    mean_confidence: float | None
    accuracy: float | None


class ThresholdScore(_Figures):
    threshold: float
    count: int
    share: float
    accuracy: float | None


class ProviderScore(_Figures):
    provider: str
    count: int
    share: float
    accuracy: float


class Scores(_Figures):
    examples: int
    answered: int
    failed: int
    accuracy: float
    macro_f1: float
    expected_calibration_error: float | None
    labels: list[LabelScore]
    confused: list[ConfusedPair]
    calibration: list[CalibrationBin]
    thresholds: list[ThresholdScore]
    answered_by: list[ProviderScore]


def score(
    predictions: Sequence[Prediction],
    *,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    bins: int = CALIBRATION_BINS,
    top_confused: int = TOP_CONFUSED,
) -> Scores:
    if not predictions:
        raise ValueError("nothing to score: no predictions")
    total = len(predictions)
    answered = [p for p in predictions if p.label is not None]
    with_confidence = [p for p in answered if p.confidence is not None]
    labels = _label_scores(predictions)
    confused = Counter(
        (p.truth, p.label) for p in predictions if p.label is not None and not p.correct
    )
    return Scores(
        examples=total,
        answered=len(answered),
        failed=total - len(answered),
        accuracy=sum(p.correct for p in predictions) / total,
        macro_f1=sum(label.f1 for label in labels) / len(labels),
        expected_calibration_error=(
            expected_calibration_error(
                [p.confidence for p in with_confidence if p.confidence is not None],
                [p.correct for p in with_confidence],
                bins,
            )
            if with_confidence
            else None
        ),
        labels=labels,
        confused=[
            ConfusedPair(truth=truth, predicted=label, count=count)
            for (truth, label), count in sorted(
                confused.items(), key=lambda item: (-item[1], item[0])
            )[:top_confused]
        ],
        calibration=calibration_bins(with_confidence, bins),
        thresholds=[_at_threshold(with_confidence, total, t) for t in thresholds],
        answered_by=_by_provider(answered, total),
    )


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = CALIBRATION_BINS
) -> float:
    if len(confidences) != len(correct):
        raise ValueError("confidences and correct differ in length")
    if not confidences:
        raise ValueError("no confidences to score")
    sums: list[float] = [0.0] * bins
    hits: list[int] = [0] * bins
    counts: list[int] = [0] * bins
    for confidence, right in zip(confidences, correct, strict=True):
        index = _bin(confidence, bins)
        sums[index] += confidence
        hits[index] += right
        counts[index] += 1
    gap = sum(abs(hits[i] - sums[i]) for i in range(bins) if counts[i])
    return gap / len(confidences)


def calibration_bins(predictions: Sequence[Prediction], bins: int) -> list[CalibrationBin]:
    members: dict[int, list[Prediction]] = defaultdict(list)
    for prediction in predictions:
        if prediction.confidence is not None:
            members[_bin(prediction.confidence, bins)].append(prediction)
    result = []
    for index in range(bins):
        inside = members.get(index, [])
        confidences = [p.confidence for p in inside if p.confidence is not None]
        result.append(
            CalibrationBin(
                low=index / bins,
                high=(index + 1) / bins,
                count=len(inside),
                mean_confidence=sum(confidences) / len(inside) if inside else None,
                accuracy=sum(p.correct for p in inside) / len(inside) if inside else None,
            )
        )
    return result


def _bin(confidence: float, bins: int) -> int:
    if not 0.0 <= confidence <= 1.0:
        raise ValueError(f"confidence {confidence} is outside [0, 1]")
    return min(int(confidence * bins), bins - 1)


def _label_scores(predictions: Sequence[Prediction]) -> list[LabelScore]:
    support = Counter(p.truth for p in predictions)
    predicted = Counter(p.label for p in predictions if p.label is not None)
    hits = Counter(p.truth for p in predictions if p.correct)
    scores = []
    for label in sorted(support.keys() | predicted.keys()):
        precision = hits[label] / predicted[label] if predicted[label] else 0.0
        recall = hits[label] / support[label] if support[label] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(
            LabelScore(
                label=label,
                support=support[label],
                predicted=predicted[label],
                precision=precision,
                recall=recall,
                f1=f1,
            )
        )
    return scores


def _at_threshold(
    predictions: Sequence[Prediction], total: int, threshold: float
) -> ThresholdScore:
    above = [p for p in predictions if p.confidence is not None and p.confidence >= threshold]
    return ThresholdScore(
        threshold=threshold,
        count=len(above),
        share=len(above) / total,
        accuracy=sum(p.correct for p in above) / len(above) if above else None,
    )


def _by_provider(answered: Sequence[Prediction], total: int) -> list[ProviderScore]:
    groups: dict[str, list[Prediction]] = defaultdict(list)
    for prediction in answered:
        groups[prediction.provider or "unknown"].append(prediction)
    return [
        ProviderScore(
            provider=provider,
            count=len(members),
            share=len(members) / total,
            accuracy=sum(p.correct for p in members) / len(members),
        )
        for provider, members in sorted(groups.items(), key=lambda item: -len(item[1]))
    ]
