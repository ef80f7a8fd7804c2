"""Records of a helpdesk's JSON export, streamed one record at a time.

An API export is a sequence of pages: the responses of a paged list endpoint.
A file may hold one page, several pages one after another (as appending each
response to the file writes them, with or without a newline between them), or
a JSON array of pages. A page is an object holding arrays of records
(``{"tickets": [...], "users": [...]}``) or is itself an array of records
(Freshdesk's ``[{...}, {...}]``). ijson's C parser and builder
(https://github.com/ICRAR/ijson, ``items`` with ``multiple_values``) build one
record at a time, so memory holds one record, never the file or a page.

Each record comes with where it stands, for reject messages (an API response is
often one long line): ``tickets[1234]`` is the file's 1,235th record of the
``tickets`` arrays, counted over all its pages from 0 (in a file of one page,
exactly its JSON path).
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from supporter.sources.base import SourceError
from supporter.sources.sniff import unreadable

__all__ = ["leading_prefixes", "read_records"]

_SPACE = b" \t\r\n"
_SNIFFED_EVENTS = 5000


def read_records(path: str | os.PathLike[str], key: str) -> Iterator[tuple[str, Any]]:
    """(where, record) for each element of the array at the dotted `key` of each page
    ("" when a page is the array itself). Raises `SourceError` for a file that cannot
    be opened, holds no JSON, or stops being JSON (naming the last record read): the
    records before that have been yielded."""
    name = os.fspath(path)
    label = key or "$"
    where = "the start of the file"
    with _open(name, path) as stream:
        prefix = _records_prefix(stream, key)
        try:
            for index, record in enumerate(ijson.items(stream, prefix, multiple_values=True)):
                where = f"{label}[{index}]"
                yield where, record
        except ijson.JSONError as error:
            # The parser's message goes on with a picture of the spot: its first line says it.
            problem = str(error).splitlines()[0].strip()
            raise SourceError(
                f"{name}: not valid JSON after {where} ({problem}); fix the file or export "
                "it again, and run again"
            ) from error
        except OSError as error:
            raise SourceError(unreadable(name, error)) from error


def _open(name: str, path: str | os.PathLike[str]) -> BinaryIO:
    try:
        stream = Path(path).open("rb")  # noqa: SIM115 (the caller closes it)
    except OSError as error:
        raise SourceError(unreadable(name, error)) from error
    if stream.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
        stream.seek(0)
    return stream


def _records_prefix(stream: BinaryIO, key: str) -> str:
    """ijson's prefix of the records: pages at the top, or in a top-level array of pages."""
    start = stream.tell()
    head = b""
    while not head and (chunk := stream.read(4096)):
        head = chunk.lstrip(_SPACE)
    stream.seek(start)
    if not head:
        name = getattr(stream, "name", "the file")
        raise SourceError(f"{name}: the file holds no JSON; export it again")
    if not key:
        return "item"
    return f"item.{key}.item" if head.startswith(b"[") else f"{key}.item"


def leading_prefixes(text: str) -> frozenset[str]:
    """The paths (ijson prefixes, such as ``tickets.item.requester_id``) of the values at
    the start of a JSON text, cut anywhere: what a format recognises a file by."""
    found: set[str] = set()
    events = ijson.parse(text.encode("utf-8", "surrogateescape"), multiple_values=True)
    try:
        for count, (prefix, _event, _value) in enumerate(events):
            found.add(prefix)
            if count >= _SNIFFED_EVENTS:
                break
    except ijson.JSONError:
        pass  # the sample ends inside a value, or it is not JSON: what was seen stands
    return frozenset(found)
