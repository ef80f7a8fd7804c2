"""Request Tracker 5: polling by TicketSQL, drafts as comments, never correspondence.

Written from RT's REST2 documentation, the POD of `RT::REST2` that RT ships
(https://docs.bestpractical.com/rt/5.0.3/RT/REST2.html; on a Debian install
/usr/share/request-tracker5/lib/RT/REST2.pm), and checked against a real RT 5.0.3:

- Authentication: ``Authorization: token …`` (an auth token of the user, RT::Authen::Token,
  part of RT 5) or HTTP basic auth with the user's name and password ("Authentication
  Methods"). A token's text starts with its owner's user id (`RT::AuthToken`'s
  ``ParseAuthString``), which tells the connector who it is.
- Polling: ``GET /REST/2.0/tickets?query=<TicketSQL>`` with ``fields=`` for the columns
  and ``fields[Requestor]=EmailAddress`` to expand the requesters ("Fields"),
  ``orderby=LastUpdated&orderby=id``, ``per_page`` up to 100 ("Paging"). TicketSQL reads
  an absolute date in the RT user's time zone (RT's ``$Timezone`` unless the user set
  one; an explicit zone in the value is not honoured), which REST2 does not tell a
  client; a relative date (``LastUpdated > '90 seconds ago'``) is exact whatever the
  zone. So each poll asks for the tickets updated since the cursor as seconds before
  RT's own clock (the ``Date`` of its last answer), reaches back `OVERLAP_SECONDS` for
  rounding (asking again, further back, when RT answered too slowly to be sure where
  it drew the line), and skips what the cursor says was handed over already. Every poll starts
  again from the cursor rather than paging on (a ticket updated while pages are read
  moves to the end of the list and would shift an unread one onto a page already read).
- A ticket's body is its first transaction's text: ``GET /ticket/{id}/history`` (the
  Create transaction comes first), then ``POST /attachments`` with a JSON search for
  that transaction's ``text/*`` parts ("JSON searches"; in a collection ``Content`` is
  the text itself, only ``GET /attachment/{id}`` gives it base64-encoded).
- The draft: ``POST /ticket/{id}/comment`` with ``Subject``, ``Content``, ``ContentType``
  ("Replying/Commenting Tickets"); the answer is 201 with ``Location:
  /REST/2.0/transaction/{id}``, the note's id. Never ``/correspond``: a reply is mailed
  to the requester. RT cannot edit a transaction, so a new version of a draft is a new
  comment; the same version is never posted twice: the comment's subject is the
  draft's marker (`supporter.helpdesks.notes`), found with TransactionSQL
  (``GET /transactions?query=ObjectId = … AND Type = 'Comment' AND Subject = '…'``)
  before posting.
- Priority, category and tags in one ``PUT /ticket/{id}`` with ``Priority`` and
  ``CustomFields`` by name ("Ticket Examples", "Object Custom Field Values"). RT has no
  tags: they go to a multi-value custom field, whose values must all be sent (existing
  ones are kept). RT answers a ``PUT`` with 200 and a list of messages even when it
  changed nothing ("Permission Denied", an unknown field), so the connector reads the
  ticket back and compares.
- RT sends no webhooks (scrips could be written to call out, but nothing ships): the
  connector polls. RT documents no API rate limit; the connector paces itself at
  `Settings.rate_limit` requests a minute.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import quote

import httpx2 as httpx
from pydantic import Field, SecretStr

from supporter.domain.errors import FatalError, PermanentError
from supporter.domain.models import Priority, Ticket
from supporter.helpdesks.base import (
    CheckResult,
    Draft,
    HelpdeskSettings,
    HelpdeskUnavailable,
    PollPage,
    RateLimit,
    WebhookEvent,
    WebhookRejected,
    WebhookRequest,
    WriteBackMode,
    WriteReceipt,
)
from supporter.helpdesks.http import HelpdeskHTTP
from supporter.helpdesks.notes import marked_note, marker
from supporter.helpdesks.registry import HelpdeskConfigError
from supporter.sources.formats import FieldLimits
from supporter.sources.helpdesk import (
    BadField,
    identifier,
    plain_text,
    subject_and_body,
    text,
    ticket_identifier,
    timestamp,
)

log = logging.getLogger(__name__)

NAME: Final = "rt"
API: Final = "/REST/2.0"
PAGE_SIZE: Final = 100
"""REST2's largest page."""
OVERLAP_SECONDS: Final = 5
"""How far before the cursor a poll reaches: RT's clock is known to the second, and
RT reads "seconds ago" when the request arrives."""
# Pages read in one poll while everything on them was handed over already; beyond it
# the poll returns what it has and goes on next time.
_MAX_SKIPPED_PAGES: Final = 20
# Searches answered too slowly in a row before a poll gives up for now.
_SLOW_ANSWERS: Final = 5
# The numbers of RT's own example with four labels (Low 0, Medium 50, High 80, On Fire
# 100, in RT_Config.pm's %PriorityAsString); RT's default labels are Low 0, Medium 50,
# High 100.
PRIORITY_NUMBERS: Final = {
    Priority.LOW: 0,
    Priority.MEDIUM: 50,
    Priority.HIGH: 80,
    Priority.URGENT: 100,
}
_TICKET_FIELDS: Final = (
    "Subject,Status,Created,LastUpdated,LastUpdatedBy,Priority,Requestor,CustomFields"
)
_PERMISSION_DENIED: Final = "Permission Denied"


