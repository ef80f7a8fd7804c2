"""The knowledge-index port: passages in, ranked passages out.

One index lives beside the store and every worker reads it; `supporter knowledge
index` (or `supporter run --knowledge`) updates it incrementally. The index of an
SQLite store is a file beside it (`sqlite`), that of a PostgreSQL store tables in its
database (`postgres`); either may also keep the passages' embeddings, which `fused`
ranks beside the words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from supporter.domain.knowledge import Passage, PassageKind
from supporter.knowledge.documents import Document

# The lexical ranking of both adapters: BM25 over stemmed words, the title weighing twice
# the body (https://www.sqlite.org/fts5.html#the_bm25_function: k1 = 1.2, b = 0.75).
LEXICAL_RANKING: Final = "bm25"


class KnowledgeIndexError(Exception):
    """The index cannot be opened, is of another format, or lacks what was asked of it."""


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
    embedded: int = 0  # passages whose embeddings were computed by this update


@dataclass(frozen=True, slots=True)
class StoredVector:
    """A passage's embedding as the index keeps it, with what a search filters on."""

    passage_id: str
    language: str | None
    kind: PassageKind
    vector: bytes  # float32, little-endian, unit length


class KnowledgeIndex(Protocol):
    @property
    def ranking(self) -> str:
        """How passages are ranked ("bm25", or the fusion with an encoder's): part of the
        results' version, since another ranking finds other passages."""
        ...

    async def update(self, documents: Iterable[Document]) -> IndexChanges:
        """Make the index hold exactly `documents`: add new ones, replace changed ones
        (by content hash), remove the ones no longer given."""
        ...

    async def search(
        self, query: str, *, language: str | None, limit: int, kind: PassageKind | None = None
    ) -> list[Hit]:
        """The best passages for `query`, best first. With a `language`, passages in
        it (and those of no stated language) when the index has any in it; all
        passages otherwise. With a `kind`, passages of that kind only."""
        ...

    async def passages(self, passage_ids: Sequence[str]) -> dict[str, Passage]:
        """The passages of these ids that the index holds."""
        ...

    async def saved_replies(self, category: str, language: str | None) -> list[Passage]:
        """Saved replies made for tickets of this category, in this language (or of no
        stated language, listed after those), by id."""
        ...

    async def close(self) -> None: ...


class VectorStorage(Protocol):
    """Where an index keeps its passages' embeddings, beside their words. A passage's
    embedding goes when the passage does (changed or removed)."""

    async def passages_without_vectors(self, encoder: str) -> list[Passage]:
        """Passages with no embedding from `encoder` (new, changed, or embedded by another)."""
        ...

    async def store_vectors(self, encoder: str, vectors: Mapping[str, bytes]) -> None:
        """Keep these embeddings (by passage id), replacing any the passages had."""
        ...

    async def vectors(self, encoder: str) -> list[StoredVector]:
        """Every embedding from `encoder` the index holds."""
        ...


class IndexWithVectors(KnowledgeIndex, VectorStorage, Protocol):
    """An adapter that keeps both: what `fused` wraps."""
