"""The knowledge-index port: passages in, ranked passages out.

One index lives beside the store and every worker reads it; `supporter knowledge
index` (or `supporter run --knowledge`) updates it incrementally.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from supporter.domain.knowledge import Passage, PassageKind
from supporter.knowledge.documents import Document


@dataclass(frozen=True, slots=True)
class Hit:
    passage: Passage
    score: float  # higher is better; comparable within one search only


@dataclass(frozen=True, slots=True)
class IndexChanges:
    """What an update did, by article (or saved reply) id."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    passages: int = 0  # passages in the index afterwards


class KnowledgeIndex(Protocol):
    def update(self, documents: Iterable[Document]) -> IndexChanges:
        """Make the index hold exactly `documents`: add new ones, replace changed ones
        (by content hash), remove the ones no longer given."""
        ...

    def search(
        self, query: str, *, language: str | None, limit: int, kind: PassageKind | None = None
    ) -> list[Hit]:
        """The best passages for `query`, best first. With a `language`, passages in
        it (and those of no stated language) when the index has any in it; all
        passages otherwise. With a `kind`, passages of that kind only."""
        ...

    def passages(self, passage_ids: Sequence[str]) -> dict[str, Passage]:
        """The passages of these ids that the index holds."""
        ...

    def saved_replies(self, category: str, language: str | None) -> list[Passage]:
        """Saved replies made for tickets of this category, in this language (or of no
        stated language, listed after those), by id."""
        ...

    def close(self) -> None: ...
