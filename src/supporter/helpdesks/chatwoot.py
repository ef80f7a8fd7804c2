"""Chatwoot: signed webhooks, polling the conversation list, drafts as private notes.

Written from Chatwoot's API reference (https://developers.chatwoot.com/api-reference;
its source is ``swagger/`` in https://github.com/chatwoot/chatwoot) and, where the
reference is silent, Chatwoot's code:

- Every request carries the user's ``api_access_token`` header; paths name the account
  (``/api/v1/accounts/{account_id}/…``).
- Webhooks (https://developers.chatwoot.com/api-reference/webhook-verification):
  ``X-Chatwoot-Signature: sha256={hex HMAC-SHA256(secret, "{timestamp}.{raw body}")}``
  with ``X-Chatwoot-Timestamp`` in Unix seconds; older than five minutes (or that far
  ahead) is a replay. The page warns that ``X-Chatwoot-Delivery`` is not a stable key
  for redeliveries, so a delivery is named by the event and the record it is about
  (``message_created`` and the message's id). ``conversation_created`` and an incoming,
  public ``message_created`` ask for the conversation; a private note (ours included)
  or an agent's message asks for nothing.
- Polling: ``GET …/conversations?status=all&sort_by=last_activity_at_desc&page=n``,
  25 a page, the most recently active first (``ConversationFinder``). A conversation
  that gets new activity while pages are read moves to the top and pushes the rest
  down, so nothing is skipped; what is pushed onto the next page is recognised and
  not handed over twice. A sweep reads down to the cursor's time, a page per poll;
  the conversation's messages (``GET …/conversations/{id}/messages``, the latest 20)
  give its text: what the contact wrote, in order.
- The draft: ``POST …/conversations/{id}/messages`` with ``private: true`` and
  ``message_type: outgoing``: a private note the contact never sees. Chatwoot cannot
  edit a message's content through the API, so a new version is a new note; the same
  version is never posted twice (see `supporter.helpdesks.notes`): the messages are
  read back first, 20 a request, newest first (``before=<message id>``, in
  ``MessageFinder``), down to the write-back's first claim (`Draft.written_after`),
  so a note written before a crash is found behind any number of later messages. An
  approved draft
  sent as the public reply (``--public-replies``) is an outgoing message with
  ``private: false`` and nothing of ours in its text.
- Labels: ``POST …/labels`` replaces the conversation's labels, so the team's are read
  first and sent back with ours. Priority: ``POST …/toggle_priority`` (urgent, high,
  medium, low: ours). Category: ``POST …/custom_attributes``, which replaces the whole
  hash unless ``merge`` is true (newer versions): the existing attributes are sent back
  with ours and ``merge: true``, which is right either way. Unchanged values are not
  written again.
- Rate limit (https://developers.chatwoot.com/self-hosted/monitoring/rate-limiting):
  Rack::Attack throttles each client address in fixed one-minute windows, 60 a minute
  as documented (``RACK_ATTACK_LIMIT`` on a self-hosted server; Chatwoot Cloud
  publishes none). A 429 carries no ``Retry-After``, and refused requests count, so the
  wait is the rest of the window. Pacing keeps one request under the limit: requests
  spaced evenly can still land 61 in one fixed window when the network delays some.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any, Final

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
    marked_note,
    note_of,
    reaches_before,
    replied,
    unix_time,
)
from supporter.helpdesks.webhooks import check_age, check_signature, signature_headers, webhook_key
from supporter.sources.formats import FieldLimits
from supporter.sources.helpdesk import (
    BadField,
    identifier,
    subject_and_body,
    tags,
    text,
    ticket_identifier,
)

log = logging.getLogger(__name__)

NAME: Final = "chatwoot"
PAGE_SIZE: Final = 25  # Chatwoot's conversation pages; the API takes no page size
MESSAGES_PAGE: Final = 20  # a conversation's messages a request gives (MessageFinder)
_INCOMING: Final = 0  # message_type in the messages list (incoming, outgoing, activity, template)
_OUTGOING: Final = 1
# After the window ends, a moment for the clocks of two machines to disagree.
_WINDOW_MARGIN: Final = 1.0


class Settings(HelpdeskSettings):
    """``SUPPORTER_CHATWOOT_…``: ``ACCOUNT_ID``, a user's ``TOKEN`` (its access token),
    the webhook's ``WEBHOOK_SECRET``, the conversation custom attribute for the category
    (``CATEGORY_ATTRIBUTE``, empty to write none), ``INBOX_ID`` to poll one inbox only,
    and the limit Chatwoot throttles at (``RATE_LIMIT`` requests per ``RATE_WINDOW``
    seconds). ``URL`` defaults to Chatwoot Cloud."""

    account_id: int = Field(ge=1)
    token: SecretStr
    webhook_secret: SecretStr | None = None
    category_attribute: str = "supporter_category"
    inbox_id: int | None = None
    rate_limit: int = Field(default=60, ge=2)
    rate_window: float = Field(default=60.0, gt=0)


def connect(settings: Settings) -> Chatwoot:
    return Chatwoot(settings)


class Chatwoot:
    """One Chatwoot account, through a user's access token."""

    name = NAME

    def __init__(
        self, settings: Settings, *, limits: FieldLimits | None = None, timeout: float = 30.0
    ) -> None:
        self._settings = settings
        self._limits = limits or FieldLimits()
        window = settings.rate_window
        self._limit = RateLimit(requests=settings.rate_limit - 1, per_seconds=window)
        self._base = f"/api/v1/accounts/{settings.account_id}"
        self.http = HelpdeskHTTP(
            NAME,
            (settings.url or "https://app.chatwoot.com").rstrip("/"),
            limit=self._limit,
            headers={"api_access_token": settings.token.get_secret_value()},
            timeout=timeout,
            retry_after_default=lambda: window - time.time() % window + _WINDOW_MARGIN,
        )

    @property
    def write_limit(self) -> RateLimit:
        return self._limit

    def request_counts(self) -> dict[str, int]:
        return dict(self.http.stats)

    # -- webhooks --------------------------------------------------------------------------

    def verify_webhook(self, request: WebhookRequest) -> None:
        secret = webhook_key(self._settings.webhook_secret, "SUPPORTER_CHATWOOT_WEBHOOK_SECRET")
        signature, stamp = signature_headers(
            request, "X-Chatwoot-Signature", "X-Chatwoot-Timestamp"
        )
        if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 20:
            raise WebhookRejected("bad_signature", "X-Chatwoot-Timestamp is not Unix seconds")
        digest = hmac.new(secret, stamp.encode() + b"." + request.body, hashlib.sha256)
        check_signature(signature, f"sha256={digest.hexdigest()}", "X-Chatwoot-Signature")
        check_age(request, datetime.fromtimestamp(int(stamp), UTC))

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookRejected("bad_payload", "the body is not JSON") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
            raise WebhookRejected("bad_payload", "no event in the payload")
        event = payload["event"]
        try:
            record_id = ticket_identifier(payload.get("id"), "id", self._limits)
            delivery = f"{event}:{record_id}"
            if event == "conversation_created":
                return WebhookEvent(ticket_ids=(record_id,), delivery_id=delivery)
            if event != "message_created":
                return WebhookEvent(delivery_id=delivery)
            conversation = payload.get("conversation")
            conversation_id = ticket_identifier(
                conversation.get("id") if isinstance(conversation, dict) else None,
                "conversation.id",
                self._limits,
            )
        except BadField as problem:
            raise WebhookRejected("bad_payload", str(problem)) from None
        if payload.get("private") is not False or payload.get("message_type") != "incoming":
            return WebhookEvent(delivery_id=delivery)
        return WebhookEvent(ticket_ids=(conversation_id,), delivery_id=delivery)

    # -- reading ---------------------------------------------------------------------------

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        conversation = await self.http.json("GET", self._conversation(ticket_id))
        if not isinstance(conversation, dict):
            raise PermanentError(
                f"chatwoot conversation {ticket_id}: the answer is no conversation"
            )
        try:
            return await self._ticket(conversation)
        except BadField as problem:
            raise PermanentError(f"chatwoot conversation {ticket_id}: {problem}") from None

    async def poll(
        self, cursor: str | None, *, since: datetime, statuses: Collection[str] | None = None
    ) -> PollPage:
        state = _Sweep.read(cursor, since)
        params: dict[str, Any] = {
            "status": "all",
            "sort_by": "last_activity_at_desc",
            "page": state.page,
        }
        if self._settings.inbox_id is not None:
            params["inbox_id"] = self._settings.inbox_id
        answer = await self.http.json("GET", f"{self._base}/conversations", params=params)
        listed = _payload(answer)
        if state.page == 1:
            # Never before `since`: a sweep that found only older conversations would
            # otherwise move the cursor back to them, and the next one hand them over.
            state.until = max([state.since, *(_activity(c) for c in listed)])
        passed: list[dict[str, Any]] = []
        reached_old = False
        for conversation in listed:
            key, activity = str(conversation.get("id")), _activity(conversation)
            if activity > state.until:
                continue  # active since the sweep began: the next sweep hands it over
            if activity < state.since or (activity == state.since and key in state.seen):
                reached_old = True
                break
            if key not in state.last_page:
                passed.append(conversation)
        # Only a conversation taken costs the request for its messages; the cursor moves
        # past the others all the same.
        handed = [c for c in passed if _taken(c, statuses)]
        tickets = [t for c in handed if (t := await self._polled(c)) is not None]
        state.top.update(str(c.get("id")) for c in passed if _activity(c) == state.until)
        state.last_page = [str(c.get("id")) for c in listed]
        done = reached_old or len(listed) < PAGE_SIZE
        return PollPage(tickets=tuple(tickets), cursor=state.advance(done), more=not done)

    async def _polled(self, conversation: dict[str, Any]) -> Ticket | None:
        try:
            return await self._ticket(conversation)
        except BadField as problem:
            # The conversation's text stays out of the log: its id and the field say enough.
            log.warning("chatwoot conversation %s skipped: %s", conversation.get("id"), problem)
            return None

    async def _ticket(self, conversation: dict[str, Any]) -> Ticket:
        limits = self._limits
        ticket_id = ticket_identifier(conversation.get("id"), "id", limits)
        messages = await self.http.json("GET", f"{self._conversation(ticket_id)}/messages")
        written = [
            m.get("content")
            for m in _payload(messages)
            if m.get("message_type") == _INCOMING and m.get("private") is False
        ]
        body = "\n\n".join(c for c in written if isinstance(c, str))
        extra = conversation.get("additional_attributes")
        subject_text = extra.get("mail_subject") if isinstance(extra, dict) else None
        # A long conversation keeps its newest messages.
        subject, body_text = subject_and_body(
            subject_text, body, limits, long_body="end", ticket=f"chatwoot conversation {ticket_id}"
        )
        meta = _mapping(conversation.get("meta"))
        contact = _mapping(meta.get("sender"))
        contact_id = identifier(contact.get("id"), "meta.sender.id", limits)
        own_id = contact.get("identifier")
        created = conversation.get("created_at")
        if not isinstance(created, int | float) or isinstance(created, bool):
            raise BadField("created_at", "not Unix seconds")
        return Ticket(
            ticket_id=ticket_id,
            customer_id=text(own_id, "meta.sender.identifier", limits.id)
            or f"chatwoot:{contact_id}",
            subject=subject,
            body=body_text,
            status=text(conversation.get("status"), "status", limits.text) or "open",
            created_at=datetime.fromtimestamp(created, UTC),
            customer_email=text(contact.get("email"), "meta.sender.email", limits.text) or None,
            channel=text(meta.get("channel"), "meta.channel", limits.text) or None,
            priority=_PRIORITIES.get(conversation.get("priority") or ""),
            tags=tags(conversation.get("labels")),
        )

    # -- writing ---------------------------------------------------------------------------

    async def write_back(
        self, draft: Draft, mode: WriteBackMode, previous: WriteReceipt | None
    ) -> WriteReceipt:
        path = self._conversation(draft.ticket_id)
        conversation = await self.http.json("GET", path)
        if not isinstance(conversation, dict):
            raise HelpdeskUnavailable(f"chatwoot answered conversation {draft.ticket_id} oddly")
        note_id = previous.note_id if previous else None
        withheld = False
        if mode is not WriteBackMode.TAGS and draft.note is not None:
            if not draft.public:
                note_id = await self._note(path, draft, note_of(previous))
            elif replied(previous):
                withheld = True  # a reply the contact was sent is never sent again
            else:
                # A receipt without the reply prefix may be a reply's from before
                # receipts said so: its text is looked for even on a first try.
                sent, found = await self._reply(path, draft, note_of(previous) is not None)
                note_id = REPLY_PREFIX + sent
                # On a first try nothing of this version is there: what is, came before.
                withheld = found and draft.first_attempt
        listed = conversation.get("labels")
        labels = [x for x in listed if isinstance(x, str)] if isinstance(listed, list) else []
        wanted = list(dict.fromkeys([*labels, *draft.tags]))
        if wanted != labels:
            await self.http.json("POST", f"{path}/labels", json={"labels": wanted})
        if conversation.get("priority") != draft.priority.value:
            await self.http.json(
                "POST", f"{path}/toggle_priority", json={"priority": draft.priority.value}
            )
        attribute = self._settings.category_attribute
        existing = conversation.get("custom_attributes")
        attributes = dict(existing) if isinstance(existing, dict) else {}
        if attribute and attributes.get(attribute) != draft.category:
            await self.http.json(
                "POST",
                f"{path}/custom_attributes",
                json={
                    "custom_attributes": {**attributes, attribute: draft.category},
                    "merge": True,
                },
            )
        return WriteReceipt(note_id=note_id, withheld=withheld)

    async def _note(self, path: str, draft: Draft, earlier: str | None) -> str:
        """The private note of this draft version: the one already there, or a new one
        (which names the `earlier` note it supersedes)."""
        found = await self._written(
            path,
            draft,
            lambda message: (
                message.get("private") is True
                and is_note_for(message.get("content"), draft.version)
            ),
        )
        if found is not None:
            return found
        created = await self.http.json(
            "POST",
            f"{path}/messages",
            json={
                "content": marked_note(draft, f"message {earlier}" if earlier else None),
                "message_type": "outgoing",
                "private": True,
                "content_type": "text",
            },
        )
        if not isinstance(created, dict) or created.get("id") is None:
            raise HelpdeskUnavailable(f"chatwoot answered the note on {path} without its id")
        return str(created["id"])

    async def _written(
        self,
        path: str,
        draft: Draft,
        ours: Callable[[dict[str, Any]], bool],
        search: bool = False,
    ) -> str | None:
        """The id of the newest message that `ours` recognises, written before a crash
        kept its record. Chatwoot gives a conversation's messages 20 at a time, the
        latest first, and the 20 before a message's id with ``before`` (its code,
        ``MessageFinder``; the reference documents neither): read back a page at a time,
        down to the first page that reaches before `draft.written_after`, or to the
        conversation's first message. None without a request on the draft's first try,
        which nothing came before, unless `search`."""
        if draft.first_attempt and not search:
            return None
        before: int | None = None
        while True:
            params = None if before is None else {"before": before}
            page = _payload(await self.http.json("GET", f"{path}/messages", params=params))
            for message in reversed(page):
                if ours(message):
                    return str(message.get("id"))
            ids = [m["id"] for m in page if isinstance(m.get("id"), int)]
            created = (unix_time(m.get("created_at")) for m in page)
            if len(page) < MESSAGES_PAGE or not ids or reaches_before(created, draft.written_after):
                return None
            before = min(ids)

    async def _reply(self, path: str, draft: Draft, search: bool) -> tuple[str, bool]:
        """An approved draft as the message the contact reads, with nothing of ours in
        it, and whether it was there already: a reply with the same text is not sent
        again (looked for on a first try too when `search`)."""
        text = mask_card_numbers(draft.note or "")
        found = await self._written(
            path,
            draft,
            lambda message: (
                message.get("private") is False
                and message.get("message_type") == _OUTGOING
                and message.get("content") == text
            ),
            search,
        )
        if found is not None:
            return found, True
        created = await self.http.json(
            "POST",
            f"{path}/messages",
            json={"content": text, "message_type": "outgoing", "private": False},
        )
        if not isinstance(created, dict) or created.get("id") is None:
            raise HelpdeskUnavailable(f"chatwoot answered the reply on {path} without its id")
        return str(created["id"]), False

    # -- checking --------------------------------------------------------------------------

    async def check(self) -> Sequence[CheckResult]:
        results = [
            await self._check("credentials", "/api/v1/profile", "the token works"),
            await self._check(
                "account",
                f"{self._base}/conversations/meta",
                f"account {self._settings.account_id} is readable",
            ),
        ]
        secret = self._settings.webhook_secret is not None
        results.append(
            CheckResult(
                "webhook secret",
                secret,
                "set: webhooks are verified"
                if secret
                else "SUPPORTER_CHATWOOT_WEBHOOK_SECRET is not set: webhooks refused, polling only",
            )
        )
        results.append(
            CheckResult(
                "rate limit",
                True,
                f"{self._limit.requests} requests per {self._limit.per_seconds:g} s "
                f"(Chatwoot throttles at {self._settings.rate_limit})",
            )
        )
        return results

    async def _check(self, name: str, path: str, fine: str) -> CheckResult:
        try:
            await self.http.json("GET", path)
        except (FatalError, PermanentError, HelpdeskUnavailable) as error:
            return CheckResult(name, False, str(error))
        return CheckResult(name, True, fine)

    async def aclose(self) -> None:
        await self.http.aclose()

    def _conversation(self, ticket_id: str) -> str:
        if not ticket_id.isdigit():
            raise PermanentError(f"chatwoot: {ticket_id[:40]!r} is not a conversation id")
        return f"{self._base}/conversations/{ticket_id}"


