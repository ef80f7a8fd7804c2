"""Markdown and plain-text articles: YAML front matter, then sections at the headings.

Front matter is the block between a first line `---` and the next `---` (as Jekyll,
Hugo and most static-site generators write it: https://jekyllrb.com/docs/front-matter/);
its keys `id`, `title`, `language` and `tags` are read, others ignored. Headings are
ATX (`# Title`, `## Section`) as CommonMark defines them
(https://spec.commonmark.org/0.31.2/#atx-headings); lines inside fenced code blocks
are never headings. Inline HTML is taken out, its text kept, and links to addresses
that could run code lose their address (`supporter.knowledge.html.markup_free`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from supporter.knowledge.documents import Document, KnowledgeError, Section, language_code
from supporter.knowledge.html import markup_free

_ATX_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r" {0,3}(```|~~~)")
# The safe loader in C (libyaml) when PyYAML was built with it: ten times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class FrontMatter:
    values: dict[str, Any]
    body: str
    body_line: int  # the line of the file the body starts on


def split_front_matter(text: str, file: str) -> FrontMatter:
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return FrontMatter({}, text, 1)
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        raise KnowledgeError(file, 1, "front matter starts with --- but never ends")
    try:
        values = yaml.load("\n".join(lines[1:end]), Loader=_LOADER) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(error, "problem", None) or str(error).split("\n")[0]
        hint = " (put a value with a colon in quotes)" if "mapping values" in problem else ""
        raise KnowledgeError(
            file, line, f"front matter is not valid YAML: {problem}{hint}"
        ) from None
    if not isinstance(values, dict):
        raise KnowledgeError(file, 2, "front matter must be a mapping of keys to values")
    return FrontMatter(values, "\n".join(lines[end + 1 :]), end + 2)


def read_markdown(text: str, file: str, default_id: str, *, plain: bool = False) -> Document:
    """A Markdown (or, with `plain`, a plain-text) article; `default_id` is its path."""
    front = split_front_matter(text, file)
    # Passages are quoted into replies: no inline HTML, no link that could run code.
    body = markup_free(front.body)
    sections = _text_sections(body) if plain else _markdown_sections(body)
    return document_from(front.values, sections, file, default_id)


def document_from(
    values: dict[str, Any], sections: list[Section], file: str, default_id: str
) -> Document:
    """A document from front-matter `values` and `sections`; a leading `# Title`
    section without text names the article when the front matter does not."""
    title = _text_field(values, "title", file)
    if sections and sections[0].heading and sections[0].heading == (title or sections[0].heading):
        title = sections[0].heading
        first = sections[0]
        sections = [Section("", first.text), *sections[1:]] if first.text else sections[1:]
    tags = values.get("tags") or []
    if isinstance(tags, str):
        tags = [tag.strip() for tag in tags.split(",")]
    if not isinstance(tags, list):
        raise KnowledgeError(file, None, "front matter field tags must be a list or a string")
    language = _text_field(values, "language", file) or _text_field(values, "lang", file)
    code = language_code(language)
    if language and code is None:
        raise KnowledgeError(
            file,
            None,
            f"front matter field language {language!r} is not a language code (de, en-US)",
        )
    return Document(
        article_id=_text_field(values, "id", file) or default_id,
        title=title or default_id,
        sections=sections,
        source=file,
        language=code,
        tags=tuple(str(tag) for tag in tags if str(tag).strip()),
    )


def _text_field(values: dict[str, Any], key: str, file: str) -> str:
    value = values.get(key)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise KnowledgeError(file, None, f"front matter field {key} must be text")
    return str(value).strip()


def _markdown_sections(body: str) -> list[Section]:
    sections: list[Section] = []
    heading = ""
    lines: list[str] = []
    fenced = False
    for line in body.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        match = None if fenced else _ATX_HEADING.fullmatch(line)
        if match is None:
            lines.append(line)
            continue
        sections.append(Section(heading, _tidy(lines)))
        heading, lines = (match.group(2) or "").strip(), []
    sections.append(Section(heading, _tidy(lines)))
    return [section for section in sections if section.heading or section.text]


def _text_sections(body: str) -> list[Section]:
    text = _tidy(body.split("\n"))
    return [Section("", text)] if text else []


def _tidy(lines: list[str]) -> str:
    """Trailing spaces and runs of blank lines gone; paragraphs kept apart by one blank line."""
    text = "\n".join(line.rstrip() for line in lines).strip()
    return re.sub(r"\n{3,}", "\n\n", text)
