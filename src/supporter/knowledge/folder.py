"""Everything under a knowledge folder (or one file), recognised by extension and content.

Markdown (.md, .markdown), plain text (.txt) and HTML (.html, .htm) are articles whose
id is their path below the folder without the extension, unless front matter names
one. JSON is a Zendesk articles export or saved replies; CSV is saved replies. Files
are UTF-8 (with or without a byte-order mark) or UTF-16 with one. A file that cannot
be used (binary data among them) is reported and the rest is read.
"""

from __future__ import annotations

import hashlib
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
from supporter.sources.sniff import SAMPLE_BYTES, text_encoding

MARKDOWN: Final = frozenset({".md", ".markdown"})
HTML: Final = frozenset({".html", ".htm"})
SUFFIXES: Final = MARKDOWN | HTML | {".txt", ".json", ".csv"}
_BINARY: Final = (
    "not a text file: it holds NUL bytes (binary data, or UTF-16/UTF-32 without a "
    "byte-order mark); save it as UTF-8"
)


def read_knowledge(root: Path, on_problem: ProblemHandler) -> Iterator[Document]:
    """Every document under `root` (a folder, or a single file), in path order.

    Raises KnowledgeError when `root` does not exist; a file or entry that cannot be
    used goes to `on_problem`. An id used twice keeps its first document, and so does
    content read twice (a copied file): the copy is reported with the file kept.
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
    contents: dict[str, str] = {}
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
            kept = contents.get(key := _content_key(document, _default_id(path, base)))
            if kept is not None:
                on_problem(
                    KnowledgeError(
                        document.source,
                        None,
                        f"{document.article_id!r} has the same content as {kept}, which was "
                        "kept: it would only repeat in searches",
                    )
                )
                continue
            seen[document.article_id] = document.source
            if document.sections:
                contents[key] = f"{document.source} ({document.article_id!r})"
            yield document


def _content_key(document: Document, default_id: str) -> str:
    """What a document says, whatever its id or tags: the same text read twice. A title
    made from the file's path (`default_id`: no heading and no title in front matter,
    whether or not that names an id) is not what it says."""
    canonical = json.dumps(
        [
            "" if document.title == default_id else document.title,
            document.kind,
            document.language,
            document.category,
            [[section.heading, section.text] for section in document.sections],
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _default_id(path: Path, base: Path) -> str:
    """A file's id (and title) unless it names them: its path below `base`, no extension."""
    return path.relative_to(base).with_suffix("").as_posix()


def _read_text(path: Path, file: str) -> str:
    """The file's text: UTF-8 (with or without a byte-order mark) or UTF-16 with one, as
    ticket files are read; binary data (NUL bytes) is refused, never indexed."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise KnowledgeError(file, None, f"cannot read: {error.strerror or error}") from None
    encoding = text_encoding(data[:SAMPLE_BYTES])
    if encoding is None:
        raise KnowledgeError(file, None, _BINARY)
    body = data[encoding.mark :]
    try:
        text = body.decode(encoding.body_codec)
    except UnicodeDecodeError as error:
        name = encoding.name.removesuffix(" with a byte-order mark")
        line = body[: error.start].count(b"\n") + 1 if encoding.body_codec == "utf-8" else None
        raise KnowledgeError(
            file, line, f"not {name} text ({error.reason}): save it as UTF-8"
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise KnowledgeError(file, text.count("\n", 0, nul) + 1, _BINARY)
    return text


def _read_file(path: Path, base: Path, on_problem: ProblemHandler) -> Iterator[Document]:
    file = str(path)
    default_id = _default_id(path, base)
    text = _read_text(path, file)
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
