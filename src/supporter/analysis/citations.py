"""Policy figures in a draft reply, held to the help-center passages it cites.

A number of days (weeks, months, hours), a percentage or an amount is a policy
statement when it is not about one of the customer's transactions: it must come
from a passage the draft cites. One found only in a passage that was retrieved but
not cited is a policy stated without its source; one found in no passage at all is
made up. Amounts are read by `mentions`, like everywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Final

from supporter.analysis.mentions import Amount, scan_amounts
from supporter.analysis.promises import states_refund_policy
from supporter.domain.knowledge import Passage

# Units of time as help centres write them, by the unit they count.
_UNITS: Final = {
    "hour": r"hours?|hrs?|stunden?|heures?|horas?|ore|ora",
    "day": r"days?|tage?n?|werktage?n?|bankarbeitstage?n?|jours?|d[ií]as?|giorni|giorno",
    "week": r"weeks?|wochen?|semaines?|semanas?|settimane|settimana",
    "month": r"months?|monate?n?|mois|mes(?:es)?|m[eê]s|meses|mesi|mese",
    "year": r"years?|jahre?n?|ans?|années?|a[ñn]os?|anni|anno",
}
_QUALIFIER = (
    r"(?:(?:business|working|calendar|bank)\s+"
    r"|(?:ouvr[ée]s|ouvrables|h[aá]biles|[uú]teis|lavorativi)\s+)?"
)
_DURATION = re.compile(
    r"(?<![\w.,])(?P<first>\d{1,4})(?:\s*(?:-|–|to|bis|à|a|al|y|e|or|oder|ou|o)\s*(?P<second>\d{1,4}))?"
    rf"(?:\s|-|‑)*{_QUALIFIER}(?P<unit>"
    + "|".join(f"(?P<{name}>{pattern})" for name, pattern in _UNITS.items())
    + r")(?!\w)",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d+")
_PERCENT = re.compile(
    r"(?<![\w.,])(?P<number>\d{1,3}(?:[.,]\d{1,2})?)\s*(?:%|percent\b|per\s+cent\b|prozent\b"
    r"|pour\s*cent\b|por\s+ciento\b|por\s+cento\b|per\s+cento\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Figure:
    kind: str  # "hour", "day", "week", "month", "year" or "percent"
    value: Decimal
    text: str  # as written, for problem messages

    @property
    def key(self) -> tuple[str, Decimal]:
        return self.kind, self.value


def scan_figures(text: str) -> Iterator[Figure]:
    """Durations ("14 days", "5-10 Werktage": both ends) and percentages in `text`."""
    # Tried only where a run of digits starts: the patterns open with a lookbehind, which
    # would otherwise be tried at every character of every reply.
    end = 0
    for digits in _DIGITS.finditer(text):
        if digits.start() < end:
            continue  # inside a figure already read ("5-10 days")
        if duration := _DURATION.match(text, digits.start()):
            kind = next(name for name in _UNITS if duration.group(name))
            for number in (duration["first"], duration["second"]):
                if number:
                    yield Figure(kind, Decimal(number), duration[0])
            end = duration.end()
        elif percent := _PERCENT.match(text, digits.start()):
            value = Decimal(percent["number"].replace(",", "."))
            yield Figure("percent", value, percent[0])
            end = percent.end()


@dataclass(frozen=True, slots=True)
class _Source:
    passage_id: str
    figures: frozenset[tuple[str, Decimal]]
    amounts: tuple[Amount, ...]
    promises: bool  # the passage itself commits to a refund or credit


def _sources(passages: Iterable[Passage]) -> list[_Source]:
    return [_source(passage) for passage in passages]


# A few popular passages serve most replies: each is read once, not once a ticket.
@lru_cache(maxsize=4096)
def _source(passage: Passage) -> _Source:
    return _Source(
        passage.passage_id,
        frozenset(figure.key for figure in scan_figures(passage.text)),
        tuple(scan_amounts(passage.text, bare_needs_context=False)),
        states_refund_policy(passage.text),
    )


def _same_amount(written: Amount, source: Amount) -> bool:
    if written.value != source.value:
        return False
    if written.currencies is None or source.currencies is None:
        return True
    return bool(written.currencies & source.currencies)


@dataclass(frozen=True, slots=True)
class PolicySources:
    """The passages a draft was given (`retrieved`) and those it cites."""

    cited: list[_Source]
    uncited: list[_Source]

    @classmethod
    def of(cls, retrieved: Sequence[Passage], cited_ids: Iterable[str]) -> PolicySources:
        wanted = set(cited_ids)
        return cls(
            _sources(p for p in retrieved if p.passage_id in wanted),
            _sources(p for p in retrieved if p.passage_id not in wanted),
        )

    @property
    def makes_promises(self) -> bool:
        return any(source.promises for source in self.cited)

    def amount_is_cited(self, amount: Amount) -> bool:
        return any(_same_amount(amount, known) for s in self.cited for known in s.amounts)

    def amount_problem(self, amount: Amount) -> str | None:
        """Why a transaction-less amount is unsupported: uncited, or in no passage."""
        for source in self.uncited:
            if any(_same_amount(amount, known) for known in source.amounts):
                written = f"{amount.value} {amount.label}".strip()
                return f"states {written} from {source.passage_id} without citing it"
        return None

    def figure_problems(self, body: str) -> Iterator[str]:
        for figure in scan_figures(body):
            if any(figure.key in source.figures for source in self.cited):
                continue
            uncited = next((s for s in self.uncited if figure.key in s.figures), None)
            if uncited is not None:
                yield f'states "{figure.text}" from {uncited.passage_id} without citing it'
            else:
                yield f'"{figure.text}" is in no cited help-center passage'


def citation_problems(cited_ids: Sequence[str], retrieved: Sequence[Passage]) -> Iterator[str]:
    known = {passage.passage_id for passage in retrieved}
    for passage_id in cited_ids:
        if passage_id not in known:
            yield f"cites {passage_id}, which was not retrieved for this ticket"
