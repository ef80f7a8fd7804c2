"""Fitting a classifier on labelled texts: features, a linear SVM, and its calibration.

The temperature is fitted on out-of-fold scores: the rows are split into
stratified folds, a model trained on the other folds scores each, so every row
gets a score from a model that never saw it. The vectorizers are fitted once on
all rows (vocabulary and idf use no labels); the model that is kept is then
trained on every row.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import numpy as np
from numpy.typing import NDArray
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

import supporter
from supporter.classifier.calibration import calibration_error, fit_temperature, probabilities
from supporter.classifier.encoders import SentenceEncoder, load_encoder
from supporter.classifier.features import Featurizer, Matrix
from supporter.classifier.metadata import (
    FORMAT_VERSION,
    Calibration,
    FeatureSpec,
    ModelMetadata,
    data_digest,
)
from supporter.classifier.model import TextClassifier

Progress = Callable[[str, int, int], None]
"""Told (what is being done, steps done, steps in all) as training goes."""

_LIBRARIES: Final = ("numpy", "scipy", "scikit-learn")
_ENCODE_CHUNK: Final = 512
_MAX_ITERATIONS: Final = 5000


@dataclass(frozen=True)
class TrainingData:
    texts: Sequence[str]
    labels: Sequence[str]
    source_file: str = ""
    text_columns: Sequence[str] = ()
    label_column: str = ""


@dataclass(frozen=True)
class TrainingOptions:
    features: FeatureSpec = field(default_factory=FeatureSpec)
    # The SVM's C: measured on Banking77, 0.3 to 1 differ by less than the noise.
    regularization: float = 0.5
    folds: int = 5
    seed: int = 0


def _ignore(_what: str, _done: int, _total: int) -> None:
    return None


def train(
    data: TrainingData, options: TrainingOptions | None = None, progress: Progress | None = None
) -> TextClassifier:
    """A calibrated classifier over the labels found in `data`. Raises ValueError for data
    it cannot learn from (fewer than two labels, an empty text)."""
    options = options or TrainingOptions()
    report = progress or _ignore
    started = time.perf_counter()
    texts, labels = list(data.texts), list(data.labels)
    _check(texts, labels, options)
    names = sorted(set(labels))
    index = {name: position for position, name in enumerate(names)}
    targets = np.array([index[label] for label in labels], dtype=np.intp)
    spec = options.features
    encoder = load_encoder(spec.encoder) if spec.encoder else None
    folds = _fold_count(targets, options.folds)
    encoding_steps = _chunks(len(texts)) if encoder else 0
    total = encoding_steps + 1 + folds + 1

    report("building features", 0, total)
    featurizer = Featurizer.fit(spec, texts, encoder)
    embeddings = _encode(encoder, texts, report, total) if encoder else None
    features = featurizer.transform(texts, embeddings)
    done = encoding_steps + 1

    held_out = np.zeros((len(texts), len(names)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=options.seed)
    with warnings.catch_warnings():
        # A label with fewer rows than folds is simply missing from some of them.
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        splits = list(splitter.split(np.zeros(len(targets)), targets))
    for fold, (fit_rows, score_rows) in enumerate(splits, start=1):
        report(f"calibrating (fold {fold} of {folds})", done, total)
        svm = _fit(features[fit_rows], targets[fit_rows], options)
        held_out[score_rows] = _all_scores(svm, features[score_rows], len(names))
        done += 1
    temperature = fit_temperature(held_out, targets)

    report("training on every row", done, total)
    final = _fit(features, targets, options)
    coef, intercept = _weights(final, len(names))
    report("done", total, total)

    libraries = {name: importlib.metadata.version(name) for name in _LIBRARIES}
    libraries["python"] = platform.python_version()
    if encoder is not None:
        libraries.update(encoder.libraries())
    data_sha256 = data_digest(zip(texts, labels, strict=True))
    model_id = hashlib.sha256(
        json.dumps(
            [FORMAT_VERSION, data_sha256, spec.model_dump(), options.regularization, folds,
             options.seed, libraries],
            sort_keys=True,
        ).encode()
    ).hexdigest()[:16]  # fmt: skip
    metadata = ModelMetadata(
        format=FORMAT_VERSION,
        model_id=model_id,
        created_at=datetime.now(UTC),
        supporter_version=supporter.__version__,
        labels=names,
        label_counts=dict(sorted(Counter(labels).items())),
        examples=len(texts),
        data_sha256=data_sha256,
        source_file=data.source_file,
        text_columns=list(data.text_columns),
        label_column=data.label_column,
        features=spec,
        regularization=options.regularization,
        calibration=_calibration(held_out, targets, temperature, folds),
        libraries=libraries,
        training_seconds=round(time.perf_counter() - started, 3),
        files={},
    )
    return TextClassifier(metadata, featurizer, coef, intercept)


def _check(texts: list[str], labels: list[str], options: TrainingOptions) -> None:
    if len(texts) != len(labels):
        raise ValueError("need exactly one label per text")
    if len(set(labels)) < 2:
        raise ValueError(
            f"need at least two different labels to learn from, found {len(set(labels))}"
        )
    if any(not text.strip() for text in texts):
        raise ValueError("every text must hold something")
    # With one example a label could not be both learned and checked in calibration.
    single = sorted(label for label, count in Counter(labels).items() if count < 2)
    if single:
        shown = ", ".join(single[:5]) + (f" and {len(single) - 5} more" if len(single) > 5 else "")
        raise ValueError(
            f"every label needs at least two examples; {shown} has only one: "
            "add examples or leave the label out"
        )
    if options.folds < 2:
        raise ValueError("calibration needs at least two folds")


def _fold_count(targets: NDArray[np.intp], wanted: int) -> int:
    """`wanted`, unless even the most frequent label has fewer rows (then as many as it has)."""
    most = int(np.bincount(targets).max())
    return max(2, min(wanted, most))


def _chunks(count: int) -> int:
    return -(-count // _ENCODE_CHUNK)


def _encode(
    encoder: SentenceEncoder, texts: Sequence[str], report: Progress, total: int
) -> NDArray[np.float32]:
    parts = []
    for chunk, start in enumerate(range(0, len(texts), _ENCODE_CHUNK)):
        report(f"embedding texts ({start:,} of {len(texts):,})", chunk, total)
        parts.append(encoder.encode(texts[start : start + _ENCODE_CHUNK]))
    return np.vstack(parts)


def _fit(features: Matrix, targets: NDArray[np.intp], options: TrainingOptions) -> LinearSVC:
    svm = LinearSVC(C=options.regularization, random_state=options.seed, max_iter=_MAX_ITERATIONS)
    with warnings.catch_warnings():
        # Not converging to the last decimal changes no prediction worth having;
        # the calibration measures what the model is worth either way.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return svm.fit(features, targets)


def _all_scores(svm: LinearSVC, features: Matrix, labels: int) -> NDArray[np.float64]:
    """Scores for every label, including those missing from the rows `svm` was fitted on."""
    raw = np.asarray(svm.decision_function(features), dtype=np.float64)
    if raw.ndim == 1:
        raw = np.column_stack([-raw, raw])
    known = np.asarray(svm.classes_, dtype=np.intp)
    # A label the fold never saw: less likely than anything the model did see.
    scores = np.full((features.shape[0], labels), raw.min() - 1.0 if raw.size else -1.0)
    scores[:, known] = raw
    return scores


def _weights(svm: LinearSVC, labels: int) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """The SVM as one weight row per label: a two-label model's single row becomes two."""
    coef = np.asarray(svm.coef_, dtype=np.float32)
    intercept = np.asarray(svm.intercept_, dtype=np.float64)
    if labels == 2:
        coef = np.vstack([-coef[0], coef[0]])
        intercept = np.array([-intercept[0], intercept[0]])
    return coef, intercept


def _calibration(
    scores: NDArray[np.float64], targets: NDArray[np.intp], temperature: float, folds: int
) -> Calibration:
    correct = scores.argmax(axis=1) == targets

    def ece(at: float) -> float:
        return round(calibration_error(probabilities(scores, at).max(axis=1), correct), 4)

    return Calibration(
        temperature=temperature,
        folds=folds,
        accuracy=round(float(correct.mean()), 4),
        ece_before=ece(1.0),
        ece_after=ece(temperature),
    )
