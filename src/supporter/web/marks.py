"""Where in a draft each grounding problem is: the amount, date or id it names,
found in the text, so the screen can mark it there."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The grounding check's problems begin with what they are about ("amount 19.99 EUR not
# in…", "date 2 May not a date…", "cites tx_9, which…", "transaction id tx_9 not in…").
_SUBJECT = re.compile(r"^(?:amount|date|transaction id|cites) (.+?)(?:,| not )")


@dataclass(frozen=True)
class Piece:
    text: str
    problem: str | None = None


def marked(body: str, problems: list[str]) -> list[Piece]:
    """The draft cut into pieces, those a problem is about carrying it."""
    spans: list[tuple[int, int, str]] = []
    for problem in problems:
        subject = _SUBJECT.match(problem)
        if subject is None:
            continue
        for needle in (subject.group(1), subject.group(1).split(" ")[0]):
            start = body.find(needle)
            if start >= 0 and not any(s < start + len(needle) and start < e for s, e, _ in spans):
                spans.append((start, start + len(needle), problem))
                break
    pieces: list[Piece] = []
    at = 0
    for start, end, problem in sorted(spans):
        pieces += [Piece(body[at:start]), Piece(body[start:end], problem)]
        at = end
    pieces.append(Piece(body[at:]))
    return [piece for piece in pieces if piece.text]
