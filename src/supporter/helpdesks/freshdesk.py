"""Freshdesk (API v2): tickets in by polling and by an automation rule's webhook, the
classification and the draft back as a private note.

Written from https://developers.freshdesk.com/api/ and Freshdesk's support articles:

- Authentication: HTTP Basic, the API key as user name and ``X`` as password
  (https://developers.freshdesk.com/api/#authentication).
- Polling: ``GET /api/v2/tickets?updated_since=…&order_by=updated_at&order_type=asc``
  with ``include=requester,description`` (the requester's e-mail and the text, which
  accounts created after 2018-11-30 only send when asked), 100 a page, the next page in
  the ``link`` header (https://developers.freshdesk.com/api/#list_all_tickets). The
  cursor is the last ``updated_at`` seen less a second (whether ``updated_since`` is
  inclusive is not documented) with the ids already seen at those times; a page whose
  tickets all share that second moves to the next page instead.
- Webhooks: Freshdesk signs nothing. The user's automation rule ("Trigger webhook")
  adds a header with a secret (``X-Supporter-Secret`` unless configured otherwise),
  compared in constant time, and sends ``{"freshdesk_webhook": {"ticket_id":
  {{ticket.id}}}}`` (https://support.freshdesk.com/support/solutions/articles/132589).
  There is no timestamp and no delivery id to refuse a replay by: a delivery received
  twice fetches the ticket twice, and the draft's version keeps the write-back once.
- Write-back: ``PUT /api/v2/tickets/{id}`` with ``priority`` (1 low … 4 urgent),
  ``tags`` (which replace the ticket's: ours are added to the team's own, read first)
  and the category in a custom field named ``cf_…``
  (https://developers.freshdesk.com/api/#update_ticket); the note as ``POST
  /api/v2/tickets/{id}/notes`` with ``private: true``
  (https://developers.freshdesk.com/api/#add_note_to_a_ticket), updated in place by
  ``PUT /api/v2/conversations/{id}`` (https://developers.freshdesk.com/api/#update_conversation).
  The note ends with the draft's marker (`supporter.helpdesks.notes`), looked for among
  the conversations the ticket is read with (``include=conversations``, "up to ten"),
  and when there are ten, among all of them: ``GET /api/v2/tickets/{id}/conversations``
  (https://developers.freshdesk.com/api/#conversations), paged like every list
  (``per_page`` up to 100, the next page in the ``link`` header,
  https://developers.freshdesk.com/api/#pagination) with no order to ask for. So a
  note written just before a crash is not written again, however much followed it.
  Freshdesk has no draft replies, so `after-review` writes a private note as well; a
  public reply (``POST /api/v2/tickets/{id}/reply``) is only ever sent for an approved
  draft that asks for one, and never twice.
- Limits (https://support.freshdesk.com/support/solutions/articles/225439): calls a
  minute for the account by plan, and per endpoint (tickets list, ticket update), paced
  here under each; a list's ``include`` costs two credits more each.
"""

from __future__ import annotations

import html
import json
import logging
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

import httpx2 as httpx
from pydantic import PositiveFloat, PositiveInt, SecretStr

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
    WebhookEvent,
    WebhookRejected,
    WebhookRequest,
    WriteBackMode,
    WriteReceipt,
)
from supporter.helpdesks.http import EndpointLimit, HelpdeskHTTP
from supporter.helpdesks.notes import (
    REPLY_PREFIX,
    is_note_for,
    iso_time,
    marked_note,
    note_of,
    replied,
)
from supporter.helpdesks.registry import HelpdeskConfigError
from supporter.helpdesks.webhooks import check_signature, signature_headers, webhook_key
from supporter.sources.freshdesk import FreshdeskTicketSource
from supporter.sources.helpdesk import BadField, plain_text

log = logging.getLogger(__name__)

Plan = Literal["trial", "growth", "pro", "enterprise"]


@dataclass(frozen=True)
class PlanLimits:
    """Calls a minute: the account's, and the endpoints' with a limit of their own."""

    account: int
    ticket_update: int
    tickets_list: int


