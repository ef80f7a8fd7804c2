"""Training, saving, loading and predicting with the local classifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.classifier.labelled import LABELS, clear_examples, noisy_examples

from supporter.classifier import ModelError
from supporter.classifier.metadata import FORMAT_VERSION, data_digest, read_metadata
from supporter.classifier.model import TextClassifier
from supporter.classifier.training import TrainingData, train
from supporter.evaluation.metrics import expected_calibration_error


def fit(rows: list[tuple[str, str]]) -> TextClassifier:
    texts, labels = zip(*rows, strict=True)
    return train(TrainingData(texts, labels, source_file="tickets.csv", text_columns=["body"]))


@pytest.fixture(scope="module")
def model() -> TextClassifier:
    return fit(clear_examples(per_label=30))


def accuracy(model: TextClassifier, rows: list[tuple[str, str]]) -> float:
    texts, labels = zip(*rows, strict=True)
    predicted = np.array(model.labels)[model.probabilities(list(texts)).argmax(axis=1)]
    return float(np.mean(predicted == np.array(labels)))


def test_train_save_load_predict(model: TextClassifier, tmp_path: Path) -> None:
    unseen = clear_examples(per_label=10, seed=1)
    assert model.labels == LABELS
    assert accuracy(model, unseen) >= 0.95

    model.save(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == [
        "model.json",
        "vocabulary.json",
        "weights.npz",
    ]
    loaded = TextClassifier.load(tmp_path / "model")
    texts = [text for text, _ in unseen]
    assert np.allclose(loaded.probabilities(texts), model.probabilities(texts))
    assert loaded.version == model.version

    metadata = loaded.metadata
    assert metadata.format == FORMAT_VERSION
    assert metadata.labels == LABELS
    assert metadata.examples == 30 * len(LABELS)
    assert metadata.label_counts == dict.fromkeys(LABELS, 30)
    assert metadata.data_sha256 == data_digest(clear_examples(per_label=30))
    assert metadata.model_id in metadata.version
    assert {"numpy", "scipy", "scikit-learn", "python"} <= set(metadata.libraries)
    assert metadata.source_file == "tickets.csv"
    assert metadata.text_columns == ["body"]
    assert metadata.calibration.folds == 5
    assert metadata.training_seconds > 0


def test_probabilities_are_distributions(model: TextClassifier) -> None:
    rows = model.probabilities(["I was charged twice", "where is my card", "zzz"])
    assert rows.shape == (3, len(LABELS))
    assert np.allclose(rows.sum(axis=1), 1.0)
    assert ((rows >= 0) & (rows <= 1)).all()
    assert model.probabilities([]).shape == (0, len(LABELS))


def test_the_version_follows_the_data() -> None:
    first = fit(clear_examples(per_label=8, seed=3))
    again = fit(clear_examples(per_label=8, seed=3))
    other = fit(clear_examples(per_label=8, seed=4))
    assert first.version == again.version
    assert first.version != other.version


def test_two_labels_are_enough() -> None:
    rows = [(t, label) for t, label in clear_examples(per_label=15) if label in LABELS[:2]]
    binary = fit(rows)
    assert binary.labels == LABELS[:2]
    assert accuracy(binary, [r for r in clear_examples(10, seed=5) if r[1] in LABELS[:2]]) >= 0.95


def test_confidence_is_calibrated_where_the_answer_is_known() -> None:
    # Each ticket's cue names the right label 80 % of the time, so a calibrated model is
    # about 80 % sure and about 80 % right; raw SVM scores are nothing like that.
    model = fit(noisy_examples(800, seed=1))
    rows = noisy_examples(2000, seed=2)
    texts, labels = zip(*rows, strict=True)
    probabilities = model.probabilities(list(texts))
    confidence = probabilities.max(axis=1)
    correct = np.array(model.labels)[probabilities.argmax(axis=1)] == np.array(labels)
    assert abs(confidence.mean() - 0.8) < 0.06
    assert abs(correct.mean() - 0.8) < 0.04
    assert expected_calibration_error(confidence.tolist(), correct.tolist()) < 0.08
    calibration = model.metadata.calibration
    assert calibration.ece_after < 0.1
    assert calibration.ece_before > 0.15


def test_a_model_from_another_format_is_refused(model: TextClassifier, tmp_path: Path) -> None:
    model.save(tmp_path)
    raw = json.loads((tmp_path / "model.json").read_text())
    raw.update(format=FORMAT_VERSION + 1, supporter_version="9.0.0")
    (tmp_path / "model.json").write_text(json.dumps(raw))
    with pytest.raises(ModelError) as caught:
        TextClassifier.load(tmp_path)
    message = str(caught.value)
    assert f"format {FORMAT_VERSION + 1}" in message
    assert "supporter 9.0.0" in message
    assert "supporter train" in message
    with pytest.raises(ModelError):
        read_metadata(tmp_path)


def test_a_damaged_model_is_refused(model: TextClassifier, tmp_path: Path) -> None:
    model.save(tmp_path)
    weights = tmp_path / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(ModelError, match="does not match"):
        TextClassifier.load(tmp_path)


def test_a_directory_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such directory"):
        TextClassifier.load(tmp_path / "missing")
    with pytest.raises(ModelError, match="not a model directory"):
        TextClassifier.load(tmp_path)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot be read"):
        TextClassifier.load(tmp_path)


def test_saving_replaces_a_model_but_spares_other_files(
    model: TextClassifier, tmp_path: Path
) -> None:
    model.save(tmp_path / "model")
    model.save(tmp_path / "model")
    assert TextClassifier.load(tmp_path / "model").version == model.version
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    with pytest.raises(ModelError, match="not empty"):
        model.save(tmp_path / "notes")
    assert (tmp_path / "notes" / "todo.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("texts", "labels", "problem"),
    [
        (["a", "b", "c"], ["x", "x", "x"], "at least two different labels"),
        (["a", "b", "c"], ["x", "x", "y"], "y has only one"),
        (["a", " ", "c", "d"], ["x", "x", "y", "y"], "every text"),
    ],
)
def test_training_refuses_data_it_cannot_learn_from(
    texts: list[str], labels: list[str], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        train(TrainingData(texts, labels))


def test_a_model_right_on_every_held_out_row_is_still_unsure_of_the_unknown(
    model: TextClassifier,
) -> None:
    # The clean training set is learnt perfectly; the confidence stays near the rule of
    # succession's (n + 1) / (n + 2) for what it knows and low for what it never saw.
    assert model.metadata.calibration.accuracy == 1.0
    known = model.probabilities([text for text, _ in clear_examples(10, seed=1)]).max(axis=1)
    assert 0.9 < known.mean() < 0.999
    unknown = model.probabilities(["zzz qqq", "Please cancel my subscription"]).max(axis=1)
    assert (unknown < 0.6).all()
