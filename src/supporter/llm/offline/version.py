"""The provider's version: the rules' own and a fingerprint of every table and the taxonomy."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Final

from supporter.llm.base import Category
from supporter.llm.offline.categories import (
    FACT_SUPPORT,
    FALLBACK_DISCOUNT,
    FALLBACK_PRIOR,
    NO_CUE_CONFIDENCE,
    SUBJECT_WEIGHT,
)
from supporter.llm.offline.language import LANGUAGE_LETTERS, LANGUAGE_PROFILES
from supporter.llm.offline.matching import MAX_GAP
from supporter.llm.offline.negation import DESIRE_WORDS, NEGATORS
from supporter.llm.offline.phrasebooks import PHRASEBOOKS
from supporter.llm.offline.priority import BASE_PRIORITY, LARGE_AMOUNT, NEEDS_HUMAN_BELOW
from supporter.llm.offline.replies import MONEY_CATEGORIES
from supporter.llm.offline.signals import SIGNAL_LEXICON
from supporter.llm.offline.summary import LABELS
from supporter.llm.offline.text import MAX_TEXT_CHARS
from supporter.llm.offline.transactions import STATUS_GROUPS, UNDONE_STATUSES

# Bump when the scoring or reply code changes; the tables below and the
# taxonomy are fingerprinted into `version` on their own.
RULES_VERSION: Final = "offline-4"


def _rules_fingerprint() -> str:
    """Everything besides the taxonomy that shapes an answer, as one stable string."""
    tables = (
        SIGNAL_LEXICON, sorted(NEGATORS), sorted(DESIRE_WORDS), LANGUAGE_PROFILES,
        LANGUAGE_LETTERS, FACT_SUPPORT, BASE_PRIORITY, LARGE_AMOUNT, LABELS,
        STATUS_GROUPS, sorted(UNDONE_STATUSES), sorted(MONEY_CATEGORIES), PHRASEBOOKS,
        (SUBJECT_WEIGHT, FALLBACK_DISCOUNT, FALLBACK_PRIOR, MAX_GAP, MAX_TEXT_CHARS),
        NO_CUE_CONFIDENCE,
        NEEDS_HUMAN_BELOW,
    )  # fmt: skip
    return repr(tables)


_RULES_FINGERPRINT: Final = _rules_fingerprint()


def version_for(taxonomy: Sequence[Category]) -> str:
    """`RULES_VERSION` and a digest of the tables and of `taxonomy`."""
    payload = json.dumps(
        [category.model_dump(mode="json") for category in taxonomy], sort_keys=True
    )
    digest = hashlib.sha256(f"{_RULES_FINGERPRINT}\n{payload}".encode()).hexdigest()
    return f"{RULES_VERSION}:{digest[:12]}"