# https://support.freshdesk.com/support/solutions/articles/225439 ("for every trial
# period the API limit is 50 per minute"; the trial has no endpoint limits listed).
PLANS: Final[dict[str, PlanLimits]] = {
    "trial": PlanLimits(account=50, ticket_update=50, tickets_list=50),
    "growth": PlanLimits(account=200, ticket_update=80, tickets_list=20),
    "pro": PlanLimits(account=400, ticket_update=160, tickets_list=100),
    "enterprise": PlanLimits(account=700, ticket_update=280, tickets_list=200),
}
_PRIORITIES: Final = {Priority.LOW: 1, Priority.MEDIUM: 2, Priority.HIGH: 3, Priority.URGENT: 4}
_PAGE_SIZE: Final = 100
# A ticket read with ``include=conversations`` comes with this many at most.
_INCLUDED_CONVERSATIONS: Final = 10
_LIST_INCLUDES: Final = ("requester", "description")
_INCLUDE_CREDITS: Final = 2
# `updated_since` may be exclusive: start a second early, skip what was seen.
_OVERLAP: Final = timedelta(seconds=1)
_ENDPOINT_SHARE: Final = 0.9
# A conversation's source: a reply or a note (https://developers.freshdesk.com/api/#conversations).
_REPLY_SOURCE: Final = 0
_NOTE_SOURCE: Final = 2


class Settings(HelpdeskSettings):
    """``SUPPORTER_FRESHDESK_…``: DOMAIN (acme for acme.freshdesk.com) or URL, API_KEY,
    WEBHOOK_SECRET, WEBHOOK_HEADER, CATEGORY_FIELD (a ``cf_`` field), PLAN, and
    RATE_LIMIT for an account that bought more calls a minute than its plan has."""

    domain: str | None = None
    api_key: SecretStr
    webhook_secret: SecretStr | None = None
    webhook_header: str = "X-Supporter-Secret"
    category_field: str | None = None
    plan: Plan = "growth"
    rate_limit: PositiveInt | None = None
    timeout: PositiveFloat = 30.0


def connect(settings: Settings) -> Freshdesk:
    if settings.url:
        base_url = settings.url.rstrip("/")
    elif settings.domain:
        base_url = f"https://{settings.domain.strip().removesuffix('.freshdesk.com')}.freshdesk.com"
    else:
        raise HelpdeskConfigError(
            "helpdesk freshdesk is not configured: set SUPPORTER_FRESHDESK_DOMAIN "
            "(acme for acme.freshdesk.com) or SUPPORTER_FRESHDESK_URL"
        )
    if settings.category_field is not None and not settings.category_field.startswith("cf_"):
        raise HelpdeskConfigError(
            "SUPPORTER_FRESHDESK_CATEGORY_FIELD: a custom field's API name starts with cf_"
        )
    return Freshdesk(settings, base_url)


