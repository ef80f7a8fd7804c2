"""What the helpdesks' JSON ticket readers share: checking a record's fields, masking
card numbers, rejecting a bad record with where it stands, skipping a repeated ticket.

Values follow the CSV reader's rules (``supporter.sources.csv``): the same field
limits, surrounding spaces stripped, card numbers masked in subject and body as
they are read, and in a reject's ``raw`` text. A reject names the field
(``status: ...``) and where the record stands (``tickets[13]``).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, ClassVar, Literal

from supporter.domain.masking import mask_card_numbers
from supporter.domain.models import Priority, Ticket
from supporter.sources.base import Reject, RejectHandler, SourceError
from supporter.sources.formats import FieldLimits, ReadOptions
from supporter.sources.jsonpages import leading_prefixes, read_records
from supporter.sources.seen import SeenIds
from supporter.sources.sniff import Sample
from supporter.sources.values import ticket_id_problem, unicode_problem

__all__ = [
    "CUT_NOTICE",
    "BadField",
    "JsonTicketFormat",
    "JsonTicketSource",
    "LongBody",
    "TicketRecords",
    "cut_body",
    "identifier",
    "plain_text",
    "text",
    "ticket_identifier",
    "timestamp",
]

log = logging.getLogger(__name__)

LongBody = Literal["start", "end"]
"""Which end of a helpdesk ticket's over-long body is kept: the start of a first message
(an e-mail quotes the older thread below the customer's words), the end of a
conversation (its newest messages)."""

CUT_NOTICE = "[Supporter cut this message"
"""How the line that marks a cut body begins (the review screen shows it with the body)."""
# A cut looks this far back from the limit for a paragraph, line or word to end at.
_CUT_SEARCH = 500

_LINE_BREAKS = frozenset({"br", "p", "div", "li", "tr", "blockquote", "pre", "h1", "h2", "h3"})
_BLANK_RUNS = re.compile(r"[ \t]*\n[ \t\n]*\n")


class BadField(Exception):
    """One field of a record cannot be used; the message is the reject reason."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")


def identifier(value: Any, field: str, limits: FieldLimits) -> str:
    """An id written as a JSON number or string (APIs use both)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadField(field, "required" if value is None else f"not an id: {_shown(value)}")
    written = str(value).strip()
    if not written:
        raise BadField(field, "required but empty")
    if len(written) > limits.id:
        raise BadField(field, f"{len(written):,} characters, over the limit of {limits.id:,}")
    if problem := unicode_problem(written):
        raise BadField(field, problem)
    return written


def ticket_identifier(value: Any, field: str, limits: FieldLimits) -> str:
    """A ticket's id (see `identifier`), which is a segment of every link to the ticket:
    never one with '/', '\\' or control characters, nor '.' or '..'."""
    written = identifier(value, field, limits)
    if problem := ticket_id_problem(written):
        raise BadField(field, f"{problem}: {_shown(written)}")
    return written


def text(value: Any, field: str, limit: int) -> str:
    """A string field, stripped; null is empty."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadField(field, f"not text: {_shown(value)}")
    written = value.strip()
    if len(written) > limit:
        raise BadField(field, f"{len(written):,} characters, over the limit of {limit:,}")
    if problem := unicode_problem(written):
        raise BadField(field, problem)
    return written.replace("\x00", "\ufffd")


