"""HTML articles (files, and the bodies of a Zendesk export): text split at h1-h6.

The standard library's tolerant parser reads whatever help-center editors produce;
block elements end a paragraph, `script`, `style` and `template` hold no text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Final

from supporter.knowledge.documents import Section

_HEADINGS: Final = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_BLOCKS: Final = frozenset(
    {"p", "div", "ul", "ol", "table", "tr", "blockquote", "pre", "section", "article", "br"}
    | {"header", "footer", "dl", "dt", "dd", "hr", "figure", "details", "summary"}
)
_SILENT: Final = frozenset({"script", "style", "template", "noscript"})
_SPACES = re.compile(r"[ \t\r\f\v]+")


class _SectionParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[Section] = []
        self.title = ""
        self.language = ""
        self._in_title = False
        self._heading = ""
        self._in_heading: str | None = None
        self._heading_parts: list[str] = []
        self._parts: list[str] = []
        self._silent = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.language = dict(attrs).get("lang") or ""
        elif tag == "title":
            self._in_title = True
        elif tag in _SILENT:
            self._silent += 1
        elif tag in _HEADINGS:
            self._close_section()
            self._in_heading, self._heading_parts = tag, []
        elif tag == "li":
            self._parts.append("\n- ")
        elif tag in _BLOCKS:
            self._parts.append("\n\n" if tag != "br" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SILENT:
            self._silent = max(0, self._silent - 1)
        elif tag in _HEADINGS and self._in_heading is not None:
            self._heading = _SPACES.sub(" ", "".join(self._heading_parts)).strip()
            self._in_heading = None
        elif tag in _BLOCKS:
            self._parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._silent:
            return
        if self._in_heading is not None:
            self._heading_parts.append(data)
        elif self._in_title:
            self.title += data
        else:
            self._parts.append(data)

    def close(self) -> None:
        super().close()
        self._close_section()

    def _close_section(self) -> None:
        text = html_text("".join(self._parts))
        if text or self._heading:
            self.sections.append(Section(self._heading, text))
        self._heading, self._parts = "", []


def html_text(raw: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in raw.split("\n"))
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


@dataclass(frozen=True, slots=True)
class HtmlArticle:
    sections: list[Section]
    title: str  # of the <title> element, "" without one
    language: str  # the <html lang> attribute, "" without one


def read_html(markup: str) -> HtmlArticle:
    parser = _SectionParser()
    parser.feed(markup)
    parser.close()
    return HtmlArticle(parser.sections, parser.title.strip(), parser.language.strip())
