"""HTML articles (files, and the bodies of a Zendesk export): text split at h1-h6.

The standard library's tolerant parser reads whatever help-center editors produce;
block elements end a paragraph, `script`, `style` and `template` hold no text.

`markup_free` does the same for the inline HTML a Markdown or text article may hold,
and drops the links whose address could run code (``javascript:``): passages are
quoted into replies to customers, which must carry no markup of ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Final
from urllib.parse import unquote

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


# Addresses a link in a reply may keep: the web, mail and phone, and relative ones.
_SAFE_SCHEMES: Final = frozenset({"http", "https", "mailto", "tel"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")
# CommonMark autolinks (<https://...>, <ann@example.com>): the address as text.
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*)>")
_EMAIL_AUTOLINK = re.compile(r"<([\w.!#$%&'*+/=?^`{|}~\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*)>")
# An inline link or image: [text](address "title"), the address maybe in <...>.
# Its address may hold balanced parentheses, one deep, as CommonMark allows.
_LINK = re.compile(r"!?\[([^\]\n]*)\]\(\s*(<[^>\n]*>|(?:[^()\s]|\([^()\s]*\))*)(?:\s+[^)\n]*)?\)")
# A link reference definition: [label]: address "title".
_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]*(<[^>\n]*>|\S+).*$", re.MULTILINE)


def safe_url(address: str) -> bool:
    """Whether a link to `address` may stand in a reply: no scheme (relative) or one of
    http, https, mailto and tel, however it is spelled (``JaVa&#09;script:``)."""
    plain = _INVISIBLE.sub("", unquote(address.strip("<>")))
    scheme = _SCHEME.match(plain)
    return scheme is None or scheme.group(1).lower() in _SAFE_SCHEMES


class _MarkupStripper(HTMLParser):
    """Text with its HTML tags taken out (their text kept), comments and the content of
    `script`, `style`, `template` and `noscript` dropped; entities left as written."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []
        self._silent = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SILENT:
            self._silent += 1
        elif tag in _BLOCKS or tag in _HEADINGS or tag == "li":
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SILENT:
            self._silent = max(0, self._silent - 1)

    def handle_data(self, data: str) -> None:
        if not self._silent:
            self.parts.append(data)

    def handle_entityref(self, name: str) -> None:
        self.handle_data(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.handle_data(f"&#{name};")


def markup_free(text: str) -> str:
    """`text` (Markdown, or plain text) without HTML tags and without links to unsafe
    addresses: an unsafe link keeps its text, an unsafe image its alt text, an unsafe
    autolink or link definition goes. Markdown that is not markup stays as written."""
    text = _DEFINITION.sub(lambda m: m.group(0) if safe_url(m.group(1)) else "", text)
    text = _LINK.sub(_link, text)
    text = _AUTOLINK.sub(lambda m: m.group(1) if safe_url(m.group(1)) else "", text)
    text = _EMAIL_AUTOLINK.sub(lambda m: m.group(1), text)
    if "<" not in text:
        return text
    stripper = _MarkupStripper()
    stripper.feed(text)
    stripper.close()
    return "".join(stripper.parts)


def _link(match: re.Match[str]) -> str:
    label, address = match.groups()
    return match.group(0) if safe_url(address) else label
