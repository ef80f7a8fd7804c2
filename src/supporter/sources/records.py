"""Records of a delimited text file, each with the physical line it starts on.

Why not `csv.reader` alone: its field-size limit turns one oversized field
into an error that ends the whole file, indistinguishable from a quote that is
never closed. Here the csv module parses, but the lines it is fed are counted:
a record longer than `max_record` characters is skipped to its end (found by
quote parity, without keeping its text) and reported with its size, and the
rest of the file goes on; a quote still open at the end of the file stops with
the line where it opened.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from typing import TextIO

from supporter.sources.base import SourceError

__all__ = ["DEFAULT_MAX_RECORD", "Records"]

DEFAULT_MAX_RECORD = 32 * 1024 * 1024
"""Characters one record may hold: bounds the memory a single row (or a quote
that is never closed) can take."""

Oversized = Callable[[int, int], None]  # (line, characters read of the record)


class _TooLarge(Exception):
    pass


class _Lines:
    """The stream's lines for the csv module, counting lines, characters and quotes."""

    def __init__(self, stream: TextIO, max_record: int) -> None:
        self._stream = stream
        self._max = max_record
        self.consumed = 0  # physical lines handed out so far
        self.size = 0  # characters of the current record
        self.quotes = 0  # quote characters of the current record
        self.ended = False  # the stream ran out within the current record

    def start_record(self) -> None:
        self.size = self.quotes = 0
        self.ended = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._stream.readline(self._max - self.size + 1)
        if not line:
            self.ended = True
            raise StopIteration
        self.size += len(line)
        self.quotes += line.count('"')
        if self.size > self._max:
            self._skip_rest(line)
            raise _TooLarge
        self.consumed += 1
        return line

    def _skip_rest(self, chunk: str) -> None:
        """Read on to the end of a record that is too large, `chunk` being its last part
        read: the first line end with an even number of quotes since the record began.
        Raises EOFError at the end of the stream inside a quoted field."""
        while True:
            if chunk.endswith(("\n", "\r")):
                self.consumed += 1
                if self.quotes % 2 == 0:
                    return
            chunk = self._stream.readline(1 << 16)
            if not chunk:
                if self.quotes % 2:
                    raise EOFError
                return
            self.size += len(chunk)
            self.quotes += chunk.count('"')


class Records:
    """(line, fields) for each record of `stream`; see the module docstring."""

    def __init__(
        self,
        name: str,
        stream: TextIO,
        *,
        delimiter: str = ",",
        max_record: int = DEFAULT_MAX_RECORD,
        on_oversized: Oversized | None = None,
    ) -> None:
        if csv.field_size_limit() < max_record:
            # The limit is enforced on whole records below; the module's own (per field,
            # and process-wide) must not stop a record that is within it.
            csv.field_size_limit(max_record)
        self._name = name
        self._max = max_record
        self._lines = _Lines(stream, max_record)
        self._reader = csv.reader(self._lines, delimiter=delimiter)
        self._on_oversized = on_oversized

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        lines, reader = self._lines, self._reader
        while True:
            line = lines.consumed + 1
            lines.start_record()
            try:
                row = next(reader)
            except StopIteration:
                return
            except _TooLarge:
                self._oversized(line)
                continue
            except EOFError:
                reason = f"over {self._max:,} characters and the file ends inside a quoted field"
                raise SourceError(self._unclosed(line, reason)) from None
            except csv.Error as error:
                raise SourceError(self._unclosed(line, str(error))) from error
            if lines.ended and lines.quotes % 2:
                raise SourceError(self._unclosed(line, "the file ends inside a quoted field"))
            yield line, row

    def _oversized(self, line: int) -> None:
        if self._on_oversized is None:
            raise SourceError(
                f"{self._name}, line {line}: the record is {self._lines.size:,} characters, "
                f"over the limit of {self._max:,}"
            )
        self._on_oversized(line, self._lines.size)

    def _unclosed(self, line: int, detail: str) -> str:
        return (
            f"{self._name}, line {line}: cannot read the record that starts here ({detail}); "
            "usually a quote that is never closed. Fix the file and run again"
        )
