"""A Zendesk Support API server for tests and benchmarks: tickets, their comments, the
incremental export, and the limits and failures Zendesk really answers with.

Written from Zendesk's documentation:

- Authentication: HTTP Basic with ``{email}/token:{api_token}``; anything else is a 401
  ``{"error": "Couldn't authenticate you"}``
  (https://developer.zendesk.com/api-reference/introduction/security-and-auth/).
- Errors: ``{"error": ..., "description": ...}`` with the HTTP status; an unknown ticket
  is a 404 ``RecordNotFound``, an invalid update a 422 ``RecordInvalid``
  (https://developer.zendesk.com/api-reference/introduction/requests/).
- ``GET /api/v2/incremental/tickets/cursor.json?start_time=…`` then ``?cursor=…``: pages
  of ``tickets`` (with ``include=users``, the side-loaded ``users``), ``after_cursor``,
  ``after_url``, ``end_of_stream``; tickets changed in the last minute are left out and a
  first ``start_time`` must be at least a minute old; admins only; 10 requests a minute
  (https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/,
  https://developer.zendesk.com/documentation/ticketing/managing-tickets/using-the-incremental-export-api).
- ``GET /api/v2/tickets/{id}.json`` (``include=users``) and ``PUT`` with ``{"ticket":
  {...}}``: ``comment`` (``body`` or ``html_body``, ``public`` true unless said false),
  ``tags`` (replaces the ticket's tags), ``priority`` (urgent, high, normal, low),
  ``custom_fields`` (``[{"id", "value"}]``), ``safe_update`` with ``updated_stamp`` (a
  409 when the ticket changed since); the answer carries the ``audit`` whose ``Comment``
  event is the new comment
  (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/). Zendesk
  documents ``additional_tags`` and ``remove_tags`` for bulk updates
  (https://developer.zendesk.com/documentation/ticketing/managing-tickets/adding-tags-to-tickets-without-overwriting-existing-tags);
  they are accepted here on one ticket too, and the connector does not rely on them.
- ``GET /api/v2/tickets/{id}/comments.json`` (``sort_order``, ``page``, ``per_page``):
  comments cannot be edited through the API, only added by updating the ticket
  (https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/).
- ``GET /api/v2/users/me.json`` and ``GET /api/v2/ticket_fields/{id}.json``.
- Rate limits (https://developer.zendesk.com/api-reference/introduction/rate-limits):
  the account's limit (``X-Rate-Limit``, ``X-Rate-Limit-Remaining`` on every answer),
  Update Ticket at 100 requests a minute per account, the incremental export at 10 a
  minute; beyond them a 429 with ``Retry-After`` in whole seconds. As the project's
  other simulators do, a per-minute limit is enforced over short intervals: a bucket
  holding one second's worth (at least one request), refilled continuously.
- Webhooks (https://developer.zendesk.com/documentation/webhooks/verifying/ and
  https://developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request):
  ``X-Zendesk-Webhook-Signature`` = base64(HMAC-SHA256(secret, timestamp + body)) with
  ``X-Zendesk-Webhook-Signature-Timestamp`` (ISO 8601, ``2021-03-25T05:09:27Z``), and
  ``X-Zendesk-Webhook-Id`` / ``X-Zendesk-Webhook-Invocation-Id``: `signed_webhook`.

Failures for tests: `faults` (`supporter.testing.helpdesk_limits.Faults`: injected
statuses by share, an outage, latency, hanging requests).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import json
import math
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from supporter.testing.aiohttp_site import ServedSimulator
from supporter.testing.helpdesk_limits import AnswerLog, Faults, TokenBucket

JSONObject = dict[str, Any]

DEFAULT_EMAIL = "supporter@example.com"
DEFAULT_TOKEN = "zd-test-token-6f1c"  # a test credential of the simulator, not a secret
_PRIORITIES = frozenset({"urgent", "high", "normal", "low"})
# What an update may set the status to (https://developer.zendesk.com/api-reference/
# ticketing/tickets/tickets/: "new", "open", "pending", "hold", "solved" or "closed").
_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
_RATE_LIMITED = "Number of allowed API requests per minute exceeded"


@dataclass
class FakeZendeskConfig:
    """How the simulator behaves; read on every request, so a test may change it."""

    email: str = DEFAULT_EMAIL
    api_token: str = DEFAULT_TOKEN
    role: str = "admin"  # the token owner's role: admin, agent or end-user
    account_limit: int | None = 700  # requests per window for the account (a Suite plan)
    update_limit: int | None = 100  # Update Ticket, per account
    export_limit: int | None = 10  # the incremental exports
    # The limits' window: 60 s as documented; a benchmark may shorten it (the ratio of
    # what a client achieves to the limit is what it measures).
    window_seconds: float = 60.0
    export_page_size: int = 1000  # tickets per export page (Zendesk's default)
    export_lag_seconds: float = 60.0  # changes this recent are not exported yet
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None


class FakeZendesk(ServedSimulator):
    """The simulator on a free loopback port for as long as the block runs::

        server = FakeZendesk()
        ticket_id = server.add_ticket("Charged twice", "…", requester_email="ann@example.com")
        async with server as base_url:
            ...  # https://{subdomain}.zendesk.com is base_url here
        server.comments[ticket_id]  # what was written

    `log` lists every request with its status, and the longest run of 429s answered to
    the same request (method, path and query) without a success.
    """

    def __init__(self, config: FakeZendeskConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else FakeZendeskConfig()
        self.tickets: dict[int, JSONObject] = {}
        self.users: dict[int, JSONObject] = {}
        self.comments: dict[int, list[JSONObject]] = {}
        self.ticket_fields: dict[int, JSONObject] = {}
        self.log = AnswerLog()
        self._ids = itertools.count(10_001)
        self._rng = random.Random(self.config.seed)
        self._buckets: dict[str, TokenBucket] = {}
        self._pending_edits: dict[int, tuple[JSONObject, int]] = {}
        self.me = self.add_user(self.config.email, "Supporter", role=self.config.role)

    # -- data ------------------------------------------------------------------------------

    def add_user(
        self,
        email: str | None,
        name: str,
        *,
        role: str = "end-user",
        external_id: str | None = None,
    ) -> int:
        user_id = next(self._ids)
        self.users[user_id] = {
            "id": user_id,
            "url": f"/api/v2/users/{user_id}.json",
            "name": name,
            "email": email,
            "role": role,
            "external_id": external_id,
            "active": True,
            "created_at": _iso(time.time()),
        }
        return user_id

    def add_ticket(
        self,
        subject: str,
        description: str,
        *,
        requester_email: str | None = "customer@example.com",
        requester_external_id: str | None = None,
        tags: Iterable[str] = (),
        priority: str | None = None,
        status: str = "new",
        updated_at: float | None = None,
        channel: str = "email",
        created_at: float | None = None,
    ) -> int:
        """A ticket (its description is its first, public comment); `updated_at` in epoch
        seconds, now by default, and `created_at` then too unless given. Returns its id."""
        requester = self._requester(requester_email, requester_external_id)
        ticket_id = next(self._ids)
        changed = time.time() if updated_at is None else updated_at
        created = changed if created_at is None else created_at
        self.tickets[ticket_id] = {
            "id": ticket_id,
            "url": f"/api/v2/tickets/{ticket_id}.json",
            "subject": subject,
            "raw_subject": subject,
            "description": description,
            "status": status,
            "priority": priority,
            "type": None,
            "requester_id": requester,
            "submitter_id": requester,
            "assignee_id": None,
            "tags": list(dict.fromkeys(tags)),
            "custom_fields": [],
            "via": {"channel": channel},
            "created_at": _iso(created),
            "updated_at": _iso(changed),
            "generated_timestamp": changed,
        }
        self.comments[ticket_id] = [
            self._comment(requester, {"body": description, "public": True}, created)
        ]
        return ticket_id

    def add_ticket_field(self, title: str, field_type: str = "text", **fields: Any) -> int:
        field_id = next(self._ids)
        self.ticket_fields[field_id] = {
            "id": field_id,
            "url": f"/api/v2/ticket_fields/{field_id}.json",
            "type": field_type,
            "title": title,
            "active": True,
            **fields,
        }
        return field_id

    def update_ticket(self, ticket_id: int, **fields: Any) -> None:
        """Change a ticket as an agent would (it is exported again, its updated_at moves)."""
        ticket = self.tickets[ticket_id]
        ticket.update(fields)
        self._touch(ticket)

    def add_comment(
        self, ticket_id: int, body: str, *, author: int | None = None, public: bool = True
    ) -> int:
        """A comment by `author` (the ticket's requester by default), as a customer's reply
        or an agent's note in Zendesk's own interface adds it. Returns its id."""
        ticket = self.tickets[ticket_id]
        self._touch(ticket)
        by = ticket["requester_id"] if author is None else author
        comment = self._comment(by, {"body": body, "public": public}, ticket["generated_timestamp"])
        self.comments[ticket_id].append(comment)
        return int(comment["id"])

    def edit_before_next_update(self, ticket_id: int, *, times: int = 1, **fields: Any) -> None:
        """An agent changes the ticket just before the next API update of it arrives (and
        the `times - 1` after it): the race `safe_update` guards against."""
        self._pending_edits[ticket_id] = (fields, times)

    def custom_field(self, ticket_id: int, field_id: int) -> Any:
        for entry in self.tickets[ticket_id]["custom_fields"]:
            if entry["id"] == field_id:
                return entry["value"]
        return None

    def _requester(self, email: str | None, external_id: str | None) -> int:
        for user_id, user in self.users.items():
            if email is not None and user["email"] == email:
                return user_id
        return self.add_user(email, (email or "customer").split("@")[0], external_id=external_id)

    def _comment(self, author: int, comment: JSONObject, at: float) -> JSONObject:
        body = comment.get("body") or ""
        html_body = comment.get("html_body") or f"<p>{body}</p>"
        return {
            "id": next(self._ids),
            "type": "Comment",
            "author_id": author,
            "body": body or html_body,
            "html_body": html_body,
            "plain_body": body or html_body,
            "public": comment.get("public", True) is not False,
            "audit_id": next(self._ids),
            "created_at": _iso(at),
        }

    def _touch(self, ticket: JSONObject) -> None:
        # updated_at has whole seconds, and safe_update compares it: a change within the
        # same second as the last one is dated a second later, so every change shows.
        changed = max(time.time(), math.floor(ticket["generated_timestamp"]) + 1.0)
        ticket["generated_timestamp"] = changed
        ticket["updated_at"] = _iso(changed)

    # -- serving ---------------------------------------------------------------------------

    def _application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v2/incremental/tickets/cursor.json", self._export)
        app.router.add_get("/api/v2/tickets/{id}.json", self._show_ticket)
        app.router.add_put("/api/v2/tickets/{id}.json", self._update_ticket)
        app.router.add_get("/api/v2/tickets/{id}/comments.json", self._list_comments)
        app.router.add_get("/api/v2/users/me.json", self._me)
        app.router.add_get("/api/v2/ticket_fields/{id}.json", self._ticket_field)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        return app

    # -- handlers --------------------------------------------------------------------------

    async def _export(self, request: web.Request) -> web.Response:
        refused = await self._refusal(request, "export")
        if refused is not None:
            return self._answer(request, refused)
        if self.users[self.me]["role"] != "admin":
            return self._answer(request, _error(403, "Forbidden", "You do not have access"))
        query = request.query
        now = time.time()
        if "cursor" in query:
            position = _decode_cursor(query["cursor"])
            if position is None:
                return self._answer(request, _error(400, "InvalidCursor", "Invalid cursor"))
        else:
            try:
                start = int(query.get("start_time", ""))
            except ValueError:
                return self._answer(
                    request, _error(400, "InvalidValue", "start_time is required: a Unix time")
                )
            if start > now - 60:
                return self._answer(
                    request,
                    _error(
                        400,
                        "InvalidValue",
                        "Too recent start_time. Use a start_time older than 1 minute",
                    ),
                )
            position = (float(start), 0)
        horizon = now - self.config.export_lag_seconds
        changed = sorted(
            (
                t
                for t in self.tickets.values()
                if (t["generated_timestamp"], t["id"]) > position
                and t["generated_timestamp"] <= horizon
            ),
            key=lambda t: (t["generated_timestamp"], t["id"]),
        )
        page = changed[: self.config.export_page_size]
        last = page[-1] if page else None
        after = (last["generated_timestamp"], last["id"]) if last else position
        cursor = _encode_cursor(after)
        body: JSONObject = {
            "tickets": page,
            "after_cursor": cursor,
            "after_url": f"{_origin(request)}/api/v2/incremental/tickets/cursor.json"
            f"?cursor={cursor}",
            "before_cursor": None,
            "before_url": None,
            "end_of_stream": len(changed) <= len(page),
        }
        if "users" in query.get("include", "").split(","):
            body["users"] = self._users_of(page)
        return self._answer(request, web.json_response(body))

    async def _show_ticket(self, request: web.Request) -> web.Response:
        refused = await self._refusal(request, None)
        if refused is not None:
            return self._answer(request, refused)
        ticket = self._ticket(request)
        if ticket is None:
            return self._answer(request, _not_found())
        body: JSONObject = {"ticket": ticket}
        if "users" in request.query.get("include", "").split(","):
            body["users"] = self._users_of([ticket])
        return self._answer(request, web.json_response(body))

    async def _update_ticket(self, request: web.Request) -> web.Response:
        refused = await self._refusal(request, "update")
        if refused is not None:
            return self._answer(request, refused)
        ticket = self._ticket(request)
        if ticket is None:
            return self._answer(request, _not_found())
        try:
            payload = json.loads(await request.read())
        except ValueError:
            return self._answer(request, _error(400, "InvalidJSON", "The body is not JSON"))
        changes = payload.get("ticket") if isinstance(payload, dict) else None
        if not isinstance(changes, dict):
            return self._answer(request, _invalid("ticket", "is required"))
        return self._answer(request, self._apply(ticket, changes))

    def _apply(self, ticket: JSONObject, changes: JSONObject) -> web.Response:
        edit = self._pending_edits.pop(ticket["id"], None)
        if edit is not None:
            fields, times = edit
            if times > 1:
                self._pending_edits[ticket["id"]] = (fields, times - 1)
            self.update_ticket(ticket["id"], **fields)
        if ticket["status"] == "closed":
            # Closed tickets are locked (https://support.zendesk.com/hc/en-us/articles/
            # 115015611647); the status of the refusal is not documented: 422 here.
            return _invalid("status", "closed prevents ticket update")
        if changes.get("safe_update") and changes.get("updated_stamp") != ticket["updated_at"]:
            return _error(
                409,
                "UpdateConflict",
                "Safe Update prevented the update due to outdated ticket data. "
                "Please fetch the latest ticket data and try again.",
            )
        problem = _problem(changes)
        if problem is not None:
            return _invalid(*problem)
        if "tags" in changes:
            ticket["tags"] = list(dict.fromkeys(str(tag) for tag in changes["tags"]))
        added = [str(tag) for tag in changes.get("additional_tags") or []]
        removed = {str(tag) for tag in changes.get("remove_tags") or []}
        ticket["tags"] = [t for t in dict.fromkeys([*ticket["tags"], *added]) if t not in removed]
        if "priority" in changes:
            ticket["priority"] = changes["priority"]
        if "status" in changes:
            # Closed from now on: the next update is refused above.
            ticket["status"] = changes["status"]
        for entry in changes.get("custom_fields") or []:
            kept = [f for f in ticket["custom_fields"] if f["id"] != entry["id"]]
            ticket["custom_fields"] = [*kept, {"id": entry["id"], "value": entry.get("value")}]
        self._touch(ticket)
        events: list[JSONObject] = []
        if isinstance(changes.get("comment"), dict):
            comment = self._comment(self.me, changes["comment"], ticket["generated_timestamp"])
            self.comments[ticket["id"]].append(comment)
            events.append(
                {
                    k: comment[k]
                    for k in ("id", "type", "author_id", "body", "html_body", "public", "audit_id")
                }
            )
        audit = {
            "id": next(self._ids),
            "ticket_id": ticket["id"],
            "author_id": self.me,
            "created_at": ticket["updated_at"],
            "events": events,
        }
        return web.json_response({"ticket": ticket, "audit": audit})

    async def _list_comments(self, request: web.Request) -> web.Response:
        refused = await self._refusal(request, None)
        if refused is not None:
            return self._answer(request, refused)
        ticket = self._ticket(request)
        if ticket is None:
            return self._answer(request, _not_found())
        try:
            per_page = min(100, max(1, int(request.query.get("per_page", "100"))))
            page = max(1, int(request.query.get("page", "1")))
        except ValueError:
            return self._answer(request, _error(400, "InvalidValue", "page and per_page: numbers"))
        comments = self.comments[ticket["id"]]
        if request.query.get("sort_order") == "desc":
            comments = comments[::-1]
        shown = comments[(page - 1) * per_page : page * per_page]
        more = len(comments) > page * per_page
        # The next page keeps the order asked for.
        following = {**request.query, "page": str(page + 1), "per_page": str(per_page)}
        body = {
            "comments": shown,
            "count": len(comments),
            "previous_page": None,
            "next_page": f"{_origin(request)}{request.path}?{urlencode(following)}"
            if more
            else None,
        }
        return self._answer(request, web.json_response(body))

    async def _me(self, request: web.Request) -> web.Response:
        refused = await self._refusal(request, None)
        if refused is not None:
            return self._answer(request, refused)
        return self._answer(request, web.json_response({"user": self.users[self.me]}))

    async def _ticket_field(self, request: web.Request) -> web.Response:
        refused = await self._refusal(request, None)
        if refused is not None:
            return self._answer(request, refused)
        found = self.ticket_fields.get(_int(request.match_info["id"]) or -1)
        if found is None:
            return self._answer(request, _not_found())
        return self._answer(request, web.json_response({"ticket_field": found}))

    async def _unknown(self, request: web.Request) -> web.Response:
        return self._answer(request, _error(404, "InvalidEndpoint", "Not found"))

    # -- shared ----------------------------------------------------------------------------

    async def _refusal(self, request: web.Request, endpoint: str | None) -> web.Response | None:
        """Latency, outages, authentication, rate limits, then injected errors."""
        config = self.config
        injected = await config.faults.status(self._rng, self._stopping)
        if injected is not None and injected != 429:
            return _error(injected, "Injected", "An injected failure")
        if not self._authenticated(request.headers.get("Authorization", "")):
            return web.json_response({"error": "Couldn't authenticate you"}, status=401)
        wait = self._admit(endpoint)
        if wait is not None:
            return _rate_limited(wait)
        if injected == 429:
            return _rate_limited(1.0)
        return None

    def _authenticated(self, authorization: str) -> bool:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = f"{self.config.email}/token"
        return hmac.compare_digest(user, expected) and hmac.compare_digest(
            secret, self.config.api_token
        )

    def _admit(self, endpoint: str | None) -> float | None:
        """Spend one request from the endpoint's bucket and the account's, or return the
        seconds until it could go (a refused request spends nothing)."""
        config = self.config
        now = time.monotonic()
        limits = [("account", config.account_limit)]
        if endpoint is not None:
            limits.insert(0, (endpoint, getattr(config, f"{endpoint}_limit")))
        spent: list[TokenBucket] = []
        for name, limit in limits:
            if limit is None:
                continue
            bucket = self._buckets.get(name)
            if bucket is None or (bucket.limit, bucket.window) != (limit, config.window_seconds):
                bucket = self._buckets[name] = TokenBucket(limit, config.window_seconds, now)
            wait = bucket.admit(now)
            if wait is not None:
                for earlier in spent:
                    earlier.refund()
                return wait
            spent.append(bucket)
        return None

    def _answer(self, request: web.Request, response: web.Response) -> web.Response:
        self.log.record(request, response)
        account = self._buckets.get("account")
        if account is not None:
            response.headers["X-Rate-Limit"] = str(account.limit)
            response.headers["X-Rate-Limit-Remaining"] = str(max(0, math.floor(account.level)))
        return response

    def _ticket(self, request: web.Request) -> JSONObject | None:
        ticket_id = _int(request.match_info["id"])
        return self.tickets.get(ticket_id) if ticket_id is not None else None

    def _users_of(self, tickets: Iterable[JSONObject]) -> list[JSONObject]:
        ids = dict.fromkeys(i for t in tickets for i in (t["requester_id"], t["submitter_id"]))
        return [self.users[i] for i in ids if i in self.users]


def signed_webhook(
    secret: str,
    body: bytes,
    *,
    timestamp: str | None = None,
    invocation_id: str | None = None,
) -> dict[str, str]:
    """The headers Zendesk sends with a webhook: base64(HMAC-SHA256(secret, timestamp +
    body)) over the exact body bytes, an ISO 8601 timestamp (now by default) and ids."""
    stamp = timestamp if timestamp is not None else _iso(time.time())
    digest = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "X-Zendesk-Account-Id": "123456",
        "X-Zendesk-Webhook-Id": "01F1KRFQ6BG29CNWFR60NK5FNY",
        "X-Zendesk-Webhook-Invocation-Id": invocation_id or str(random.randrange(10**9, 10**10)),
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
    }


def trigger_body(ticket_id: int | str) -> bytes:
    """The body of the trigger's webhook as docs/helpdesks.md tells users to configure it
    (``{"ticket_id": "{{ticket.id}}"}``), rendered for one ticket."""
    return json.dumps({"ticket_id": str(ticket_id)}).encode()


def _problem(changes: JSONObject) -> tuple[str, str] | None:
    """What Zendesk's validation would refuse in an update, as (field, problem)."""
    priority = changes.get("priority")
    if "priority" in changes and priority is not None and priority not in _PRIORITIES:
        return "priority", f"{priority!r} is not one of urgent, high, normal, low"
    if "status" in changes and changes["status"] not in _STATUSES:
        return "status", f"{changes['status']!r} is not one of {', '.join(_STATUSES)}"
    for name in ("tags", "additional_tags", "remove_tags"):
        if name in changes and not isinstance(changes[name], list):
            return name, "must be a list"
    fields = changes.get("custom_fields")
    if fields is not None and not (
        isinstance(fields, list) and all(isinstance(f, dict) and "id" in f for f in fields)
    ):
        return "custom_fields", "must be a list of {id, value}"
    comment = changes.get("comment")
    if isinstance(comment, dict) and not (comment.get("body") or comment.get("html_body")):
        return "comment", "body: cannot be blank"
    return None


def _error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "description": description}, status=status)


def _invalid(field_name: str, problem: str) -> web.Response:
    return web.json_response(
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {field_name: [{"description": f"{field_name}: {problem}"}]},
        },
        status=422,
    )


def _rate_limited(wait: float) -> web.Response:
    return web.Response(
        status=429, text=_RATE_LIMITED, headers={"Retry-After": str(max(1, math.ceil(wait)))}
    )


def _not_found() -> web.Response:
    return _error(404, "RecordNotFound", "Not found")


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _encode_cursor(position: tuple[float, int]) -> str:
    return base64.urlsafe_b64encode(f"{position[0]!r}|{position[1]}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[float, int] | None:
    try:
        stamp, _, ticket_id = base64.urlsafe_b64decode(cursor).decode().partition("|")
        return float(stamp), int(ticket_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