class Settings(HelpdeskSettings):
    """``SUPPORTER_RT_…``: RT's base ``URL`` (required; REST2 is under ``/REST/2.0``), an
    auth ``TOKEN`` or a ``USER`` and ``PASSWORD``, the ``QUEUE`` to poll, the ticket
    custom fields for the category (``CATEGORY_FIELD``) and the tags (``TAGS_FIELD``,
    multi-value; empty to write none) and the pace (``RATE_LIMIT``, requests a minute)."""

    url: str = Field(min_length=1)
    token: SecretStr | None = None
    user: str | None = None
    password: SecretStr | None = None
    queue: str = Field(min_length=1)
    category_field: str = Field(default="Supporter category", min_length=1)
    tags_field: str = "Supporter tags"
    rate_limit: int = Field(default=600, ge=1)


def connect(settings: Settings) -> RequestTracker:
    has_password = bool(settings.user) and settings.password is not None
    if settings.token is not None and (settings.user or settings.password is not None):
        raise HelpdeskConfigError(
            "rt: set SUPPORTER_RT_TOKEN or SUPPORTER_RT_USER and SUPPORTER_RT_PASSWORD, not both"
        )
    if settings.token is None and not has_password:
        raise HelpdeskConfigError(
            "rt: set SUPPORTER_RT_TOKEN (an auth token of the RT user) or "
            "SUPPORTER_RT_USER and SUPPORTER_RT_PASSWORD"
        )
    return RequestTracker(settings)


