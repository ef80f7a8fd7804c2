"""What a saved model says about itself (`model.json`): readable without NumPy or scikit-learn."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from supporter.classifier import ModelError

FORMAT_VERSION: Final = 1
"""Bump when a saved model would be read wrongly: loading refuses any other format."""

METADATA_FILE: Final = "model.json"
MINILM: Final = "all-MiniLM-L6-v2"
"""The sentence encoder `--features tfidf+minilm` adds (see `encoders`)."""


class FeatureSpec(BaseModel):
    """How text becomes features; saved with the model so prediction builds the same ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    # A character n-gram seen in one example only is mostly a typo: it costs
    # memory and adds nothing.
    char_min_df: int = Field(default=2, ge=1)
    # A sentence encoder whose embeddings join the n-grams (see `encoders`), or none.
    encoder: str | None = None
    # Embeddings are dense and unit-length while the n-gram vectors are sparse:
    # scaled up, they get a say against tens of thousands of n-gram weights.
    encoder_weight: float = Field(default=3.0, gt=0)


class Calibration(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["temperature"] = "temperature"
    temperature: float = Field(gt=0)
    folds: int = Field(ge=2)
    # Measured on out-of-fold predictions over the training rows.
    accuracy: float
    ece_before: float
    ece_after: float


class ModelMetadata(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: int
    model_id: str
    created_at: datetime
    supporter_version: str
    labels: list[str] = Field(min_length=2)
    label_counts: dict[str, int]
    examples: int
    data_sha256: str
    source_file: str
    text_columns: list[str]
    label_column: str
    features: FeatureSpec
    regularization: float = Field(gt=0)
    calibration: Calibration
    libraries: dict[str, str]
    training_seconds: float
    # Every other file of the model and its SHA-256: a model is used only whole.
    files: dict[str, str]

    @property
    def version(self) -> str:
        """Changes whenever predictions could: part of the results' idempotency key."""
        return f"local-{self.format}:{self.model_id}"


def data_digest(examples: Iterable[tuple[str, str]]) -> str:
    """SHA-256 of the (text, label) pairs in order: which data a model was trained on."""
    digest = hashlib.sha256()
    for text, label in examples:
        digest.update(json.dumps([text, label], ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def read_metadata(directory: Path) -> ModelMetadata:
    """The metadata of the model saved in `directory`; ModelError when there is no usable one,
    or when it was saved in another format."""
    path = directory / METADATA_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if not directory.exists():
            raise ModelError(
                f"{directory}: no such directory; train a model with `supporter train`"
            ) from None
        raise ModelError(
            f"{directory}: not a model directory (no {METADATA_FILE}); "
            "give a directory written by `supporter train`"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"{path}: cannot be read ({error}); train the model again") from None
    if not isinstance(raw, dict):
        raise ModelError(f"{path}: not a model description; train the model again")
    found = raw.get("format")
    if found != FORMAT_VERSION:
        by = raw.get("supporter_version", "an unknown version")
        raise ModelError(
            f"{directory}: saved in model format {found!r} by supporter {by}; this supporter "
            f"reads format {FORMAT_VERSION} only. Train it again with `supporter train`, "
            f"or use supporter {by} to run it"
        )
    try:
        return ModelMetadata.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ModelError(f"{path}: {where}: {first['msg']}; train the model again") from None
