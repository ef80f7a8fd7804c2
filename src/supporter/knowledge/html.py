"""HTML articles (files, and the bodies of a Zendesk export): text split at h1-h6.

The standard library's tolerant parser reads whatever help-center editors produce;
block elements end a paragraph, `script`, `style` and `template` hold no text.

`markup_free` does the same for the inline HTML a Markdown or text article may hold,
and drops the links whose address could run code (``javascript:``): passages are
quoted into replies to customers, which must carry no markup of ours.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser
from operator import itemgetter
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


class _Parser(HTMLParser):
    """The standard library's parser, reading each ``<![`` (``<![CDATA[``, ``<![if IE]>``)
    as a bogus comment, as a browser does in HTML: before Python 3.13 it raises
    AssertionError on a marked section it cannot name (``<![ x``)."""

    def parse_html_declaration(self, i: int) -> int:
        if self.rawdata.startswith("<![", i):
            return self.parse_bogus_comment(i)
        return super().parse_html_declaration(i)


class _SectionParser(_Parser):
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
# Left out when an address is judged: controls, spaces (ASCII and Unicode) and the
# invisible format characters, any of which a browser or a renderer may drop.
_INVISIBLE = re.compile(
    r"[\x00-\x20\x7f-\xa0\u1680\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]+"
)
# A backslash escape of ASCII punctuation, which CommonMark reads as the character.
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
# The escaped character (not the template r"\1", which the re module expands in Python
# for each escape, slow for addresses full of them).
_ESCAPED_CHAR: Final = itemgetter(1)
# CommonMark autolinks (<https://...>, <ann@example.com>): the address as text.
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*)>")
_EMAIL_AUTOLINK = re.compile(r"<([\w.!#$%&'*+/=?^`{|}~\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*)>")
# An inline link or image: [text](address "title"), the address maybe in <...>.
# Its address may hold balanced parentheses, one deep, as CommonMark allows.
# Its text holds no bracket, so a match is tried from each "[" only as far as the next
# bracket: retried from every "[" of "[[[[", reading to the end of the line would take
# time growing with the square of the line's length (`_unsafe_destinations_out` sees
# the links with brackets in their text).
_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\(\s*(<[^>\n]*>|(?:[^()\s]|\([^()\s]*\))*)(?:\s+[^)\n]*)?\)")
# A link reference definition: [label]: address "title".
_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]+\]:\s*(<[^>\n]*>|\S+).*$", re.MULTILINE)
# What is left of any definition the one above does not see (in a quote or a list
# item, a label with brackets in it): from its colon to the end of the line.
_ANY_DEFINITION = re.compile(r"\]:\s*(<[^>\n]*>?|\S+)[^\n]*")
# The title and closing parenthesis after an inline link's address.
_LINK_TAIL = re.compile(r"""\s*(?:"[^"\n]*"|'[^'\n]*'|\([^()\n]*\))?[ \t]*\)""")
# What HTML could read as the start of a tag, comment or declaration (never closed,
# as the parser left it): to the end of its line.
_TAG_START = re.compile(r"<[A-Za-z/!?][^\n]*")
# How much of a link's address is read to judge it (reading each whole would take
# time growing with the square of the text's length for text such as "](](](").
_JUDGED_CHARS: Final = 256
# An address cut there that could still become a scheme is unsafe (so is a relative
# address that long without a "/", "?", "#" or "%"; none was seen).
_SCHEME_SO_FAR = re.compile(r"[A-Za-z0-9+.\-]*")
# An entity, %-escape or backslash escape the cut may have split, at the end.
_SPLIT_ESCAPE = re.compile(r"(?:&[#\w]*|%[0-9A-Fa-f]?|\\)\Z")
# A pass that still finds markup after this many is given up: see `_blunt`.
_MAX_PASSES: Final = 32


def safe_url(address: str) -> bool:
    """Whether a link to `address` may stand in a reply: no scheme (relative) or one of
    http, https, mailto and tel, however it is spelled. The address is read as a
    renderer and a browser might: HTML entities (``&#106;``, ``&colon;``), backslash
    escapes and %-escapes are undone, again until nothing changes, and controls and
    spaces are left out, so ``JaVa&#09;script:`` and ``java\\:script`` are unsafe."""
    scheme = _SCHEME.match(_plain(address))
    return scheme is None or scheme.group(1).lower() in _SAFE_SCHEMES


def _plain(address: str, *, cut: bool = False) -> str:
    """`address` decoded until nothing changes, without controls and spaces; when `cut`
    (the start of a longer address), without an escape the cut may have split."""
    plain = address.strip().strip("<>")
    while True:
        if cut:
            plain = _SPLIT_ESCAPE.sub("", plain)
        decoded = unquote(_ESCAPED.sub(_ESCAPED_CHAR, unescape(plain)))
        if decoded == plain:
            return _INVISIBLE.sub("", plain)
        plain = decoded