class RequestTracker:
    """One RT queue, through one RT user's rights."""

    name = NAME

    def __init__(
        self,
        settings: Settings,
        *,
        limits: FieldLimits | None = None,
        timeout: float = 30.0,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._settings = settings
        self._limits = limits or FieldLimits()
        self._page_size = page_size
        self._limit = RateLimit(requests=settings.rate_limit, per_seconds=60.0, scope="server")
        auth: httpx.Auth | None = None
        headers: dict[str, str] = {}
        if settings.token is not None:
            headers["Authorization"] = f"token {settings.token.get_secret_value()}"
        elif settings.user and settings.password is not None:
            auth = httpx.BasicAuth(settings.user, settings.password.get_secret_value())
        self.http = HelpdeskHTTP(
            NAME,
            settings.url.rstrip("/") + API,
            limit=self._limit,
            auth=auth,
            headers=headers,
            timeout=timeout,
        )
        # RT's clock: the Date of its latest answer, and our monotonic time then.
        self._rt_clock: tuple[float, float] | None = None
        self._me: str | None = settings.user if settings.token is None else None
        self._queue_number: int | None = None

    @property
    def write_limit(self) -> RateLimit:
        return self._limit

    def request_counts(self) -> dict[str, int]:
        return dict(self.http.stats)

    # -- webhooks --------------------------------------------------------------------------

    def verify_webhook(self, request: WebhookRequest) -> None:
        raise WebhookRejected(
            "not_supported", "Request Tracker sends no webhooks: Supporter polls it instead"
        )

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        raise WebhookRejected(
            "not_supported", "Request Tracker sends no webhooks: Supporter polls it instead"
        )

    # -- reading ---------------------------------------------------------------------------

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        # A search by id, not GET /ticket/{id}: only a search expands the requesters'
        # e-mail addresses, and its answer is the poll's.
        answer = await self._json(
            "GET",
            "/tickets",
            params={
                "query": f"id = {_id(ticket_id)}",
                "fields": _TICKET_FIELDS,
                "fields[Requestor]": "EmailAddress",
            },
        )
        records, _ = _collection(answer, f"the search for ticket {ticket_id}")
        if not records:
            raise PermanentError(f"rt: no ticket {ticket_id}, or the user may not see it")
        try:
            return await self._ticket(records[0])
        except BadField as problem:
            raise PermanentError(f"rt ticket {ticket_id}: {problem}") from None

    async def poll(
        self, cursor: str | None, *, since: datetime, statuses: Collection[str] | None = None
    ) -> PollPage:
        handed = _read_cursor(cursor, since)
        window_start = handed[0].timestamp() - OVERLAP_SECONDS
        page = 1
        while True:
            records, pages, window_start = await self._updated_since(
                window_start, handed[0].timestamp(), page
            )
            fresh = [r for r in records if (key := _key(r)) is not None and key > handed]
            if fresh or page >= pages or page >= _MAX_SKIPPED_PAGES:
                break
            page += 1
        me = await self._user_name()
        tickets: list[Ticket] = []
        last = handed
        for record in fresh:
            last = _key(record) or last
            if me is not None and _ref_id(record.get("LastUpdatedBy")) == me:
                # Our own write-back changed it last: nothing new to read.
                continue
            if statuses is not None and _status(record) not in statuses:
                continue  # not taken: its first message is not read
            ticket = await self._polled(record)
            if ticket is not None:
                tickets.append(ticket)
        return PollPage(tickets=tuple(tickets), cursor=_write_cursor(last), more=page < pages)

    async def _updated_since(
        self, window_start: float, after: float, page: int
    ) -> tuple[list[dict[str, Any]], int, float]:
        """One page of the queue's tickets updated after `window_start` (RT's time, POSIX
        seconds), oldest first, the number of pages, and the window's start as asked.

        The window is asked for as seconds before RT's now, worked out afresh for every
        page (RT's now moves on between two pages). RT draws the line up to a second
        before `window_start`, or up to a second plus the answer's time after it: an
        answer too slow for the line to be surely before `after` (the cursor) is asked
        for again, the window reaching back as much further."""
        queue_id = await self._queue_id()
        for _ in range(_SLOW_ANSWERS):
            seconds = max(0, math.ceil(await self._rt_now() - window_start))
            sent = time.monotonic()
            answer = await self._json(
                "GET",
                "/tickets",
                params={
                    "query": f"Queue = {queue_id} AND LastUpdated > '{seconds} seconds ago'",
                    "fields": _TICKET_FIELDS,
                    "fields[Requestor]": "EmailAddress",
                    "orderby": ["LastUpdated", "id"],
                    "per_page": self._page_size,
                    "page": page,
                },
            )
            took = time.monotonic() - sent
            if window_start + 1 + took < after:
                records, pages = _collection(answer, "the ticket search")
                return records, pages, window_start
            window_start -= took
        raise HelpdeskUnavailable(
            f"rt answered the ticket search too slowly {_SLOW_ANSWERS} times to poll it exactly"
        )

    async def _polled(self, record: dict[str, Any]) -> Ticket | None:
        try:
            return await self._ticket(record)
        except BadField as problem:
            # The ticket's text stays out of the log: its id and the field say enough.
            log.warning("rt ticket %s skipped: %s", record.get("id"), problem)
            return None

    async def _ticket(self, record: dict[str, Any]) -> Ticket:
        limits = self._limits
        ticket_id = ticket_identifier(record.get("id"), "id", limits)
        requestor = _first_requestor(record.get("Requestor"))
        body, channel = await self._first_message(ticket_id)
        # A long first mail (a quoted thread below the customer's words) keeps its start.
        subject, body_text = subject_and_body(
            record.get("Subject"), body, limits, long_body="start", ticket=f"rt ticket {ticket_id}"
        )
        email = text(requestor.get("EmailAddress"), "Requestor.EmailAddress", limits.text)
        name = identifier(requestor.get("id"), "Requestor.id", limits)
        return Ticket(
            ticket_id=ticket_id,
            customer_id=f"rt:{name}",
            subject=subject,
            body=body_text,
            status=text(record.get("Status"), "Status", limits.text).lower() or "new",
            created_at=timestamp(record.get("Created"), "Created"),
            customer_email=email or None,
            channel=channel,
            priority=_priority(record.get("Priority")),
            tags=tuple(_custom_fields(record).get(self._settings.tags_field, ())),
        )

    async def _first_message(self, ticket_id: str) -> tuple[str, str | None]:
        """The text of the ticket's first message, and the interface it came in by
        (``email``, ``web``, ``rest``)."""
        history = await self._json(
            "GET",
            f"/ticket/{ticket_id}/history",
            params={"per_page": 1, "fields": "Type", "orderby": "id"},
        )
        transactions, _ = _collection(history, f"the history of ticket {ticket_id}")
        if not transactions or transactions[0].get("Type") != "Create":
            return "", None
        parts = await self._json(
            "POST",
            "/attachments",
            params={"fields": "ContentType,Content,Filename,Headers", "orderby": "id"},
            json=[
                {"field": "TransactionId", "value": str(transactions[0].get("id"))},
                {
                    "field": "ContentType",
                    "operator": "LIKE",
                    "value": "text/",
                    "entry_aggregator": "AND",
                },
            ],
        )
        attachments, _ = _collection(parts, f"the first message of ticket {ticket_id}")
        return _body(attachments), _interface(attachments)

    async def _user_name(self) -> str | None:
        """The RT user the connector acts as: given with a password, or the owner of the
        token (its text starts with the version and the user's id)."""
        if self._me is None and self._settings.token is not None:
            version, _, rest = self._settings.token.get_secret_value().partition("-")
            user_id = rest.partition("-")[0]
            if version == "1" and user_id.isdigit():
                user = await self._json("GET", f"/user/{user_id}")
                name = user.get("Name") if isinstance(user, dict) else None
                self._me = name if isinstance(name, str) and name else None
        return self._me

    # -- writing ---------------------------------------------------------------------------

    async def write_back(
        self, draft: Draft, mode: WriteBackMode, previous: WriteReceipt | None
    ) -> WriteReceipt:
        ticket_id = _id(draft.ticket_id)
        if draft.public:
            raise PermanentError(
                "rt: public replies are never written (RT mails a reply to the requester); "
                "the draft stays a comment for an agent to send"
            )
        # Reading the ticket first finds a deleted one and a field missing before anything
        # is written.
        record = await self._record(ticket_id)
        if str(record.get("Status", "")).lower() == "deleted":
            # RT keeps a deleted ticket, readable, with Status "deleted": nobody works it
            # any more, so a comment or a field written to it would be lost on nobody.
            raise PermanentError(
                f"rt ticket {ticket_id} was deleted in RT: nothing is written to it"
            )
        wanted = _wanted(record, draft, self._settings, ticket_id)
        note_id = previous.note_id if previous else None
        if mode is not WriteBackMode.TAGS and draft.note is not None:
            note_id = await self._note(ticket_id, draft, note_id)
        if wanted:
            await self._classify(ticket_id, draft, wanted)
        return WriteReceipt(note_id=note_id)

    async def _note(self, ticket_id: str, draft: Draft, earlier: str | None) -> str:
        """The comment of this draft version: the one already there, or a new one (RT
        cannot edit a comment: it names the `earlier` one it supersedes). On the draft's
        first try nothing came before it: no search."""
        if not draft.first_attempt:
            found = await self._find_note(ticket_id, draft.version)
            if found is not None:
                return found
        try:
            response = await self.http.request(
                "POST",
                f"/ticket/{ticket_id}/comment",
                json={
                    "Subject": marker(draft.version),
                    "Content": marked_note(draft, f"transaction {earlier}" if earlier else None),
                    "ContentType": "text/plain",
                },
            )
        except PermanentError as error:
            # RT refuses a comment it does not allow with 400, not 403.
            if _PERMISSION_DENIED in str(error):
                raise FatalError(
                    f"rt refused to comment on ticket {ticket_id}: the user needs "
                    f"CommentOnTicket on queue {self._settings.queue}"
                ) from None
            raise
        self._note_clock(response)
        location = response.headers.get("location", "")
        note_id = location.rstrip("/").rpartition("/transaction/")[2]
        if note_id.isdigit():
            return note_id
        found = await self._find_note(ticket_id, draft.version)
        if found is None:
            raise HelpdeskUnavailable(f"rt added the comment on ticket {ticket_id} without its id")
        return found

    async def _find_note(self, ticket_id: str, version: str) -> str | None:
        conditions = [
            "ObjectType = 'RT::Ticket'",
            f"ObjectId = {ticket_id}",
            "Type = 'Comment'",
            # RT 5.0's REST2 reads any query holding "[" as a JSON search, so the marker
            # is matched without its opening bracket (its closing one ends the version).
            f"Subject LIKE {_quoted(_searchable(marker(version)))}",
        ]
        me = await self._user_name()
        if me is not None:
            conditions.append(f"Creator = {_quoted(me)}")
        answer = await self._json(
            "GET",
            "/transactions",
            params={"query": " AND ".join(conditions), "fields": "Type", "per_page": 1},
        )
        found, _ = _collection(answer, f"the comments of ticket {ticket_id}")
        return str(found[0].get("id")) if found else None

    async def _classify(self, ticket_id: str, draft: Draft, wanted: dict[str, Any]) -> None:
        """Priority, category and tags in one update, then read back: RT answers 200 with
        its reasons when it changes nothing."""
        messages = await self._json("PUT", f"/ticket/{ticket_id}", json=wanted)
        refused = [m for m in _strings(messages) if _PERMISSION_DENIED in m]
        if refused:
            raise FatalError(
                f"rt refused to update ticket {ticket_id} ({refused[0][:120]}): the user needs "
                f"ModifyTicket and ModifyCustomField on queue {self._settings.queue}"
            )
        still = _wanted(await self._record(ticket_id), draft, self._settings, ticket_id)
        if still:
            raise PermanentError(
                f"rt did not take {', '.join(_names(still))} on ticket {ticket_id}: "
                + "; ".join(_strings(messages))[:200]
            )

    async def _record(self, ticket_id: str) -> dict[str, Any]:
        record = await self._json("GET", f"/ticket/{ticket_id}")
        if not isinstance(record, dict):
            raise PermanentError(f"rt ticket {ticket_id}: the answer is not a ticket")
        return record

    # -- checking --------------------------------------------------------------------------

    async def check(self) -> Sequence[CheckResult]:
        results = [await self._check("credentials", self._check_credentials)]
        if not results[0].ok:
            return results
        results.append(await self._check("queue", self._check_queue))
        if results[-1].ok:
            results.append(await self._check("custom fields", self._check_fields))
            results.append(await self._check("rights", self._check_rights))
        results.append(
            CheckResult("webhooks", True, "RT sends none: Supporter polls the queue with TicketSQL")
        )
        results.append(
            CheckResult(
                "rate limit",
                True,
                f"{self._limit.requests} requests a minute (RT documents no API limit)",
            )
        )
        return results

    async def _check(self, name: str, probe: Any) -> CheckResult:
        try:
            return CheckResult(name, True, await probe())
        except (FatalError, PermanentError, HelpdeskUnavailable) as error:
            return CheckResult(name, False, str(error))

    async def _check_credentials(self) -> str:
        about = await self._json("GET", "/rt")
        version = about.get("Version") if isinstance(about, dict) else None
        me = await self._user_name()
        return f"RT {version or '?'} accepts the credentials" + (f" (user {me})" if me else "")

    async def _queue(self) -> dict[str, Any]:
        queue = self._settings.queue
        missing = f"rt: queue {queue!r} does not exist or the user lacks SeeQueue on it"
        try:
            record = await self._json("GET", f"/queue/{quote(queue, safe='')}")
        except PermanentError:
            raise FatalError(missing) from None
        except FatalError as error:
            # RT answers 403 for a queue that does not exist as for one the user may not see.
            if "answered 403" not in str(error):
                raise
            raise FatalError(missing) from None
        if not isinstance(record, dict):
            raise HelpdeskUnavailable(f"rt answered queue {queue!r} with something else")
        return record

    async def _queue_id(self) -> int:
        """The queue's id: TicketSQL names it by id, whatever characters its name has."""
        if self._queue_number is None:
            number = _int((await self._queue()).get("id"))
            if number is None:
                raise HelpdeskUnavailable(
                    f"rt answered queue {self._settings.queue!r} without its id"
                )
            self._queue_number = number
        return self._queue_number

    async def _check_queue(self) -> str:
        record = await self._queue()
        return f"queue {record.get('Name')!r} (id {record.get('id')}) is visible"

    async def _check_fields(self) -> str:
        record = await self._queue()
        applied = {
            str(field.get("name"))
            for field in record.get("TicketCustomFields") or []
            if isinstance(field, dict)
        }
        needed = [self._settings.category_field]
        if self._settings.tags_field:
            needed.append(self._settings.tags_field)
        missing = [name for name in needed if name not in applied]
        if missing:
            raise PermanentError(
                f"ticket custom fields not applied to queue {self._settings.queue!r} "
                f"(or not visible to the user): {', '.join(missing)}"
            )
        return f"{' and '.join(needed)} apply to the queue"

    async def _check_rights(self) -> str:
        """REST2 offers a ticket's actions as links only to a user who has the right to
        them: the newest ticket of the queue shows what the user may do."""
        answer = await self._json(
            "GET",
            "/tickets",
            params={
                "query": f"Queue = {await self._queue_id()}",
                "orderby": "id",
                "order": "DESC",
                "per_page": 1,
            },
        )
        newest, _ = _collection(answer, "the ticket search")
        if not newest:
            return "not verified: the queue has no ticket yet"
        ticket_id = _id(str(newest[0].get("id")))
        record = await self._json("GET", f"/ticket/{ticket_id}")
        links = {
            str(link.get("ref"))
            for link in (record.get("_hyperlinks") if isinstance(record, dict) else None) or []
            if isinstance(link, dict)
        }
        missing = []
        if "comment" not in links:
            missing.append("CommentOnTicket")
        if "lifecycle" not in links:
            missing.append("ModifyTicket")
        if missing:
            raise PermanentError(
                f"the user lacks {' and '.join(missing)} on queue {self._settings.queue!r} "
                f"(seen on ticket {ticket_id})"
            )
        return f"the user may comment on and modify tickets (seen on ticket {ticket_id})"

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- RT's answers and clock --------------------------------------------------------------

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, **kwargs)
        self._note_clock(response)
        try:
            return response.json()
        except ValueError:
            raise HelpdeskUnavailable(
                f"rt answered {method} {API}{path.partition('?')[0]} with something not JSON"
            ) from None

    def _note_clock(self, response: httpx.Response) -> None:
        date = response.headers.get("date")
        try:
            moment = parsedate_to_datetime(date) if date else None
        except (TypeError, ValueError):
            moment = None
        if moment is not None:
            self._rt_clock = (moment.timestamp(), time.monotonic())

    async def _rt_now(self) -> float:
        """RT's time now, as its answers' ``Date`` tells it (to the second)."""
        if self._rt_clock is None:
            await self._json("GET", "/rt")
        if self._rt_clock is None:
            raise HelpdeskUnavailable("rt answers without a Date header: its clock is unknown")
        at, then = self._rt_clock
        return at + (time.monotonic() - then)


