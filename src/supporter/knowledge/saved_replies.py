"""Saved replies (macros, canned responses) as CSV or JSON.

A row or object has a `title` and a `body`, and optionally an `id`, a `category` (of
the taxonomy: the reply fits tickets of that category), a `language` and `tags`. The
body may hold placeholders such as `{{amount}}` that the reply fills from the
customer's transactions (see `supporter.replies.placeholders`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from typing import Any

from supporter.knowledge.documents import (
    Document,
    KnowledgeError,
    ProblemHandler,
    Section,
    language_code,
)

_SLUG = re.compile(r"\W+")


def is_saved_replies(data: Any) -> bool:
    items = data.get("saved_replies") if isinstance(data, dict) else data
    return (
        isinstance(items, list)
        and bool(items)
        and all(isinstance(x, dict) and "title" in x and "body" in x for x in items)
    )


def read_saved_replies_json(
    data: Any, file: str, default_id: str, on_problem: ProblemHandler
) -> Iterator[Document]:
    items: list[Any] = data["saved_replies"] if isinstance(data, dict) else data
    prefix = "saved_replies" if isinstance(data, dict) else ""
    seen: set[str] = set()
    for number, item in enumerate(items):
        try:
            yield _document(item, file, f"{prefix}[{number}]", None, default_id, seen)
        except KnowledgeError as error:
            on_problem(error)


def read_saved_replies_csv(
    text: str, file: str, default_id: str, on_problem: ProblemHandler
) -> Iterator[Document]:
    reader = csv.DictReader(text.splitlines())
    missing = {"title", "body"} - {name.strip().lower() for name in reader.fieldnames or []}
    if missing:
        raise KnowledgeError(
            file,
            1,
            "a saved-replies CSV needs the columns title and body; missing: "
            + ", ".join(sorted(missing)),
        )
    seen: set[str] = set()
    for row in reader:
        clean = {key.strip().lower(): value for key, value in row.items() if key}
        try:
            yield _document(clean, file, "", reader.line_num, default_id, seen)
        except KnowledgeError as error:
            on_problem(error)


def _document(
    item: Mapping[str, Any],
    file: str,
    where: str,
    line: int | None,
    default_id: str,
    seen: set[str],
) -> Document:
    def problem(field: str, text: str) -> KnowledgeError:
        return KnowledgeError(file, line, f"{where}{'.' if where else ''}{field}: {text}")

    title = _text(item.get("title"))
    body = _text(item.get("body"))
    if not title:
        raise problem("title", "missing")
    if not body:
        raise problem("body", "missing")
    raw_language = _text(item.get("language"))
    language = language_code(raw_language)
    if raw_language and language is None:
        raise problem("language", f"{raw_language!r} is not a language code (de, en-US)")
    reply_id = _text(item.get("id")) or f"{default_id}/{_SLUG.sub('-', title.lower()).strip('-_')}"
    if reply_id in seen:
        raise problem("id", f"{reply_id!r} is used twice in this file")
    seen.add(reply_id)
    tags = item.get("tags") or []
    if isinstance(tags, str):
        tags = [tag.strip() for tag in tags.split(",")]
    return Document(
        article_id=reply_id,
        title=title,
        sections=[Section("", body.replace("\r\n", "\n"))],
        source=file,
        language=language,
        tags=tuple(str(tag) for tag in tags if str(tag).strip()),
        kind="saved_reply",
        category=_text(item.get("category")) or None,
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
