"""The scores of a small set of predictions, worked out by hand."""

from __future__ import annotations

import pytest

from supporter.evaluation.metrics import Prediction, expected_calibration_error, score

LOCAL = "cascade:local"
REMOTE = "cascade:openai:gpt-4o"
PREDICTIONS = [
    Prediction("a", "a", 0.95, LOCAL),
    Prediction("a", "a", 0.85, LOCAL),
    Prediction("a", "b", 0.65, LOCAL),
    Prediction("b", "b", 0.75, LOCAL),
    Prediction("b", "a", 0.55, REMOTE),
    Prediction("c", "c", 0.95, REMOTE),
    Prediction("c", None),  # failed: no answer
    Prediction("b", "a", 0.85, REMOTE),
]


def test_accuracy_and_f1() -> None:
    scores = score(PREDICTIONS)
    assert (scores.examples, scores.answered, scores.failed) == (8, 7, 1)
    assert scores.accuracy == pytest.approx(4 / 8)
    by_label = {entry.label: entry for entry in scores.labels}
    assert sorted(by_label) == ["a", "b", "c"]
    a, b, c = by_label["a"], by_label["b"], by_label["c"]
    assert (a.support, a.predicted, a.precision, a.recall) == (3, 4, 0.5, pytest.approx(2 / 3))
    assert a.f1 == pytest.approx(4 / 7)
    assert (b.support, b.predicted, b.precision, b.recall) == (3, 2, 0.5, pytest.approx(1 / 3))
    assert b.f1 == pytest.approx(2 / 5)
    assert (c.support, c.predicted, c.precision, c.recall) == (2, 1, 1.0, 0.5)
    assert c.f1 == pytest.approx(2 / 3)
    assert scores.macro_f1 == pytest.approx((4 / 7 + 2 / 5 + 2 / 3) / 3)


def test_most_confused_pairs_come_first() -> None:
    confused = [(pair.truth, pair.predicted, pair.count) for pair in score(PREDICTIONS).confused]
    assert confused == [("b", "a", 2), ("a", "b", 1)]


def test_calibration_error_and_thresholds() -> None:
    scores = score(PREDICTIONS)
    # Bins: [0.9, 1] 2 right at 0.95 (gap 0.1); [0.8, 0.9) 1 of 2 right at 0.85 (0.7);
    # [0.7, 0.8) right at 0.75 (0.25); [0.6, 0.7) wrong at 0.65; [0.5, 0.6) wrong at 0.55.
    assert scores.expected_calibration_error == pytest.approx((0.1 + 0.7 + 0.25 + 0.65 + 0.55) / 7)
    by_threshold = {row.threshold: row for row in scores.thresholds}
    assert (by_threshold[0.5].count, by_threshold[0.5].share) == (7, 7 / 8)
    assert by_threshold[0.5].accuracy == pytest.approx(4 / 7)
    assert (by_threshold[0.8].count, by_threshold[0.8].accuracy) == (4, 0.75)
    assert (by_threshold[0.95].count, by_threshold[0.95].share) == (2, 0.25)
    assert by_threshold[0.95].accuracy == 1.0
    top_bin = scores.calibration[-1]
    assert (top_bin.count, top_bin.accuracy, top_bin.mean_confidence) == (2, 1.0, 0.95)


def test_answers_by_provider() -> None:
    by = {entry.provider: entry for entry in score(PREDICTIONS).answered_by}
    assert (by[LOCAL].count, by[LOCAL].share, by[LOCAL].accuracy) == (4, 0.5, 0.75)
    assert (by[REMOTE].count, by[REMOTE].share) == (3, 3 / 8)
    assert by[REMOTE].accuracy == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("confidence", "right", "expected"),
    [
        (0.8, 8, 0.0),  # 80 % sure and 80 % right: perfectly calibrated
        (0.9, 6, 0.3),  # overconfident by 30 points
        (0.5, 10, 0.5),  # underconfident by 50 points
        (1.0, 10, 0.0),  # certainty that is always right; 1.0 falls in the top bin
    ],
)
def test_calibration_error_of_a_known_case(confidence: float, right: int, expected: float) -> None:
    correct = [True] * right + [False] * (10 - right)
    assert expected_calibration_error([confidence] * 10, correct) == pytest.approx(expected)


def test_nonsense_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        expected_calibration_error([1.5], [True])
    with pytest.raises(ValueError, match="no predictions"):
        score([])
