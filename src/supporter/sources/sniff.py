"""What a file is, from its first bytes: encoding, delimiter, header, JSON shape.

Every format's `recognise` is given one `Sample`, read once, so detection costs
one small read however many formats there are. The encoding comes from a
byte-order mark (UTF-8, UTF-16 LE/BE) or is UTF-8; NUL bytes without a UTF-16
mark mean a binary file (or UTF-16/32 without a mark), which no format reads,
so it stops here with the encoding problem named, never with its bytes printed
(a stray NUL inside one field is that row's problem, not the file's).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from supporter.sources.base import SourceError

__all__ = [
    "SAMPLE_BYTES",
    "Sample",
    "TextEncoding",
    "printable",
    "sniff",
    "text_encoding",
    "unreadable",
]

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", "\t", ";")
JsonShape = Literal["object", "array", "lines"]

# (mark, codec for open(), codec for the bytes after the mark, name)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8", "UTF-8 with a byte-order mark"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16-be", "UTF-16 BE"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon"}


@dataclass(frozen=True, slots=True)
class TextEncoding:
    """How a text file is encoded, as its first bytes say."""

    codec: str  # for open()
    body_codec: str  # for the bytes after the byte-order mark
    name: str  # as a person would say it
    mark: int  # the byte-order mark's length in bytes (0 without one)


def text_encoding(head: bytes) -> TextEncoding | None:
    """The encoding of a file starting with `head`: a byte-order mark's (UTF-8, UTF-16 LE
    or BE), else UTF-8; None for binary data (NUL bytes without a UTF-16 mark)."""
    found = TextEncoding("utf-8", "utf-8", "UTF-8", 0)
    for bom, codec, after_bom, described in _BOMS:
        if head.startswith(bom):
            found = TextEncoding(codec, after_bom, described, len(bom))
            break
    return None if found.codec != "utf-16" and _binary(head) else found


@dataclass(frozen=True)
class Sample:
    """The start of a file as the formats see it."""

    path: Path
    encoding: str  # a Python codec name, for open()
    encoding_name: str  # as a person would say it
    text: str  # the first SAMPLE_BYTES decoded (undecodable bytes as lone surrogates)
    delimiter: str
    header: list[str] = field(default_factory=list)  # the first non-blank record
    json_shape: JsonShape | None = None

    @property
    def name(self) -> str:
        return os.fspath(self.path)

    @property
    def delimiter_name(self) -> str:
        return _DELIMITER_NAMES[self.delimiter]

    @property
    def normalised_header(self) -> frozenset[str]:
        return frozenset(column.strip().casefold() for column in self.header)

    def has_columns(self, *names: str) -> bool:
        """True when every name (compared case-insensitively) is a column of the header."""
        found = self.normalised_header
        return all(name.casefold() in found for name in names)

    def first_json(self) -> Any:
        """The whole document when it fits in the sample, or the first line of JSON Lines;
        None when neither parses."""
        try:
            if self.json_shape == "lines":
                return json.loads(self.text.split("\n", 1)[0])
            return json.loads(self.text)
        except ValueError:
            return None

    def describe(self) -> str:
        """Encoding, delimiter and header, for messages."""
        if self.json_shape is not None:
            return f"{self.encoding_name}, JSON ({self.json_shape})"
        shown = ", ".join(printable(column.strip()) or "''" for column in self.header[:20])
        if len(self.header) > 20:
            shown += f", ... ({len(self.header) - 20} more)"
        return f"{self.encoding_name}, {self.delimiter_name}-separated, header: {shown}"


def sniff(path: str | os.PathLike[str]) -> Sample:
    """Read the start of `path`; SourceError when it is missing, unreadable or not text."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            head = stream.read(SAMPLE_BYTES)
    except OSError as error:
        raise SourceError(unreadable(name, error)) from error
    found = text_encoding(head)
    if found is None:
        raise SourceError(
            f"{name}: not a text file: it holds NUL bytes (binary data, or UTF-16/UTF-32 "
            "without a byte-order mark); export it as UTF-8 (or UTF-16 with a byte-order "
            "mark) CSV or JSON"
        )
    encoding, encoding_name = found.codec, found.name
    text = _decode(head[found.mark :], found.body_codec)
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return Sample(Path(path), encoding, encoding_name, text, ",", [], _json_shape(stripped))
    delimiter = _delimiter(text)
    header = _header(text, delimiter)
    if any(_CONTROL.search(column) for column in header):
        raise SourceError(
            f"{name}: the header is not readable text in {encoding_name} (it holds bytes "
            "that are not characters); save the file as UTF-8 CSV"
        )
    return Sample(Path(path), encoding, encoding_name, text, delimiter, header)


def _binary(head: bytes) -> bool:
    """NULs in the first line or in more than a tenth of the sample: no text export has those
    (a stray NUL inside a field is a bad value, not a binary file)."""
    first_line = head.split(b"\n", 1)[0]
    return b"\x00" in first_line or head.count(0) * 10 > len(head)


def _decode(data: bytes, codec: str) -> str:
    # An incremental decoder leaves a character cut by the sample's end undecoded.
    errors = "surrogateescape" if codec == "utf-8" else "replace"
    return codecs.getincrementaldecoder(codec)(errors).decode(data)


def _json_shape(text: str) -> JsonShape:
    if text.startswith("["):
        return "array"
    first, _, rest = text.partition("\n")
    try:
        json.loads(first)
    except ValueError:
        return "object"  # one document over several lines
    # One line alone is a document; JSON Lines readers take it as one record too.
    return "lines" if rest.strip().startswith("{") else "object"


def _delimiter(text: str) -> str:
    """The delimiter that splits the first line into the most fields (comma on a tie)."""
    line = next((line for line in text.splitlines() if line.strip()), "")
    counts = {delimiter: _fields(line, delimiter) for delimiter in DELIMITERS}
    return max(DELIMITERS, key=lambda delimiter: (counts[delimiter], delimiter == ","))


def _fields(line: str, delimiter: str) -> int:
    try:
        return len(next(csv.reader([line], delimiter=delimiter)))
    except (csv.Error, StopIteration):
        return 0


def _header(text: str, delimiter: str) -> list[str]:
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            if any(value.strip() for value in row):
                return row
    except csv.Error:
        pass  # a header cut by the sample's end, or not CSV at all
    return []


def printable(text: str) -> str:
    """`text` safe to print: control characters and undecodable bytes escaped."""
    if text.isascii() and text.isprintable():
        return text
    return _CONTROL.sub(lambda match: _escape(match[0]), text)


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def unreadable(name: str, error: OSError) -> str:
    """Why the file `name` cannot be read, and what to do."""
    if isinstance(error, FileNotFoundError):
        return f"{name}: no such file; check the path"
    if isinstance(error, IsADirectoryError):
        return f"{name}: is a directory; give the path of a file"
    if isinstance(error, PermissionError):
        return f"{name}: permission denied; make the file readable"
    return f"{name}: cannot be read ({error.strerror or error})"
