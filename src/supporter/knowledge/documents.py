"""A parsed article or saved reply, and its split into passages."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from supporter.domain.knowledge import Passage, PassageKind

# A section longer than this is cut at paragraph breaks: a passage should hold one
# answer, and the model is given a handful of them, not whole manuals.
MAX_PASSAGE_CHARS: Final = 1500


class KnowledgeError(ValueError):
    """An article or saved reply that cannot be used: says which file, line and field."""

    def __init__(self, file: str, line: int | None, problem: str) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {problem}")
        self.file = file
        self.line = line
        self.problem = problem


ProblemHandler = Callable[[KnowledgeError], None]


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class Document:
    """One article or saved reply as read from its source, before it is split."""

    article_id: str
    title: str
    sections: Sequence[Section]
    source: str
    language: str | None = None
    tags: tuple[str, ...] = ()
    kind: PassageKind = "article"
    category: str | None = None

    @property
    def content_hash(self) -> str:
        """Changes when anything that ends up in a passage changes (not the source path)."""
        canonical = json.dumps(
            [
                self.article_id,
                self.title,
                self.language,
                list(self.tags),
                self.kind,
                self.category,
                [[section.heading, section.text] for section in self.sections],
            ],
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def language_code(value: str | None) -> str | None:
    """ "de", "de-DE", "en-us", "pt_BR" → the two-letter code; None or "" → None."""
    if not value or not value.strip():
        return None
    code = value.strip().replace("_", "-").split("-")[0].lower()
    return code if len(code) == 2 and code.isalpha() else None


def passages(document: Document) -> list[Passage]:
    """The document's sections as passages, long ones cut at paragraph breaks."""
    chunks = [
        (section.heading, chunk)
        for section in document.sections
        for chunk in _chunks(section.text.strip())
        if chunk
    ]
    result: list[Passage] = []
    for number, (heading, text) in enumerate(chunks, start=1):
        digest = hashlib.sha256(
            json.dumps(
                [document.title, heading, text, document.language, document.category],
                ensure_ascii=False,
            ).encode()
        ).hexdigest()[:16]
        result.append(
            Passage(
                passage_id=f"{document.article_id}#{number}",
                article_id=document.article_id,
                title=document.title,
                heading=heading,
                text=text,
                language=document.language,
                kind=document.kind,
                category=document.category,
                tags=document.tags,
                content_hash=digest,
            )
        )
    return result


def _chunks(text: str) -> list[str]:
    if len(text) <= MAX_PASSAGE_CHARS:
        return [text]
    chunks: list[str] = []
    current = ""
    for paragraph in (piece for part in text.split("\n\n") for piece in _pieces(part)):
        if current and len(current) + len(paragraph) + 2 > MAX_PASSAGE_CHARS:
            chunks.append(current)
            current = paragraph
        else:
            current = f"{current}\n\n{paragraph}" if current else paragraph
    if current:
        chunks.append(current)
    return chunks


_SENTENCE_END = re.compile(r"[.!?…](?=\s)")


def _pieces(paragraph: str) -> list[str]:
    """A paragraph longer than a passage, cut after its last sentence that fits, else at
    a space, else where the passage is full: a passage is cited and quoted whole, so an
    article with no paragraph breaks must not become one passage of any size. One that
    fits is kept as it is (its indent, an empty one between blank lines)."""
    if len(paragraph) <= MAX_PASSAGE_CHARS:
        return [paragraph]
    pieces: list[str] = []
    start = 0
    while len(paragraph) - start > MAX_PASSAGE_CHARS:
        window = paragraph[start : start + MAX_PASSAGE_CHARS]
        ends = [match.end() for match in _SENTENCE_END.finditer(window)]
        cut = ends[-1] if ends and ends[-1] > MAX_PASSAGE_CHARS // 2 else window.rfind(" ")
        if cut <= MAX_PASSAGE_CHARS // 2:
            cut = MAX_PASSAGE_CHARS
        pieces.append(window[:cut].strip())
        start += cut
    pieces.append(paragraph[start:].strip())
    return [piece for piece in pieces if piece]
