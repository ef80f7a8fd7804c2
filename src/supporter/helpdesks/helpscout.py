"""Help Scout (Mailbox API 2.0): conversations in by signed webhooks and by polling, the
classification as tags and the draft back as a note or a draft reply.

Written from https://developer.helpscout.com/mailbox-api/ and
https://developer.helpscout.com/webhooks/:

- Authentication: OAuth2 client credentials, ``POST /v2/oauth2/token`` with the app's
  id and secret; the token (two days) is sent as a bearer token and fetched again when
  it expires or the API answers 401 (once: a second 401 is a `FatalError`)
  (https://developer.helpscout.com/mailbox-api/overview/authentication/).
- Webhooks: ``X-HelpScout-Signature`` is the base64 HMAC-SHA1 of the body with the
  webhook's secret, compared in constant time; ``X-HelpScout-Event`` names the event.
  Help Scout sends no timestamp and no delivery id, so a replay cannot be told by its
  age: a delivery is named by its event and a digest of its body (a retry sends the same
  bytes), and the draft's version keeps its write-back once.
- Polling: ``GET /v2/conversations?status=all&modifiedSince=…&embed=threads``, 25 a
  page, ``page`` counted here rather than following ``_links.next`` (the documentation
  once warned that those links drop the query). Sorted by ``createdAt``, which never
  changes, rather than ``modifiedAt``: a conversation modified during a sweep then
  cannot shift an unread one onto a page already read. Each sweep starts from the time
  the previous one began (Help Scout's clock, from the ``Date`` header), less a second.
- Write-back (https://developer.helpscout.com/mailbox-api/endpoints/conversations/):
  tags by ``PUT …/{id}/tags``, which replaces them, so ours are added to the team's own
  read first; the category in a custom field by ``PUT …/{id}/fields`` when one is set
  (custom fields depend on the plan); Help Scout has no priority. In `note` mode the
  draft, with its facts and warnings for the agent, is a note (``POST …/{id}/notes``):
  notes are never mailed, and the facts are not words for the customer. In
  `after-review` mode the reviewed reply alone (`Draft.reply`) is a real draft
  (``POST …/{id}/reply`` with ``draft: true``) that the agent sends from Help Scout.
  A changed draft edits its thread (``PATCH …/threads/{threadId}``, where the account
  allows thread editing; otherwise a new thread is added). A note or draft written
  before a crash is looked for among the threads the conversation is read with
  (``embed=threads``, no limit documented), or, when they are fewer than its
  ``threads`` count, in ``GET …/{id}/threads`` (newest first, 50 a page,
  https://developer.helpscout.com/mailbox-api/overview/pagination/) down to the
  write-back's first claim. A public reply (``draft``
  false) is only sent for a reviewer-approved draft that asks for it, and never twice.
- Limits (https://developer.helpscout.com/mailbox-api/overview/rate-limiting/,
  https://docs.helpscout.com/article/1140-mailbox-api): a per-minute limit by plan
  (Standard 200, Plus 400, Pro 800) in which a write counts twice; a 429 says how long
  to wait in ``X-RateLimit-Retry-After``.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import hmac
import html
import json
import logging
import time
from base64 import b64encode
from collections.abc import AsyncGenerator, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

import httpx2 as httpx
from pydantic import PositiveFloat, PositiveInt, SecretStr

from supporter.domain.errors import FatalError, PermanentError
from supporter.domain.masking import mask_card_numbers
from supporter.domain.models import Ticket
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
from supporter.helpdesks.notes import (
    is_note_for,
    iso_time,
    marked_note,
    note_of,
    reaches_before,
    replied,
)
from supporter.helpdesks.registry import HelpdeskConfigError
from supporter.helpdesks.webhooks import check_signature, signature_headers, webhook_key
from supporter.sources.helpdesk import BadField, plain_text
from supporter.sources.helpscout import HelpScoutTicketSource

log = logging.getLogger(__name__)

Plan = Literal["standard", "plus", "pro"]

PLANS: Final[dict[str, int]] = {"standard": 200, "plus": 400, "pro": 800}
WRITE_COST: Final = 2
API_URL: Final = "https://api.helpscout.net"
# Events about what a conversation says; the others (ratings, customers, tags, a
# conversation deleted) leave nothing to do.
_CONVERSATION_EVENTS: Final = frozenset(
    {"convo.created", "convo.customer.reply.created", "convo.merged", "convo.moved"}
)
_OVERLAP: Final = timedelta(seconds=1)
_REFRESH_EARLY: Final = 60.0
# The receipt of a reply sent: "sent/", not notes.REPLY_PREFIX, as receipts stored say.
_SENT_PREFIX: Final = "sent/"


class Settings(HelpdeskSettings):
    """``SUPPORTER_HELPSCOUT_…``: CLIENT_ID and CLIENT_SECRET (the OAuth2 app), WEBHOOK_SECRET,
    MAILBOX (ids, comma separated; default all), CATEGORY_FIELD (a custom field's id),
    PLAN, RATE_LIMIT (requests a minute, overriding the plan's), TIMEOUT, URL."""

    client_id: str
    client_secret: SecretStr
    webhook_secret: SecretStr | None = None
    mailbox: str | None = None
    category_field: PositiveInt | None = None
    plan: Plan = "standard"
    rate_limit: PositiveInt | None = None
    timeout: PositiveFloat = 30.0


def connect(settings: Settings) -> HelpScout:
    mailbox = settings.mailbox
    if mailbox is not None and not all(part.strip().isdigit() for part in mailbox.split(",")):
        raise HelpdeskConfigError("SUPPORTER_HELPSCOUT_MAILBOX: mailbox ids, comma separated")
    return HelpScout(settings, (settings.url or API_URL).rstrip("/"))


class HelpScout:
    """One Help Scout account (see the module docstring)."""

    name = "helpscout"

    def __init__(self, settings: Settings, base_url: str) -> None:
        self._settings = settings
        self._per_minute = settings.rate_limit or PLANS[settings.plan]
        self._http = HelpdeskHTTP(
            self.name,
            base_url,
            limit=self.write_limit,
            auth=_ClientCredentials(
                f"{base_url}/v2/oauth2/token", settings.client_id, settings.client_secret
            ),
            headers={"Accept": "application/json"},
            timeout=settings.timeout,
            retry_after_headers=("x-ratelimit-retry-after", "retry-after"),
            remaining_header="x-ratelimit-remaining-minute",
        )
        self._records = HelpScoutTicketSource("helpscout-api", long_body="end")

    @property
    def write_limit(self) -> RateLimit:
        return RateLimit(
            requests=self._per_minute,
            per_seconds=60.0,
            scope="account",
            extra={"plan": self._settings.plan, "write_cost": str(WRITE_COST)},
        )

    def request_counts(self) -> dict[str, int]:
        return dict(self._http.stats)

    # -- webhooks --------------------------------------------------------------------------

    def verify_webhook(self, request: WebhookRequest) -> None:
        secret = webhook_key(self._settings.webhook_secret, "SUPPORTER_HELPSCOUT_WEBHOOK_SECRET")
        (given,) = signature_headers(request, "X-HelpScout-Signature")
        digest = hmac.new(secret, request.body, hashlib.sha1).digest()
        check_signature(given, b64encode(digest), "X-HelpScout-Signature")

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        event = request.headers.get("x-helpscout-event", "")
        try:
            payload = json.loads(request.body)
        except ValueError:
            raise WebhookRejected("bad_payload", "the webhook's body is not JSON") from None
        if not isinstance(payload, dict):
            raise WebhookRejected("bad_payload", "the webhook's body is not a JSON object")
        delivery = f"{event}:{hashlib.sha256(request.body).hexdigest()[:32]}"
        if event not in _CONVERSATION_EVENTS:
            return WebhookEvent(delivery_id=delivery)
        conversation = payload.get("id")
        if isinstance(conversation, bool) or not isinstance(conversation, int | str):
            raise WebhookRejected("bad_payload", "the webhook's conversation has no id")
        written = str(conversation).strip()
        if not (written.isascii() and written.isdigit()):
            raise WebhookRejected("bad_payload", "the webhook's conversation id is not a number")
        # The body is the conversation without its threads: fetch it whole.
        return WebhookEvent(ticket_ids=(written,), delivery_id=delivery)

    # -- reading ---------------------------------------------------------------------------

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        record = await self._conversation(ticket_id)
        try:
            return self._records.parse(record)
        except BadField as problem:
            raise PermanentError(f"helpscout conversation {ticket_id}: {problem}") from None

    async def poll(
        self, cursor: str | None, *, since: datetime, statuses: Collection[str] | None = None
    ) -> PollPage:
        state = _Cursor.load(cursor) if cursor else _Cursor(_iso(since - _OVERLAP), 1, None)
        params: dict[str, Any] = {
            "status": "all",
            "modifiedSince": state.since,
            "sortField": "createdAt",
            "sortOrder": "asc",
            "embed": "threads",
            "page": state.page,
        }
        if self._settings.mailbox:
            params["mailbox"] = self._settings.mailbox.replace(" ", "")
        response = await self._http.request("GET", "/v2/conversations", params=params)
        body = _json(response)
        embedded = body.get("_embedded")
        records = embedded.get("conversations") if isinstance(embedded, dict) else None
        links = body.get("_links")
        more = isinstance(links, dict) and "next" in links
        # The sweep began when its first page was answered, by Help Scout's clock.
        began = state.began or _iso(_server_time(response) - _OVERLAP)
        tickets = []
        for record in records if isinstance(records, list) else []:
            if not isinstance(record, dict):
                continue
            try:
                tickets.append(self._records.parse(record))
            except BadField as problem:
                # Named for the operator; the conversation's text is not logged.
                log.warning("helpscout conversation %s skipped: %s", record.get("id"), problem)
        following = _Cursor(state.since, state.page + 1, began) if more else _Cursor(began, 1, None)
        return PollPage(tuple(tickets), following.dump(), more)

    async def _conversation(self, ticket_id: str) -> dict[str, Any]:
        record = await self._http.json(
            "GET", f"/v2/conversations/{_number(ticket_id)}", params={"embed": "threads"}
        )
        if not isinstance(record, dict):
            raise HelpdeskUnavailable(f"helpscout answered conversation {ticket_id} with nothing")
        return record

    # -- writing ---------------------------------------------------------------------------

    async def write_back(
        self, draft: Draft, mode: WriteBackMode, previous: WriteReceipt | None
    ) -> WriteReceipt:
        number = _number(draft.ticket_id)
        conversation = await self._conversation(number)
        await self._classify(number, conversation, draft)
        if mode is WriteBackMode.TAGS or draft.note is None:
            return previous or WriteReceipt(note_id=None)
        # A first try has nothing of its own to find: the threads are not searched.
        threads = (
            []
            if draft.first_attempt
            else await self._threads(number, conversation, draft.written_after)
        )
        if draft.public:
            return await self._send(number, conversation, threads, draft, previous)
        # After review, the reply alone as a draft the agent sends; it carries nothing
        # else (no marker: it is recognised by its text). A note carries the marker.
        reply = draft.reply if mode is WriteBackMode.AFTER_REVIEW else None
        as_draft = reply is not None
        text = _html(reply if reply is not None else marked_note(draft))
        written = _thread_for(threads, draft.version, text, as_draft)
        if written is not None:
            # Written before the receipt could be stored (a crash, a lost answer).
            return WriteReceipt(note_id=written, updated=previous is not None)
        earlier = note_of(previous, _SENT_PREFIX)
        if earlier and earlier.isdigit() and await self._edit(number, earlier, text):
            return WriteReceipt(note_id=earlier, updated=True)
        if as_draft:
            return await self._reply(number, conversation, text, draft=True)
        response = await self._http.request(
            "POST", f"/v2/conversations/{number}/notes", json={"text": text}, cost=WRITE_COST
        )
        return WriteReceipt(note_id=_resource_id(response, number))

    async def _threads(
        self, number: str, conversation: dict[str, Any], written_after: datetime | None
    ) -> list[dict[str, Any]]:
        """The threads to search for a note, draft or reply written before a crash: those
        the conversation came with, when it came with every published thread it counts
        (``threads``); else ``GET …/{id}/threads``, newest first, 50 a page, down to the
        first page that reaches before `written_after` (the write-back's first claim)."""
        embedded = _embedded_threads(conversation)
        counted = conversation.get("threads")
        published = sum(1 for thread in embedded if thread.get("state") == "published")
        if not isinstance(counted, int) or published >= counted:
            return embedded
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            listed = await self._http.json(
                "GET", f"/v2/conversations/{number}/threads", params={"page": page}
            )
            threads = _embedded_threads(listed)
            found += threads
            links = listed.get("_links") if isinstance(listed, dict) else None
            created = (iso_time(thread.get("createdAt")) for thread in threads)
            if not (isinstance(links, dict) and links.get("next")) or reaches_before(
                created, written_after
            ):
                return found
            page += 1

    async def _classify(self, number: str, conversation: dict[str, Any], draft: Draft) -> None:
        """Our tags added to the team's, and the category field: only what changes."""
        existing = [
            str(label.get("tag"))
            for label in conversation.get("tags") or []
            if isinstance(label, dict) and label.get("tag")
        ]
        own = {tag.lower() for tag in existing}
        added = [tag for tag in dict.fromkeys(draft.tags) if tag.lower() not in own]
        if added:
            await self._http.request(
                "PUT",
                f"/v2/conversations/{number}/tags",
                json={"tags": existing + added},
                cost=WRITE_COST,
            )
        field = self._settings.category_field
        if field is None:
            return
        values = {
            item.get("id"): item.get("value")
            for item in conversation.get("customFields") or []
            if isinstance(item, dict)
        }
        if values.get(field) != draft.category:
            await self._http.request(
                "PUT",
                f"/v2/conversations/{number}/fields",
                json={"fields": [{"id": field, "value": draft.category}]},
                cost=WRITE_COST,
            )

    async def _edit(self, number: str, thread: str, text: str) -> bool:
        """Replace a thread's text; False when it is gone or editing is not allowed."""
        response = await self._http.request(
            "PATCH",
            f"/v2/conversations/{number}/threads/{thread}",
            json={"op": "replace", "path": "/text", "value": text},
            allow=(403, 404),
            cost=WRITE_COST,
        )
        if response.status_code == 403:
            log.warning(
                "helpscout does not let this user edit threads (an admin can, or allow "
                "thread editing): conversation %s gets a new thread instead",
                number,
            )
        return response.status_code < 400

    async def _reply(
        self, number: str, conversation: dict[str, Any], text: str, *, draft: bool
    ) -> WriteReceipt:
        customer = conversation.get("primaryCustomer")
        customer_id = customer.get("id") if isinstance(customer, dict) else None
        if customer_id is None:
            raise PermanentError(f"helpscout conversation {number} has no customer to reply to")
        response = await self._http.request(
            "POST",
            f"/v2/conversations/{number}/reply",
            json={"customer": {"id": customer_id}, "text": text, "draft": draft},
            cost=WRITE_COST,
        )
        return WriteReceipt(note_id=_resource_id(response, number))

    async def _send(
        self,
        number: str,
        conversation: dict[str, Any],
        threads: list[dict[str, Any]],
        draft: Draft,
        previous: WriteReceipt | None,
    ) -> WriteReceipt:
        if previous is not None and replied(previous, _SENT_PREFIX):
            # Mailed to the customer already: never a second time.
            return replace(previous, withheld=True)
        text = _html(draft.note or "")
        found = _sent_reply(threads, text)
        if found is not None:
            # Mailed before the receipt could be stored (a crash, a lost answer).
            return WriteReceipt(note_id=_SENT_PREFIX + found)
        sent = await self._reply(number, conversation, text, draft=False)
        return WriteReceipt(note_id=_SENT_PREFIX + (sent.note_id or ""))

    # -- checking --------------------------------------------------------------------------

    async def check(self) -> Sequence[CheckResult]:
        try:
            response = await self._http.request("GET", "/v2/users/me")
        except (FatalError, PermanentError, HelpdeskUnavailable) as error:
            return [CheckResult("credentials", False, str(error))]
        results = [CheckResult("credentials", True, "the app's token reads the account")]
        told = response.headers.get("x-ratelimit-limit-minute")
        agrees = told is None or told == str(self._per_minute)
        detail = f"paced for {self._per_minute} requests a minute, writes counting twice"
        if not agrees:
            detail += f"; Help Scout says {told}: set SUPPORTER_HELPSCOUT_PLAN"
        results.append(CheckResult("rate limit", agrees, detail))
        secret = self._settings.webhook_secret is not None
        results.append(
            CheckResult(
                "webhook",
                secret,
                "webhooks are checked by their X-HelpScout-Signature"
                if secret
                else "no SUPPORTER_HELPSCOUT_WEBHOOK_SECRET: webhooks are refused, polling only",
            )
        )
        return results

    async def aclose(self) -> None:
        await self._http.aclose()


class _ClientCredentials(httpx.Auth):
    """A bearer token from the client credentials grant, fetched when there is none, when
    it is about to expire, and once again when the API answers 401 (an expired or revoked
    token). A token request that fails is the answer the caller sees (401: the app's id or
    secret is wrong; 5xx: Help Scout is down)."""

    def __init__(self, token_url: str, client_id: str, client_secret: SecretStr) -> None:
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self._fresh():
            async with self._lock:
                # Another request may have fetched one while this one waited.
                if not self._fresh():
                    answer = yield self._token_request(request)
                    if not await self._keep(answer):
                        return
        used = self._token
        request.headers["Authorization"] = f"Bearer {used}"
        response = yield request
        if response.status_code != 401:
            return
        async with self._lock:
            if self._token == used:
                answer = yield self._token_request(request)
                if not await self._keep(answer):
                    return
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def _fresh(self) -> bool:
        return self._token is not None and time.monotonic() < self._expires

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        # With the API request's extensions, which carry the client's timeouts.
        return httpx.Request(
            "POST",
            self._token_url,
            extensions=request.extensions,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret.get_secret_value(),
            },
        )

    async def _keep(self, response: httpx.Response) -> bool:
        """Keep the token the answer holds; False (and no token) when it holds none."""
        await response.aread()
        self._token = None
        if response.status_code != 200:
            return False
        try:
            body = response.json()
            token, lifetime = str(body["access_token"]), float(body.get("expires_in", 0))
        except (ValueError, KeyError, TypeError):
            return False
        self._token = token
        self._expires = time.monotonic() + max(0.0, lifetime - _REFRESH_EARLY)
        return True


@dataclass(frozen=True)
class _Cursor:
    """Where polling stands: the sweep's `modifiedSince`, its page, and when it began."""

    since: str
    page: int
    began: str | None

    @classmethod
    def load(cls, text: str) -> _Cursor:
        try:
            data = json.loads(text)
            began = data["began"]
            return cls(str(data["since"]), int(data["page"]), None if began is None else str(began))
        except (ValueError, KeyError, TypeError):
            raise PermanentError("the stored helpscout polling cursor is not one of ours") from None

    def dump(self) -> str:
        return json.dumps({"since": self.since, "page": self.page, "began": self.began})


def _embedded_threads(record: Any) -> list[dict[str, Any]]:
    """The threads a HAL answer embeds (a conversation's, or a page of them)."""
    embedded = record.get("_embedded") if isinstance(record, dict) else None
    threads = embedded.get("threads") if isinstance(embedded, dict) else None
    return [t for t in threads if isinstance(t, dict)] if isinstance(threads, list) else []


def _thread_for(
    threads: list[dict[str, Any]], version: str, text: str, as_draft: bool
) -> str | None:
    """The thread of ours that already holds this draft: a note with its marker, or a
    draft reply with its text. Customers write neither, so cannot forge one."""
    for thread in threads:
        body = thread.get("body")
        if as_draft:
            found = (
                thread.get("type") == "reply"
                and thread.get("state") == "draft"
                and isinstance(body, str)
                and plain_text(body) == plain_text(text)
            )
        else:
            found = thread.get("type") == "note" and is_note_for(body, version)
        if found:
            return str(thread.get("id"))
    return None


def _sent_reply(threads: list[dict[str, Any]], text: str) -> str | None:
    """An agent's published reply saying `text` (a customer's threads are of type
    `customer`, so a customer writing the same words does not count)."""
    wanted = plain_text(text).split()
    for thread in threads:
        if (
            thread.get("type") == "reply"
            and thread.get("state") == "published"
            and isinstance(thread.get("body"), str)
            and plain_text(thread["body"]).split() == wanted
        ):
            return str(thread.get("id"))
    return None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise HelpdeskUnavailable("helpscout answered the conversation list with something else")
    return body


def _server_time(response: httpx.Response) -> datetime:
    """When Help Scout answered, by its own clock (ours may be off)."""
    try:
        return email.utils.parsedate_to_datetime(response.headers["date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(ticket_id: str) -> str:
    written = ticket_id.strip()
    if not written.isdigit():
        raise PermanentError(f"not a Help Scout conversation id: {ticket_id[:40]!r}")
    return written


def _resource_id(response: httpx.Response, number: str) -> str:
    thread = response.headers.get("resource-id")
    if not thread:
        raise HelpdeskUnavailable(f"helpscout did not say which thread it added to {number}")
    return thread


def _html(text: str) -> str:
    """The text as Help Scout's HTML thread body: masked again (whatever the stage did, no
    card number reaches the helpdesk), escaped (a ticket's text is data)."""
    return html.escape(mask_card_numbers(text)).replace("\n", "<br>")
