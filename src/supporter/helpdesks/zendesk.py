"""Zendesk Support: tickets in by webhook and incremental export, drafts back as internal notes.

Configuration (``SUPPORTER_ZENDESK_…``): ``SUBDOMAIN`` (or ``URL`` for another base
URL), ``EMAIL`` and ``TOKEN`` (an API token: Basic ``{email}/token:{token}``,
https://developer.zendesk.com/api-reference/introduction/security-and-auth/),
``WEBHOOK_SECRET`` (the webhook's signing secret), ``CATEGORY_FIELD`` (the id of a
ticket field for the category; none is written without it) and ``ACCOUNT_LIMIT`` (the
plan's requests a minute, 200 by default: the smallest Suite plan).

Webhooks: a trigger notifies a webhook with the JSON body ``{"ticket_id":
"{{ticket.id}}"}``; an event-subscription webhook (``zen:event-type:ticket.…``, the ticket
in ``detail.id``) is understood too. Only the id is taken from the body: the ticket is
fetched, so what reaches the pipeline is what the API says, with the requester's address.
Signatures are checked as https://developer.zendesk.com/documentation/webhooks/verifying/
says: base64(HMAC-SHA256(secret, timestamp + body)), the timestamp from
``X-Zendesk-Webhook-Signature-Timestamp``; one more than five minutes from our clock is a
replay. ``X-Zendesk-Webhook-Invocation-Id`` names the delivery.

Polling: the cursor-based incremental ticket export with the users side-loaded
(https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/),
admins only, at most 10 requests a minute; its ``after_cursor`` is our cursor.

Write-back: one ``PUT /api/v2/tickets/{id}.json``
(https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket)
carries the tags, the priority, the category field and the note (``comment`` with
``public: false``). ``tags`` there replaces the ticket's tags, so the ticket is read
first and our tags are added to its own, under ``safe_update`` with the ``updated_stamp``
read: if an agent changed the ticket meanwhile Zendesk answers 409 and it is read again
(https://developer.zendesk.com/documentation/ticketing/managing-tickets/adding-tags-to-tickets-without-overwriting-existing-tags).
Ticket updates are paced under 100 a minute per account, the export under 10 a minute,
everything else under ``ACCOUNT_LIMIT``.

Comments cannot be edited through Zendesk's API
(https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/), so an
edited ticket's new draft is a new internal note that says it supersedes the earlier
one. The update that adds a note also tags the ticket ``supporter_draft_<version>``
(replacing an earlier version's tag): a ticket that has the tag has the note, so a
version is never posted twice, even when the process died between Zendesk's answer and
the store's record of it, and a public reply carries nothing of ours in its text. The
store never asks again for a version it recorded, so a ticket that has the tag of the
version asked for lost its receipt: the comment's id is then read back from the ticket's
comments, newest first
(https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#list-comments),
so the receipt names the note and the next version says which one it supersedes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import re
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import httpx2 as httpx
from pydantic import Field, SecretStr

from supporter.domain.errors import FatalError, PermanentError
from supporter.domain.masking import mask_card_numbers
from supporter.domain.models import Priority, Ticket
from supporter.helpdesks.base import (
    CheckResult,
    Draft,
    HelpdeskSettings,
    HelpdeskUnavailable,
    PollPage,
    RateLimit,
    TicketKeptChanging,
    WebhookEvent,
    WebhookRejected,
    WebhookRequest,
    WriteBackMode,
    WriteReceipt,
)
from supporter.helpdesks.http import HelpdeskHTTP
from supporter.helpdesks.notes import (
    REPLY_PREFIX,
    is_note_for,
    iso_time,
    marked_note,
    note_of,
    reaches_before,
    replied,
)
from supporter.helpdesks.registry import HelpdeskConfigError
from supporter.helpdesks.webhooks import check_age, check_signature, signature_headers, webhook_key
from supporter.sources.formats import FieldLimits
from supporter.sources.helpdesk import BadField, LongBody
from supporter.sources.zendesk import parse_ticket, requesters

__all__ = ["Settings", "ZendeskHelpdesk", "connect"]

log = logging.getLogger(__name__)

# Documented limits: https://developer.zendesk.com/api-reference/introduction/rate-limits
# Suite Team allows 200 requests a minute, Growth and Professional 400, Enterprise 700.
DEFAULT_ACCOUNT_REQUESTS: Final = 200
UPDATE_LIMIT: Final = RateLimit(100, 60.0, extra={"endpoint": "PUT /api/v2/tickets/{id}"})
EXPORT_LIMIT: Final = RateLimit(10, 60.0, extra={"endpoint": "incremental exports"})

# The export leaves out the last minute, and refuses a first start_time inside it.
_EXPORT_HORIZON: Final = 61.0
_START_CURSOR: Final = "start_time:"
# Conflicting agent edits tolerated in a row before the write-back is tried later.
_SAFE_UPDATE_TRIES: Final = 3
# A draft version's tag: the ticket has the note of that version (see `_changes`).
_VERSION_TAG: Final = "supporter_draft_"
# A lost receipt's comment is looked for among the comments, newest first, in pages of
# 100 (the most Zendesk gives), down to the write-back's first claim.
_COMMENT_PAGE_SIZE: Final = 100
# A description is the ticket's first message: an over-long one keeps its start.
_KEPT: Final[LongBody] = "start"
_PRIORITIES: Final = {
    Priority.LOW: "low",
    Priority.MEDIUM: "normal",
    Priority.HIGH: "high",
    Priority.URGENT: "urgent",
}


class Settings(HelpdeskSettings):
    """``SUPPORTER_ZENDESK_…`` (see `supporter.helpdesks.registry`)."""

    subdomain: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")
    """acme for acme.zendesk.com (or `url` for another address)."""
    email: str = Field(min_length=3)
    token: SecretStr
    webhook_secret: SecretStr | None = None
    category_field: int | None = Field(default=None, ge=1)
    """The id of the ticket field the category is written to."""
    account_limit: int = Field(default=DEFAULT_ACCOUNT_REQUESTS, ge=1)
    """The plan's requests a minute (Suite Team 200, Growth and Professional 400, ...)."""

    @property
    def base_url(self) -> str:
        if self.url:
            return self.url.rstrip("/")
        if self.subdomain is None:
            raise HelpdeskConfigError(
                "helpdesk zendesk is not configured: set SUPPORTER_ZENDESK_SUBDOMAIN "
                "(acme for acme.zendesk.com) or SUPPORTER_ZENDESK_URL"
            )
        return f"https://{self.subdomain}.zendesk.com"


