"""A Stripe API server for tests and manual runs: customers, their charges, and the errors
Stripe really answers, enough that the official `stripe` package cannot tell it apart.

Written from Stripe's API reference:

- Authentication: the secret key as a bearer token (or as the user name of HTTP Basic
  auth); none, or a wrong one, is a 401 ``invalid_request_error``
  (https://docs.stripe.com/api/authentication).
- Errors: ``{"error": {"type", "code", "message", "param", "doc_url"}}`` with the HTTP
  status (https://docs.stripe.com/api/errors); an unknown id is a 404 ``resource_missing``.
- Lists: ``{"object": "list", "url", "has_more", "data"}``, newest first, ``limit`` 1-100
  (default 10), the next page after ``starting_after`` (https://docs.stripe.com/api/pagination).
- Search: ``{"object": "search_result", "has_more", "next_page", "data"}``, the next page
  by ``page`` (https://docs.stripe.com/api/pagination/search). Only the query this
  project sends is understood: ``email:'…'`` (exact, case-insensitive here: see the
  module `supporter.transactions.stripe`), anything else is a 400 naming ``query``.
- ``GET /v1/customers`` (``email`` filter, case-sensitive as documented),
  ``/v1/customers/search``, ``/v1/customers/{id}``, ``GET /v1/charges`` (``customer``,
  ``created[gte]``/``created[lte]``), ``/v1/charges/{id}``, ``GET /v1/disputes``
  (``charge``). A charge says whether it was ``disputed`` and how much of it was
  refunded (``amount_refunded``, ``refunded``); its disputes are listed apart
  (https://docs.stripe.com/api/charges/object, https://docs.stripe.com/api/disputes/list).
- Rate limits (https://docs.stripe.com/rate-limits): requests per second over a sliding
  one-second window (25 by default, as in a sandbox; search has its own 20), and
  beyond it a 429 ``rate_limit`` error. Injected 429s and 500s are drawn by share.
"""

from __future__ import annotations

import base64
import collections
import itertools
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from supporter.testing.aiohttp_site import ServedSimulator

JSONObject = dict[str, Any]

DEFAULT_API_KEY = "sk_test_supporter"
_DOCS = "https://stripe.com/docs/error-codes"


@dataclass
class FakeStripeConfig:
    """How the simulator behaves; read on every request, so a test may change it."""

    api_key: str = DEFAULT_API_KEY
    rate: int | None = 25  # requests per second (None: unlimited)
    search_rate: int | None = 20  # search requests per second, counted apart as well
    error_rates: dict[int, float] = field(default_factory=dict)  # e.g. {429: 0.1, 500: 0.01}
    seed: int | None = None


