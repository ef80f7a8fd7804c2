"""A Freshdesk API v2 server for tests and benchmarks: tickets, their notes and replies,
the account's rate limits, and the failures the real one answers.

Written from Freshdesk's API reference (https://developers.freshdesk.com/api/) and its
support articles:

- Authentication: HTTP Basic with the API key as user name and any password (the docs
  use ``X``); none or a wrong key is a 401 ``invalid_credentials``; a key without the
  rights is a 403 ``access_denied`` (https://developers.freshdesk.com/api/#authentication,
  #error).
- ``GET /api/v2/tickets`` (https://developers.freshdesk.com/api/#list_all_tickets):
  ``updated_since`` (taken as inclusive here), ``order_by`` (created_at, due_by,
  updated_at, status), ``order_type`` (asc, desc; desc by default), ``include``
  (requester, description, stats), ``page`` from 1 and ``per_page`` up to 100 (30 by
  default, above 100 a 400); the next page's URL in a ``link`` header with
  ``rel="next"``. Without ``updated_since`` only tickets created in the last 30 days.
- ``GET /api/v2/tickets/{id}`` (description included; ``include=requester`` and
  ``include=conversations``, the ten newest), ``PUT
  /api/v2/tickets/{id}`` (priority 1-4, tags replace the ticket's tags, ``custom_fields``
  by ``cf_`` name; an unknown field or value is a 400 ``Validation failed`` naming the
  field), ``POST /api/v2/tickets/{id}/notes`` (``private`` true by default),
  ``POST /api/v2/tickets/{id}/reply``, ``GET /api/v2/tickets/{id}/conversations`` (oldest
  first, paged like the ticket list),
  ``PUT /api/v2/conversations/{id}`` (only notes can be edited), ``GET
  /api/v2/ticket_fields``, ``GET /api/v2/agents/me``. An unknown id is a 404 without a
  body.
- Rate limits (https://support.freshdesk.com/support/solutions/articles/225439): calls
  per minute for the account (Growth: 200) and per endpoint (Growth: ticket create and
  update 80, tickets list 20, contacts list 20), every response carrying
  ``X-RateLimit-Total``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Used-CurrentRequest``,
  and a 429 with ``Retry-After`` beyond them. Each ``include`` of a ticket list costs two
  credits more (as the list's documentation is quoted by third parties; the official
  page could not be read here), of a single ticket one (assumed). Enforced over short
  intervals (`TokenBucket`).
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from supporter.testing.aiohttp_site import ServedSimulator
from supporter.testing.helpdesk_limits import AnswerLog, Faults, Spending, TokenBucket

JSONObject = dict[str, Any]

DEFAULT_API_KEY = "fd-test-api-key"
DEFAULT_WEBHOOK_HEADER = "X-Supporter-Secret"
# Sources of a conversation (https://developers.freshdesk.com/api/#conversations).
REPLY_SOURCE = 0
NOTE_SOURCE = 2

# The rate-limit headers a request's answer carries, worked out as it is admitted.
_RATE_HEADERS = web.RequestKey("rate_headers", dict[str, str])
_LIST_PAGE_DEFAULT = 30
_LIST_PAGE_MAX = 100
_INCLUDE_COST = 2


@dataclass
class FakeFreshdeskConfig:
    """How the simulator behaves; read on every request, so a test may change it."""

    api_key: str = DEFAULT_API_KEY
    forbidden: bool = False  # every request: 403 access_denied (a key without the rights)
    per_minute: int | None = 200  # the account's calls a window (Growth); None: unlimited
    endpoint_limits: dict[str, int] = field(
        default_factory=lambda: {"tickets_list": 20, "ticket_update": 80, "ticket_create": 80}
    )
    custom_fields: tuple[str, ...] = ("cf_category",)
    window_seconds: float = 60.0  # the limits' window (shortened for quicker benchmarks)
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None


class FakeFreshdesk(ServedSimulator):
    """The simulator on a free loopback port for as long as the block runs::

        server = FakeFreshdesk()
        ticket = server.add_ticket("Charged twice", "I see two charges", "ann@example.com")
        async with server as base_url:
            ...  # https://<domain>.freshdesk.com is `base_url` here

    `log` records every answer (`AnswerLog`).
    """

    def __init__(self, config: FakeFreshdeskConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else FakeFreshdeskConfig()
        self.tickets: dict[int, JSONObject] = {}
        self.contacts: dict[int, JSONObject] = {}
        self.conversations: dict[int, JSONObject] = {}
        self.log = AnswerLog()
        self._ids = itertools.count(1)
        self._rng = random.Random(self.config.seed)
        self._limits: dict[tuple[str, int, float], TokenBucket] = {}
        # What the account spent in the last minute, for X-RateLimit-Remaining.
        self._spent = Spending()

    # -- data ------------------------------------------------------------------------------

    def add_ticket(
        self,
        subject: str,
        description: str,
        email: str,
        *,
        tags: tuple[str, ...] = (),
        priority: int = 1,
        status: int = 2,
        updated_at: datetime | None = None,
    ) -> int:
        """A ticket from the contact with `email` (created if new); returns its id."""
        contact = next((c for c in self.contacts.values() if c["email"] == email), None)
        if contact is None:
            contact_id = next(self._ids)
            contact = {"id": contact_id, "name": email.split("@")[0], "email": email}
            self.contacts[contact_id] = {**contact, "mobile": None, "phone": None}
        when = _second(updated_at or datetime.now(UTC))
        ticket_id = next(self._ids)
        self.tickets[ticket_id] = {
            "id": ticket_id,
            "subject": subject,
            "description": f"<div>{description}</div>",
            "description_text": description,
            "status": status,
            "priority": priority,
            "source": 1,
            "type": None,
            "requester_id": contact["id"],
            "responder_id": None,
            "group_id": None,
            "tags": list(tags),
            "custom_fields": {name: None for name in self.config.custom_fields},
            "spam": False,
            "is_escalated": False,
            "created_at": when,
            "updated_at": when,
        }
        return ticket_id

    def touch(self, ticket_id: int, when: datetime | None = None) -> None:
        """The ticket was updated (by a customer's reply, an agent) at `when` (now)."""
        self.tickets[ticket_id]["updated_at"] = _second(when or datetime.now(UTC))

    def add_incoming(self, ticket_id: int, text: str) -> int:
        """The requester's e-mailed reply to the ticket: a public reply marked incoming
        ("created from outside", https://developers.freshdesk.com/api/#conversations)."""
        ticket = self.tickets[ticket_id]
        now = _second(datetime.now(UTC))
        conversation_id = next(self._ids)
        self.conversations[conversation_id] = {
            "id": conversation_id,
            "ticket_id": ticket_id,
            "body": f"<div>{text}</div>",
            "body_text": text,
            "incoming": True,
            "private": False,
            "source": REPLY_SOURCE,
            "user_id": ticket["requester_id"],
            "support_email": None,
            "to_emails": [],
            "attachments": [],
            "created_at": now,
            "updated_at": now,
        }
        ticket["updated_at"] = now
        return conversation_id

    def notes(self, ticket_id: int) -> list[JSONObject]:
        """The ticket's conversations (notes and replies), oldest first."""
        return [c for c in self.conversations.values() if c["ticket_id"] == ticket_id]

    def webhook(
        self, ticket_id: int, secret: str, header: str = DEFAULT_WEBHOOK_HEADER
    ) -> tuple[dict[str, str], bytes]:
        """The headers and body an automation rule's "Trigger webhook" action sends with the
        content docs/helpdesks.md asks for: Freshdesk signs nothing, the user's rule adds a
        secret header (https://support.freshdesk.com/support/solutions/articles/132589)."""
        body = json.dumps({"freshdesk_webhook": {"ticket_id": ticket_id}}).encode()
        return {"content-type": "application/json", header.lower(): secret}, body

    # -- serving ---------------------------------------------------------------------------

    def _application(self) -> web.Application:
        app = web.Application()
        routes: list[tuple[str, str, Callable[[web.Request], Awaitable[web.Response]]]] = [
            ("GET", "/api/v2/tickets", self._list_tickets),
            ("GET", "/api/v2/tickets/{id}", self._ticket),
            ("PUT", "/api/v2/tickets/{id}", self._update_ticket),
            ("POST", "/api/v2/tickets/{id}/notes", self._add_note),
            ("POST", "/api/v2/tickets/{id}/reply", self._add_reply),
            ("GET", "/api/v2/tickets/{id}/conversations", self._list_conversations),
            ("PUT", "/api/v2/conversations/{id}", self._update_conversation),
            ("GET", "/api/v2/ticket_fields", self._ticket_fields),
            ("GET", "/api/v2/agents/me", self._me),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, self._guarded(path, handler))
        app.router.add_route("*", "/{tail:.*}", self._guarded("*", self._unknown))
        return app

    # -- guard: authentication, limits, injected failures ----------------------------------

    def _guarded(
        self, route: str, handler: Callable[[web.Request], Awaitable[web.Response]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def guarded(request: web.Request) -> web.Response:
            response = await self._refusal(request, route) or await handler(request)
            self.log.record(request, response)
            return response

        return guarded

    async def _refusal(self, request: web.Request, route: str) -> web.Response | None:
        config = self.config
        if _api_key(request.headers.get("Authorization", "")) != config.api_key:
            return web.json_response(
                {
                    "code": "invalid_credentials",
                    "message": "You have to be logged in to perform this action.",
                },
                status=401,
            )
        if config.forbidden:
            return web.json_response(
                {
                    "code": "access_denied",
                    "message": "You are not authorized to perform this action.",
                },
                status=403,
            )
        cost = 1 + _include_cost(route) * len(_includes(request))
        now = time.monotonic()
        headers = self._rate_headers(now, cost)
        wait = self._admit(request.method, route, now, cost)
        if wait > 0:
            return _rate_limited(headers, wait)
        status = await config.faults.status(self._rng, self._stopping)
        if status == 429:
            return _rate_limited(headers, 1.0)
        if status is not None:
            return web.json_response({"message": "Service unavailable"}, status=status)
        request[_RATE_HEADERS] = self._rate_headers(now, cost)
        return None

    def _admit(self, method: str, route: str, now: float, cost: int) -> float:
        """0 and charged, or the wait: the account's limit and the endpoint's, both."""
        config = self.config
        checks: list[tuple[str, int]] = []
        if config.per_minute is not None:
            checks.append(("account", config.per_minute))
        endpoint = _ENDPOINTS.get((method, route))
        if endpoint is not None and endpoint in config.endpoint_limits:
            checks.append((endpoint, config.endpoint_limits[endpoint]))
        # The account counts credits (a list's includes cost more); an endpoint, calls.
        charged = [
            (self._limit(name, per_minute, now), cost if name == "account" else 1)
            for name, per_minute in checks
        ]
        waits = [limit.admit(now, units) for limit, units in charged]
        if any(wait is not None for wait in waits):
            # A refused request charges nothing: hand back what an admitting limit took.
            for (limit, units), wait in zip(charged, waits, strict=True):
                if wait is None:
                    limit.refund(units)
            return max(wait or 0.0 for wait in waits)
        self._spent.spend(now, cost)
        return 0.0

    def _limit(self, name: str, per_minute: int, now: float) -> TokenBucket:
        window = self.config.window_seconds
        key = (name, per_minute, window)
        if key not in self._limits:
            self._limits[key] = TokenBucket(per_minute, window, now)
        return self._limits[key]

    def _rate_headers(self, now: float, cost: int) -> dict[str, str]:
        per_minute = self.config.per_minute
        if per_minute is None:
            return {}
        remaining = self._spent.remaining(now, per_minute, self.config.window_seconds)
        return {
            "X-RateLimit-Total": str(per_minute),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Used-CurrentRequest": str(cost),
        }

    # -- handlers --------------------------------------------------------------------------

    async def _list_tickets(self, request: web.Request) -> web.Response:
        query = request.query
        paging = _paging(request)
        if isinstance(paging, web.Response):
            return paging
        page, per_page = paging
        order_by = query.get("order_by", "created_at")
        if order_by not in ("created_at", "due_by", "updated_at", "status"):
            return _invalid(
                "order_by",
                "It should be one of these values: 'created_at,due_by,updated_at,status'",
                "invalid_value",
            )
        includes = _includes(request)
        if not includes <= {"requester", "description", "stats"}:
            return _invalid(
                "include",
                "It should be one of these values: 'requester,description,stats'",
                "invalid_value",
            )
        since_text = query.get("updated_since")
        if since_text is None:
            created_after = _second(datetime.now(UTC) - timedelta(days=30))
            found = [t for t in self.tickets.values() if t["created_at"] >= created_after]
        else:
            try:
                since = _second(datetime.fromisoformat(since_text.replace("Z", "+00:00")))
            except ValueError:
                return _invalid(
                    "updated_since", "It should be in the 'valid date time' format", "invalid_value"
                )
            found = [t for t in self.tickets.values() if t["updated_at"] >= since]
        key = "due_by" if order_by == "due_by" else order_by
        found.sort(
            key=lambda t: (str(t.get(key) or ""), t["id"]), reverse=query.get("order_type") != "asc"
        )
        return _page_of(request, found, page, per_page, lambda t: self._shown(t, includes))

    async def _ticket(self, request: web.Request) -> web.Response:
        ticket = self._find(request)
        if ticket is None:
            return _missing(request)
        includes = _includes(request)
        shown = self._shown(ticket, includes | {"description"})
        if "conversations" in includes:
            # "Will return up to ten conversations", the newest (order assumed oldest first).
            shown["conversations"] = self.notes(ticket["id"])[-10:]
        return web.json_response(shown, headers=request[_RATE_HEADERS])

    async def _update_ticket(self, request: web.Request) -> web.Response:
        ticket = self._find(request)
        if ticket is None:
            return _missing(request)
        body = await _json_body(request)
        if body is None:
            return _invalid("body", "It should be a JSON object", "invalid_json")
        if "priority" in body and body["priority"] not in (1, 2, 3, 4):
            return _invalid(
                "priority", "It should be one of these values: '1,2,3,4'", "invalid_value"
            )
        if "tags" in body and not (
            isinstance(body["tags"], list) and all(isinstance(tag, str) for tag in body["tags"])
        ):
            return _invalid("tags", "It should be a/an Array of String", "datatype_mismatch")
        custom = body.get("custom_fields", {})
        if not isinstance(custom, dict):
            return _invalid(
                "custom_fields", "It should be a/an key/value pair", "datatype_mismatch"
            )
        for name in custom:
            if name not in self.config.custom_fields:
                return _invalid(name, "Unexpected/invalid field in request", "invalid_field")
        for name in ("priority", "tags"):
            if name in body:
                ticket[name] = body[name]
        ticket["custom_fields"].update(custom)
        ticket["updated_at"] = _second(datetime.now(UTC))
        return web.json_response(
            self._shown(ticket, {"description"}), headers=request[_RATE_HEADERS]
        )

    async def _add_note(self, request: web.Request) -> web.Response:
        return await self._add_conversation(request, NOTE_SOURCE)

    async def _add_reply(self, request: web.Request) -> web.Response:
        return await self._add_conversation(request, REPLY_SOURCE)

    async def _add_conversation(self, request: web.Request, source: int) -> web.Response:
        ticket = self._find(request)
        if ticket is None:
            return _missing(request)
        body = await _json_body(request)
        if body is None or not isinstance(body.get("body"), str) or not body["body"].strip():
            return _invalid("body", "It should be a/an String", "missing_field")
        now = _second(datetime.now(UTC))
        conversation_id = next(self._ids)
        self.conversations[conversation_id] = {
            "id": conversation_id,
            "ticket_id": ticket["id"],
            "body": body["body"],
            "body_text": body["body"],
            "incoming": bool(body.get("incoming", False)),
            # A note is private unless it says otherwise; a reply is mailed to the requester.
            "private": bool(body.get("private", True)) if source == NOTE_SOURCE else False,
            "source": source,
            "user_id": 1,
            "support_email": None,
            "to_emails": [] if source == NOTE_SOURCE else [self._requester(ticket)["email"]],
            "attachments": [],
            "created_at": now,
            "updated_at": now,
        }
        ticket["updated_at"] = now
        return web.json_response(
            self.conversations[conversation_id], status=201, headers=request[_RATE_HEADERS]
        )

    async def _list_conversations(self, request: web.Request) -> web.Response:
        ticket = self._find(request)
        if ticket is None:
            return _missing(request)
        paging = _paging(request)
        if isinstance(paging, web.Response):
            return paging
        return _page_of(request, self.notes(ticket["id"]), *paging)

    async def _update_conversation(self, request: web.Request) -> web.Response:
        conversation = self.conversations.get(_int(request.match_info["id"]) or -1)
        if conversation is None:
            return _missing(request)
        if conversation["source"] != NOTE_SOURCE:
            return _invalid("id", "Only public & private notes can be edited", "invalid_value")
        body = await _json_body(request)
        if body is None or not isinstance(body.get("body"), str) or not body["body"].strip():
            return _invalid("body", "It should be a/an String", "missing_field")
        conversation["body"] = conversation["body_text"] = body["body"]
        conversation["updated_at"] = _second(datetime.now(UTC))
        return web.json_response(conversation, headers=request[_RATE_HEADERS])

    async def _ticket_fields(self, request: web.Request) -> web.Response:
        fields = [
            {"id": index, "name": name, "label": name, "type": "custom_text", "default": False}
            for index, name in enumerate(self.config.custom_fields, start=1)
        ]
        return web.json_response(fields, headers=request[_RATE_HEADERS])

    async def _me(self, request: web.Request) -> web.Response:
        me = {
            "id": 1,
            "available": True,
            "contact": {"name": "Support", "email": "agent@example.com"},
        }
        return web.json_response(me, headers=request[_RATE_HEADERS])

    async def _unknown(self, request: web.Request) -> web.Response:
        return web.Response(status=404)

    # -- shared ----------------------------------------------------------------------------

    def _find(self, request: web.Request) -> JSONObject | None:
        ticket_id = _int(request.match_info["id"])
        return self.tickets.get(ticket_id) if ticket_id is not None else None

    def _requester(self, ticket: JSONObject) -> JSONObject:
        return dict(self.contacts[ticket["requester_id"]])

    def _shown(self, ticket: JSONObject, includes: set[str]) -> JSONObject:
        shown = {
            key: value
            for key, value in ticket.items()
            if key not in ("description", "description_text") or "description" in includes
        }
        shown["tags"] = list(ticket["tags"])
        shown["custom_fields"] = dict(ticket["custom_fields"])
        if "requester" in includes:
            shown["requester"] = self._requester(ticket)
        return shown


# Which per-endpoint limit a route counts against (the support article's names).
_ENDPOINTS = {
    ("GET", "/api/v2/tickets"): "tickets_list",
    ("PUT", "/api/v2/tickets/{id}"): "ticket_update",
    ("POST", "/api/v2/tickets"): "ticket_create",
}


def _api_key(authorization: str) -> str | None:
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user = base64.b64decode(credentials, validate=True).decode().partition(":")[0]
    except ValueError:
        return None
    return user or None


def _includes(request: web.Request) -> set[str]:
    return {name.strip() for name in request.query.get("include", "").split(",") if name.strip()}


def _include_cost(route: str) -> int:
    """Credits an `include` adds: two on the list (as quoted), one on a single ticket
    (assumed: the documentation could not be read here)."""
    return _INCLUDE_COST if route == "/api/v2/tickets" else 1


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _second(moment: datetime) -> str:
    """A time as Freshdesk writes it: UTC, to the second, with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _json_body(request: web.Request) -> JSONObject | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _paging(request: web.Request) -> tuple[int, int] | web.Response:
    """A list's ``page`` (from 1) and ``per_page`` (30 by default, at most 100), or the
    400 Freshdesk answers (https://developers.freshdesk.com/api/#pagination)."""
    query = request.query
    try:
        page = int(query.get("page", "1"))
        per_page = int(query.get("per_page", str(_LIST_PAGE_DEFAULT)))
    except ValueError:
        return _invalid("page", "It should be a/an Positive Integer", "datatype_mismatch")
    if page < 1:
        return _invalid("page", "It should be a/an Positive Integer", "datatype_mismatch")
    if not 1 <= per_page <= _LIST_PAGE_MAX:
        return _invalid("per_page", "Has to be greater than 0 and less than 101", "invalid_value")
    return page, per_page


def _page_of(
    request: web.Request,
    found: list[JSONObject],
    page: int,
    per_page: int,
    show: Callable[[JSONObject], JSONObject] = dict,
) -> web.Response:
    """One page of a list as `show` shows each record, with the next page's URL in a
    ``link`` header when there is one."""
    start = (page - 1) * per_page
    headers = request[_RATE_HEADERS].copy()
    if len(found) > start + per_page:
        following = request.url.update_query({"page": str(page + 1)})
        headers["Link"] = f'<{following}>; rel="next"'
    shown = [show(record) for record in found[start : start + per_page]]
    return web.json_response(shown, headers=headers)


def _invalid(name: str, message: str, code: str) -> web.Response:
    return web.json_response(
        {
            "description": "Validation failed",
            "errors": [{"field": name, "message": message, "code": code}],
        },
        status=400,
    )


def _missing(request: web.Request) -> web.Response:
    return web.Response(status=404, headers=request.get(_RATE_HEADERS, {}))


def _rate_limited(headers: dict[str, str], wait: float) -> web.Response:
    return web.json_response(
        {"message": "You have exceeded the limit of requests per minute"},
        status=429,
        headers={**headers, "Retry-After": str(max(1, math.ceil(wait)))},
    )