_PRIORITIES: Final = {p.value: p for p in Priority}


class _Sweep:
    """Where polling stands: conversations active after `since` (or at it, not in
    `seen`) are handed over; a sweep reads pages down to there, newest first, and
    hands over nothing newer than `until`, the newest activity when it began."""

    def __init__(self, since: int, seen: set[str]) -> None:
        self.since = since
        self.seen = seen
        self.until = since
        self.page = 1
        self.last_page: list[str] = []
        self.top: set[str] = set()

    @classmethod
    def read(cls, cursor: str | None, since: datetime) -> _Sweep:
        if cursor is None:
            return cls(math.floor(since.timestamp()), set())
        try:
            state = json.loads(cursor)
            sweep = cls(int(state["since"]), {str(i) for i in state["seen"]})
            if state.get("page") is not None:
                sweep.page = int(state["page"])
                sweep.until = int(state["until"])
                sweep.last_page = [str(i) for i in state["last_page"]]
                sweep.top = {str(i) for i in state["top"]}
        except (ValueError, KeyError, TypeError) as error:
            raise FatalError(f"chatwoot: the stored poll cursor is unreadable ({error})") from None
        return sweep

    def advance(self, done: bool) -> str:
        if done:
            # The sweep reached the last cursor: the next starts from its beginning.
            seen = self.top | (self.seen if self.until == self.since else set())
            return json.dumps({"since": self.until, "seen": sorted(seen), "page": None})
        return json.dumps(
            {
                "since": self.since,
                "seen": sorted(self.seen),
                "page": self.page + 1,
                "until": self.until,
                "last_page": self.last_page,
                "top": sorted(self.top),
            }
        )


def _payload(answer: Any) -> list[dict[str, Any]]:
    """The records of a Chatwoot list: ``payload``, or ``data.payload`` for conversations."""
    if isinstance(answer, dict) and isinstance(answer.get("data"), dict):
        answer = answer["data"]
    listed = answer.get("payload") if isinstance(answer, dict) else None
    if not isinstance(listed, list):
        raise HelpdeskUnavailable("chatwoot answered a list request with something else")
    return [item for item in listed if isinstance(item, dict)]


def _taken(conversation: dict[str, Any], statuses: Collection[str] | None) -> bool:
    """Whether a poll hands `conversation` over: its status is one of `statuses` (lower
    case), or with None any but resolved."""
    status = conversation.get("status")
    status = status.lower() if isinstance(status, str) and status else "open"
    return status != "resolved" if statuses is None else status in statuses


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _activity(conversation: dict[str, Any]) -> int:
    value = conversation.get("last_activity_at", conversation.get("timestamp"))
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
