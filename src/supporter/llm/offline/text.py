"""Ticket text as tokens: lower-case ASCII words, negative contractions spelled out."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Final

# Long e-mails mostly repeat quoted history at the end; the first few thousand
# characters carry the request and bound the cost of a pathological ticket.
MAX_TEXT_CHARS: Final = 4000

_TEXT_TOKEN = re.compile(r"[a-z0-9]+")

# English negative contractions become "<verb> not", so "didn't", "didnt" and
# "did not" all match the same keyword.
_NT_STEMS: Final = {
    "don": "do", "didn": "did", "doesn": "does", "isn": "is", "wasn": "was",
    "weren": "were", "aren": "are", "haven": "have", "hasn": "has", "hadn": "had",
    "couldn": "could", "wouldn": "would", "shouldn": "should", "can": "can",
    "won": "will", "ain": "is", "mustn": "must", "needn": "need",
}  # fmt: skip
_GLUED_NT: Final = {stem + "t": verb for stem, verb in _NT_STEMS.items() if stem != "won"}
_GLUED_NT["cannot"] = "can"


def fold(text: str) -> str:
    """Lower-case ASCII: accents dropped so "reembolsó" and "reembolso" meet."""
    text = text.lower()
    if text.isascii():
        return text
    text = text.replace("ß", "ss").replace("œ", "oe").replace("æ", "ae")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def normalize_tokens(raw: Iterable[str]) -> list[str]:
    tokens: list[str] = []
    for token in raw:
        if token == "t" and tokens and tokens[-1] in _NT_STEMS:
            tokens[-1] = _NT_STEMS[tokens[-1]]
            tokens.append("not")
        elif token in _GLUED_NT:
            tokens.extend((_GLUED_NT[token], "not"))
        else:
            tokens.append(token)
    return tokens


def tokenize(text: str) -> list[str]:
    raw = _TEXT_TOKEN.findall(fold(text[:MAX_TEXT_CHARS]))
    if "t" not in raw and _GLUED_NT.keys().isdisjoint(raw):
        return raw  # no contraction to spell out (most text), known without a loop per token
    return normalize_tokens(raw)