# -- the classification -------------------------------------------------------------------------


def _wanted(
    record: Mapping[str, Any], draft: Draft, settings: Settings, ticket_id: str
) -> dict[str, Any]:
    """What the ticket should get that it has not: `{}` when it has all of it."""
    fields = _custom_fields(record)
    wanted: dict[str, Any] = {}
    number = PRIORITY_NUMBERS[draft.priority]
    if _int(record.get("Priority")) != number:
        wanted["Priority"] = number
    custom: dict[str, Any] = {}
    category = settings.category_field
    if _applied(category, fields, settings, ticket_id) != [draft.category]:
        custom[category] = draft.category
    if settings.tags_field and draft.tags:
        have = _applied(settings.tags_field, fields, settings, ticket_id)
        added = [tag for tag in dict.fromkeys(draft.tags) if tag not in have]
        if added:
            # A multi-value field takes all its values at once: the team's stay.
            custom[settings.tags_field] = [*have, *added]
    if custom:
        wanted["CustomFields"] = custom
    return wanted


def _applied(
    name: str, fields: Mapping[str, list[str]], settings: Settings, ticket_id: str
) -> list[str]:
    """The values of custom field `name` on the ticket (PermanentError if it does not apply)."""
    if name not in fields:
        raise PermanentError(
            f"rt: the custom field {name!r} does not apply to ticket {ticket_id} (or the "
            f"user may not see it): apply it to queue {settings.queue}"
        )
    return fields[name]


