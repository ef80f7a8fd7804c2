"""Records of a helpdesk's JSON export, streamed one page at a time.

An API export is a sequence of pages: the responses of a paged list endpoint.
A file may hold one page, several pages one after another (as appending each
response to the file writes them, with or without a newline between them), or
a JSON array of pages. A page is an object holding arrays of records
(``{"tickets": [...], "users": [...]}``) or is itself an array of records
(Freshdesk's ``[{...}, {...}]``). Records are built one at a time by ijson's C
parser (https://github.com/ICRAR/ijson), so memory holds one record, never the
file; each comes with the JSON path where it stands (``$[1].tickets[13]``) for
reject messages, because an API response is often one long line.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ijson

from supporter.sources.base import SourceError
from supporter.sources.sniff import unreadable

__all__ = ["Item", "PageEnd", "read_pages"]


@dataclass(frozen=True, slots=True)
class Item:
    """One element of one of a page's record arrays."""

    array: str  # the name the reader gave the array ("tickets", "users")
    value: Any
    path: str  # where it stands: "$[1].tickets[13]"


@dataclass(frozen=True, slots=True)
class PageEnd:
    """The page whose records came before has ended."""

    page: int


def read_pages(path: str | os.PathLike[str], arrays: Mapping[str, str]) -> Iterator[Item | PageEnd]:
    """Every record of the arrays named in `arrays` (name -> the dotted key of the array
    in a page, "" for a page that is the array), page after page, each page followed by
    a `PageEnd`. Raises `SourceError` for a file that cannot be opened or stops being
    JSON (with where it stopped): what came before it has been yielded."""
    name = os.fspath(path)
    try:
        stream = Path(path).open("rb")  # noqa: SIM115 (closed below; only opening is caught)
    except OSError as error:
        raise SourceError(unreadable(name, error)) from error
    with stream:
        if stream.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
            stream.seek(0)
        pages = _Pages(name, arrays)
        try:
            for prefix, event, value in ijson.parse(stream, multiple_values=True):
                yield from pages.event(prefix, event, value)
        except ijson.JSONError as error:
            # The parser's message goes on with a picture of the spot: its first line says it.
            problem = str(error).splitlines()[0].strip()
            if not pages.started:
                raise SourceError(f"{name}: no JSON at its start ({problem})") from error
            raise SourceError(
                f"{name}: not valid JSON after {pages.where()} ({problem}); fix or "
                "export the file again and run again"
            ) from error
        except OSError as error:
            raise SourceError(unreadable(name, error)) from error


class _Pages:
    """Follows ijson's events: where pages begin and end, and builds the wanted records."""

    def __init__(self, name: str, arrays: Mapping[str, str]) -> None:
        self._name = name
        self._arrays = arrays
        self.count = 0  # pages begun
        self.started = False  # any JSON read at all
        self._root = ""  # "" for pages at the top, "item" inside a top-level array of pages
        self._wanted: dict[str, str] = {}  # ijson prefix of an array's items -> array name
        self._index: dict[str, int] = {}
        self._builder: ijson.ObjectBuilder | None = None
        self._building: tuple[str, str] = ("", "")  # (prefix, array name)
        self._last = "the start of the file"

    def where(self) -> str:
        return self._last

    def event(self, prefix: str, event: str, value: Any) -> Iterator[Item | PageEnd]:
        self.started = True
        if self._builder is not None:
            self._builder.event(event, value)
            if prefix == self._building[0] and event in ("end_map", "end_array"):
                yield self._finish()
            return
        if prefix == "" and event == "start_array" and "" not in self._arrays.values():
            self._root = "item"  # an array of pages
            return
        if prefix == self._root and event in ("start_map", "start_array"):
            self._begin_page()
            return
        if prefix == self._root and event in ("end_map", "end_array"):
            yield PageEnd(self.count - 1)
            return
        array = self._wanted.get(prefix)
        if array is None:
            return
        if event in ("start_map", "start_array"):
            self._builder = ijson.ObjectBuilder()
            self._builder.event(event, value)
            self._building = (prefix, array)
        else:  # a scalar where a record should be: the reader rejects it
            yield self._item(array, value)

    def _begin_page(self) -> None:
        self.count += 1
        self._index = dict.fromkeys(self._arrays, 0)
        self._wanted = {
            ".".join(part for part in (self._root, key, "item") if part): array
            for array, key in self._arrays.items()
        }

    def _finish(self) -> Item:
        assert self._builder is not None
        value = self._builder.value
        self._builder = None
        return self._item(self._building[1], value)

    def _item(self, array: str, value: Any) -> Item:
        index = self._index[array]
        self._index[array] = index + 1
        page = f"[{self.count - 1}]" if self._root or self.count > 1 else ""
        key = self._arrays[array]
        path = f"${page}{'.' + key if key else ''}[{index}]"
        self._last = path
        return Item(array, value, path)