class Freshdesk:
    """One Freshdesk account (see the module docstring)."""

    name = "freshdesk"

    def __init__(self, settings: Settings, base_url: str) -> None:
        self._settings = settings
        self._plan = _limits(PLANS[settings.plan], settings.rate_limit)
        self._http = HelpdeskHTTP(
            self.name,
            base_url,
            limit=self.write_limit,
            auth=httpx.BasicAuth(settings.api_key.get_secret_value(), "X"),
            headers={"Accept": "application/json"},
            timeout=settings.timeout,
            remaining_header="x-ratelimit-remaining",
        )
        # The endpoints' own limits, on top of the account's pacing in `_http`. They bind
        # less than the account's in a write-back (a ticket update is one call of three),
        # so a margin costs nothing, and keeps a timer's jitter from meeting a 429.
        plan = self._plan
        self._list_pacing = _pacing(plan.tickets_list)
        self._update_pacing = _pacing(plan.ticket_update)
        self._records = FreshdeskTicketSource("freshdesk-api", long_body="start")

    @property
    def write_limit(self) -> RateLimit:
        plan = self._plan
        return RateLimit(
            requests=plan.account,
            per_seconds=60.0,
            scope="account",
            extra={
                "plan": self._settings.plan,
                "ticket_update_per_minute": str(plan.ticket_update),
                "tickets_list_per_minute": str(plan.tickets_list),
            },
        )

    def request_counts(self) -> dict[str, int]:
        return dict(self._http.stats)

    # -- webhooks --------------------------------------------------------------------------

    def verify_webhook(self, request: WebhookRequest) -> None:
        secret = webhook_key(self._settings.webhook_secret, "SUPPORTER_FRESHDESK_WEBHOOK_SECRET")
        header = self._settings.webhook_header
        (given,) = signature_headers(request, header)
        check_signature(given, secret, header)

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        try:
            payload = json.loads(request.body)
        except ValueError:
            raise WebhookRejected("bad_payload", "the webhook's body is not JSON") from None
        inner = payload.get("freshdesk_webhook", payload) if isinstance(payload, dict) else None
        ticket_id = inner.get("ticket_id") if isinstance(inner, dict) else None
        if isinstance(ticket_id, bool) or not isinstance(ticket_id, int | str):
            raise WebhookRejected("bad_payload", "the webhook names no freshdesk_webhook.ticket_id")
        written = str(ticket_id).strip()
        if not (written.isascii() and written.isdigit()):
            raise WebhookRejected("bad_payload", "freshdesk_webhook.ticket_id is not a number")
        return WebhookEvent(ticket_ids=(written,))

    # -- reading ---------------------------------------------------------------------------

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        record = await self._http.json(
            "GET",
            f"/api/v2/tickets/{_ticket_number(ticket_id)}",
            params={"include": "requester"},
            cost=2,
        )
        if not isinstance(record, dict):
            raise HelpdeskUnavailable(f"freshdesk answered ticket {ticket_id} with no ticket")
        try:
            return self._records.parse(record)
        except BadField as problem:
            raise PermanentError(f"freshdesk ticket {ticket_id}: {problem}") from None

    async def poll(
        self, cursor: str | None, *, since: datetime, statuses: Collection[str] | None = None
    ) -> PollPage:
        state = _Cursor.load(cursor) if cursor else _Cursor(_iso(since - _OVERLAP), 1, {})
        params = {
            "updated_since": state.since,
            "order_by": "updated_at",
            "order_type": "asc",
            "include": ",".join(_LIST_INCLUDES),
            "per_page": _PAGE_SIZE,
            "page": state.page,
        }
        response = await self._http.request(
            "GET",
            "/api/v2/tickets",
            params=params,
            cost=1 + _INCLUDE_CREDITS * len(_LIST_INCLUDES),
            endpoint=self._list_pacing,
        )
        records = _json_list(response)
        tickets = []
        for record in records:
            key = str(record.get("id")), str(record.get("updated_at"))
            if state.seen.get(key[0]) == key[1]:
                continue  # already handed over at this version
            try:
                tickets.append(self._records.parse(record))
            except BadField as problem:
                # Named for the operator; the ticket's text is not logged.
                log.warning("freshdesk ticket %s skipped: %s", key[0], problem)
        more = 'rel="next"' in response.headers.get("link", "")
        return PollPage(tuple(tickets), state.after(records, more).dump(), more)

    # -- writing ---------------------------------------------------------------------------

    async def write_back(
        self, draft: Draft, mode: WriteBackMode, previous: WriteReceipt | None
    ) -> WriteReceipt:
        number = _ticket_number(draft.ticket_id)
        # A retry reads the newest conversations with the ticket, to find a note of this
        # draft already written (the include costs a second credit); a first try has none.
        search = not draft.first_attempt and mode is not WriteBackMode.TAGS
        current = await self._http.json(
            "GET",
            f"/api/v2/tickets/{number}",
            params={"include": "conversations"} if search else None,
            cost=2 if search else 1,
        )
        if not isinstance(current, dict):
            raise HelpdeskUnavailable(f"freshdesk answered ticket {number} with no ticket")
        await self._classify(number, current, draft)
        if mode is WriteBackMode.TAGS or draft.note is None:
            return previous or WriteReceipt(note_id=None)
        conversations = await self._conversations(number, current) if search else []
        if draft.public:
            return await self._reply(number, conversations, draft.note, previous)
        written = _note_for(conversations, draft.version)
        if written is not None:
            # Written before the receipt could be stored (a crash, a lost answer).
            return WriteReceipt(note_id=written, updated=previous is not None)
        body = _html(marked_note(draft))
        earlier = note_of(previous)
        if earlier is not None:
            try:
                await self._http.json(
                    "PUT", f"/api/v2/conversations/{earlier}", json={"body": body}
                )
            except PermanentError:
                # The note was deleted by an agent: a new one is not a duplicate.
                log.info(
                    "freshdesk note %s of ticket %s is gone; adding another",
                    earlier,
                    number,
                )
            else:
                return WriteReceipt(note_id=earlier, updated=True)
        note = await self._http.json(
            "POST", f"/api/v2/tickets/{number}/notes", json={"body": body, "private": True}
        )
        return WriteReceipt(note_id=_conversation_id(note, number))

    async def _classify(self, number: str, current: dict[str, Any], draft: Draft) -> None:
        """Priority, our tags added to the team's, the category field: only what changes."""
        existing = [str(tag) for tag in current.get("tags") or []]
        tags = existing + [tag for tag in draft.tags if tag not in existing]
        update: dict[str, Any] = {}
        if tags != existing:
            update["tags"] = tags
        priority = _PRIORITIES[draft.priority]
        if current.get("priority") != priority:
            update["priority"] = priority
        field = self._settings.category_field
        custom = current.get("custom_fields") or {}
        if field is not None and custom.get(field) != draft.category:
            update["custom_fields"] = {field: draft.category}
        if update:
            await self._http.json(
                "PUT", f"/api/v2/tickets/{number}", json=update, endpoint=self._update_pacing
            )

    async def _conversations(self, number: str, ticket: dict[str, Any]) -> list[dict[str, Any]]:
        """The conversations to search for a note or reply written before a crash: those
        the ticket was read with when they are all it has (fewer than the ten an include
        gives), else every page of ``GET /api/v2/tickets/{id}/conversations`` (100 a
        page, the next in the ``link`` header; no order to ask for, so all of them)."""
        included = ticket.get("conversations")
        found = [c for c in included if isinstance(c, dict)] if isinstance(included, list) else []
        if len(found) < _INCLUDED_CONVERSATIONS:
            return found
        found, page, more = [], 1, True
        while more:
            response = await self._http.request(
                "GET",
                f"/api/v2/tickets/{number}/conversations",
                params={"per_page": _PAGE_SIZE, "page": page},
            )
            found += _json_list(response, f"the conversations of ticket {number}")
            more = 'rel="next"' in response.headers.get("link", "")
            page += 1
        return found

    async def _reply(
        self,
        number: str,
        conversations: list[dict[str, Any]],
        text: str,
        previous: WriteReceipt | None,
    ) -> WriteReceipt:
        if previous is not None and replied(previous):
            # Mailed to the customer already: never a second time.
            return replace(previous, withheld=True)
        text = mask_card_numbers(text)
        sent = _reply_for(conversations, text)
        if sent is not None:
            # Mailed before the receipt could be stored (a crash, a lost answer).
            return WriteReceipt(note_id=REPLY_PREFIX + sent)
        reply = await self._http.json(
            "POST", f"/api/v2/tickets/{number}/reply", json={"body": _html(text)}
        )
        return WriteReceipt(note_id=REPLY_PREFIX + _conversation_id(reply, number))

    # -- checking --------------------------------------------------------------------------

    async def check(self) -> Sequence[CheckResult]:
        results: list[CheckResult] = []
        try:
            response = await self._http.request("GET", "/api/v2/agents/me")
        except (FatalError, PermanentError, HelpdeskUnavailable) as error:
            return [CheckResult("credentials", False, str(error))]
        results.append(CheckResult("credentials", True, "the API key signs in as an agent"))
        total = response.headers.get("x-ratelimit-total")
        plan = self._plan.account
        results.append(
            CheckResult(
                "rate limit",
                total is None or total == str(plan),
                f"paced for the {self._settings.plan} plan ({plan} calls a minute)"
                + (
                    f"; Freshdesk says {total}: set SUPPORTER_FRESHDESK_PLAN"
                    if total and total != str(plan)
                    else ""
                ),
            )
        )
        field = self._settings.category_field
        if field is not None:
            try:
                fields = await self._http.json("GET", "/api/v2/ticket_fields")
            except (FatalError, PermanentError, HelpdeskUnavailable) as error:
                results.append(CheckResult("category field", False, str(error)))
            else:
                names = {item.get("name") for item in fields or [] if isinstance(item, dict)}
                found = field in names
                detail = "exists" if found else "is not a ticket field of this account"
                results.append(CheckResult("category field", found, f"{field} {detail}"))
        secret = self._settings.webhook_secret is not None
        results.append(
            CheckResult(
                "webhook",
                secret,
                f"webhooks must carry the {self._settings.webhook_header} header"
                if secret
                else "no SUPPORTER_FRESHDESK_WEBHOOK_SECRET: webhooks are refused, polling only",
            )
        )
        return results

    async def aclose(self) -> None:
        await self._http.aclose()


