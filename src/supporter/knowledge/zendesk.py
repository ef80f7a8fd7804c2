"""A Zendesk Guide (Help Center) articles export: the JSON the Help Center API returns.

`GET /api/v2/help_center/{locale}/articles` answers `{"articles": [...], ...}` with
either offset (`next_page`) or cursor (`meta.has_more`, `links.next`) pagination; an
export is one such page, a list of pages, or a list of article objects. Of an article
we read `id`, `title`, `body` (HTML), `locale`, `label_names` and `draft` (drafts are
not published policy and are left out), as documented at
https://developer.zendesk.com/api-reference/help_center/help-center-api/articles/
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from supporter.knowledge.documents import (
    Document,
    KnowledgeError,
    ProblemHandler,
    language_code,
)
from supporter.knowledge.html import read_html


def is_articles_export(data: Any) -> bool:
    if isinstance(data, dict):
        return isinstance(data.get("articles"), list)
    return (
        bool(data) and isinstance(data, list) and all(_looks_like_page_or_article(x) for x in data)
    )


def _looks_like_page_or_article(item: Any) -> bool:
    return isinstance(item, dict) and (
        isinstance(item.get("articles"), list) or ("locale" in item and "body" in item)
    )


def read_articles_export(data: Any, file: str, on_problem: ProblemHandler) -> Iterator[Document]:
    """Every published article; a bad one goes to `on_problem` (a KnowledgeError)."""
    for where, article in _articles(data):
        try:
            document = _document(article, file, where)
        except KnowledgeError as error:
            on_problem(error)
            continue
        if document is not None:
            yield document


def _articles(data: Any) -> Iterator[tuple[str, Any]]:
    pages = data if isinstance(data, list) else [data]
    for page_number, page in enumerate(pages):
        if isinstance(page, dict) and isinstance(page.get("articles"), list):
            prefix = f"[{page_number}].articles" if isinstance(data, list) else "articles"
            for number, article in enumerate(page["articles"]):
                yield f"{prefix}[{number}]", article
        else:
            yield f"[{page_number}]", page


def _document(article: Any, file: str, where: str) -> Document | None:
    if not isinstance(article, dict):
        raise KnowledgeError(file, None, f"{where}: an article must be a JSON object")
    if article.get("draft") is True:
        return None
    article_id = article.get("id")
    if article_id is None or str(article_id).strip() == "":
        raise KnowledgeError(file, None, f"{where}.id: missing")
    body = article.get("body")
    if not isinstance(body, str):
        raise KnowledgeError(file, None, f"{where}.body: missing or not text")
    title = article.get("title") or article.get("name")
    if not isinstance(title, str) or not title.strip():
        raise KnowledgeError(file, None, f"{where}.title: missing")
    labels = article.get("label_names") or []
    if not isinstance(labels, list):
        raise KnowledgeError(file, None, f"{where}.label_names: must be a list")
    locale = article.get("locale")
    language = language_code(locale if isinstance(locale, str) else None)
    if locale and language is None:
        raise KnowledgeError(file, None, f"{where}.locale: {locale!r} is not a locale (en-us)")
    return Document(
        article_id=str(article_id).strip(),
        title=title.strip(),
        sections=read_html(body).sections,
        source=file,
        language=language,
        tags=tuple(str(label) for label in labels),
    )
