"""What the company knows: help-center passages and saved replies, as the model port sees them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

PassageKind = Literal["article", "saved_reply"]


class Passage(BaseModel):
    """One section of an article (split at its headings), or one whole saved reply.

    `passage_id` is `<article_id>#<n>`, n counting the article's sections from 1; a
    reply cites these ids. `language` is an ISO 639-1 code, None when the source gave
    none (such a passage serves tickets of every language). `content_hash` changes
    whenever anything a reply could take from the passage changes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    passage_id: str
    article_id: str
    title: str
    heading: str = ""
    text: str
    language: str | None = None
    kind: PassageKind = "article"
    category: str | None = None
    tags: tuple[str, ...] = ()
    content_hash: str = ""

    @property
    def label(self) -> str:
        """The title, and the section's heading when it has one."""
        return f"{self.title} › {self.heading}" if self.heading else self.title


def article_of(passage_id: str) -> str:
    """The article a passage id belongs to: "refunds#2" → "refunds"."""
    return passage_id.rsplit("#", 1)[0]
