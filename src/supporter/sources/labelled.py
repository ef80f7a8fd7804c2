"""Labelled examples from a CSV file: a text and its label per row, for training and evaluation.

The file is read like the tickets file (UTF-8 with or without a byte-order
mark, spreadsheet quoting, column names matched case-insensitively ignoring
surrounding spaces). The text is the named text columns joined by a newline
(`subject` and `body`, say), card numbers masked as it is read; the label is
kept as written, less surrounding spaces. A row without text or label, with a
text over `max_text` characters, or with a field count unlike the header's is
skipped and reported; a missing file or column raises `SourceError`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from supporter.domain.masking import mask_card_numbers
from supporter.sources.base import SourceError
from supporter.sources.records import Records
from supporter.sources.sniff import sniff, unreadable

MAX_TEXT: Final = 20_000
_SHOWN_COLUMNS: Final = 20


@dataclass(frozen=True, slots=True)
class LabelledExample:
    line: int  # the physical line the row starts on
    text: str
    label: str


@dataclass
class LabelledFile:
    path: Path
    text_columns: list[str]
    label_column: str
    examples: list[LabelledExample] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    @property
    def texts(self) -> list[str]:
        return [example.text for example in self.examples]

    @property
    def labels(self) -> list[str]:
        return [example.label for example in self.examples]


def read_labelled(
    path: str | os.PathLike[str],
    text_columns: Sequence[str],
    label_column: str,
    *,
    max_text: int = MAX_TEXT,
) -> LabelledFile:
    if not text_columns:
        raise SourceError("name at least one text column")
    name = os.fspath(path)
    result = LabelledFile(Path(path), list(text_columns), label_column)
    sample = sniff(path)
    try:
        stream = open(path, encoding=sample.encoding, errors="replace", newline="")  # noqa: SIM115
    except OSError as error:
        raise SourceError(unreadable(name, error)) from error
    with stream:
        records = iter(Records(name, stream, delimiter=sample.delimiter))
        header = next(((line, row) for line, row in records if any(v.strip() for v in row)), None)
        if header is None:
            raise SourceError(
                f"{name}: the file is empty; it needs a header row naming the columns"
            )
        width = len(header[1])
        text_at, label_at = _positions(name, header[1], text_columns, label_column)
        for line, row in records:
            if not any(value.strip() for value in row):
                continue
            if len(row) != width:
                result.skipped.append(
                    (line, f"expected {width} fields as in the header, found {len(row)}")
                )
                continue
            text = "\n".join(row[at].strip() for at in text_at if row[at].strip())
            label = row[label_at].strip()
            if not text:
                result.skipped.append((line, "no text"))
            elif not label:
                result.skipped.append((line, "no label"))
            elif len(text) > max_text:
                result.skipped.append((line, f"text longer than {max_text:,} characters"))
            else:
                result.examples.append(LabelledExample(line, mask_card_numbers(text), label))
    return result


def _positions(
    name: str, header: list[str], text_columns: Sequence[str], label_column: str
) -> tuple[list[int], int]:
    found = {column.strip().lower(): at for at, column in reversed(list(enumerate(header)))}
    missing = [
        column for column in [*text_columns, label_column] if column.strip().lower() not in found
    ]
    if missing:
        shown = ", ".join(column.strip() or "''" for column in header[:_SHOWN_COLUMNS])
        if len(header) > _SHOWN_COLUMNS:
            shown += f", ... ({len(header) - _SHOWN_COLUMNS} more)"
        raise SourceError(
            f"{name}: no column {', '.join(repr(c) for c in missing)} (found: {shown}); "
            "name the columns with --text-column and --label-column"
        )
    return [found[c.strip().lower()] for c in text_columns], found[label_column.strip().lower()]
