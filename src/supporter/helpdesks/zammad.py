"""Zammad: trigger webhooks, polling by the ticket search, drafts as internal notes.

Written from Zammad's documentation (https://docs.zammad.org/en/latest/api/intro.html):

- Every request carries ``Authorization: Token token=…``, an agent's access token with
  ``ticket.agent`` (https://docs.zammad.org/en/latest/api/intro.html#authentication).
- Webhooks come from a trigger whose webhook has an "HMAC SHA1 Signature Token":
  ``X-Hub-Signature: sha1={hex HMAC-SHA1(token, body)}``, and ``X-Zammad-Delivery``, the
  delivery's id, the same when Zammad retries it
  (https://admin-docs.zammad.org/en/latest/manage/webhook/add.html,
  https://admin-docs.zammad.org/en/latest/manage/webhook/payload.html). Zammad signs no
  timestamp, so a replayed delivery is recognised by its id (the store keeps the ids)
  rather than by its age. The payload is the ticket and the article that fired the
  trigger; only a public article from the customer asks for the ticket (a note, an
  agent's reply or an update without an article, such as Supporter's own, changes
  nothing Supporter reads).
- Polling: ``GET /api/v1/tickets/search?query=updated_at:[{after} TO *]`` sorted by
  ``updated_at`` ascending, ``page``/``per_page``
  (https://docs.zammad.org/en/latest/api/ticket/index.html#search,
  https://docs.zammad.org/en/latest/api/intro.html#pagination). The answer's ``assets``
  carry the customers (their e-mail); each ticket's first public article (``GET
  /api/v1/ticket_articles/by_ticket/{id}``) is its body. Every poll starts again from
  the cursor's time rather than paging on: a ticket updated while pages are read moves
  to the end of an ascending list and would shift an unread one onto a page already
  read. The search index trails the database, so changes younger than
  `SETTLE_SECONDS` wait for a later poll (as Zendesk's incremental export leaves out
  its last minute); webhooks are the fast path.
- The draft: ``POST /api/v1/ticket_articles`` with ``type: "note"``, ``internal: true``
  (https://docs.zammad.org/en/latest/api/ticket/articles.html). Zammad cannot edit an
  article's body through the API (``PUT /api/v1/ticket_articles/{id}`` keeps only
  ``internal``), so a new version of a draft is a new note; the same version is never
  posted twice (see `supporter.helpdesks.notes`). An approved draft sent as the public
  reply (``--public-replies``) is an article of type ``email`` to the customer, which
  Zammad mails, with nothing of ours in its text.
- Tags: ``POST /api/v1/tags/add`` per tag, which never removes the team's
  (https://docs.zammad.org/en/latest/api/ticket/tags.html). Priority by name and the
  category attribute in one ``PUT /api/v1/tickets/{id}``
  (https://docs.zammad.org/en/latest/api/ticket/index.html#update); the attribute is
  created by an admin in the object manager. Zammad ships three priorities (1 low,
  2 normal, 3 high): urgent is written as 3 high.
- Zammad documents no rate limit for its REST API; the connector paces itself at
  `Settings.rate_limit` requests a minute (a proxy in front of Zammad may limit, and a
  self-hosted server deserves manners).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
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
    NOTE_TITLE,
    REPLY_PREFIX,
    is_note_for,
    iso_time,
    marked_note,
    note_of,
    replied,
)
from supporter.helpdesks.webhooks import check_signature, signature_headers, webhook_key
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

NAME: Final = "zammad"
# Changes younger than this are left to a later poll: the search index trails the
# database, and a change it had not seen yet would be passed by the cursor.
SETTLE_SECONDS: Final = 60.0
PAGE_SIZE: Final = 50
_PRIORITY_NAMES: Final = {
    Priority.LOW: "1 low",
    Priority.MEDIUM: "2 normal",
    Priority.HIGH: "3 high",
    Priority.URGENT: "3 high",
}
_PRIORITY_WORDS: Final = {"low": Priority.LOW, "normal": Priority.MEDIUM, "high": Priority.HIGH}


class Settings(HelpdeskSettings):
    """``SUPPORTER_ZAMMAD_…``: the instance's ``URL`` (required), an agent's access
    ``TOKEN``, the trigger webhook's HMAC ``WEBHOOK_SECRET``, the ticket attribute for
    the category (``CATEGORY_FIELD``, empty to write none) and the pace (``RATE_LIMIT``,
    requests a minute)."""

    url: str = Field(min_length=1)
    token: SecretStr
    webhook_secret: SecretStr | None = None
    category_field: str = "supporter_category"
    rate_limit: int = Field(default=300, ge=1)


def connect(settings: Settings) -> Zammad:
    return Zammad(settings)


class Zammad:
    """One Zammad instance, through an agent's access token."""

    name = NAME

    def __init__(
        self,
        settings: Settings,
        *,
        limits: FieldLimits | None = None,
        timeout: float = 30.0,
        settle: float = SETTLE_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._limits = limits or FieldLimits()
        self._settle = settle
        self._clock = clock
        self._limit = RateLimit(requests=settings.rate_limit, per_seconds=60.0)
        self.http = HelpdeskHTTP(
            NAME,
            settings.url.rstrip("/"),
            limit=self._limit,
            headers={"Authorization": f"Token token={settings.token.get_secret_value()}"},
            timeout=timeout,
        )
        self._states: dict[int, str] | None = None
        self._priorities: dict[int, str] | None = None

    @property
    def write_limit(self) -> RateLimit:
        return self._limit

    def request_counts(self) -> dict[str, int]:
        return dict(self.http.stats)

    # -- webhooks --------------------------------------------------------------------------

    def verify_webhook(self, request: WebhookRequest) -> None:
        secret = webhook_key(self._settings.webhook_secret, "SUPPORTER_ZAMMAD_WEBHOOK_SECRET")
        (signature,) = signature_headers(request, "X-Hub-Signature")
        digest = hmac.new(secret, request.body, hashlib.sha1).hexdigest()
        check_signature(signature, f"sha1={digest}", "X-Hub-Signature")

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookRejected("bad_payload", "the body is not JSON") from None
        ticket = payload.get("ticket") if isinstance(payload, dict) else None
        if not isinstance(ticket, dict):
            raise WebhookRejected("bad_payload", "no ticket in the payload")
        try:
            ticket_id = ticket_identifier(ticket.get("id"), "ticket.id", self._limits)
        except BadField as problem:
            raise WebhookRejected("bad_payload", str(problem)) from None
        delivery = request.headers.get("x-zammad-delivery") or None
        if not _from_the_customer(payload.get("article"), ticket):
            return WebhookEvent(delivery_id=delivery)
        return WebhookEvent(ticket_ids=(ticket_id,), delivery_id=delivery)

    # -- reading ---------------------------------------------------------------------------

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        record = await self.http.json("GET", f"/api/v1/tickets/{_id(ticket_id)}")
        if not isinstance(record, dict):
            raise PermanentError(f"zammad ticket {ticket_id}: the answer is not a ticket")
        customer_id = record.get("customer_id")
        user = await self.http.json("GET", f"/api/v1/users/{_id(str(customer_id))}")
        try:
            return await self._ticket(record, user if isinstance(user, dict) else None)
        except BadField as problem:
            raise PermanentError(f"zammad ticket {ticket_id}: {problem}") from None

    async def poll(
        self, cursor: str | None, *, since: datetime, statuses: Collection[str] | None = None
    ) -> PollPage:
        after, handed = _read_cursor(cursor, since)
        settled = self._clock() - timedelta(seconds=self._settle)
        tickets: list[Ticket] = []
        page, full, unsettled = 1, False, False
        while True:
            answer = await self.http.json(
                "GET",
                "/api/v1/tickets/search",
                params={
                    "query": f"updated_at:[{_iso(after)} TO *]",
                    "sort_by": "updated_at",
                    "order_by": "asc",
                    "page": page,
                    "per_page": PAGE_SIZE,
                },
            )
            records, users = _search_records(answer)
            full = len(records) >= PAGE_SIZE
            fresh: list[tuple[dict[str, Any], datetime]] = []
            for record in records:
                moment = iso_time(record.get("updated_at"))
                if moment is None:
                    log.warning("zammad ticket %s skipped: no updated_at", record.get("id"))
                    continue
                if moment > settled:
                    unsettled = True  # the search index may still miss changes before it
                    break
                if moment > after or str(record.get("id")) not in handed:
                    fresh.append((record, moment))
            for record, moment in fresh:
                if moment > after:
                    after, handed = moment, set()
                handed.add(str(record.get("id")))
                if statuses is not None and (await self._state(record)).lower() not in statuses:
                    continue  # not taken: its articles are not read
                ticket = await self._polled(record, users)
                if ticket is not None:
                    tickets.append(ticket)
            # A full page of tickets handed over already all changed at `after` (one
            # bulk update): the next page holds what comes after them.
            if fresh or unsettled or not full:
                break
            page += 1
        return PollPage(
            tickets=tuple(tickets), cursor=_write_cursor(after, handed), more=full and not unsettled
        )

    async def _state(self, record: dict[str, Any]) -> str:
        """The name of the ticket's state (its status)."""
        states, _ = await self._lookups()
        return states.get(_int(record.get("state_id")) or 0, "open")

    async def _polled(self, record: dict[str, Any], users: Mapping[str, Any]) -> Ticket | None:
        user = users.get(str(record.get("customer_id")))
        try:
            return await self._ticket(record, user if isinstance(user, dict) else None)
        except BadField as problem:
            # The ticket's text stays out of the log: its id and the field say enough.
            log.warning("zammad ticket %s skipped: %s", record.get("id"), problem)
            return None

    async def _ticket(self, record: dict[str, Any], user: dict[str, Any] | None) -> Ticket:
        limits = self._limits
        ticket_id = ticket_identifier(record.get("id"), "id", limits)
        articles = await self.http.json("GET", f"/api/v1/ticket_articles/by_ticket/{ticket_id}")
        first = next(
            (a for a in articles or [] if isinstance(a, dict) and a.get("internal") is False), {}
        )
        body = first.get("body")
        if isinstance(body, str) and first.get("content_type", "text/html") == "text/html":
            body = plain_text(body)
        # The first article is the customer's first message: a long one keeps its start.
        subject, body_text = subject_and_body(
            record.get("title"),
            body,
            limits,
            long_body="start",
            ticket=f"zammad ticket {ticket_id}",
        )
        _, priorities = await self._lookups()
        email = user.get("email") if user else None
        return Ticket(
            ticket_id=ticket_id,
            customer_id=f"zammad:{identifier(record.get('customer_id'), 'customer_id', limits)}",
            subject=subject,
            body=body_text,
            status=await self._state(record),
            created_at=timestamp(record.get("created_at"), "created_at"),
            customer_email=text(email, "customer.email", limits.text) or None,
            channel=text(first.get("type"), "article.type", limits.text) or None,
            priority=_priority(priorities.get(_int(record.get("priority_id")) or 0)),
        )

    async def _lookups(self) -> tuple[dict[int, str], dict[int, str]]:
        """The instance's ticket states and priorities by id, read once."""
        if self._states is None or self._priorities is None:
            self._states = _names(await self.http.json("GET", "/api/v1/ticket_states"))
            self._priorities = _names(await self.http.json("GET", "/api/v1/ticket_priorities"))
        return self._states, self._priorities

    # -- writing ---------------------------------------------------------------------------

    async def write_back(
        self, draft: Draft, mode: WriteBackMode, previous: WriteReceipt | None
    ) -> WriteReceipt:
        ticket_id = _id(draft.ticket_id)
        note_id = previous.note_id if previous else None
        withheld = False
        if mode is not WriteBackMode.TAGS and draft.note is not None:
            if not draft.public:
                note_id = await self._note(ticket_id, draft, note_of(previous))
            elif replied(previous):
                withheld = True  # a reply mailed to the customer is never sent again
            else:
                # A receipt without the reply prefix may be a reply's from before
                # receipts said so: its text is looked for even on a first try.
                sent, found = await self._reply(ticket_id, draft, note_of(previous) is not None)
                note_id = REPLY_PREFIX + sent
                # On a first try nothing of this version is there: what is, came before.
                withheld = found and draft.first_attempt
        changes: dict[str, Any] = {"priority": _PRIORITY_NAMES[draft.priority]}
        if self._settings.category_field:
            changes[self._settings.category_field] = draft.category
        await self.http.json("PUT", f"/api/v1/tickets/{ticket_id}", json=changes)
        for tag in dict.fromkeys(draft.tags):
            await self.http.json(
                "POST",
                "/api/v1/tags/add",
                json={"item": tag, "object": "Ticket", "o_id": int(ticket_id)},
            )
        return WriteReceipt(note_id=note_id, withheld=withheld)

    async def _articles(self, ticket_id: str, draft: Draft, search: bool = False) -> list[Any]:
        """The ticket's articles, to find one written for `draft` before a crash; none to
        read on the draft's first try, which nothing came before, unless `search`."""
        if draft.first_attempt and not search:
            return []
        articles = await self.http.json("GET", f"/api/v1/ticket_articles/by_ticket/{ticket_id}")
        return articles if isinstance(articles, list) else []

    async def _note(self, ticket_id: str, draft: Draft, earlier: str | None) -> str:
        """The note of this draft version: the one already there, or a new one (which
        names the `earlier` note it supersedes)."""
        for article in await self._articles(ticket_id, draft):
            if (
                isinstance(article, dict)
                and article.get("internal") is True
                and is_note_for(article.get("body"), draft.version)
            ):
                return str(article.get("id"))
        created = await self.http.json(
            "POST",
            "/api/v1/ticket_articles",
            json={
                "ticket_id": int(ticket_id),
                "subject": NOTE_TITLE,
                "body": marked_note(draft, f"article {earlier}" if earlier else None),
                "content_type": "text/plain",
                "type": "note",
                "internal": True,
            },
        )
        if not isinstance(created, dict) or created.get("id") is None:
            raise HelpdeskUnavailable(
                f"zammad answered the note on ticket {ticket_id} without its id"
            )
        return str(created["id"])

    async def _reply(self, ticket_id: str, draft: Draft, search: bool) -> tuple[str, bool]:
        """An approved draft as the e-mail reply Zammad sends the customer, with nothing
        of ours in it, and whether it was there already: a reply with the same text is
        not sent again (looked for on a first try too when `search`)."""
        text = mask_card_numbers(draft.note or "")
        for article in await self._articles(ticket_id, draft, search):
            if (
                isinstance(article, dict)
                and article.get("internal") is False
                and article.get("sender") == "Agent"
                and article.get("body") == text
            ):
                return str(article.get("id")), True
        ticket = await self.http.json("GET", f"/api/v1/tickets/{ticket_id}")
        customer = ticket.get("customer_id") if isinstance(ticket, dict) else None
        user = await self.http.json("GET", f"/api/v1/users/{_id(str(customer))}")
        email = user.get("email") if isinstance(user, dict) else None
        if not email:
            raise PermanentError(
                f"zammad ticket {ticket_id}: the customer has no e-mail to reply to"
            )
        created = await self.http.json(
            "POST",
            "/api/v1/ticket_articles",
            json={
                "ticket_id": int(ticket_id),
                "to": email,
                "subject": str(ticket.get("title") or ""),
                "body": text,
                "content_type": "text/plain",
                "type": "email",
                "internal": False,
            },
        )
        if not isinstance(created, dict) or created.get("id") is None:
            raise HelpdeskUnavailable(
                f"zammad answered the reply on ticket {ticket_id} without its id"
            )
        return str(created["id"]), False

    # -- checking --------------------------------------------------------------------------

    async def check(self) -> Sequence[CheckResult]:
        results = [await self._check("credentials", self._check_me)]
        results.append(await self._check("priorities", self._check_priorities))
        secret = self._settings.webhook_secret is not None
        results.append(
            CheckResult(
                "webhook secret",
                secret,
                "set: trigger webhooks are verified"
                if secret
                else "SUPPORTER_ZAMMAD_WEBHOOK_SECRET is not set: webhooks refused, polling only",
            )
        )
        results.append(
            CheckResult(
                "rate limit",
                True,
                f"{self._limit.requests} requests a minute (Zammad documents no API limit)",
            )
        )
        return results

    async def _check(self, name: str, probe: Any) -> CheckResult:
        try:
            return CheckResult(name, True, await probe())
        except (FatalError, PermanentError, HelpdeskUnavailable) as error:
            return CheckResult(name, False, str(error))

    async def _check_me(self) -> str:
        me = await self.http.json("GET", "/api/v1/users/me")
        return f"the token works (user id {me.get('id') if isinstance(me, dict) else '?'})"

    async def _check_priorities(self) -> str:
        names = set(_names(await self.http.json("GET", "/api/v1/ticket_priorities")).values())
        missing = sorted(set(_PRIORITY_NAMES.values()) - names)
        if missing:
            raise PermanentError(f"priorities missing in Zammad: {', '.join(missing)}")
        return "1 low, 2 normal and 3 high exist"

    async def aclose(self) -> None:
        await self.http.aclose()


def _from_the_customer(article: Any, ticket: dict[str, Any]) -> bool:
    """Whether the article that fired a trigger is something the customer said: public,
    and the customer's or the ticket's first (an agent may open a ticket for a caller).
    Updates without an article (Supporter's own tags and priority among them), notes and
    agents' replies change nothing Supporter reads."""
    if not isinstance(article, dict) or article.get("internal") is not False:
        return False
    return article.get("sender") in ("Customer", None) or ticket.get("article_count") == 1


# -- the cursor ------------------------------------------------------------------------------


def _read_cursor(cursor: str | None, since: datetime) -> tuple[datetime, set[str]]:
    """The time of the newest change handed over (the search starts there, inclusive),
    and the tickets handed over whose change has that very time. The first poll starts
    at `since`."""
    if cursor is None:
        return since.astimezone(UTC), set()
    try:
        state = json.loads(cursor)
        after = datetime.fromisoformat(state["after"])
        handed = {str(i) for i in state["handed"]}
    except (ValueError, KeyError, TypeError) as error:
        raise FatalError(f"zammad: the stored poll cursor is unreadable ({error})") from None
    return after, handed


def _write_cursor(after: datetime, handed: set[str]) -> str:
    return json.dumps({"after": after.isoformat(), "handed": sorted(handed)})


def _search_records(answer: Any) -> tuple[list[dict[str, Any]], Mapping[str, Any]]:
    """The tickets of a search answer in its order, and its users by id."""
    if not isinstance(answer, dict):
        raise HelpdeskUnavailable("zammad answered the ticket search with something else")
    assets = _mapping(answer.get("assets"))
    tickets, users = _mapping(assets.get("Ticket")), _mapping(assets.get("User"))
    ids = answer.get("tickets")
    ordered = ids if isinstance(ids, list) else []
    records = [tickets[str(i)] for i in ordered if isinstance(tickets.get(str(i)), dict)]
    return records, users


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# -- small things ------------------------------------------------------------------------------


def _id(value: str) -> str:
    """A Zammad record id; anything else never reaches a URL."""
    if not value.isdigit():
        raise PermanentError(f"zammad: {value[:40]!r} is not a Zammad id")
    return value


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _names(listing: Any) -> dict[int, str]:
    if not isinstance(listing, list):
        raise HelpdeskUnavailable("zammad answered a lookup list with something else")
    return {
        item["id"]: str(item.get("name"))
        for item in listing
        if isinstance(item, dict) and _int(item.get("id")) is not None
    }


def _priority(name: str | None) -> Priority | None:
    """Zammad's priority names are "<rank> <word>"; an instance's own are not guessed."""
    if name is None:
        return None
    return _PRIORITY_WORDS.get(name.partition(" ")[2].strip().lower())


def _iso(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )
