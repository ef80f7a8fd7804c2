"""A Help Scout Mailbox API 2.0 server for tests and benchmarks: OAuth2 client credentials,
conversations with their threads, notes, draft replies, tags, custom fields, the
account's rate limit, signed webhooks, and the failures the real one answers.

Written from https://developer.helpscout.com/mailbox-api/ and
https://developer.helpscout.com/webhooks/:

- Authentication (https://developer.helpscout.com/mailbox-api/overview/authentication/):
  ``POST /v2/oauth2/token`` with ``grant_type=client_credentials``, ``client_id`` and
  ``client_secret`` (form or JSON) answers ``{"token_type": "bearer", "access_token",
  "expires_in": 172800}``; every other request carries ``Authorization: Bearer …``; a
  missing, wrong or expired token is a 401 (`expire_tokens` ends them all at once).
- ``GET /v2/conversations`` (https://developer.helpscout.com/mailbox-api/endpoints/conversations/list/):
  ``status`` (active by default; all, closed, open, pending, spam), ``mailbox``,
  ``modifiedSince``, ``sortField`` (createdAt by default, modifiedAt, …), ``sortOrder``
  (desc by default), ``embed=threads``, ``page`` from 1, 25 a page; HAL:
  ``_embedded.conversations``, ``_links.next`` while there is a next page, and ``page``
  (size, totalElements, totalPages, number)
  (https://developer.helpscout.com/mailbox-api/overview/pagination/).
- ``GET /v2/conversations/{id}`` (``embed=threads``: all the threads, newest first, as no
  limit is documented; `FakeHelpScoutConfig.embedded_threads` gives fewer, to test a
  connector that does not rely on it), with ``threads`` the number of published threads.
- ``GET /v2/conversations/{id}/threads``: newest first, 50 a page, paged as above
  (https://developer.helpscout.com/mailbox-api/endpoints/conversations/threads/list/).
- ``POST …/{id}/notes`` and ``POST
  …/{id}/reply`` (``customer.id`` required, ``draft: true`` for a draft that nobody is
  sent) answering 201 with the thread's id in ``Resource-ID``
  (https://developer.helpscout.com/mailbox-api/endpoints/conversations/threads/reply/),
  ``PATCH …/{id}/threads/{threadId}`` with a JSON Patch replacing ``/text`` (204; 403
  unless thread editing is allowed)
  (https://developer.helpscout.com/mailbox-api/endpoints/conversations/threads/update/),
  ``PUT …/{id}/tags`` (replaces the tags, 204), ``PUT …/{id}/fields`` (custom fields by
  id, 204), ``GET /v2/users/me``. An unknown id is a 404.
- Rate limit (https://developer.helpscout.com/mailbox-api/overview/rate-limiting/): a
  per-minute limit for the account by plan (Standard 200, Plus 400, Pro 800:
  https://docs.helpscout.com/article/1140-mailbox-api), writes counting as two, with
  ``X-RateLimit-Limit-Minute`` and ``X-RateLimit-Remaining-Minute`` on every answer and
  a 429 with ``X-RateLimit-Retry-After``. Enforced over short intervals (`TokenBucket`).
- Webhooks (https://developer.helpscout.com/webhooks/): the v2 conversation as the body,
  ``X-HelpScout-Event`` naming the event and ``X-HelpScout-Signature``, the base64
  HMAC-SHA1 of the body with the webhook's secret (`webhook`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import math
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from supporter.testing.aiohttp_site import ServedSimulator
from supporter.testing.helpdesk_limits import AnswerLog, Faults, Spending, TokenBucket

JSONObject = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.Response]]

DEFAULT_CLIENT_ID = "hs-app-id"
DEFAULT_CLIENT_SECRET = "hs-app-secret"
TOKEN_LIFETIME = 172800
PAGE_SIZE = 25
# Every list but the conversations' is paged by 50 (the pagination overview).
THREAD_PAGE_SIZE = 50

_SORT_FIELDS = (
    "createdAt",
    "customerEmail",
    "customerName",
    "mailboxid",
    "modifiedAt",
    "number",
    "score",
    "status",
    "subject",
    "waitingSince",
)
_STATUSES = ("active", "all", "closed", "open", "pending", "spam")


@dataclass
class FakeHelpScoutConfig:
    """How the simulator behaves; read on every request, so a test may change it."""

    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    per_minute: int | None = 200  # the account's requests a minute (Standard); None: unlimited
    write_cost: int = 2  # POST, PUT, PATCH and DELETE count as two
    thread_editing: bool = True  # the account lets threads be edited (or the user is an admin)
    embedded_threads: int | None = None  # the newest threads `embed=threads` gives; None: all
    window_seconds: float = 60.0  # the limits' window (shortened for quicker benchmarks)
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None


class FakeHelpScout(ServedSimulator):
    """The simulator on a free loopback port for as long as the block runs::

        server = FakeHelpScout()
        conversation = server.add_conversation("Charged twice", "Two charges", "ann@example.com")
        async with server as base_url:
            ...  # https://api.helpscout.net is `base_url` here

    `log` records every answer (`AnswerLog`); `tokens_issued` counts the tokens.
    """

    def __init__(self, config: FakeHelpScoutConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else FakeHelpScoutConfig()
        self.conversations: dict[int, JSONObject] = {}
        self.customers: dict[str, JSONObject] = {}
        self.sent: list[JSONObject] = []
        """Reply threads that were published: mail that went to a customer."""
        self.log = AnswerLog()
        self.tokens_issued = 0
        self._tokens: dict[str, float] = {}
        self._ids = itertools.count(1000)
        self._rng = random.Random(self.config.seed)
        self._bucket: TokenBucket | None = None
        self._spent = Spending()

    # -- data ------------------------------------------------------------------------------

    def add_conversation(
        self,
        subject: str,
        text: str,
        email: str,
        *,
        tags: tuple[str, ...] = (),
        mailbox: int = 1,
        status: str = "active",
        created_at: datetime | None = None,
    ) -> int:
        """A conversation with the customer's first message; returns its id."""
        customer = self.customers.get(email)
        if customer is None:
            customer = {
                "id": next(self._ids),
                "email": email,
                "first": email.split("@")[0],
                "type": "customer",
            }
            self.customers[email] = customer
        when = _iso(created_at or datetime.now(UTC))
        conversation_id = next(self._ids)
        self.conversations[conversation_id] = {
            "id": conversation_id,
            "number": conversation_id - 900,
            "type": "email",
            "folderId": 1,
            "status": status,
            "state": "published",
            "subject": subject,
            "preview": text[:185],
            "mailboxId": mailbox,
            "createdBy": {"id": customer["id"], "type": "customer", "email": email},
            "createdAt": when,
            "closedAt": None,
            "userUpdatedAt": when,
            "source": {"type": "email", "via": "customer"},
            "tags": [
                {"id": index, "color": "#929499", "tag": tag} for index, tag in enumerate(tags, 1)
            ],
            "cc": [],
            "bcc": [],
            "primaryCustomer": dict(customer),
            "customFields": [],
            "modifiedAt": time.time(),
            "threadList": [],
        }
        self.add_thread(conversation_id, "customer", text, created_at=created_at)
        if created_at is not None:
            # Untouched since it was created.
            self.conversations[conversation_id]["modifiedAt"] = created_at.timestamp()
        return conversation_id

    def add_thread(
        self,
        conversation_id: int,
        kind: str,
        text: str,
        *,
        state: str = "published",
        created_at: datetime | None = None,
    ) -> int:
        """A thread (customer message, reply, note) on the conversation; returns its id."""
        conversation = self.conversations[conversation_id]
        customer = conversation["primaryCustomer"]
        thread_id = next(self._ids)
        author = (
            {"id": customer["id"], "type": "customer", "email": customer["email"]}
            if kind == "customer"
            else {"id": 1, "type": "user", "email": "agent@example.com"}
        )
        conversation["threadList"].append(
            {
                "id": thread_id,
                "type": kind,
                "status": "active",
                "state": state,
                "body": text,
                "source": {"type": "api", "via": author["type"]},
                "customer": {"id": customer["id"], "email": customer["email"]},
                "createdBy": author,
                "createdAt": _iso(created_at or datetime.now(UTC)),
                "_embedded": {"attachments": []},
            }
        )
        self._modified(conversation)
        return thread_id

    def threads(self, conversation_id: int, kind: str | None = None) -> list[JSONObject]:
        """The conversation's threads, oldest first (of one type when given)."""
        threads = self.conversations[conversation_id]["threadList"]
        return [thread for thread in threads if kind is None or thread["type"] == kind]

    def expire_tokens(self) -> None:
        """Every access token issued so far has expired."""
        self._tokens.clear()

    def webhook(
        self, conversation_id: int, secret: str, event: str = "convo.customer.reply.created"
    ) -> tuple[dict[str, str], bytes]:
        """The headers and body of the webhook Help Scout sends for `event`."""
        body = json.dumps(self._shown(self.conversations[conversation_id], threads=False)).encode()
        return {
            "content-type": "application/json",
            "x-helpscout-event": event,
            "x-helpscout-signature": sign(body, secret),
        }, body

    # -- serving ---------------------------------------------------------------------------

    def _application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v2/oauth2/token", self._recorded(self._token))
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/v2/conversations", self._list),
            ("GET", "/v2/conversations/{id}", self._conversation),
            ("POST", "/v2/conversations/{id}/notes", self._note),
            ("POST", "/v2/conversations/{id}/reply", self._reply),
            ("GET", "/v2/conversations/{id}/threads", self._list_threads),
            ("PATCH", "/v2/conversations/{id}/threads/{thread}", self._edit_thread),
            ("PUT", "/v2/conversations/{id}/tags", self._tags),
            ("PUT", "/v2/conversations/{id}/fields", self._fields),
            ("GET", "/v2/users/me", self._me),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, self._recorded(self._guarded(handler)))
        app.router.add_route("*", "/{tail:.*}", self._recorded(self._guarded(self._unknown)))
        return app

    # -- guard: token, limit, injected failures --------------------------------------------

    def _recorded(self, handler: Handler) -> Handler:
        async def recorded(request: web.Request) -> web.Response:
            response = await handler(request)
            self.log.record(request, response, "X-RateLimit-Retry-After")
            return response

        return recorded

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.Response:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            expires = self._tokens.get(token) if scheme.lower() == "bearer" else None
            if expires is None or expires <= time.monotonic():
                return _error(401, "Unauthorized: the access token is missing, invalid or expired")
            now = time.monotonic()
            cost = 1 if request.method == "GET" else self.config.write_cost
            wait = self._admit(now, cost)
            headers = self._rate_headers(now)
            if wait:
                return _error(
                    429,
                    "Too many requests",
                    {**headers, "X-RateLimit-Retry-After": str(max(1, math.ceil(wait)))},
                )
            status = await self.config.faults.status(self._rng, self._stopping)
            if status == 429:
                return _error(429, "Too many requests", {**headers, "X-RateLimit-Retry-After": "1"})
            if status is not None:
                return _error(status, "Service unavailable", headers)
            response = await handler(request)
            response.headers.update(headers)
            return response

        return guarded

    def _admit(self, now: float, cost: int) -> float:
        per_minute = self.config.per_minute
        if per_minute is None:
            return 0.0
        bucket, window = self._bucket, self.config.window_seconds
        if bucket is None or (bucket.limit, bucket.window) != (per_minute, window):
            bucket = self._bucket = TokenBucket(per_minute, window, now)
        wait = bucket.admit(now, cost)
        if wait is None:
            self._spent.spend(now, cost)
        return wait or 0.0

    def _rate_headers(self, now: float) -> dict[str, str]:
        per_minute = self.config.per_minute
        if per_minute is None:
            return {}
        remaining = self._spent.remaining(now, per_minute, self.config.window_seconds)
        return {
            "X-RateLimit-Limit-Minute": str(per_minute),
            "X-RateLimit-Remaining-Minute": str(remaining),
        }

    # -- handlers --------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            form: dict[str, Any] = await _json_body(request) or {}
        else:
            form = dict(await request.post())
        config = self.config
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        client_ok = hmac.compare_digest(str(form.get("client_id", "")), config.client_id)
        secret_ok = hmac.compare_digest(str(form.get("client_secret", "")), config.client_secret)
        if not (client_ok and secret_ok):
            return web.json_response({"error": "invalid_client"}, status=401)
        status = await config.faults.status(self._rng, self._stopping)
        if status is not None and status != 429:
            return _error(status, "Service unavailable")
        token = secrets.token_hex(16)
        self._tokens[token] = time.monotonic() + TOKEN_LIFETIME
        self.tokens_issued += 1
        return web.json_response(
            {"token_type": "bearer", "access_token": token, "expires_in": TOKEN_LIFETIME}
        )

    async def _list(self, request: web.Request) -> web.Response:
        query = request.query
        status = query.get("status", "active")
        sort_field = query.get("sortField", "createdAt")
        order = query.get("sortOrder", "desc")
        if (
            status not in _STATUSES
            or sort_field not in _SORT_FIELDS
            or order not in ("asc", "desc")
        ):
            return _invalid("status, sortField or sortOrder is not one of the allowed values")
        try:
            page = int(query.get("page", "1"))
            since = _parse(query["modifiedSince"]) if "modifiedSince" in query else None
            mailboxes = (
                {int(m) for m in query["mailbox"].split(",")} if "mailbox" in query else None
            )
        except ValueError:
            return _invalid("page, mailbox or modifiedSince is malformed")
        found = [
            c
            for c in self.conversations.values()
            if (status == "all" or c["status"] == status)
            and (since is None or c["modifiedAt"] > since)
            and (mailboxes is None or c["mailboxId"] in mailboxes)
        ]
        key = {"createdAt": "createdAt", "modifiedAt": "modifiedAt"}.get(sort_field, "id")
        found.sort(key=lambda c: (c[key], c["id"]), reverse=order == "desc")
        pages = max(1, math.ceil(len(found) / PAGE_SIZE))
        shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        embed = query.get("embed") == "threads"
        links: JSONObject = {"self": {"href": str(request.url)}}
        if page < pages:
            links["next"] = {"href": str(request.url.update_query({"page": str(page + 1)}))}
        return web.json_response(
            {
                "_embedded": {"conversations": [self._shown(c, threads=embed) for c in shown]},
                "_links": links,
                "page": {
                    "size": PAGE_SIZE,
                    "totalElements": len(found),
                    "totalPages": pages,
                    "number": page,
                },
            }
        )

    async def _conversation(self, request: web.Request) -> web.Response:
        conversation = self._find(request)
        if conversation is None:
            return _missing()
        return web.json_response(
            self._shown(conversation, threads=request.query.get("embed") == "threads")
        )

    async def _list_threads(self, request: web.Request) -> web.Response:
        conversation = self._find(request)
        if conversation is None:
            return _missing()
        try:
            page = int(request.query.get("page", "1"))
        except ValueError:
            return _invalid("page is malformed")
        threads = [dict(t) for t in reversed(conversation["threadList"])]  # newest first
        pages = max(1, math.ceil(len(threads) / THREAD_PAGE_SIZE))
        links: JSONObject = {"self": {"href": str(request.url)}}
        if page < pages:
            links["next"] = {"href": str(request.url.update_query({"page": str(page + 1)}))}
        return web.json_response(
            {
                "_embedded": {
                    "threads": threads[(page - 1) * THREAD_PAGE_SIZE : page * THREAD_PAGE_SIZE]
                },
                "_links": links,
                "page": {
                    "size": THREAD_PAGE_SIZE,
                    "totalElements": len(threads),
                    "totalPages": pages,
                    "number": page,
                },
            }
        )

    async def _note(self, request: web.Request) -> web.Response:
        conversation = self._find(request)
        if conversation is None:
            return _missing()
        body = await _json_body(request)
        if body is None or not isinstance(body.get("text"), str) or not body["text"].strip():
            return _invalid("text: may not be empty")
        return _created(self.add_thread(conversation["id"], "note", body["text"]))

    async def _reply(self, request: web.Request) -> web.Response:
        conversation = self._find(request)
        if conversation is None:
            return _missing()
        body = await _json_body(request)
        if body is None or not isinstance(body.get("text"), str) or not body["text"].strip():
            return _invalid("text: may not be empty")
        customer = body.get("customer")
        if not isinstance(customer, dict) or customer.get("id") is None:
            return _invalid("customer: may not be null")
        draft = body.get("draft") is True
        thread_id = self.add_thread(
            conversation["id"], "reply", body["text"], state="draft" if draft else "published"
        )
        if not draft:
            self.sent.append(self.threads(conversation["id"])[-1])
        return _created(thread_id)

    async def _edit_thread(self, request: web.Request) -> web.Response:
        conversation = self._find(request)
        if conversation is None:
            return _missing()
        thread_id = _int(request.match_info["thread"])
        thread = next((t for t in conversation["threadList"] if t["id"] == thread_id), None)
        if thread is None:
            return _missing()
        if not self.config.thread_editing:
            return _error(403, "Thread editing is not enabled for this account")
        patch = await _json_body(request)
        if (
            patch is None
            or patch.get("op") != "replace"
            or patch.get("path") != "/text"
            or not isinstance(patch.get("value"), str)
        ):
            return _invalid("op must be replace and path /text with a text value")
        thread["body"] = patch["value"]
        self._modified(conversation)
        return web.Response(status=204)

    async def _tags(self, request: web.Request) -> web.Response:
        conversation = self._find(request)
        if conversation is None:
            return _missing()
        body = await _json_body(request)
        tags = body.get("tags") if body is not None else None
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            return _invalid("tags: must be a list of strings")
        conversation["tags"] = [
            {"id": index, "color": "#929499", "tag": tag.lower()}
            for index, tag in enumerate(tags, 1)
        ]
        self._modified(conversation)
        return web.Response(status=204)

    async def _fields(self, request: web.Request) -> web.Response:
        conversation = self._find(request)
        if conversation is None:
            return _missing()
        body = await _json_body(request)
        fields = body.get("fields") if body is not None else None
        if not isinstance(fields, list) or not all(
            isinstance(f, dict) and "id" in f for f in fields
        ):
            return _invalid("fields: must be a list of {id, value}")
        values = {f["id"]: f for f in conversation["customFields"]}
        for given in fields:
            values[given["id"]] = {
                "id": given["id"],
                "name": f"field {given['id']}",
                "value": given.get("value"),
                "text": given.get("value"),
            }
        conversation["customFields"] = list(values.values())
        self._modified(conversation)
        return web.Response(status=204)

    async def _me(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"id": 1, "firstName": "Support", "email": "agent@example.com", "role": "user"}
        )

    async def _unknown(self, request: web.Request) -> web.Response:
        return _missing()

    # -- shared ----------------------------------------------------------------------------

    def _find(self, request: web.Request) -> JSONObject | None:
        conversation_id = _int(request.match_info["id"])
        return self.conversations.get(conversation_id) if conversation_id is not None else None

    def _modified(self, conversation: JSONObject) -> None:
        # Strictly later than anything before, however fast the changes come.
        conversation["modifiedAt"] = max(time.time(), conversation["modifiedAt"] + 1e-6)

    def _shown(self, conversation: JSONObject, *, threads: bool) -> JSONObject:
        shown = {k: v for k, v in conversation.items() if k not in ("modifiedAt", "threadList")}
        shown["threads"] = len([t for t in conversation["threadList"] if t["state"] == "published"])
        shown["_links"] = {"self": {"href": f"/v2/conversations/{conversation['id']}"}}
        if threads:
            # The API lists threads newest first.
            newest = [dict(t) for t in reversed(conversation["threadList"])]
            limit = self.config.embedded_threads
            shown["_embedded"] = {"threads": newest if limit is None else newest[:limit]}
        return shown


def sign(body: bytes, secret: str) -> str:
    """``X-HelpScout-Signature``: base64 of the HMAC-SHA1 of the body with the secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).decode()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> float:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


async def _json_body(request: web.Request) -> JSONObject | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"message": message, "logRef": secrets.token_hex(4)}, status=status, headers=headers
    )


def _invalid(message: str) -> web.Response:
    return web.json_response(
        {"message": "Bad request", "_embedded": {"errors": [{"message": message}]}}, status=400
    )


def _missing() -> web.Response:
    return web.json_response({"message": "Not found"}, status=404)


def _created(thread_id: int) -> web.Response:
    return web.Response(status=201, headers={"Resource-ID": str(thread_id)})