@dataclass(frozen=True)
class _Cursor:
    """Where polling stands: `updated_since`, the page, and the (id, updated_at) seen
    since then, so the second of overlap hands nothing over twice."""

    since: str
    page: int
    seen: dict[str, str]

    @classmethod
    def load(cls, text: str) -> _Cursor:
        try:
            data = json.loads(text)
            return cls(
                str(data["since"]),
                int(data["page"]),
                {str(k): str(v) for k, v in data["seen"].items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise PermanentError("the stored freshdesk polling cursor is not one of ours") from None

    def dump(self) -> str:
        return json.dumps({"since": self.since, "page": self.page, "seen": self.seen})

    def after(self, records: list[dict[str, Any]], more: bool) -> _Cursor:
        """The cursor once `records` (this page, oldest first) are handed over."""
        if not records:
            return self
        newest = max(_time(record) for record in records)
        since = _iso(newest - _OVERLAP)
        if since <= self.since:
            # The whole page shares the overlap: go on to the next page of it.
            seen = {**self.seen, **_versions(records)}
            return _Cursor(self.since, self.page + 1 if more else self.page, seen)
        kept = {
            ticket: updated
            for ticket, updated in {**self.seen, **_versions(records)}.items()
            if updated >= since
        }
        return _Cursor(since, 1, kept)


def _pacing(per_minute: int) -> EndpointLimit:
    return EndpointLimit(max(1, math.floor(per_minute * _ENDPOINT_SHARE)))


def _limits(plan: PlanLimits, bought: int | None) -> PlanLimits:
    """The plan's limits, or those of an account that bought more calls a minute: its
    endpoints' limits grow with it ("includes higher endpoint-specific limits", says the
    article; by how much it does not say, so in proportion here)."""
    if bought is None:
        return plan
    scale = bought / plan.account
    return PlanLimits(
        account=bought,
        ticket_update=max(1, round(plan.ticket_update * scale)),
        tickets_list=max(1, round(plan.tickets_list * scale)),
    )


def _versions(records: list[dict[str, Any]]) -> dict[str, str]:
    return {str(record.get("id")): str(record.get("updated_at")) for record in records}


def _time(record: dict[str, Any]) -> datetime:
    moment = iso_time(record.get("updated_at"))
    if moment is None:
        raise HelpdeskUnavailable("freshdesk listed a ticket without a valid updated_at")
    return moment


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_list(response: httpx.Response, what: str = "the ticket list") -> list[dict[str, Any]]:
    try:
        records = response.json()
    except ValueError:
        records = None
    if not isinstance(records, list):
        raise HelpdeskUnavailable(f"freshdesk answered {what} with something else")
    return [record for record in records if isinstance(record, dict)]


def _ticket_number(ticket_id: str) -> str:
    written = ticket_id.strip()
    if not written.isdigit():
        raise PermanentError(f"not a Freshdesk ticket id: {ticket_id[:40]!r}")
    return written


def _conversation_id(answer: Any, number: str) -> str:
    if not isinstance(answer, dict) or answer.get("id") is None:
        raise HelpdeskUnavailable(f"freshdesk did not say which note it added to ticket {number}")
    return str(answer["id"])


def _note_for(conversations: list[dict[str, Any]], version: str) -> str | None:
    """The private note among the ticket's conversations that holds `version` (a
    customer cannot write a private note, so cannot forge one)."""
    for conversation in conversations:
        if (
            conversation.get("private") is True
            and conversation.get("source") == _NOTE_SOURCE
            and is_note_for(conversation.get("body"), version)
        ):
            return str(conversation.get("id"))
    return None


def _reply_for(conversations: list[dict[str, Any]], text: str) -> str | None:
    """Our reply among the ticket's conversations that says `text`: an agent's public
    reply (the customer's own messages are incoming, so cannot pose as one)."""
    wanted = _words(text)
    for conversation in conversations:
        if (
            conversation.get("source") == _REPLY_SOURCE
            and conversation.get("incoming") is False
            and conversation.get("private") is False
            and isinstance(conversation.get("body"), str)
            and _words(plain_text(conversation["body"])) == wanted
        ):
            return str(conversation.get("id"))
    return None


def _words(text: str) -> list[str]:
    # Freshdesk may lay the HTML out again: the words are what must be the same.
    return text.split()


def _html(text: str) -> str:
    """The note as Freshdesk's HTML body: masked again (whatever the stage did, no card
    number reaches the helpdesk), escaped (a ticket's text is data), lines kept."""
    return "<div>" + html.escape(mask_card_numbers(text)).replace("\n", "<br>") + "</div>"