# -- the cursor ------------------------------------------------------------------------------

_Key = tuple[datetime, int]


def _read_cursor(cursor: str | None, since: datetime) -> _Key:
    """The newest (LastUpdated, id) handed over; the first poll starts at `since`."""
    if cursor is None:
        # RT keeps whole seconds: a ticket updated later in `since`'s second reads as at it.
        return since.astimezone(UTC).replace(microsecond=0), 0
    try:
        state = json.loads(cursor)
        return datetime.fromisoformat(state["updated"]).astimezone(UTC), int(state["id"])
    except (ValueError, KeyError, TypeError) as error:
        raise FatalError(f"rt: the stored poll cursor is unreadable ({error})") from None


def _write_cursor(key: _Key) -> str:
    return json.dumps({"updated": key[0].isoformat(), "id": key[1]}, sort_keys=True)


def _key(record: dict[str, Any]) -> _Key | None:
    try:
        updated = timestamp(record.get("LastUpdated"), "LastUpdated")
    except BadField:
        return None
    number = _int(record.get("id"))
    return None if number is None else (updated, number)


# -- RT's records ------------------------------------------------------------------------------


def _collection(answer: Any, what: str) -> tuple[list[dict[str, Any]], int]:
    """The items of a REST2 collection, and its number of pages."""
    if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
        raise HelpdeskUnavailable(f"rt answered {what} with something else")
    items = [item for item in answer["items"] if isinstance(item, dict)]
    return items, _int(answer.get("pages")) or 1