def timestamp(value: Any, field: str) -> datetime:
    """An ISO 8601 time as the APIs write it (``2024-05-02T10:00:00Z``), as aware UTC."""
    if not isinstance(value, str) or not value.strip():
        raise BadField(field, "required" if value in (None, "") else f"not a time: {_shown(value)}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadField(field, f"not an ISO 8601 time: {_shown(value)}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def subject_and_body(
    subject: Any,
    body: Any,
    limits: FieldLimits,
    *,
    long_body: LongBody | None = None,
    ticket: str = "ticket",
) -> tuple[str, str]:
    """Subject and body checked and masked. A body over the limit is a `BadField` (a
    file's record is rejected), or with `long_body` (a live helpdesk's ticket, which
    nobody can shorten) is cut to the limit with a line saying so (see `cut_body`) and a
    warning naming `ticket`."""
    subject_text = text(subject, "subject", limits.subject)
    masked = False
    if long_body is not None and isinstance(body, str) and len(body.strip()) > limits.body:
        whole = mask_card_numbers(body.strip())  # before the cut: no card is cut in two
        if len(whole) > limits.body:
            log.warning(
                "%s: body of %s characters cut to the limit of %s (its %s kept)",
                ticket,
                f"{len(whole):,}",
                f"{limits.body:,}",
                long_body,
            )
        body, masked = cut_body(whole, limits.body, long_body), True
    body_text = text(body, "body", limits.body)
    if not subject_text and not body_text:
        raise BadField("body", "empty, and so is subject: nothing to answer")
    return mask_card_numbers(subject_text), body_text if masked else mask_card_numbers(body_text)


def cut_body(body: str, limit: int, keep: LongBody) -> str:
    """`body` in at most `limit` characters: the end `keep` says, cut at the end of a
    paragraph, line or word near the limit where there is one, and a line saying how
    much was cut, where the cut is (at the end when the start is kept)."""
    if len(body) <= limit:
        return body

    def notice_for(cut: int) -> str:
        return (
            f"{CUT_NOTICE}: {cut:,} of its {len(body):,} characters, over the limit of "
            f"{limit:,}, are not shown; the helpdesk has it whole.]"
        )

    room = limit - len(notice_for(len(body))) - 2
    if room < 1:
        return body[:limit] if keep == "start" else body[-limit:]
    if keep == "start":
        kept = _end_at_break(body[:room])
        return f"{kept}\n\n{notice_for(len(body) - len(kept))}"
    kept = _end_at_break(body[-room:][::-1])[::-1]
    return f"{notice_for(len(body) - len(kept))}\n\n{kept}"


def _end_at_break(part: str) -> str:
    """`part` up to its last paragraph, line or word break near its end, if any."""
    tail = max(0, len(part) - _CUT_SEARCH)
    for separator in ("\n\n", "\n", " "):
        at = part.rfind(separator, tail)
        if at > 0:
            return part[:at].rstrip()
    return part


def priority(value: Any, names: dict[Any, Priority], field: str = "priority") -> Priority | None:
    if value is None:
        return None
    try:
        return names[value.lower() if isinstance(value, str) else value]
    except (KeyError, TypeError):
        known = ", ".join(str(name) for name in names)
        raise BadField(field, f"unknown {_shown(value)} (expected {known})") from None


def tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadField("tags", f"not a list: {_shown(value)}")
    found = tuple(dict.fromkeys(str(tag).strip() for tag in value if str(tag).strip()))
    if problem := unicode_problem("".join(found)):
        raise BadField("tags", problem)
    return found


class TicketRecords:
    """Turns records into tickets for one file: rejects go to `on_reject` with their
    path (or line). A ticket id already read is skipped when `repeats_skipped` (an API
    export repeats a ticket that changed while it was paged; the first copy is kept),
    else rejected as a duplicate."""

    def __init__(self, name: str, on_reject: RejectHandler, *, repeats_skipped: bool) -> None:
        self._name = name
        self._on_reject = on_reject
        self._skip_repeats = repeats_skipped
        self._seen = SeenIds()
        self._count = 0  # records read: where a record stands when it has no line

    def ticket(
        self,
        record: Any,
        path: str,
        parse: Callable[[dict[str, Any]], Ticket],
        line: int | None = None,
    ) -> Iterator[Ticket]:
        """The ticket `parse` makes of `record`, or nothing (rejected, or a repeat)."""
        if not isinstance(record, dict):
            self.reject(path, f"record: not a JSON object but {_shown(record)}", record, line)
            return
        try:
            ticket = parse(record)
        except BadField as problem:
            self.reject(path, str(problem), record, line)
            return
        self._count += 1
        place = line if line is not None else self._count
        first = self._seen.first_line(ticket.ticket_id, place)
        if first != place:
            if not self._skip_repeats:
                self.reject(path, f"ticket_id: duplicate of line {first}", record, line)
            return
        yield ticket

    def close(self) -> None:
        self._seen.close()

    def reject(self, path: str, reason: str, record: Any, line: int | None = None) -> None:
        raw = record if isinstance(record, str) else json.dumps(_as_text(record), default=str)
        self._on_reject(
            Reject(
                source="tickets",
                file=self._name,
                line=line,
                record=None if line is not None else path,
                reason=mask_card_numbers(reason),
                raw=mask_card_numbers(raw),
            )
        )


class JsonTicketSource:
    """A helpdesk's JSON export as a ticket source: each record of the pages' array at
    `KEY` (see `supporter.sources.jsonpages.read_records`) made a ticket by `parse`."""

    KEY: ClassVar[str] = ""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        limits: FieldLimits | None = None,
        long_body: LongBody | None = None,
    ) -> None:
        """`long_body`: a body over the limit is cut, that end kept (a helpdesk's API),
        rather than rejected (a file; see `subject_and_body`)."""
        self.path = path
        self.limits = limits or FieldLimits()
        self.long_body = long_body

    async def tickets(self, on_reject: RejectHandler) -> AsyncIterator[Ticket]:
        for ticket in self.read(on_reject):
            yield ticket

    def read(self, on_reject: RejectHandler) -> Iterator[Ticket]:
        records = TicketRecords(os.fspath(self.path), on_reject, repeats_skipped=True)
        try:
            for where, record in read_records(self.path, self.KEY):
                yield from records.ticket(record, where, self.parse)
        finally:
            records.close()

    def parse(self, record: dict[str, Any]) -> Ticket:
        raise NotImplementedError


