"""A Zammad REST API server for tests and benchmarks: tickets, their articles, tags, the
ticket search, and the failures a Zammad instance answers with.

Written from Zammad's documentation (https://docs.zammad.org/en/latest/api/intro.html
and the pages it links):

- Authentication: ``Authorization: Token token={access token}``
  (https://docs.zammad.org/en/latest/api/intro.html#authentication); anything else is a
  401 ``{"error": …}``. Errors are ``{"error": …, "error_human": …}``; an unknown record
  is a 404, an attribute the ticket does not have a 422.
- ``GET /api/v1/tickets/search?query=…&page=…&per_page=…&sort_by=…&order_by=…``: the
  ids in ``tickets`` and the records in ``assets`` (``Ticket``, ``User``)
  (https://docs.zammad.org/en/latest/api/ticket/index.html#search, pagination and sorting
  in https://docs.zammad.org/en/latest/api/intro.html#pagination). The query language
  is Elasticsearch's; only the query the connector sends is understood here:
  ``updated_at:[{ISO 8601 time} TO *]`` (a date range, as in
  https://user-docs.zammad.org/en/latest/advanced/search.html), else a 422. Zammad's
  search index trails the database by a moment: `index_lag` leaves the newest changes
  out of the search.
- ``GET``/``PUT /api/v1/tickets/{id}``: an update takes ``priority`` (a name such as
  ``"3 high"``) or ``priority_id``, ``state``, ``title`` and the ticket's custom
  attributes (created by an admin in the object manager: `object_attributes`)
  (https://docs.zammad.org/en/latest/api/ticket/index.html#update).
- ``GET /api/v1/users/{id}`` and ``/users/me``; ``GET /api/v1/ticket_priorities`` and
  ``/ticket_states`` (the defaults: 1 low, 2 normal, 3 high; new, open, pending
  reminder, closed, merged, pending close).
- ``GET /api/v1/ticket_articles/by_ticket/{id}``, ``POST /api/v1/ticket_articles``
  (``internal``, ``type``, ``content_type``, ``subject``, ``body``)
  (https://docs.zammad.org/en/latest/api/ticket/articles.html). There is no editing an
  article's body: Zammad's ``TicketArticlesController#update`` changes ``internal``
  (and a highlight) only, so the simulator has no update either.
- ``GET /api/v1/tags?object=Ticket&o_id={id}`` and ``POST /api/v1/tags/add`` with
  ``{"item", "object": "Ticket", "o_id"}``, answered 201 ``true``; adding a tag the ticket
  has changes nothing (https://docs.zammad.org/en/latest/api/ticket/tags.html).
- Trigger webhooks (https://admin-docs.zammad.org/en/latest/manage/webhook/payload.html,
  .../webhook/add.html): the body is ``{"ticket": {...}, "article": {...}}`` with the
  ticket's relations (customer with e-mail, priority, group) as objects;
  ``X-Zammad-Trigger``, ``X-Zammad-Delivery`` (the job's id, the same when Zammad
  retries) and, with an HMAC token set, ``X-Hub-Signature: sha1={hex HMAC-SHA1(token,
  body)}`` (Zammad's ``UserAgent.set_signature``): `signed_webhook`.
- Rate limits: Zammad documents none for its REST API (its Rack::Attack rules cover the
  password reset and the web form only). A proxy in front of it may limit, so the
  simulator enforces `rate_per_minute` over short intervals and answers 429 with
  ``Retry-After`` in seconds beyond it.

Failures for tests: `FakeZammadConfig.faults` (see `supporter.testing.helpdesk_limits.Faults`):
a latency, an outage, hanging requests, statuses injected by share.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import math
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from supporter.testing.aiohttp_site import ServedSimulator
from supporter.testing.helpdesk_limits import AnswerLog, Faults, TokenBucket

JSONObject = dict[str, Any]

DEFAULT_TOKEN = "zammad-test-token-3c9e"  # a test credential of the simulator, not a secret
PRIORITIES = {1: "1 low", 2: "2 normal", 3: "3 high"}
STATES = {1: "new", 2: "open", 3: "pending reminder", 4: "closed", 5: "merged", 6: "pending close"}
_RANGE_QUERY = re.compile(r"^updated_at:\[(?P<since>\S+) TO \*\]$")
_ARTICLE_TYPES = frozenset({"note", "email", "phone", "web", "sms", "chat"})


@dataclass
class FakeZammadConfig:
    """How the simulator behaves; read on every request, so a test may change it."""

    token: str = DEFAULT_TOKEN
    rate_per_minute: int | None = 300
    # The limit's window: 60 s; a benchmark may shorten it (it measures a ratio).
    window_seconds: float = 60.0
    max_per_page: int = 100
    index_lag: float = 0.0  # seconds before a change is found by the search
    object_attributes: set[str] = field(default_factory=lambda: {"supporter_category"})
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None


class FakeZammad(ServedSimulator):
    """The simulator on a free loopback port for as long as the block runs::

        server = FakeZammad()
        ticket_id = server.add_ticket("Charged twice", "…", customer_email="ann@example.com")
        async with server as base_url:
            ...
        server.articles[ticket_id]  # what was written

    `log` lists every answer; `log.max_429_in_a_row` is the longest run of 429s answered
    to one request before it succeeded.
    """

    def __init__(self, config: FakeZammadConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else FakeZammadConfig()
        self.tickets: dict[int, JSONObject] = {}
        self.users: dict[int, JSONObject] = {}
        self.articles: dict[int, list[JSONObject]] = {}
        self.tags: dict[int, list[str]] = {}
        self.log = AnswerLog()
        self._ids = itertools.count(1)
        self._rng = random.Random(self.config.seed)
        self._bucket: TokenBucket | None = None
        self.me = self.add_user("supporter@example.com", firstname="Supporter", role="Agent")

    # -- data ------------------------------------------------------------------------------

    def add_user(self, email: str, *, firstname: str = "", role: str = "Customer") -> int:
        user_id = next(self._ids)
        self.users[user_id] = {
            "id": user_id,
            "login": email,
            "email": email,
            "firstname": firstname,
            "lastname": "",
            "roles": [role],
            "active": True,
            "created_at": _iso(_now()),
            "updated_at": _iso(_now()),
        }
        return user_id

    def add_ticket(
        self,
        title: str,
        body: str,
        *,
        customer_email: str = "customer@example.com",
        priority_id: int = 2,
        state_id: int = 1,
        created_at: datetime | None = None,
        tags: tuple[str, ...] = (),
    ) -> int:
        """A ticket opened by the customer (found or added by e-mail) with `body` as its
        first article; returns its id."""
        customer = next(
            (u["id"] for u in self.users.values() if u["email"] == customer_email), None
        ) or self.add_user(customer_email)
        ticket_id = next(self._ids)
        at = created_at or _now()
        self.tickets[ticket_id] = {
            "id": ticket_id,
            "group_id": 1,
            "priority_id": priority_id,
            "state_id": state_id,
            "organization_id": None,
            "number": str(31000 + ticket_id),
            "title": title,
            "owner_id": 1,
            "customer_id": customer,
            "note": None,
            "article_count": 0,
            "created_at": _iso(at),
            "updated_at": _iso(at),
            "_updated": at,
            "_indexed_at": time.monotonic(),
        }
        self.articles[ticket_id] = []
        self.tags[ticket_id] = list(tags)
        self.add_article(ticket_id, body, sender="Customer", type_="email", internal=False)
        return ticket_id

    def add_article(
        self,
        ticket_id: int,
        body: str,
        *,
        sender: str = "Customer",
        type_: str = "email",
        internal: bool = False,
        subject: str | None = None,
        content_type: str = "text/html",
    ) -> JSONObject:
        ticket = self.tickets[ticket_id]
        article_id = next(self._ids)
        now = _iso(_now())
        article = {
            "id": article_id,
            "ticket_id": ticket_id,
            "from": "",
            "to": "",
            "cc": "",
            "subject": subject if subject is not None else ticket["title"],
            "body": body,
            "content_type": content_type,
            "type": type_,
            "sender": sender,
            "internal": internal,
            "created_by_id": self.me if sender == "Agent" else ticket["customer_id"],
            "created_at": now,
            "updated_at": now,
        }
        self.articles[ticket_id].append(article)
        ticket["article_count"] = len(self.articles[ticket_id])
        self._touch(ticket)
        return article

    def set_updated(self, ticket_id: int, moment: datetime) -> None:
        """Give a ticket's last change a time (many changed in one millisecond: a bulk
        update)."""
        ticket = self.tickets[ticket_id]
        ticket["updated_at"], ticket["_updated"] = _iso(moment), moment

    def notes(self, ticket_id: int) -> list[JSONObject]:
        """The internal notes of a ticket, oldest first."""
        return [a for a in self.articles[ticket_id] if a["internal"] and a["type"] == "note"]

    def _touch(self, ticket: JSONObject) -> None:
        now = _now()
        ticket["updated_at"], ticket["_updated"] = _iso(now), now
        ticket["_indexed_at"] = time.monotonic()

    # -- serving ---------------------------------------------------------------------------

    def _application(self) -> web.Application:
        app = web.Application()
        route = app.router
        route.add_get("/api/v1/tickets/search", self._search)
        route.add_get("/api/v1/tickets/{id}", self._show_ticket)
        route.add_put("/api/v1/tickets/{id}", self._update_ticket)
        route.add_get("/api/v1/users/me", self._me)
        route.add_get("/api/v1/users/{id}", self._show_user)
        route.add_get("/api/v1/ticket_priorities", self._priorities)
        route.add_get("/api/v1/ticket_states", self._states)
        route.add_get("/api/v1/ticket_articles/by_ticket/{id}", self._articles_of)
        route.add_post("/api/v1/ticket_articles", self._create_article)
        route.add_get("/api/v1/tags", self._tags_of)
        route.add_post("/api/v1/tags/add", self._add_tag)
        route.add_route("*", "/{tail:.*}", self._unknown)
        return app

    # -- handlers --------------------------------------------------------------------------

    async def _search(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal(request)) is not None:
            return self._answer(request, refused)
        query = request.query
        match = _RANGE_QUERY.match(query.get("query", "").strip())
        since = _parse_iso(match["since"]) if match else None
        page, per_page = _int(query.get("page", "1")), _int(query.get("per_page", "10"))
        if since is None or page is None or per_page is None or page < 1 or per_page < 1:
            return self._answer(request, _error(422, "Unprocessable query or paging."))
        per_page = min(per_page, self.config.max_per_page)
        visible_before = time.monotonic() - self.config.index_lag
        found = [
            t
            for t in self.tickets.values()
            if t["_indexed_at"] <= visible_before and t["_updated"] >= since
        ]
        sort_by = query.get("sort_by", "updated_at")
        if sort_by not in ("updated_at", "created_at", "id"):
            return self._answer(request, _error(422, f"Unknown sort_by {sort_by}."))
        found.sort(key=lambda t: (t[sort_by], t["id"]), reverse=query.get("order_by") != "asc")
        chosen = found[(page - 1) * per_page : page * per_page]
        users = {t["customer_id"] for t in chosen}
        return self._answer(
            request,
            web.json_response(
                {
                    "tickets": [t["id"] for t in chosen],
                    "tickets_count": len(chosen),
                    "assets": {
                        "Ticket": {str(t["id"]): _public(t) for t in chosen},
                        "User": {str(u): self.users[u] for u in users if u in self.users},
                    },
                }
            ),
        )

    async def _show_ticket(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal(request)) is not None:
            return self._answer(request, refused)
        ticket = self._ticket(request.match_info["id"])
        if ticket is None:
            return self._answer(request, _not_found("Ticket", request.match_info["id"]))
        return self._answer(request, web.json_response(_public(ticket)))

    async def _update_ticket(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal(request)) is not None:
            return self._answer(request, refused)
        ticket = self._ticket(request.match_info["id"])
        if ticket is None:
            return self._answer(request, _not_found("Ticket", request.match_info["id"]))
        changes = await _json_object(request)
        if changes is None:
            return self._answer(request, _error(422, "The body is not a JSON object."))
        problem = self._apply(ticket, changes)
        if problem is not None:
            return self._answer(request, _error(422, problem))
        return self._answer(request, web.json_response(_public(ticket)))

    def _apply(self, ticket: JSONObject, changes: JSONObject) -> str | None:
        """Validate every change first, then apply them all (Zammad saves a ticket whole)."""
        updates: JSONObject = {}
        for key, value in changes.items():
            if key == "priority":
                ids = [i for i, name in PRIORITIES.items() if name == value]
                if not ids:
                    return f"No lookup value found for 'priority': {value!r}"
                updates["priority_id"] = ids[0]
            elif key == "priority_id":
                if value not in PRIORITIES:
                    return f"No lookup value found for 'priority_id': {value!r}"
                updates["priority_id"] = value
            elif key == "title" or key in self.config.object_attributes:
                updates[key] = value
            elif key == "state":
                ids = [i for i, name in STATES.items() if name == value]
                if not ids:
                    return f"No lookup value found for 'state': {value!r}"
                updates["state_id"] = ids[0]
            elif key not in ("id", "article"):
                return f"unknown attribute '{key}' for Ticket."
        ticket.update(updates)
        article = changes.get("article")
        if isinstance(article, dict) and article.get("body"):
            self.add_article(
                ticket["id"],
                str(article["body"]),
                sender="Agent",
                type_=str(article.get("type", "note")),
                internal=bool(article.get("internal", False)),
            )
        self._touch(ticket)
        return None

    async def _me(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal(request)) is not None:
            return self._answer(request, refused)
        return self._answer(request, web.json_response(self.users[self.me]))

    async def _show_user(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal(request)) is not None:
            return self._answer(request, refused)
        user_id = _int(request.match_info["id"])
        user = self.users.get(user_id) if user_id is not None else None
        if user is None:
            return self._answer(request, _not_found("User", request.match_info["id"]))
        return self._answer(request, web.json_response(user))

    async def _priorities(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal(request)) is not None:
            return self._answer(request, refused)
        listed = [{"id": i, "name": name, "active": True} for i, name in PRIORITIES.items()]
        return self._answer(request, web.json_response(listed))

    async def _states(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal(request)) is not None:
            return self._answer(request, refused)
        listed = [{"id": i, "name": name, "active": True} for i, name in STATES.items()]
        return self._answer(request, web.json_response(listed))

    async def _articles_of(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal(request)) is not None:
            return self._answer(request, refused)
        ticket = self._ticket(request.match_info["id"])
        if ticket is None:
            return self._answer(request, _not_found("Ticket", request.match_info["id"]))
        return self._answer(request, web.json_response(self.articles[ticket["id"]]))

    async def _create_article(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal(request)) is not None:
            return self._answer(request, refused)
        body = await _json_object(request)
        if body is None:
            return self._answer(request, _error(422, "The body is not a JSON object."))
        ticket = self._ticket(str(body.get("ticket_id", "")))
        if ticket is None:
            return self._answer(request, _not_found("Ticket", str(body.get("ticket_id"))))
        type_ = body.get("type", "note")
        if type_ not in _ARTICLE_TYPES or not isinstance(body.get("body"), str):
            return self._answer(request, _error(422, "Need a body and a known article type."))
        article = self.add_article(
            ticket["id"],
            body["body"],
            sender="Agent",
            type_=type_,
            internal=bool(body.get("internal", False)),
            subject=str(body.get("subject") or ""),
            content_type=str(body.get("content_type") or "text/html"),
        )
        article["to"] = str(body.get("to") or "")
        return self._answer(request, web.json_response(article, status=201))

    async def _tags_of(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal(request)) is not None:
            return self._answer(request, refused)
        ticket = self._ticket(request.query.get("o_id", ""))
        if request.query.get("object") != "Ticket" or ticket is None:
            return self._answer(request, _not_found("Ticket", request.query.get("o_id", "")))
        return self._answer(request, web.json_response({"tags": self.tags[ticket["id"]]}))

    async def _add_tag(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal(request)) is not None:
            return self._answer(request, refused)
        body = await _json_object(request)
        if body is None or body.get("object") != "Ticket" or not body.get("item"):
            return self._answer(request, _error(422, "Need item, object and o_id."))
        ticket = self._ticket(str(body.get("o_id", "")))
        if ticket is None:
            return self._answer(request, _not_found("Ticket", str(body.get("o_id"))))
        tags = self.tags[ticket["id"]]
        if body["item"] not in tags:
            tags.append(str(body["item"]))
            self._touch(ticket)
        return self._answer(request, web.json_response(True, status=201))

    async def _unknown(self, request: web.Request) -> web.Response:
        return self._answer(request, _error(404, f"No route matches [{request.method}]"))

    # -- shared ----------------------------------------------------------------------------

    async def _refusal(self, request: web.Request) -> web.Response | None:
        """Injected faults, authentication, then the rate limit."""
        config = self.config
        injected = await config.faults.status(self._rng, self._stopping)
        if injected is not None:
            return _error(injected, "An injected failure")
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        token = credentials.removeprefix("token=") if scheme == "Token" else ""
        if not token or not hmac.compare_digest(token, config.token):
            return _error(401, "Invalid token!")
        if config.rate_per_minute is not None:
            limit, window = config.rate_per_minute, config.window_seconds
            bucket = self._bucket
            if bucket is None or (bucket.limit, bucket.window) != (limit, window):
                bucket = self._bucket = TokenBucket(limit, window, time.monotonic())
            wait = bucket.admit(time.monotonic())
            if wait is not None:
                response = _error(429, "Too Many Requests")
                response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
                return response
        return None

    def _answer(self, request: web.Request, response: web.Response) -> web.Response:
        self.log.record(request, response)
        return response

    def _ticket(self, text: str) -> JSONObject | None:
        ticket_id = _int(text)
        return self.tickets.get(ticket_id) if ticket_id is not None else None

    def webhook_body(self, ticket_id: int, article: JSONObject | None = None) -> bytes:
        """The body of a trigger's webhook (the default payload, no custom one): the
        ticket with its customer and priority as objects, and the article that fired it
        (the ticket's last, unless given)."""
        ticket = self.tickets[ticket_id]
        fired = article if article is not None else self.articles[ticket_id][-1]
        payload = {
            "ticket": {
                **_public(ticket),
                "customer": self.users.get(ticket["customer_id"]),
                "priority": {
                    "id": ticket["priority_id"],
                    "name": PRIORITIES[ticket["priority_id"]],
                },
                "state": STATES[ticket["state_id"]],
            },
            "article": fired,
        }
        return json.dumps(payload).encode()


def signed_webhook(
    secret: str | None, body: bytes, *, delivery: str | None = None
) -> dict[str, str]:
    """The headers Zammad sends with a trigger's webhook: the trigger's name, a delivery
    id (a job id; the same when Zammad retries) and, with an HMAC token, the signature."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Zammad User Agent",
        "X-Zammad-Trigger": "Supporter",
        "X-Zammad-Delivery": delivery or str(uuid.uuid4()),
    }
    if secret is not None:
        digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
        headers["X-Hub-Signature"] = f"sha1={digest}"
    return headers


def _public(ticket: JSONObject) -> JSONObject:
    return {key: value for key, value in ticket.items() if not key.startswith("_")}


async def _json_object(request: web.Request) -> JSONObject | None:
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message, "error_human": message}, status=status)


def _not_found(kind: str, record_id: str) -> web.Response:
    return _error(404, f"Couldn't find {kind} with 'id'={record_id}")


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    """Zammad's times: UTC with milliseconds (``2021-11-03T11:51:13.759Z``)."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _parse_iso(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