def _custom_fields(record: Mapping[str, Any]) -> dict[str, list[str]]:
    """A ticket's custom fields that apply to it, by name, with their values."""
    fields = record.get("CustomFields")
    return {
        str(field.get("name")): [str(v) for v in field.get("values") or []]
        for field in (fields if isinstance(fields, list) else [])
        if isinstance(field, dict)
    }


def _status(record: Mapping[str, Any]) -> str:
    """The ticket's status, lower case, as `_ticket` reads it (for a poll to leave out
    a ticket in a status not taken before reading its first message)."""
    value = record.get("Status")
    return (value.strip().lower() if isinstance(value, str) else "") or "new"


def _first_requestor(value: Any) -> dict[str, Any]:
    requestors = [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []
    if not requestors:
        raise BadField("Requestor", "the ticket has no requester: nobody to answer")
    return requestors[0]


def _body(attachments: list[dict[str, Any]]) -> str:
    """The message's text: its first plain part that is not a file, else its HTML."""
    inline = [a for a in attachments if not a.get("Filename")]
    for content_type in ("text/plain", "text/html"):
        for part in inline:
            content = part.get("Content")
            if (
                part.get("ContentType") == content_type
                and isinstance(content, str)
                and content.strip()
            ):
                return plain_text(content) if content_type == "text/html" else content
    return ""


def _interface(attachments: list[dict[str, Any]]) -> str | None:
    for part in attachments:
        headers = part.get("Headers")
        for line in headers.splitlines() if isinstance(headers, str) else []:
            name, _, value = line.partition(":")
            if name.strip().lower() == "x-rt-interface" and value.strip():
                return value.strip().lower()[:32]
    return None


def _ref_id(value: Any) -> str | None:
    """The id in a REST2 reference (``{"type": "user", "id": "root", "_url": …}``)."""
    return str(value.get("id")) if isinstance(value, dict) and value.get("id") else None


def _priority(value: Any) -> Priority | None:
    """RT's number as ours; 0, RT's default, says nobody set one."""
    number = _int(value)
    if not number:
        return None
    return next(p for p in reversed(Priority) if number >= PRIORITY_NUMBERS[p])


def _int(value: Any) -> int | None:
    """RT writes numbers as strings in JSON ("Priority": "80")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _names(wanted: Mapping[str, Any]) -> list[str]:
    custom = wanted.get("CustomFields")
    return [key for key in wanted if key != "CustomFields"] + list(
        custom if isinstance(custom, dict) else {}
    )


def _id(value: str) -> str:
    """An RT ticket id; anything else never reaches a URL or a query."""
    if not value.isdigit():
        raise PermanentError(f"rt: {value[:40]!r} is not an RT ticket id")
    return value


def _searchable(value: str) -> str:
    """`value` without its leading "[", fit for a TicketSQL or TransactionSQL query."""
    value = value.removeprefix("[")
    if "[" in value:
        raise PermanentError(f"rt: {value[:60]!r} cannot be searched for in RT's REST2")
    return value


def _quoted(value: str) -> str:
    """A TicketSQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
