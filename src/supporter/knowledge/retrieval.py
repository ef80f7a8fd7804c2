"""The passages a ticket's reply is drafted from, and the version of those it cited."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from typing import Final

from supporter.domain.knowledge import Passage
from supporter.domain.masking import mask_card_numbers
from supporter.domain.models import Analysis, Ticket
from supporter.knowledge.base import LEXICAL_RANKING, Hit, KnowledgeIndex

# Bump when how passages are found or handed over changes (not when they do).
RETRIEVAL_VERSION: Final = "knowledge-2"

# Passages of one article a reply is given at most: the rest go to other articles, so a
# near miss in the ranking still puts the right one in front of the model.
PER_ARTICLE: Final = 2

# The head of a long e-mail says what it is about; the rest is mostly quoted history.
QUERY_BODY_CHARS: Final = 2000


def retrieval_query(ticket: Ticket, analysis: Analysis) -> str:
    """The masked ticket plus its analysis: the category's words ("refund request") and
    the summary carry what the customer asks in words the help centre uses.

    Both are English (category names are, and the analysis writes its summary in
    English): a ticket in another language is searched with its own words only, as
    stemmed in its language English words meet none of its articles' words (on the
    sample's German tuning tickets recall@5 went from 0.89 to 0.91 without them)."""
    text = f"{ticket.subject}\n{ticket.body[:QUERY_BODY_CHARS]}"
    if analysis.language != "en":
        return mask_card_numbers(text)
    category = analysis.category.replace("_", " ")
    return mask_card_numbers(f"{text}\n{category}\n{analysis.summary}")


class Retriever:
    """Finds the passages for one ticket in the shared index."""

    def __init__(self, index: KnowledgeIndex, limit: int = 5) -> None:
        if limit < 1:
            raise ValueError("a retriever needs a limit of at least one passage")
        self._index = index
        self._limit = limit

    @property
    def version(self) -> str:
        """How passages are retrieved: part of the results' idempotency version."""
        version = f"{RETRIEVAL_VERSION}:{self._limit}"
        ranking = self._index.ranking
        # The lexical ranking named nothing before there was another one: a result
        # drafted then is still one of this version.
        return version if ranking == LEXICAL_RANKING else f"{version}:{ranking}"

    async def passages_for(self, ticket: Ticket, analysis: Analysis) -> list[Passage]:
        """The saved reply made for the ticket's category and language (if there is
        one) first, then the best article passages in its language, at most
        `PER_ARTICLE` of an article, `limit` in all."""
        found = (await self._index.saved_replies(analysis.category, analysis.language))[:1]
        taken: Counter[str] = Counter()
        for hit in await self.search(ticket, analysis, self._limit * 3):
            if len(found) == self._limit:
                break
            if taken[hit.passage.article_id] < PER_ARTICLE:
                taken[hit.passage.article_id] += 1
                found.append(hit.passage)
        return found

    async def search(self, ticket: Ticket, analysis: Analysis, limit: int) -> list[Hit]:
        """Article passages for the ticket, best first (saved replies are found by their
        category, not their words: a body of placeholders says little)."""
        query = retrieval_query(ticket, analysis)
        return await self._index.search(
            query, language=analysis.language, limit=limit, kind="article"
        )

    async def version_of(self, passage_ids: Sequence[str]) -> str | None:
        """A digest of these passages' text as the index holds it now; None for none.
        A passage no longer in the index counts as changed."""
        if not passage_ids:
            return None
        held = await self._index.passages(passage_ids)
        return knowledge_version(
            [(pid, held[pid].content_hash if pid in held else "") for pid in passage_ids]
        )


def knowledge_version(hashes: Sequence[tuple[str, str]]) -> str:
    """Order-free digest of (passage id, content hash) pairs."""
    canonical = json.dumps(sorted(hashes))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