class FakeStripe(ServedSimulator):
    """The simulator on a free loopback port for as long as the block runs::

        server = FakeStripe()
        customer = server.add_customer("alice@example.com")
        server.add_charge(customer, 4999, "usd")
        async with server as base_url:
            client = stripe.StripeClient(DEFAULT_API_KEY, base_addresses={"api": base_url})

    `requests` counts the requests by path; `outcomes` counts the answers by status.
    """

    def __init__(self, config: FakeStripeConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else FakeStripeConfig()
        self.customers: dict[str, JSONObject] = {}
        self.charges: dict[str, JSONObject] = {}
        self.disputes: dict[str, JSONObject] = {}
        self.requests: collections.Counter[str] = collections.Counter()
        self.outcomes: collections.Counter[int] = collections.Counter()
        self._ids = itertools.count(1)
        self._clock = itertools.count(1_700_000_000)
        self._rng = random.Random(self.config.seed)
        self._windows: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )

    # -- data ------------------------------------------------------------------------------

    def add_customer(self, email: str | None, **fields: Any) -> str:
        """A customer; returns its id (``cus_…``)."""
        customer_id = f"cus_{next(self._ids):014d}"
        self.customers[customer_id] = {
            "id": customer_id,
            "object": "customer",
            "email": email,
            "created": next(self._clock),
            "metadata": {},
            "livemode": False,
            **fields,
        }
        return customer_id

    def add_charge(
        self,
        customer: str | None,
        amount: int,
        currency: str,
        *,
        created: int | None = None,
        dispute: tuple[str, int] | None = None,
        **fields: Any,
    ) -> str:
        """A succeeded card charge of `amount` minor units; `dispute` is (status, amount).
        Returns its id (``ch_…``)."""
        charge_id = f"ch_{next(self._ids):014d}"
        if dispute is not None:
            dispute_id = f"dp_{next(self._ids):014d}"
            status, disputed = dispute
            self.disputes[dispute_id] = {
                "id": dispute_id,
                "object": "dispute",
                "amount": disputed,
                "currency": currency,
                "charge": charge_id,
                "status": status,
                "reason": "duplicate",
                "created": next(self._clock),
            }
        self.charges[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": 0,
            "refunded": False,
            "currency": currency,
            "customer": customer,
            "created": created if created is not None else next(self._clock),
            "status": "succeeded",
            "paid": True,
            "description": None,
            "metadata": {},
            "invoice": None,
            "payment_intent": f"pi_{next(self._ids):014d}",
            "receipt_email": None,
            "billing_details": {"email": None, "name": None},
            "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
            "disputed": dispute is not None,
            "livemode": False,
            **fields,
        }
        return charge_id

    # -- serving ---------------------------------------------------------------------------

    def _application(self) -> web.Application:
        """Served by `start`, whose base URL is the package's api_base."""
        app = web.Application()
        app.router.add_get("/v1/customers", self._list_customers)
        app.router.add_get("/v1/customers/search", self._search_customers)
        app.router.add_get("/v1/customers/{id}", self._customer)
        app.router.add_get("/v1/charges", self._list_charges)
        app.router.add_get("/v1/charges/{id}", self._charge)
        app.router.add_get("/v1/disputes", self._list_disputes)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        return app

    # -- handlers --------------------------------------------------------------------------

    async def _list_customers(self, request: web.Request) -> web.Response:
        def answer() -> web.Response:
            email = request.query.get("email")
            found = [c for c in self.customers.values() if email is None or c["email"] == email]
            return self._page(request, "/v1/customers", found)

        return self._guarded(request, "/v1/customers", answer)

    async def _search_customers(self, request: web.Request) -> web.Response:
        def answer() -> web.Response:
            query = request.query.get("query", "").strip()
            if not (query.startswith("email:'") and query.endswith("'") and len(query) > 8):
                return _error(400, "parameter_invalid_string", f"Invalid query: {query}", "query")
            wanted = query[len("email:'") : -1].replace("\\'", "'").strip().lower()
            found = [
                c for c in self.customers.values() if (c["email"] or "").strip().lower() == wanted
            ]
            return self._search_page(request, found)

        return self._guarded(request, "/v1/customers/search", answer, search=True)

    async def _customer(self, request: web.Request) -> web.Response:
        def answer() -> web.Response:
            customer = self.customers.get(request.match_info["id"])
            if customer is None:
                return _missing("customer", request.match_info["id"])
            return web.json_response(customer)

        return self._guarded(request, "/v1/customers/{id}", answer)

    async def _list_charges(self, request: web.Request) -> web.Response:
        def answer() -> web.Response:
            query = request.query
            customer = query.get("customer")
            since = int(query.get("created[gte]", 0))
            until = int(query.get("created[lte]", 2**62))
            found = [
                charge
                for charge in self.charges.values()
                if (customer is None or charge["customer"] == customer)
                and since <= charge["created"] <= until
            ]
            return self._page(request, "/v1/charges", found)

        return self._guarded(request, "/v1/charges", answer)

    async def _charge(self, request: web.Request) -> web.Response:
        def answer() -> web.Response:
            charge = self.charges.get(request.match_info["id"])
            if charge is None:
                return _missing("charge", request.match_info["id"])
            return web.json_response(charge)

        return self._guarded(request, "/v1/charges/{id}", answer)

    async def _list_disputes(self, request: web.Request) -> web.Response:
        def answer() -> web.Response:
            charge = request.query.get("charge")
            found = [d for d in self.disputes.values() if charge is None or d["charge"] == charge]
            return self._page(request, "/v1/disputes", found)

        return self._guarded(request, "/v1/disputes", answer)

    async def _unknown(self, request: web.Request) -> web.Response:
        return _error(404, None, f"Unrecognized request URL ({request.method}: {request.path}).")

    # -- shared ----------------------------------------------------------------------------

    def _guarded(
        self,
        request: web.Request,
        path: str,
        answer: Callable[[], web.Response],
        search: bool = False,
    ) -> web.Response:
        """Authentication, rate limits and injected failures, then `answer`."""
        self.requests[path] += 1
        response = self._refusal(request, search) or answer()
        self.outcomes[response.status] += 1
        return response

    def _refusal(self, request: web.Request, search: bool) -> web.Response | None:
        config = self.config
        key = _api_key(request.headers.get("Authorization", ""))
        if key is None:
            return _error(
                401,
                None,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth "
                "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        if key != config.api_key:
            shown = f"{key[:8]}{'*' * 12}{key[-4:]}" if len(key) > 12 else "****"
            return _error(401, "api_key_invalid", f"Invalid API Key provided: {shown}")
        now = time.monotonic()
        limits = [("all", config.rate)] + ([("search", config.search_rate)] if search else [])
        if any(self._over(name, limit, now) for name, limit in limits if limit is not None):
            return _rate_limited()
        for name, limit in limits:
            if limit is not None:
                self._windows[name].append(now)
        draw = self._rng.random()
        for status, share in config.error_rates.items():
            if draw < share:
                return (
                    _rate_limited() if status == 429 else _error(status, None, "An error occurred.")
                )
            draw -= share
        return None

    def _over(self, name: str, limit: int, now: float) -> bool:
        window = self._windows[name]
        while window and window[0] <= now - 1.0:
            window.popleft()
        return len(window) >= limit

    def _page(self, request: web.Request, url: str, objects: Iterable[JSONObject]) -> web.Response:
        limit = _limit(request)
        if limit is None:
            return _error(400, "parameter_invalid_integer", "Invalid integer: limit", "limit")
        newest = sorted(objects, key=lambda item: (item["created"], item["id"]), reverse=True)
        after = request.query.get("starting_after")
        if after is not None:
            ids = [item["id"] for item in newest]
            if after not in ids:
                return _missing("object", after, "starting_after")
            newest = newest[ids.index(after) + 1 :]
        page = {
            "object": "list",
            "url": url,
            "has_more": len(newest) > limit,
            "data": newest[:limit],
        }
        return web.json_response(page)

    def _search_page(self, request: web.Request, objects: list[JSONObject]) -> web.Response:
        limit = _limit(request)
        if limit is None:
            return _error(400, "parameter_invalid_integer", "Invalid integer: limit", "limit")
        newest = sorted(objects, key=lambda item: (item["created"], item["id"]), reverse=True)
        start = int(request.query.get("page", "0") or 0)
        more = len(newest) > start + limit
        return web.json_response(
            {
                "object": "search_result",
                "url": "/v1/customers/search",
                "has_more": more,
                "next_page": str(start + limit) if more else None,
                "data": newest[start : start + limit],
            }
        )


def _api_key(authorization: str) -> str | None:
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(credentials).decode().partition(":")[0]
        except ValueError:
            return None
        return user or None
    return None


def _limit(request: web.Request) -> int | None:
    try:
        limit = int(request.query.get("limit", "10"))
    except ValueError:
        return None
    return limit if 1 <= limit <= 100 else None


def _error(status: int, code: str | None, message: str, param: str | None = None) -> web.Response:
    error: JSONObject = {"type": "invalid_request_error", "message": message}
    if status >= 500:
        error["type"] = "api_error"
    if code is not None:
        error["code"] = code
        error["doc_url"] = f"{_DOCS}/{code.replace('_', '-')}"
    if param is not None:
        error["param"] = param
    return web.json_response({"error": error}, status=status)


def _missing(kind: str, object_id: str, param: str = "id") -> web.Response:
    return _error(404, "resource_missing", f"No such {kind}: '{object_id}'", param)


def _rate_limited() -> web.Response:
    return _error(
        429,
        "rate_limit",
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
    )
