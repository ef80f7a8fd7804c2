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


# An index scores every passage that any word of a query matches, and that is where the
# time of a search goes: a query keeps its rarest words (those BM25 weighs most), at most
# MAX_QUERY_TERMS, and drops the commoner ones once the passages they are in add up to
# MATCH_BUDGET ("the", "your", "charge" match most of a large help center).
MAX_QUERY_TERMS: Final = 12
MATCH_BUDGET: Final = 5000
MIN_QUERY_TERMS: Final = 4


def query_terms(
    query: str,
    language: str | None,
    frequency: dict[str, int],
    *,
    unstemmed: bool,
    budget: int = MATCH_BUDGET,
) -> list[str]:
    """The words of `query` worth searching for, rarest first. `frequency`: the passages
    each indexed word is in; `unstemmed`: the index holds passages of no stated language
    (indexed unstemmed), so the query's unstemmed words may meet them."""
    found = terms(query, language)
    if unstemmed and language is not None:
        found += terms(query, None)
    known = [term for term in dict.fromkeys(found) if term in frequency]
    kept: list[str] = []
    matched = 0
    for term in sorted(known, key=frequency.__getitem__)[:MAX_QUERY_TERMS]:
        matched += frequency[term]
        if matched > budget and len(kept) >= MIN_QUERY_TERMS:
            break
        kept.append(term)
    return kept
