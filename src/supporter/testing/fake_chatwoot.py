"""A Chatwoot Application API server for tests and benchmarks: an account's
conversations, their messages, labels, priority and custom attributes, and the
failures Chatwoot answers with.

Written from Chatwoot's API reference (https://developers.chatwoot.com/api-reference,
whose source is ``swagger/`` in https://github.com/chatwoot/chatwoot) and its code
where the reference is silent:

- Authentication: the user's access token in the ``api_access_token`` header; none or
  a wrong one is a 401 ``{"error": "Invalid Access Token"}``. An unknown account or
  conversation is a 404 ``{"error": "Resource could not be found"}``.
- ``GET /api/v1/accounts/{account_id}/conversations?status=…&page=…`` answers
  ``{"data": {"meta": {counts}, "payload": [conversations]}}``, 25 a page, the most
  recently active first (``ConversationFinder`` orders by ``last_activity_at``
  descending; ``sort_by=last_activity_at_desc`` asks for that explicitly). A
  conversation is the ``_conversation.json.jbuilder`` partial: ``id`` (the display
  id), ``meta.sender`` (the contact, with ``email``), ``labels``,
  ``custom_attributes``, ``priority``, ``status``, ``created_at`` and
  ``last_activity_at`` in Unix seconds, and its last message.
- ``GET …/conversations/meta``; ``GET …/conversations/{id}``.
- ``GET …/conversations/{id}/messages``: ``{"meta": {"labels", "contact", …},
  "payload": [the latest 20 messages, oldest first]}``, or with ``before=<message id>``
  the 20 before that message (``MessageFinder`` in Chatwoot's code: newest first, 20,
  then reversed); ``message_type`` is a number there (0 incoming, 1 outgoing, 2
  activity, 3 template).
- ``POST …/conversations/{id}/messages`` with ``content``, ``message_type``
  (``outgoing``/``incoming``), ``private``, ``content_type``. Chatwoot cannot edit a
  message's content through the API (its ``update`` sets a delivery status, for API
  inboxes only).
- ``POST …/conversations/{id}/labels`` with ``{"labels": [...]}``: the list replaces
  the conversation's labels ("this API would overwrite the existing list").
- ``POST …/conversations/{id}/toggle_priority`` with ``priority`` (urgent, high,
  medium, low or null), else a 422.
- ``POST …/conversations/{id}/custom_attributes`` with ``custom_attributes``: the hash
  replaces the conversation's unless ``merge`` is true.
- ``GET /api/v1/profile``: the token's user.
- Webhooks (https://developers.chatwoot.com/api-reference/webhook-verification):
  ``X-Chatwoot-Signature: sha256={hex HMAC-SHA256(secret, "{timestamp}.{body}")}``,
  ``X-Chatwoot-Timestamp`` (Unix seconds) and ``X-Chatwoot-Delivery``; the payloads of
  ``conversation_created`` (the conversation) and ``message_created`` (the message with
  its conversation), as https://www.chatwoot.com/hc/user-guide/articles/1677693021-how-to-use-webhooks
  shows them: `signed_webhook`, `message_webhook`, `conversation_webhook`.
- Rate limit (https://developers.chatwoot.com/self-hosted/monitoring/rate-limiting and
  ``config/initializers/rack_attack.rb``): Rack::Attack throttles every client address
  to a number of requests a minute in fixed windows (the page says 60; the code's
  default ``RACK_ATTACK_LIMIT`` is 3000); beyond it a 429 ``Retry later`` with no
  ``Retry-After`` (Rack::Attack adds one only when configured to). Refused requests
  count too, so a client must wait for the window to end.

Failures for tests: `FakeChatwootConfig.faults` (see `supporter.testing.helpdesk_limits.Faults`):
a latency, an outage, hanging requests, statuses injected by share.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from supporter.testing.aiohttp_site import ServedSimulator
from supporter.testing.helpdesk_limits import AnswerLog, Faults, FixedWindow

JSONObject = dict[str, Any]

DEFAULT_TOKEN = "chatwoot-test-token-81fa"  # a test credential of the simulator, not a secret
DEFAULT_ACCOUNT = 7
PAGE_SIZE = 25
MESSAGES_PAGE = 20
_MESSAGE_TYPES = {"incoming": 0, "outgoing": 1, "activity": 2, "template": 3}
_PRIORITIES = frozenset({"urgent", "high", "medium", "low"})


@dataclass
class FakeChatwootConfig:
    """How the simulator behaves; read on every request, so a test may change it."""

    token: str = DEFAULT_TOKEN
    account_id: int = DEFAULT_ACCOUNT
    rate_per_window: int | None = 60
    # Rack::Attack's period: a minute; a benchmark may shorten it (it measures a ratio).
    window_seconds: float = 60.0
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None


class FakeChatwoot(ServedSimulator):
    """The simulator on a free loopback port for as long as the block runs::

        server = FakeChatwoot()
        conversation = server.add_conversation("Charged twice", email="ann@example.com")
        async with server as base_url:
            ...
        server.messages[conversation]  # what was written

    `log` lists every answer; `log.max_429_in_a_row` is the longest run of 429s answered
    to one request before it succeeded.
    """

    def __init__(self, config: FakeChatwootConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else FakeChatwootConfig()
        self.conversations: dict[int, JSONObject] = {}
        self.contacts: dict[int, JSONObject] = {}
        self.messages: dict[int, list[JSONObject]] = {}
        self.log = AnswerLog()
        self._ids = itertools.count(1)
        self._rng = random.Random(self.config.seed)
        self._window: FixedWindow | None = None

    # -- data ------------------------------------------------------------------------------

    def add_conversation(
        self,
        content: str,
        *,
        email: str | None = "customer@example.com",
        identifier: str | None = None,
        labels: tuple[str, ...] = (),
        custom_attributes: JSONObject | None = None,
        status: str = "open",
        priority: str | None = None,
    ) -> int:
        """A conversation the contact opened with `content`; returns its (display) id."""
        contact_id = next(self._ids)
        self.contacts[contact_id] = {
            "id": contact_id,
            "name": (email or "visitor").split("@")[0],
            "email": email,
            "phone_number": None,
            "identifier": identifier,
            "type": "contact",
            "custom_attributes": {},
            "additional_attributes": {},
        }
        conversation_id = len(self.conversations) + 1
        now = int(time.time())
        self.conversations[conversation_id] = {
            "id": conversation_id,
            "account_id": self.config.account_id,
            "inbox_id": 1,
            "status": status,
            "labels": list(labels),
            "custom_attributes": dict(custom_attributes or {}),
            "additional_attributes": {},
            "priority": priority,
            "created_at": now,
            "timestamp": now,
            "last_activity_at": now,
            "unread_count": 1,
            "muted": False,
            "can_reply": True,
            "_contact": contact_id,
        }
        self.messages[conversation_id] = []
        self.add_message(conversation_id, content, message_type="incoming")
        return conversation_id

    def add_message(
        self,
        conversation_id: int,
        content: str,
        *,
        message_type: str = "incoming",
        private: bool = False,
        at: int | None = None,
    ) -> JSONObject:
        """A message added now, or `at` (Unix seconds) for a history written earlier."""
        conversation = self.conversations[conversation_id]
        now = int(time.time()) if at is None else at
        message = {
            "id": next(self._ids),
            "content": content,
            "account_id": self.config.account_id,
            "inbox_id": conversation["inbox_id"],
            "conversation_id": conversation_id,
            "message_type": _MESSAGE_TYPES[message_type],
            "content_type": "text",
            "content_attributes": {},
            "private": private,
            "status": "sent",
            "source_id": None,
            "sender_type": "Contact" if message_type == "incoming" else "User",
            "created_at": now,
        }
        self.messages[conversation_id].append(message)
        conversation["last_activity_at"] = conversation["timestamp"] = now
        return message

    def private_notes(self, conversation_id: int) -> list[JSONObject]:
        return [m for m in self.messages[conversation_id] if m["private"]]

    def public_replies(self, conversation_id: int) -> list[JSONObject]:
        """What the contact sees from the team: outgoing messages that are not private."""
        return [
            m
            for m in self.messages[conversation_id]
            if not m["private"] and m["message_type"] == _MESSAGE_TYPES["outgoing"]
        ]

    def shown(self, conversation_id: int) -> JSONObject:
        """A conversation as the API shows it."""
        conversation = self.conversations[conversation_id]
        messages = self.messages[conversation_id]
        return {
            **{k: v for k, v in conversation.items() if not k.startswith("_")},
            "meta": {
                "sender": self.contacts[conversation["_contact"]],
                "channel": "Channel::WebWidget",
            },
            "messages": messages[-1:],
        }

    # -- serving ---------------------------------------------------------------------------

    def _application(self) -> web.Application:
        app = web.Application()
        route = app.router
        base = "/api/v1/accounts/{account}/conversations"
        route.add_get("/api/v1/profile", self._profile)
        route.add_get(base, self._list)
        route.add_get(base + "/meta", self._meta)
        route.add_get(base + "/{id}", self._show)
        route.add_get(base + "/{id}/messages", self._messages)
        route.add_post(base + "/{id}/messages", self._create_message)
        route.add_post(base + "/{id}/labels", self._set_labels)
        route.add_post(base + "/{id}/toggle_priority", self._toggle_priority)
        route.add_post(base + "/{id}/custom_attributes", self._custom_attributes)
        route.add_route("*", "/{tail:.*}", self._unknown)
        return app

    # -- handlers --------------------------------------------------------------------------

    async def _profile(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal(request)) is not None:
            return self._answer(request, refused)
        profile = {
            "id": 1,
            "name": "Supporter",
            "role": "agent",
            "account_id": self.config.account_id,
        }
        return self._answer(request, web.json_response(profile))

    async def _list(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal(request, account=True)) is not None:
            return self._answer(request, refused)
        status = request.query.get("status", "open")
        page = _int(request.query.get("page", "1"))
        if page is None or page < 1:
            return self._answer(request, _error(400, "Invalid page"))
        found = [c for c in self.conversations.values() if status == "all" or c["status"] == status]
        found.sort(key=lambda c: (c["last_activity_at"], c["id"]), reverse=True)
        chosen = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        payload = {
            "data": {
                "meta": {"all_count": len(found), "mine_count": 0, "unassigned_count": len(found)},
                "payload": [self.shown(c["id"]) for c in chosen],
            }
        }
        return self._answer(request, web.json_response(payload))

    async def _meta(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal(request, account=True)) is not None:
            return self._answer(request, refused)
        meta = {"meta": {"all_count": len(self.conversations), "mine_count": 0}}
        return self._answer(request, web.json_response(meta))

    async def _show(self, request: web.Request) -> web.Response:
        conversation, refused = await self._conversation(request)
        if conversation is None:
            return self._answer(request, refused)
        return self._answer(request, web.json_response(self.shown(conversation)))

    async def _messages(self, request: web.Request) -> web.Response:
        conversation, refused = await self._conversation(request)
        if conversation is None:
            return self._answer(request, refused)
        record = self.conversations[conversation]
        messages = self.messages[conversation]
        before = request.query.get("before")
        if before is not None:
            # Ruby's to_i: what is not a number is 0, before every message.
            limit = int(before) if before.isdigit() else 0
            messages = [m for m in messages if m["id"] < limit]
        payload = {
            "meta": {
                "labels": record["labels"],
                "additional_attributes": record["additional_attributes"],
                "contact": self.contacts[record["_contact"]],
                "assignee": None,
            },
            "payload": messages[-MESSAGES_PAGE:],
        }
        return self._answer(request, web.json_response(payload))

    async def _create_message(self, request: web.Request) -> web.Response:
        conversation, refused = await self._conversation(request)
        if conversation is None:
            return self._answer(request, refused)
        body = await _json_object(request)
        if body is None or not isinstance(body.get("content"), str):
            return self._answer(request, _error(422, "content is required"))
        message_type = body.get("message_type", "outgoing")
        if message_type not in ("outgoing", "incoming"):
            return self._answer(request, _error(422, f"invalid message_type {message_type}"))
        message = self.add_message(
            conversation,
            body["content"],
            message_type=message_type,
            private=bool(body.get("private")),
        )
        return self._answer(request, web.json_response(message))

    async def _set_labels(self, request: web.Request) -> web.Response:
        conversation, refused = await self._conversation(request)
        if conversation is None:
            return self._answer(request, refused)
        body = await _json_object(request)
        labels = body.get("labels") if body else None
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            return self._answer(request, _error(422, "labels must be a list of strings"))
        # The API replaces the list: what the request leaves out is gone.
        self.conversations[conversation]["labels"] = list(dict.fromkeys(labels))
        return self._answer(request, web.json_response({"payload": labels}))

    async def _toggle_priority(self, request: web.Request) -> web.Response:
        conversation, refused = await self._conversation(request)
        if conversation is None:
            return self._answer(request, refused)
        body = await _json_object(request) or {}
        priority = body.get("priority")
        if priority is not None and priority not in _PRIORITIES:
            return self._answer(request, _error(422, f"invalid priority {priority}"))
        self.conversations[conversation]["priority"] = priority
        return self._answer(request, web.Response(status=200))

    async def _custom_attributes(self, request: web.Request) -> web.Response:
        conversation, refused = await self._conversation(request)
        if conversation is None:
            return self._answer(request, refused)
        body = await _json_object(request)
        attributes = body.get("custom_attributes") if body else None
        if not isinstance(attributes, dict):
            return self._answer(request, _error(422, "custom_attributes must be an object"))
        record = self.conversations[conversation]
        if body and body.get("merge") is True:
            record["custom_attributes"] = {**record["custom_attributes"], **attributes}
        else:
            record["custom_attributes"] = dict(attributes)
        return self._answer(
            request, web.json_response({"custom_attributes": record["custom_attributes"]})
        )

    async def _unknown(self, request: web.Request) -> web.Response:
        return self._answer(request, _error(404, "Resource could not be found"))

    # -- shared ----------------------------------------------------------------------------

    async def _conversation(self, request: web.Request) -> tuple[int | None, web.Response]:
        refused = await self._refusal(request, account=True)
        if refused is not None:
            return None, refused
        conversation = _int(request.match_info["id"])
        if conversation is None or conversation not in self.conversations:
            return None, _error(404, "Resource could not be found")
        return conversation, web.Response()

    async def _refusal(self, request: web.Request, *, account: bool = False) -> web.Response | None:
        """Injected faults, the rate limit (Rack::Attack runs before the application),
        authentication, then the account."""
        config = self.config
        injected = await config.faults.status(self._rng, self._stopping)
        if injected is not None:
            return _error(injected, "An injected failure")
        if config.rate_per_window is not None:
            window = self._window
            if window is None or (window.limit, window.period) != (
                config.rate_per_window,
                config.window_seconds,
            ):
                window = self._window = FixedWindow(config.rate_per_window, config.window_seconds)
            if window.admit(time.time()) is not None:
                # Rack::Attack's default answer: no Retry-After unless configured to.
                return web.Response(status=429, text="Retry later\n")
        token = request.headers.get("api_access_token", "")
        if not token or not hmac.compare_digest(token, config.token):
            return _error(401, "Invalid Access Token")
        if account and _int(request.match_info.get("account", "")) != config.account_id:
            return _error(404, "Resource could not be found")
        return None

    def _answer(self, request: web.Request, response: web.Response) -> web.Response:
        self.log.record(request, response)
        return response

    # -- webhooks --------------------------------------------------------------------------

    def conversation_webhook(self, conversation_id: int) -> bytes:
        """The body of a ``conversation_created`` event."""
        return json.dumps({**self.shown(conversation_id), "event": "conversation_created"}).encode()

    def message_webhook(self, conversation_id: int, message: JSONObject | None = None) -> bytes:
        """The body of a ``message_created`` event (the conversation's last message by
        default), with ``message_type`` named as webhooks name it."""
        sent = message if message is not None else self.messages[conversation_id][-1]
        names = {number: name for name, number in _MESSAGE_TYPES.items()}
        conversation = self.conversations[conversation_id]
        payload = {
            "event": "message_created",
            "id": sent["id"],
            "content": sent["content"],
            "created_at": sent["created_at"],
            "message_type": names[sent["message_type"]],
            "content_type": "text",
            "private": sent["private"],
            "content_attributes": {},
            "source_id": None,
            "sender": self.contacts[conversation["_contact"]],
            "conversation": self.shown(conversation_id),
            "account": {"id": self.config.account_id, "name": "Acme"},
            "inbox": {"id": 1, "name": "Support"},
        }
        return json.dumps(payload).encode()


def signed_webhook(
    secret: str, body: bytes, *, timestamp: int | None = None, delivery: str | None = None
) -> dict[str, str]:
    """The headers Chatwoot sends with a signed webhook: ``sha256=`` and the hex
    HMAC-SHA256 of ``"{timestamp}.{body}"``, the timestamp (now by default), a delivery id."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Chatwoot-Signature": f"sha256={digest}",
        "X-Chatwoot-Timestamp": stamp,
        "X-Chatwoot-Delivery": delivery or str(uuid.uuid4()),
    }


async def _json_object(request: web.Request) -> JSONObject | None:
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
