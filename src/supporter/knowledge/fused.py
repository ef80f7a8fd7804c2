"""Sentence embeddings ranked beside the words, fused by reciprocal rank.

Wraps an index that keeps vectors (`sqlite`, `postgres`): an update embeds only the
passages that have no embedding yet (new or changed ones: a changed passage loses
its old one), a search embeds the query and ranks the passages by cosine similarity
as well as by BM25, and the two rankings are fused by reciprocal rank (Cormack,
Clarke and Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and individual
rank learning methods", SIGIR 2009: score = sum of 1 / (k + rank), k = 60), which
needs no calibration between BM25's scores and cosines.

The embeddings are searched in memory, exactly: a help center of 10,000 articles has
about 40,000 passages, 60 MiB of 384 float32 each, and one matrix product of them
takes a few milliseconds. Needs the `embeddings` extra (NumPy, the encoder).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from supporter.classifier.encoders import SentenceEncoder
from supporter.domain.knowledge import Passage, PassageKind
from supporter.knowledge.base import (
    LEXICAL_RANKING,
    Hit,
    IndexChanges,
    IndexWithVectors,
    KnowledgeIndexError,
    StoredVector,
)
from supporter.knowledge.documents import Document
from supporter.knowledge.terms import terms

RRF_K: Final = 60
# Each ranking's best this many passages take part in the fusion: a passage that only
# one of them ranks still gets its share, one neither ranks this high none.
CANDIDATES: Final = 50
# Passages embedded per call and stored per transaction: a large first build keeps what
# it has embedded if it is stopped.
EMBED_BATCH: Final = 256
_FLOAT32: Final = np.dtype("<f4")


def passage_text(passage: Passage) -> str:
    """What a passage's embedding is of: where it stands (title, heading) and what it says."""
    return f"{passage.label}\n{passage.text}"


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], k: int = RRF_K
) -> list[tuple[str, float]]:
    """Ids of all `rankings` (each best first) by the sum of 1 / (k + rank), best first;
    ties keep the order in which the ids were first seen."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)


class PassageVectors:
    """The embeddings of an index's passages, in memory, searched exactly."""

    def __init__(self, stored: Sequence[StoredVector]) -> None:
        self._ids = [vector.passage_id for vector in stored]
        sizes = {len(vector.vector) for vector in stored}
        if len(sizes) > 1:
            raise KnowledgeIndexError(
                "the index holds embeddings of different sizes: index the folder again"
            )
        self._matrix: NDArray[np.float32] = (
            np.frombuffer(b"".join(vector.vector for vector in stored), dtype=_FLOAT32)
            .reshape(len(stored), -1)
            .astype(np.float32)
            if stored
            else np.zeros((0, 0), dtype=np.float32)
        )
        languages = np.array([vector.language or "" for vector in stored], dtype=object)
        self._languages = {language for language in languages if language}
        self._of_language = {language: languages == language for language in self._languages}
        self._unstated = languages == ""
        kinds = np.array([vector.kind for vector in stored], dtype=object)
        self._of_kind = {kind: kinds == kind for kind in set(kinds)}

    def __len__(self) -> int:
        return len(self._ids)

    def nearest(
        self, query: NDArray[np.float32], language: str | None, kind: PassageKind | None, limit: int
    ) -> list[str]:
        """Passage ids by cosine similarity to `query` (unit length), best first, under
        the same language rule as the lexical search."""
        if not self._ids or limit <= 0:
            return []
        scores = self._matrix @ query
        allowed = np.ones(len(self._ids), dtype=bool)
        if language in self._of_language:
            allowed &= self._of_language[language] | self._unstated
        if kind is not None:
            allowed &= self._of_kind.get(kind, np.zeros(len(self._ids), dtype=bool))
        scores = np.where(allowed, scores, -np.inf)
        count = min(limit, int(allowed.sum()))
        if count == 0:
            return []
        best = np.argpartition(-scores, count - 1)[:count]
        return [self._ids[i] for i in best[np.argsort(-scores[best], kind="stable")]]


class FusedKnowledgeIndex:
    """A `KnowledgeIndex` ranking by BM25 and by an encoder's embeddings, fused."""

    def __init__(self, index: IndexWithVectors, encoder: SentenceEncoder) -> None:
        self._index = index
        self._encoder = encoder
        self._vectors = PassageVectors([])

    @classmethod
    async def open(
        cls, index: IndexWithVectors, encoder: SentenceEncoder, *, complete: bool
    ) -> FusedKnowledgeIndex:
        """Load the embeddings `index` holds. With `complete`, an index with passages not
        embedded yet (built without embeddings) is a KnowledgeIndexError: a reader
        cannot embed them, `supporter knowledge index --embeddings` does."""
        fused = cls(index, encoder)
        if complete and await index.passages_without_vectors(encoder.name):
            raise KnowledgeIndexError(
                f"the knowledge index has passages without {encoder.name} embeddings: "
                "run `supporter knowledge index --embeddings FOLDER` first"
            )
        await fused._load()
        return fused

    @property
    def ranking(self) -> str:
        return f"{LEXICAL_RANKING}+{self._encoder.name}:rrf{RRF_K}"

    async def _load(self) -> None:
        self._vectors = PassageVectors(await self._index.vectors(self._encoder.name))

    async def update(self, documents: Iterable[Document]) -> IndexChanges:
        changes = await self._index.update(documents)
        missing = await self._index.passages_without_vectors(self._encoder.name)
        for start in range(0, len(missing), EMBED_BATCH):
            batch = missing[start : start + EMBED_BATCH]
            embedded = await asyncio.to_thread(
                self._encoder.encode, [passage_text(passage) for passage in batch]
            )
            await self._index.store_vectors(
                self._encoder.name,
                {
                    passage.passage_id: np.asarray(row, dtype=_FLOAT32).tobytes()
                    for passage, row in zip(batch, embedded, strict=True)
                },
            )
        await self._load()
        return dataclasses.replace(changes, embedded=len(missing))

    async def search(
        self, query: str, *, language: str | None, limit: int, kind: PassageKind | None = None
    ) -> list[Hit]:
        if limit <= 0 or not terms(query, None):
            return []
        lexical = await self._index.search(query, language=language, limit=CANDIDATES, kind=kind)
        # Embedding a query is a few milliseconds of matrix work that releases the GIL.
        (vector,) = await asyncio.to_thread(self._encoder.encode, [query])
        semantic = self._vectors.nearest(vector, language, kind, CANDIDATES)
        best = reciprocal_rank_fusion([[hit.passage.passage_id for hit in lexical], semantic])
        best = best[:limit]
        found = await self._index.passages([passage_id for passage_id, _ in best])
        return [Hit(found[pid], score) for pid, score in best if pid in found]

    async def passages(self, passage_ids: Sequence[str]) -> dict[str, Passage]:
        return await self._index.passages(passage_ids)

    async def saved_replies(self, category: str, language: str | None) -> list[Passage]:
        return await self._index.saved_replies(category, language)

    async def close(self) -> None:
        await self._index.close()
