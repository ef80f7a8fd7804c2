"""Temperature scaling: one number that turns a linear model's scores into probabilities.

The scores of a linear SVM rank labels well but are not probabilities. Dividing
them by a temperature T and taking the softmax gives a distribution; T is
chosen to minimise the negative log-likelihood of the true labels on scores
the model produced for rows it was not trained on (Guo et al., 2017). One
parameter cannot overfit, and it never changes which label wins.

The true labels are smoothed by Laplace's rule of succession: n held-out
answers, however many of them right, leave about a 1/(n + 2) chance that the
next one is wrong. Without it, a model that got every held-out row right (easy
on a small, clean file) gets a temperature near zero and is then certain of
anything, even of a ticket unlike every one it was trained on; with it, such a
model is about (n + 1)/(n + 2) sure of what it knows and unsure of the rest. On
thousands of rows the smoothing changes nothing measurable.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

Scores = NDArray[np.floating]

# Far beyond any useful temperature either way; the search stays inside.
_LOG_T_BOUNDS = (-7.0, 7.0)


def probabilities(scores: Scores, temperature: float) -> NDArray[np.float64]:
    """Each row's softmax of `scores / temperature`."""
    result: NDArray[np.float64] = softmax(
        np.asarray(scores, dtype=np.float64) / temperature, axis=1
    )
    return result


def calibration_error(
    confidence: NDArray[np.float64], correct: NDArray[np.bool_], bins: int = 10
) -> float:
    """Expected calibration error over equal-width confidence bins (as `supporter eval`
    reports it): the mean gap between accuracy and confidence, weighted by bin size."""
    index = np.minimum((confidence * bins).astype(np.intp), bins - 1)
    hits = np.bincount(index, weights=correct.astype(np.float64), minlength=bins)
    sums = np.bincount(index, weights=confidence, minlength=bins)
    return float(np.abs(hits - sums).sum() / len(confidence))


def cross_entropy(scores: Scores, expected: NDArray[np.float64], temperature: float) -> float:
    """Mean cross-entropy of the scaled scores' softmax against `expected` distributions."""
    logs = log_softmax(np.asarray(scores, dtype=np.float64) / temperature, axis=1)
    return float(-(expected * logs).sum(axis=1).mean())


def smoothed_targets(targets: NDArray[np.intp], labels: int) -> NDArray[np.float64]:
    """One row per target: (n + 1)/(n + 2) on it, the rest shared by the other labels."""
    rows = len(targets)
    doubt = 1.0 / (rows + 2)
    expected = np.full((rows, labels), doubt / (labels - 1))
    expected[np.arange(rows), targets] = 1.0 - doubt
    return expected


def fit_temperature(scores: Scores, targets: NDArray[np.intp]) -> float:
    """The temperature that makes `scores` best predict `targets` (column indices),
    smoothed as the module docstring says."""
    if len(scores) != len(targets) or not len(targets):
        raise ValueError("need one target per row of scores, and at least one row")
    expected = smoothed_targets(targets, scores.shape[1])
    found = minimize_scalar(
        lambda log_t: cross_entropy(scores, expected, float(np.exp(log_t))),
        bounds=_LOG_T_BOUNDS,
        method="bounded",
    )
    return float(np.exp(found.x))