class JsonTicketFormat:
    """A helpdesk's JSON export as a format of the registry: recognised by the paths of
    the values at the start of the file (`signature`: every path of one of its tuples
    present, in pages at the top or in an array of pages)."""

    def __init__(
        self,
        name: str,
        title: str,
        source: type[JsonTicketSource],
        signatures: tuple[tuple[str, ...], ...],
    ) -> None:
        self.name = name
        self.title = title
        self._source = source
        self._signatures = signatures

    def recognise(self, sample: Sample) -> str | None:
        if sample.json_shape is None:
            return None
        seen = leading_prefixes(sample.text)
        for signature in self._signatures:
            for root in ("", "item."):
                if all(root + path in seen for path in signature):
                    return f"JSON with {', '.join(signature)}"
        return None

    def open(self, sample: Sample, options: ReadOptions) -> JsonTicketSource:
        if sample.encoding not in ("utf-8", "utf-8-sig"):
            raise SourceError(
                f"{sample.name}: a JSON export in {sample.encoding_name}; save it as UTF-8"
            )
        return self._source(sample.path, limits=options.limits)


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _LINE_BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _as_text(record: Any) -> Any:
    """The record with its HTML strings as text: a card number split by tags or written
    with `&nbsp;` is then one run of digits that masking finds."""
    if isinstance(record, str):
        return plain_text(record)
    if isinstance(record, dict):
        return {key: _as_text(value) for key, value in record.items()}
    if isinstance(record, list):
        return [_as_text(value) for value in record]
    return record


def plain_text(html: str) -> str:
    """The text of a helpdesk message body written as HTML, a line per block."""
    if "<" not in html and "&" not in html:
        return html
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    return _BLANK_RUNS.sub("\n\n", "".join(parser.parts)).strip()


def _shown(value: Any) -> str:
    shown = mask_card_numbers(json.dumps(value, default=str))
    return shown if len(shown) <= 60 else shown[:57] + "..."
