"""Temperature scaling finds the temperature that made the labels."""

from __future__ import annotations

import numpy as np
import pytest

from supporter.classifier.calibration import (
    calibration_error,
    fit_temperature,
    probabilities,
)
from supporter.evaluation.metrics import expected_calibration_error


@pytest.mark.parametrize("true_temperature", [0.25, 1.0, 3.0])
def test_the_temperature_that_generated_the_labels_is_found(true_temperature: float) -> None:
    rng = np.random.default_rng(7)
    scores = rng.normal(scale=2.0, size=(20_000, 5))
    chances = probabilities(scores, true_temperature)
    targets = np.array([rng.choice(5, p=row) for row in chances])
    assert fit_temperature(scores, targets) == pytest.approx(true_temperature, rel=0.05)


def test_scaling_never_changes_the_winner() -> None:
    scores = np.array([[3.0, 1.0, -2.0], [0.1, 0.2, 0.0]])
    for temperature in (0.1, 1.0, 10.0):
        assert (probabilities(scores, temperature).argmax(axis=1) == [0, 1]).all()


def test_scores_that_say_nothing_end_as_a_uniform_guess() -> None:
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(2000, 4))
    targets = rng.integers(0, 4, size=2000)
    chances = probabilities(scores, fit_temperature(scores, targets))
    assert np.allclose(chances, 0.25, atol=0.01)


def test_the_calibration_error_is_the_one_eval_reports() -> None:
    rng = np.random.default_rng(5)
    confidence = rng.uniform(0, 1, size=500)
    confidence[:3] = [0.0, 1.0, 0.1]
    correct = rng.uniform(0, 1, size=500) < confidence**2
    expected = expected_calibration_error(confidence.tolist(), correct.tolist())
    assert calibration_error(confidence, correct) == pytest.approx(expected)