class _MarkupStripper(_Parser):
    """Text with its HTML tags taken out (their text kept), comments, declarations and
    the content of `script`, `style`, `template` and `noscript` dropped. Fed with every
    ``&`` written as ``&amp;``, so entities come out as written."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
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


def markup_free(text: str) -> str:
    """`text` (Markdown, or plain text) without HTML and without links to unsafe
    addresses: an unsafe link keeps its text, an unsafe image its alt text, an unsafe
    autolink or link definition goes. Markdown that is not markup stays as written.

    One pass takes out autolinks (before the tags, which they look like), then tags,
    then whatever could still open a tag (``<img src=x`` never closed, to the end of its
    line; ``a < b`` stays), then unsafe definitions and links. Taking one piece out can
    join the pieces around it into new markup (``java<b></b>script:``), so passes repeat
    until one changes nothing: the result holds no ``<`` before a letter, ``/``, ``!``
    or ``?``, and `markup_free` of it is itself."""
    for _ in range(_MAX_PASSES):
        cleaned = _pass(text)
        if cleaned == text:
            return text
        text = cleaned
    return _blunt(text)


def _pass(text: str) -> str:
    text = _AUTOLINK.sub(lambda m: m.group(1) if safe_url(m.group(1)) else "", text)
    text = _EMAIL_AUTOLINK.sub(lambda m: m.group(1), text)
    if "<" in text:
        text = _unclosed_tag_starts_out(text)
        stripper = _MarkupStripper()
        stripper.feed(text.replace("&", "&amp;"))
        stripper.close()
        text = _TAG_START.sub("", "".join(stripper.parts))
    text = _DEFINITION.sub(lambda m: m.group(0) if safe_url(m.group(1)) else "", text)
    text = _LINK.sub(_link, text)
    text = _unsafe_destinations_out(text)
    return _ANY_DEFINITION.sub(lambda m: m.group(0) if safe_url(m.group(1)) else "]", text)


def _unclosed_tag_starts_out(text: str) -> str:
    """`text` without what could start a tag after its last ``>``, to the end of its
    line: no tag there is ever closed, the parser would keep it as text and
    `_TAG_START` take it out after, but the parser (before Python 3.13) reads each
    such start again to the end of the text, in time growing with the square of its
    length (``"<b\\n" * 10000``)."""
    last = text.rfind(">") + 1
    return text[:last] + _TAG_START.sub("", text[last:])


def _link(match: re.Match[str]) -> str:
    label, address = match.groups()
    return match.group(0) if safe_url(address) else label


def _unsafe_destinations_out(text: str) -> str:
    """Every inline link `_LINK` does not see (brackets or escapes in its text,
    parentheses nested deeper) without its address when that is unsafe: ``[a]``."""
    parts: list[str] = []
    kept = at = 0
    ends: _DestinationEnds | None = None
    while (at := text.find("](", at)) >= 0:
        ends = ends or _DestinationEnds(text)
        begin = at + 2
        end = ends.end(begin, begin + _JUDGED_CHARS)
        address = text[begin:end]
        cut = end == begin + _JUDGED_CHARS
        if _plainly_safe(address, cut=cut) or (
            safe_url(address) and not (cut and _SCHEME_SO_FAR.fullmatch(_plain(address, cut=True)))
        ):
            at = begin
            continue
        end = ends.end(begin, len(text))
        tail = _LINK_TAIL.match(text, end)
        parts.append(text[kept : at + 1])
        kept = at = tail.end() if tail else end
    parts.append(text[kept:])
    return "".join(parts)


def _plainly_safe(address: str, *, cut: bool) -> bool:
    """Whether `address` is safe without decoding it (which is slow done for each of
    many addresses): nothing in it (no ``&``, ``%`` or ``:``) can become a scheme's
    colon, and, when `cut`, a bracket or parenthesis (which no decoding takes out)
    keeps its start from becoming a scheme."""
    if ":" in address or "&" in address or "%" in address:
        return False
    return not cut or any(char in address for char in "()[]")


# A backslash escape (of any character) or a parenthesis, as an address is read.
_ESCAPE_OR_PARENTHESIS = re.compile(r"\\.|[()]", re.DOTALL)
# What ends an address unless escaped.
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")


class _DestinationEnds:
    """Where a link address in `text` ends, for each address the text holds: its
    parentheses are counted once for the whole text (each address read on its own
    would take time growing with the number of addresses times their length, for
    text such as ``"](\\(" * 50000``). A backslash escape pairs the same from any
    address start, which follows ``(`` or a space, never a backslash."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._parens: list[int] = []  # where each unescaped parenthesis is
        self._depths: list[int] = []  # the count of "(" less ")" up to and with it
        self._closers: dict[int, list[int]] = {}  # each ")" by the count before it
        depth = 0
        for match in _ESCAPE_OR_PARENTHESIS.finditer(text):
            char = match.group()
            if char == "(":
                depth += 1
            elif char == ")":
                self._closers.setdefault(depth, []).append(match.start())
                depth -= 1
            else:
                continue
            self._parens.append(match.start())
            self._depths.append(depth)

    def end(self, begin: int, limit: int) -> int:
        """Where the address starting at `begin` (after its opening parenthesis)
        ends: at ``>`` when in ``<...>``, else at a space or at an unbalanced ``)``;
        at `limit` if that comes first."""
        text = self._text
        stop = min(limit, len(text))
        at = begin
        while at < stop and text[at].isspace():
            at += 1
        if text.startswith("<", at, stop):
            ends = (text.find(">", at, stop), text.find("\n", at, stop))
            return min([end + 1 for end in ends if end >= 0] or [stop])
        end = stop
        after = at
        while space := _SPACE_OR_CONTROL.search(text, after, stop):
            escaped = text[after : space.start()]
            if (len(escaped) - len(escaped.rstrip("\\"))) % 2 == 0:
                end = space.start()
                break
            after = space.end()
        before = bisect_left(self._parens, at)
        depth = self._depths[before - 1] if before else 0
        closers = self._closers.get(depth, [])
        closer = bisect_left(closers, at)
        return min(end, closers[closer]) if closer < len(closers) else end


def _blunt(text: str) -> str:
    """For text nested so deep that passes do not end: no ``<`` at all, and no ``](``
    or ``]:`` that could make a link (a space after the bracket)."""
    return text.replace("<", "").replace("](", "] (").replace("]:", "] :")
