"""Everything under a knowledge folder (or one file), recognised by extension and content.

Markdown (.md, .markdown), plain text (.txt) and HTML (.html, .htm) are articles whose
id is their path below the folder without the extension, unless front matter names
one. JSON is a Zendesk articles export or saved replies; CSV is saved replies. A file
that cannot be used is reported and the rest is read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from supporter.knowledge.documents import Document, KnowledgeError, ProblemHandler
from supporter.knowledge.html import read_html
from supporter.knowledge.markdown import document_from, read_markdown, split_front_matter
from supporter.knowledge.saved_replies import (
    is_saved_replies,
    read_saved_replies_csv,
    read_saved_replies_json,
)
from supporter.knowledge.zendesk import is_articles_export, read_articles_export

MARKDOWN: Final = frozenset({".md", ".markdown"})
HTML: Final = frozenset({".html", ".htm"})
SUFFIXES: Final = MARKDOWN | HTML | {".txt", ".json", ".csv"}


def read_knowledge(root: Path, on_problem: ProblemHandler) -> Iterator[Document]:
    """Every document under `root` (a folder, or a single file), in path order.

    Raises KnowledgeError when `root` does not exist; a file or entry that cannot be
    used goes to `on_problem`. An id used twice keeps its first document.
    """
    if not root.exists():
        raise KnowledgeError(str(root), None, "no such file or folder")
    files = (
        [root]
        if root.is_file()
        else sorted(
            path for path in root.rglob("*") if path.is_file() and path.suffix.lower() in SUFFIXES
        )
    )
    base = root.parent if root.is_file() else root
    seen: dict[str, str] = {}
    for path in files:
        if any(part.startswith(".") for part in path.relative_to(base).parts):
            continue  # hidden files and folders (.git) are not articles
        try:
            documents = list(_read_file(path, base, on_problem))
        except KnowledgeError as error:
            on_problem(error)
            continue
        for document in documents:
            first = seen.get(document.article_id)
            if first is not None:
                on_problem(
                    KnowledgeError(
                        document.source,
                        None,
                        f"id {document.article_id!r} is already used by {first}",
                    )
                )
                continue
            seen[document.article_id] = document.source
            yield document


def _read_file(path: Path, base: Path, on_problem: ProblemHandler) -> Iterator[Document]:
    file = str(path)
    default_id = path.relative_to(base).with_suffix("").as_posix()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise KnowledgeError(file, None, f"not UTF-8 text ({error.reason})") from None
    except OSError as error:
        raise KnowledgeError(file, None, f"cannot read: {error.strerror or error}") from None
    suffix = path.suffix.lower()
    if suffix in MARKDOWN:
        yield read_markdown(text, file, default_id)
    elif suffix == ".txt":
        yield read_markdown(text, file, default_id, plain=True)
    elif suffix in HTML:
        yield _read_html_file(text, file, default_id)
    elif suffix == ".csv":
        yield from read_saved_replies_csv(text, file, default_id, on_problem)
    else:
        yield from _read_json(text, file, default_id, on_problem)


def _read_html_file(text: str, file: str, default_id: str) -> Document:
    front = split_front_matter(text, file)
    article = read_html(front.body)
    values = dict(front.values)
    if article.title:
        values.setdefault("title", article.title)
    if article.language:
        values.setdefault("language", article.language)
    return document_from(values, article.sections, file, default_id)


def _read_json(
    text: str, file: str, default_id: str, on_problem: ProblemHandler
) -> Iterator[Document]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise KnowledgeError(file, error.lineno, f"not valid JSON: {error.msg}") from None
    if is_articles_export(data):
        yield from read_articles_export(data, file, on_problem)
    elif is_saved_replies(data):
        yield from read_saved_replies_json(data, file, default_id, on_problem)
    else:
        raise KnowledgeError(
            file,
            None,
            'not a Zendesk articles export ({"articles": [...]}) nor saved replies '
            "(a list of objects with title and body)",
        )
