"""Words as the lexical index sees them: lower-cased, stemmed in the text's language.

Stemming ("refunds", "refunded" → "refund"; "Erstattungen" → "erstatt") is what lets
a ticket's words meet an article's; the Snowball stemmers are the standard ones
(https://snowballstem.org/algorithms/), from the `snowballstemmer` package.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Final

import snowballstemmer

_WORD = re.compile(r"\w+", re.UNICODE)
_LANGUAGES: Final = {
    "da": "danish",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "it": "italian",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}


@cache
def _stemmer(name: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(name)


# Stemming in pure Python costs about 90 µs a word; a help center and its tickets use
# a few ten thousand distinct words, so each is stemmed once.
@lru_cache(maxsize=500_000)
def _stem(name: str, word: str) -> str:
    stem: str = _stemmer(name).stemWord(word)
    return stem


def terms(text: str, language: str | None) -> list[str]:
    """The index terms of `text`, in order, repeats kept (they weigh in BM25). Text of
    no stated language, or one without a stemmer, is only lower-cased: a stemmer of the
    wrong language would make words no query in the right one meets."""
    words = _WORD.findall(text.lower())
    name = _LANGUAGES.get(language or "")
    return [_stem(name, word) for word in words] if name else words
