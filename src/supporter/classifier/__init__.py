"""The local classifier: trained on a team's own labelled tickets, run on this machine.

Features are TF-IDF word 1-2-grams and character 2-5-grams (optionally joined
by a sentence encoder's embeddings, `encoders`); a linear SVM scores every
label, and a temperature fitted on out-of-fold scores turns the scores into
calibrated probabilities (`calibration`). `training` fits one; `model` holds
it, predicts, and saves it as JSON and NumPy arrays (no pickle, so loading a
model runs no code from it); `metadata` describes a saved model and can be
read without the numeric libraries.

Everything but `metadata` needs the `local` extra (NumPy, SciPy,
scikit-learn): `pip install 'supporter[local]'`.
"""

from __future__ import annotations

from supporter.domain.errors import SupporterError


class ModelError(SupporterError):
    """A model directory that cannot be used: missing, damaged, or saved by another format."""


LOCAL_EXTRA_HINT = "install the local classifier's libraries: pip install 'supporter[local]'"


def missing_library(error: ImportError) -> ModelError:
    """What to tell a user whose installation lacks the local extra."""
    name = error.name or "a library"
    return ModelError(
        f"the local classifier needs {name}, which is not installed: {LOCAL_EXTRA_HINT}"
    )
