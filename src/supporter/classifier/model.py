"""A trained classifier: predicting, saving and loading.

A model directory holds `model.json` (the metadata, written last), `vocabulary.json`
(the n-gram vocabularies) and `weights.npz` (the linear model and the idf weights,
read with `allow_pickle=False`). Nothing in it is code and nothing is unpickled,
so loading a model from an untrusted place cannot run anything; the metadata
records each file's SHA-256, and a model whose files do not match is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Final

import numpy as np
import sklearn
from numpy.typing import NDArray
from pydantic import TypeAdapter, ValidationError

from supporter.classifier import ModelError
from supporter.classifier.calibration import probabilities
from supporter.classifier.encoders import load_encoder
from supporter.classifier.features import Featurizer
from supporter.classifier.metadata import METADATA_FILE, ModelMetadata, read_metadata

log = logging.getLogger(__name__)

VOCABULARY_FILE: Final = "vocabulary.json"
WEIGHTS_FILE: Final = "weights.npz"
_ARRAYS: Final = ("coef", "intercept", "idf_word", "idf_char")
_VOCABULARIES: Final = TypeAdapter(dict[str, list[str]])


class TextClassifier:
    """Calibrated probabilities of each label for a text (see the package docstring)."""

    def __init__(
        self,
        metadata: ModelMetadata,
        featurizer: Featurizer,
        coef: NDArray[np.float32],
        intercept: NDArray[np.float64],
    ) -> None:
        labels = len(metadata.labels)
        if coef.ndim != 2 or coef.shape[0] != labels or intercept.shape != (labels,):
            raise ModelError(
                f"the weights do not fit the {labels} labels (coef {coef.shape}, "
                f"intercept {intercept.shape})"
            )
        self.metadata = metadata
        self._featurizer = featurizer
        self._coef_t = np.ascontiguousarray(coef.T, dtype=np.float32)
        self._coef = coef
        self._intercept = intercept

    @property
    def labels(self) -> list[str]:
        return self.metadata.labels

    @property
    def version(self) -> str:
        return self.metadata.version

    def scores(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """The linear model's raw score of every label, one row per text."""
        features = self._featurizer.transform(texts)
        raw = np.asarray(features @ self._coef_t, dtype=np.float64)
        result: NDArray[np.float64] = raw + self._intercept
        return result

    def probabilities(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Calibrated probabilities, one row per text, columns in the order of `labels`."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        return probabilities(self.scores(texts), self.metadata.calibration.temperature)

    def save(self, directory: Path) -> None:
        """Write the model to `directory` (created if need be; a model there is replaced).

        Refuses a directory that holds anything but a model, so a wrong `--out`
        cannot mix a model into other files.
        """
        directory.mkdir(parents=True, exist_ok=True)
        ours = {METADATA_FILE, VOCABULARY_FILE, WEIGHTS_FILE}
        others = sorted(p.name for p in directory.iterdir() if p.name not in ours)
        if others and not (directory / METADATA_FILE).is_file():
            raise ModelError(
                f"{directory} is not empty and holds no model ({', '.join(others[:3])}, ...); "
                "give a new or empty directory"
            )
        vocabularies = self._featurizer.vocabularies()
        idf = self._featurizer.idf()
        files = {
            VOCABULARY_FILE: _write_atomic(
                directory / VOCABULARY_FILE,
                lambda out: out.write(json.dumps(vocabularies, ensure_ascii=False).encode()),
            ),
            WEIGHTS_FILE: _write_atomic(
                directory / WEIGHTS_FILE,
                lambda out: np.savez_compressed(
                    out,
                    coef=self._coef,
                    intercept=self._intercept,
                    idf_word=idf["word"],
                    idf_char=idf["char"],
                ),
            ),
        }
        self.metadata = self.metadata.model_copy(update={"files": files})
        # Last: until it is replaced, the old metadata's digests refuse the new files.
        _write_atomic(
            directory / METADATA_FILE,
            lambda out: out.write(self.metadata.model_dump_json(indent=2).encode()),
        )

    @classmethod
    def load(cls, directory: Path) -> TextClassifier:
        """The model saved in `directory`; ModelError when it cannot be used, with what to do."""
        metadata = read_metadata(directory)
        for name in (VOCABULARY_FILE, WEIGHTS_FILE):
            expected = metadata.files.get(name)
            if expected is None or _sha256(directory / name) != expected:
                raise ModelError(
                    f"{directory / name} is missing or does not match {METADATA_FILE} "
                    "(a model is only used whole); train the model again"
                )
        saved_with = metadata.libraries.get("scikit-learn")
        if saved_with and saved_with.split(".")[:2] != sklearn.__version__.split(".")[:2]:
            log.warning(
                "model %s was trained with scikit-learn %s, this is %s: check it with "
                "`supporter eval` before trusting it",
                directory,
                saved_with,
                sklearn.__version__,
            )
        try:
            vocabularies = _VOCABULARIES.validate_json((directory / VOCABULARY_FILE).read_bytes())
            with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as stored:
                arrays = {name: np.asarray(stored[name]) for name in _ARRAYS}
        except (OSError, ValueError, KeyError, ValidationError) as error:
            raise ModelError(
                f"{directory}: cannot read the model ({error}); train it again"
            ) from None
        encoder = load_encoder(metadata.features.encoder) if metadata.features.encoder else None
        featurizer = Featurizer.restore(
            metadata.features,
            vocabularies,
            {"word": arrays["idf_word"], "char": arrays["idf_char"]},
            encoder,
        )
        coef = arrays["coef"].astype(np.float32, copy=False)
        width = featurizer.transform(["x"]).shape[1]
        if coef.ndim != 2 or coef.shape[1] != width:
            raise ModelError(f"{directory}: the weights do not fit the features; train it again")
        return cls(metadata, featurizer, coef, arrays["intercept"].astype(np.float64))


def _write_atomic(path: Path, write: Callable[[IO[bytes]], object]) -> str:
    """Write through a temporary file renamed over `path`; returns the content's SHA-256."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        # mkstemp makes the file private; a model is as readable as any other output.
        os.fchmod(handle, 0o666 & ~_umask())
        with os.fdopen(handle, "wb") as out:
            write(out)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return _sha256(path)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()