def connect(settings: Settings) -> ZendeskHelpdesk:
    """The registry's entry point: the connector, nothing opened before its first call."""
    return ZendeskHelpdesk(settings)


class ZendeskHelpdesk:
    """The `Helpdesk` port over Zendesk's Support API (see the module docstring)."""

    name = "zendesk"

    def __init__(
        self,
        settings: Settings,
        *,
        update_limit: RateLimit = UPDATE_LIMIT,
        export_limit: RateLimit = EXPORT_LIMIT,
        account_limit: RateLimit | None = None,
        timeout: float = 30.0,
        max_wait: float = 120.0,
        limits: FieldLimits | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """The limits are Zendesk's documented ones; tests and benchmarks that shorten
        the simulator's window give them. `max_wait` is how long a request may wait out
        429s before `HelpdeskUnavailable`."""
        self.settings = settings
        self.update_limit = update_limit
        self.export_limit = export_limit
        self.account_limit = account_limit or RateLimit(settings.account_limit, 60.0)
        self._limits = limits or FieldLimits()
        base_url = settings.base_url
        auth = httpx.BasicAuth(f"{settings.email}/token", settings.token.get_secret_value())

        def client(limit: RateLimit) -> HelpdeskHTTP:
            return HelpdeskHTTP(
                self.name,
                base_url,
                limit=limit,
                auth=auth,
                headers={"Accept": "application/json"},
                timeout=timeout,
                max_wait=max_wait,
                transport=transport,
            )

        # Each documented limit has its own pacing: a backlog of exports never delays
        # a write-back, and reads never spend the ticket-update budget.
        self._reads = client(self.account_limit)
        self._updates = client(update_limit)
        self._exports = client(export_limit)
        # The API user's id (from users/me), read once when a lost receipt is looked for.
        self._user_id: object = None

    @property
    def write_limit(self) -> RateLimit:
        return self.update_limit

    def request_counts(self) -> dict[str, int]:
        """Over the three clients."""
        total: dict[str, int] = {}
        for http in (self._reads, self._updates, self._exports):
            for outcome, count in http.stats.items():
                total[outcome] = total.get(outcome, 0) + count
        return total

    # -- webhooks --------------------------------------------------------------------------

    def verify_webhook(self, request: WebhookRequest) -> None:
        secret = webhook_key(self.settings.webhook_secret, "SUPPORTER_ZENDESK_WEBHOOK_SECRET")
        signature, stamp = signature_headers(
            request, "X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"
        )
        digest = hmac.new(secret, stamp.encode() + request.body, hashlib.sha256)
        check_signature(signature, base64.b64encode(digest.digest()), "X-Zendesk-Webhook-Signature")
        signed_at = _webhook_time(stamp)
        if signed_at is None:
            raise WebhookRejected("bad_signature", "the signature timestamp is not a time")
        check_age(request, signed_at)

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookRejected("bad_payload", "the webhook body is not JSON") from None
        ticket_id = _webhook_ticket_id(payload)
        if ticket_id is None:
            raise WebhookRejected(
                "bad_payload",
                'no ticket id: the trigger\'s JSON body should be {"ticket_id": "{{ticket.id}}"}',
            )
        delivery = request.headers.get("x-zendesk-webhook-invocation-id")
        if delivery is None and isinstance(payload, dict) and isinstance(payload.get("id"), str):
            delivery = payload["id"]  # an event subscription's event id
        return WebhookEvent(ticket_ids=(ticket_id,), delivery_id=delivery)

    # -- reading ---------------------------------------------------------------------------

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        body = await self._reads.json(
            "GET", f"/api/v2/tickets/{_ticket_path(ticket_id)}.json", params={"include": "users"}
        )
        record = body.get("ticket") if isinstance(body, dict) else None
        if not isinstance(record, dict):
            raise PermanentError(f"zendesk answered ticket {ticket_id} without a ticket object")
        try:
            return parse_ticket(record, requesters(body.get("users") or []), self._limits, _KEPT)
        except BadField as problem:
            raise PermanentError(f"zendesk ticket {ticket_id}: {problem}") from None

    async def poll(
        self, cursor: str | None, *, since: datetime, statuses: Collection[str] | None = None
    ) -> PollPage:
        if cursor and not cursor.startswith(_START_CURSOR):
            params = {"cursor": cursor, "include": "users"}
        else:
            start = int(cursor[len(_START_CURSOR) :]) if cursor else int(since.timestamp())
            start = min(start, int(time.time() - _EXPORT_HORIZON))
            params = {"start_time": str(start), "include": "users"}
        body = await self._exports.json(
            "GET", "/api/v2/incremental/tickets/cursor.json", params=params
        )
        if not isinstance(body, dict) or not isinstance(body.get("tickets"), list):
            raise HelpdeskUnavailable("zendesk answered the ticket export without tickets")
        users = requesters(body.get("users") or [])
        tickets: list[Ticket] = []
        for record in body["tickets"]:
            ticket = self._exported(record, users)
            if ticket is not None:
                tickets.append(ticket)
        after = body.get("after_cursor")
        next_cursor = after if isinstance(after, str) and after else _same(cursor, params)
        return PollPage(tuple(tickets), next_cursor, more=body.get("end_of_stream") is False)

    def _exported(self, record: Any, users: Mapping[str, Any]) -> Ticket | None:
        """One exported ticket, or None for a deleted one or one that cannot be read
        (logged with its id and the field at fault; the rest of the page goes on)."""
        if not isinstance(record, dict):
            log.warning("zendesk export: a ticket record that is not an object was skipped")
            return None
        if record.get("status") == "deleted":
            return None
        try:
            return parse_ticket(record, users, self._limits, _KEPT)
        except BadField as problem:
            log.warning("zendesk export: ticket %s skipped: %s", record.get("id"), problem)
            return None

    # -- writing ---------------------------------------------------------------------------

    async def write_back(
        self, draft: Draft, mode: WriteBackMode, previous: WriteReceipt | None
    ) -> WriteReceipt:
        path = f"/api/v2/tickets/{_ticket_path(draft.ticket_id)}.json"
        note = draft.note if mode is not WriteBackMode.TAGS else None
        kept = previous.note_id if previous else None
        withheld = False
        if note is not None and draft.public and replied(previous):
            note = None  # a reply mailed to the customer is never sent a second time
            withheld = True
        elif note is not None and draft.public and note_of(previous) is not None:
            # A receipt without the reply prefix may be a reply's from before receipts
            # said so: a reply with this text is looked for even on a first try.
            found = await self._find_comment(draft)
            if found is not None:
                note, kept = None, REPLY_PREFIX + found
                # On a first try nothing of this version is there: what is, came before.
                withheld = draft.first_attempt
        for _ in range(_SAFE_UPDATE_TRIES):
            current = await self._reads.json("GET", path)
            ticket = current.get("ticket") if isinstance(current, dict) else None
            if not isinstance(ticket, dict):
                raise PermanentError(f"zendesk answered ticket {draft.ticket_id} without a ticket")
            if ticket.get("status") == "closed":
                # "Closed means that the ticket has been locked and cannot be reopened or
                # updated" (https://support.zendesk.com/hc/en-us/articles/115015611647).
                raise PermanentError(
                    f"zendesk ticket {draft.ticket_id} is closed: Zendesk locks closed tickets"
                )
            if note is not None and _version_tag(draft.version) in _tags(ticket):
                # The tag came with the note: the note is there, its receipt was lost.
                return _receipt(draft, await self._written_comment(draft))
            changes = self._changes(draft, ticket, note, previous)
            if changes is None:
                return WriteReceipt(note_id=kept, withheld=withheld)
            response = await self._updates.request(
                "PUT", path, json={"ticket": changes}, allow=(409,)
            )
            if response.status_code != 409:
                if note is None:
                    # No comment in this update: the earlier note still stands.
                    return WriteReceipt(note_id=kept, withheld=withheld)
                return _receipt(draft, _comment_id(response))
            log.info("zendesk ticket %s changed while we wrote: read again", draft.ticket_id)
        raise TicketKeptChanging(
            f"zendesk ticket {draft.ticket_id} kept changing during {_SAFE_UPDATE_TRIES} "
            "write-backs: try later"
        )

    def _changes(
        self,
        draft: Draft,
        ticket: Mapping[str, Any],
        note: str | None,
        previous: WriteReceipt | None,
    ) -> dict[str, Any] | None:
        """The update for `ticket` as it stands, or None when it already says it all.

        A note goes with the tag naming its draft version, in the same update: a ticket
        that has the tag has the note (even if we stopped before recording it), and an
        earlier version's tag is swapped for it."""
        own = _tags(ticket)
        written = _version_tag(draft.version)
        earlier = [tag for tag in own if tag.startswith(_VERSION_TAG) and tag != written]
        ours = [_tag(tag) for tag in draft.tags] + ([written] if note is not None else [])
        kept = [tag for tag in own if note is None or tag not in earlier]
        tags = [tag for tag in dict.fromkeys([*kept, *ours]) if tag]
        changes: dict[str, Any] = {
            "safe_update": True,
            "updated_stamp": ticket.get("updated_at"),
        }
        if tags != own:
            changes["tags"] = tags
        priority = _PRIORITIES[draft.priority]
        if ticket.get("priority") != priority:
            changes["priority"] = priority
        field_id = self.settings.category_field
        if field_id is not None and _field_value(ticket, field_id) != draft.category:
            changes["custom_fields"] = [{"id": field_id, "value": draft.category}]
        if note is not None:
            changes["comment"] = {
                "body": _comment(draft, earlier, previous),
                "public": draft.public,
            }
        return changes if len(changes) > 2 else None

    async def _written_comment(self, draft: Draft) -> str | None:
        """The id of the comment written for `draft` (its version's tag is on the ticket),
        by the API user: an internal note with the version's marker (an agent's copy of
        it is by someone else), or for a public reply its text (nothing of ours is added
        to it). Read newest first a page at a time, down to the first page that reaches
        before the write-back's first claim (`Draft.written_after`), or to the first
        comment. None, logged, when none is; the version is not posted again either way."""
        found = await self._find_comment(draft)
        if found is None:
            log.warning(
                "zendesk ticket %s has the tag of draft %s but none of its comments is "
                "that draft's: the receipt names no note",
                draft.ticket_id,
                draft.version,
            )
        return found

    async def _find_comment(self, draft: Draft) -> str | None:
        """The id of the comment `_written_comment` looks for, or None."""
        author = await self._api_user()
        path = f"/api/v2/tickets/{_ticket_path(draft.ticket_id)}/comments.json"
        page = 0
        while True:
            page += 1
            params = {"sort_order": "desc", "per_page": _COMMENT_PAGE_SIZE, "page": page}
            body = await self._reads.json("GET", path, params=params)
            comments = body.get("comments") if isinstance(body, dict) else None
            if not isinstance(comments, list):
                raise HelpdeskUnavailable(
                    f"zendesk answered the comments of ticket {draft.ticket_id} without comments"
                )
            for comment in comments:
                if _is_written(comment, draft, author):
                    return str(comment["id"])
            created = (iso_time(c.get("created_at")) for c in comments if isinstance(c, dict))
            if not body.get("next_page") or reaches_before(created, draft.written_after):
                return None

    async def _api_user(self) -> object:
        """The id of the user the API token belongs to (who our comments are by)."""
        if self._user_id is None:
            user = _user(await self._reads.request("GET", "/api/v2/users/me.json"))
            if user.get("id") is None:
                raise HelpdeskUnavailable("zendesk did not say which user the API token is for")
            self._user_id = user["id"]
        return self._user_id

    # -- checking --------------------------------------------------------------------------

    async def check(self) -> Sequence[CheckResult]:
        results: list[CheckResult] = []
        try:
            response = await self._reads.request("GET", "/api/v2/users/me.json")
        except (FatalError, PermanentError, HelpdeskUnavailable) as error:
            detail = str(error)
            return [CheckResult("credentials", False, detail)]
        user = _user(response)
        if user.get("id") is None:
            # Zendesk answers an unauthenticated users/me with the anonymous user.
            return [CheckResult("credentials", False, "Zendesk took the request as anonymous")]
        results.append(CheckResult("credentials", True, f"signed in as {user.get('email')}"))
        role = str(user.get("role"))
        results.append(
            CheckResult(
                "permissions",
                role == "admin",
                f"role {role}: "
                + (
                    "can poll the incremental export and update tickets"
                    if role == "admin"
                    else "polling (the incremental export) needs an admin, write-back an agent"
                ),
            )
        )
        results.append(await self._check_category_field())
        results.append(
            CheckResult(
                "webhook secret",
                self.settings.webhook_secret is not None,
                "set" if self.settings.webhook_secret else "not set: every webhook is refused",
            )
        )
        results.append(self._check_limits(response.headers.get("x-rate-limit")))
        return results

    def _check_limits(self, reported: str | None) -> CheckResult:
        """The pacing, beside the account limit Zendesk reports (X-Rate-Limit): a pace
        above it would meet 429s, one below it leaves requests unused."""
        pace = _per_minute(self.account_limit)
        detail = (
            f"ticket updates {_per_minute(self.update_limit)}/min, exports "
            f"{_per_minute(self.export_limit)}/min, other requests {pace}/min"
        )
        if reported is None or not reported.strip().isdigit():
            return CheckResult("limits", True, detail)
        plan = int(reported)
        detail += f"; Zendesk reports an account limit of {plan}/min"
        if plan != pace:
            detail += f": set SUPPORTER_ZENDESK_ACCOUNT_LIMIT={plan}"
        return CheckResult("limits", pace <= plan, detail)

    async def _check_category_field(self) -> CheckResult:
        field_id = self.settings.category_field
        if field_id is None:
            return CheckResult("category field", True, "not set: no category is written")
        try:
            body = await self._reads.json("GET", f"/api/v2/ticket_fields/{field_id}.json")
        except PermanentError:
            return CheckResult("category field", False, f"no ticket field {field_id}")
        except (FatalError, HelpdeskUnavailable) as error:
            return CheckResult("category field", False, str(error))
        found = body.get("ticket_field") if isinstance(body, dict) else None
        if not isinstance(found, dict) or found.get("active") is False:
            return CheckResult("category field", False, f"ticket field {field_id} is not active")
        return CheckResult(
            "category field", True, f"{found.get('title')} ({found.get('type')}, id {field_id})"
        )

    async def aclose(self) -> None:
        for http in (self._reads, self._updates, self._exports):
            await http.aclose()


def _ticket_path(ticket_id: str) -> str:
    # Zendesk's ids are numbers: anything else would change the request's path.
    if not ticket_id.isdigit():
        raise PermanentError(f"not a Zendesk ticket id: {ticket_id[:40]!r}")
    return ticket_id


def _webhook_time(stamp: str) -> datetime | None:
    """The signature timestamp: ISO 8601 as Zendesk sends it, or Unix seconds."""
    text = stamp.strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text), UTC)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _webhook_ticket_id(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    candidates: list[Any] = [payload.get("ticket_id")]
    ticket = payload.get("ticket")
    if isinstance(ticket, dict):
        candidates.append(ticket.get("id"))
    detail = payload.get("detail")
    if str(payload.get("type", "")).startswith("zen:event-type:ticket.") and isinstance(
        detail, dict
    ):
        candidates.append(detail.get("id"))
    for candidate in candidates:
        if isinstance(candidate, int) and not isinstance(candidate, bool) and candidate > 0:
            return str(candidate)
        # ASCII digits only: "²" is a digit to str.isdigit, but no ticket number.
        written = candidate.strip() if isinstance(candidate, str) else ""
        if written.isascii() and written.isdigit():
            return written
    return None


def _same(cursor: str | None, params: Mapping[str, str]) -> str:
    """The cursor to keep when Zendesk gave none: the one asked with."""
    if cursor:
        return cursor
    return f"{_START_CURSOR}{params['start_time']}"


def _tag(tag: str) -> str:
    # Zendesk splits a tag at spaces and keeps tags in lower case.
    return re.sub(r"\s+", "_", tag.strip()).lower()


def _field_value(ticket: Mapping[str, Any], field_id: int) -> Any:
    for entry in ticket.get("custom_fields") or []:
        if isinstance(entry, dict) and entry.get("id") == field_id:
            return entry.get("value")
    return None


def _comment(draft: Draft, earlier: Sequence[str], previous: WriteReceipt | None) -> str:
    """A public reply is what the customer reads: the reviewed text, masked, nothing of
    ours added. A note is marked as every connector's is, and says which it supersedes."""
    if draft.public:
        return mask_card_numbers(draft.note or "")
    superseded = note_of(previous)
    if superseded is not None:
        return marked_note(draft, f"comment {superseded}")
    if replied(previous):
        return marked_note(draft)  # what came before was the reply, not a note
    return marked_note(draft, "" if earlier or previous else None)


def _receipt(draft: Draft, comment: str | None) -> WriteReceipt:
    """The receipt of a comment written for `draft`: a public reply's says so, and
    guards the ticket against a second one (even with no id to name)."""
    if draft.public:
        return WriteReceipt(note_id=REPLY_PREFIX + (comment or ""))
    return WriteReceipt(note_id=comment)


def _tags(ticket: Mapping[str, Any]) -> list[str]:
    return [str(tag) for tag in ticket.get("tags") or []]


def _is_written(comment: Any, draft: Draft, author: object) -> bool:
    """Whether `comment` is the one written for `draft` (see `_written_comment`)."""
    if not isinstance(comment, dict) or comment.get("id") is None:
        return False
    if comment.get("author_id") != author or comment.get("public") is not draft.public:
        return False
    if draft.public:
        # Zendesk may lay the text out again: the words are what must be the same.
        text = comment.get("body")
        wanted = mask_card_numbers(draft.note or "").split()
        return isinstance(text, str) and text.split() == wanted
    return is_note_for(comment.get("body"), draft.version)


def _version_tag(version: str) -> str:
    return _tag(f"{_VERSION_TAG}{version}")


def _comment_id(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    audit = body.get("audit") if isinstance(body, dict) else None
    events = audit.get("events") if isinstance(audit, dict) else None
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict) and event.get("type") == "Comment":
            return str(event.get("id"))
    return None


def _user(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    user = body.get("user") if isinstance(body, dict) else None
    return user if isinstance(user, dict) else {}


def _per_minute(limit: RateLimit) -> int:
    return math.floor(limit.requests * 60.0 / limit.per_seconds)
