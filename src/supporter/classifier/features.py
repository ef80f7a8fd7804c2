"""Text to features: TF-IDF over word and character n-grams, and maybe sentence embeddings.

Word n-grams catch the phrases that name an intent ("charged twice"); character
n-grams inside words survive typos, inflections and compounds ("refundd",
"Rückerstattung"). Both use sublinear term frequency, so a repeated word is
emphasis, not proof.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer

from supporter.classifier import ModelError
from supporter.classifier.encoders import SentenceEncoder
from supporter.classifier.metadata import FeatureSpec

# A SciPy CSR matrix; SciPy ships no types to say so.
Matrix: TypeAlias = Any

_KINDS = ("word", "char")


def _vectorizer(spec: FeatureSpec, kind: str, vocabulary: Sequence[str] | None) -> TfidfVectorizer:
    mapping = {term: index for index, term in enumerate(vocabulary)} if vocabulary else None
    if kind == "word":
        # Single-character words ("2", "a"), which the default pattern drops, carry
        # meaning in short tickets.
        return TfidfVectorizer(
            ngram_range=spec.word_ngrams,
            token_pattern=r"(?u)\b\w+\b",
            sublinear_tf=True,
            dtype=np.float32,
            vocabulary=mapping,
        )
    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=spec.char_ngrams,
        min_df=spec.char_min_df,
        sublinear_tf=True,
        dtype=np.float32,
        vocabulary=mapping,
    )


class Featurizer:
    """Fitted feature extraction: the same texts always give the same matrix."""

    def __init__(
        self,
        spec: FeatureSpec,
        vectorizers: Mapping[str, TfidfVectorizer],
        encoder: SentenceEncoder | None,
    ) -> None:
        if (spec.encoder is None) != (encoder is None) or (
            encoder is not None and encoder.name != spec.encoder
        ):
            raise ValueError("the encoder does not match the feature spec")
        self.spec = spec
        self._vectorizers = dict(vectorizers)
        self._encoder = encoder

    @classmethod
    def fit(
        cls, spec: FeatureSpec, texts: Sequence[str], encoder: SentenceEncoder | None = None
    ) -> Featurizer:
        vectorizers = {kind: _vectorizer(spec, kind, None).fit(texts) for kind in _KINDS}
        return cls(spec, vectorizers, encoder)

    @classmethod
    def restore(
        cls,
        spec: FeatureSpec,
        vocabularies: Mapping[str, Sequence[str]],
        idf: Mapping[str, NDArray[np.float64]],
        encoder: SentenceEncoder | None,
    ) -> Featurizer:
        vectorizers = {}
        for kind in _KINDS:
            vocabulary, weights = vocabularies.get(kind), idf.get(kind)
            if not vocabulary or weights is None or len(vocabulary) != len(weights):
                raise ModelError(f"the {kind} vocabulary and its weights do not match")
            vectorizer = _vectorizer(spec, kind, vocabulary)
            vectorizer.idf_ = weights
            vectorizers[kind] = vectorizer
        return cls(spec, vectorizers, encoder)

    def transform(
        self, texts: Sequence[str], embeddings: NDArray[np.float32] | None = None
    ) -> Matrix:
        """The feature matrix of `texts`; `embeddings`, when given, are theirs already encoded."""
        parts = [self._vectorizers[kind].transform(texts) for kind in _KINDS]
        if self._encoder is not None:
            if embeddings is None:
                embeddings = self._encoder.encode(texts)
            parts.append(sp.csr_matrix(embeddings * np.float32(self.spec.encoder_weight)))
        matrix: Matrix = sp.hstack(parts, format="csr", dtype=np.float32)
        return matrix

    def vocabularies(self) -> dict[str, list[str]]:
        """Each vectorizer's terms in column order (what `restore` takes back)."""
        result = {}
        for kind, vectorizer in self._vectorizers.items():
            terms = [""] * len(vectorizer.vocabulary_)
            for term, index in vectorizer.vocabulary_.items():
                terms[index] = term
            result[kind] = terms
        return result

    def idf(self) -> dict[str, NDArray[np.float64]]:
        return {kind: np.asarray(v.idf_, dtype=np.float64) for kind, v in self._vectorizers.items()}
