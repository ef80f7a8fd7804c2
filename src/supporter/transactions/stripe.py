"""A transaction index that asks Stripe's API, when a ticket is analysed, for the customer's
payments: `--transactions stripe://` with STRIPE_API_KEY.

What it asks (official `stripe` package, async methods, no retries of its own)
    The customer by id (a ticket whose customer id is Stripe's ``cus_…``) or by e-mail
    (``GET /v1/customers/search`` with ``email:'…'``; https://docs.stripe.com/api/customers/search),
    then each customer's charges (``GET /v1/charges?customer=…``, newest first, 100 a page,
    the next page ``starting_after`` the last while ``has_more``, stopping at the oldest
    charge the window needs; https://docs.stripe.com/api/charges/list and
    https://docs.stripe.com/api/pagination). A charge records whether it is ``disputed``;
    the disputes of those that are come from ``GET /v1/disputes?charge=…``
    (https://docs.stripe.com/api/disputes/list). A quoted charge id is fetched by id.

What a charge becomes (the facts of Stripe's payments export)
    The charge id, the amount in major units (``amount`` is in the currency's minor unit:
    cents, but whole yen, and thousandths of a dinar; https://docs.stripe.com/currencies),
    ``refunded`` as the status, ``amount_refunded``, the newest dispute's status and
    amount, the customer's e-mail, the card's last four digits, and as references the
    payment intent, the invoice and the metadata values. Descriptions are card-masked.

Caching and pacing
    Each customer's charges are kept for `cache_seconds` (and an e-mail's customers as
    long), so the tickets of one customer cost one set of requests; lookups of the same
    customer at the same time share one. Requests are spaced evenly at `rate` per second:
    Stripe allows 100 per second in live mode and 25 in a sandbox, 20 for search
    (https://docs.stripe.com/rate-limits), so the default, 20, never meets a limit in
    either. A 429 (or a 5xx, or a lost connection) pauses every caller with exponential
    backoff and jitter, as that page advises, honouring ``Retry-After`` and
    ``Stripe-Should-Retry: false`` if sent; after `max_attempts` tries the lookup raises
    `TransientError`. A refused key raises `StripeKeyError` (`check` finds it first).
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import stripe

from supporter.domain.errors import SupporterError, TransientError
from supporter.domain.masking import mask_card_numbers
from supporter.domain.models import Transaction, TransactionType

__all__ = ["StripeKeyError", "StripeTransactionIndex", "major_units", "minor_units"]

# https://docs.stripe.com/currencies#zero-decimal and #three-decimal
_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV"}
    | {"XAF", "XOF", "XPF"}
)
_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
_PAGE = 100
_CACHED = 10_000  # customers (and e-mails) kept at most; the oldest go first
_T = TypeVar("_T")


class StripeKeyError(SupporterError):
    """Stripe refused the API key (401) or its permissions (403): nothing will work."""


def major_units(amount: int, currency: str) -> Decimal:
    """Stripe's minor-unit `amount` in the currency's major unit: 4999 usd -> 49.99."""
    return Decimal(amount).scaleb(-_exponent(currency))


def minor_units(amount: Decimal, currency: str) -> int:
    """The other way: 49.99 usd -> 4999 (what Stripe's API takes and gives)."""
    return int(amount.scaleb(_exponent(currency)))


def _exponent(currency: str) -> int:
    code = currency.upper()
    return 0 if code in _ZERO_DECIMAL else 3 if code in _THREE_DECIMAL else 2


@dataclass(frozen=True)
class _Charges:
    fetched: float
    since: datetime  # every charge from this moment on is here
    transactions: list[Transaction]


class StripeTransactionIndex:
    """The transaction-index port on Stripe's API (see the module docstring)."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        rate: float = 20.0,
        cache_seconds: float = 300.0,
        max_attempts: int = 5,
        timeout: float = 30.0,
    ) -> None:
        if rate <= 0:
            raise ValueError("the Stripe request rate must be positive")
        self._http = stripe.HTTPXClient(timeout=timeout)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": base_url} if base_url else None,
            max_network_retries=0,  # one retry policy: ours, below
            http_client=self._http,
        )
        self._pacer = _Pacer(rate)
        self._cache_seconds = cache_seconds
        self._max_attempts = max_attempts
        self._charges: collections.OrderedDict[str, _Charges] = collections.OrderedDict()
        self._emails: collections.OrderedDict[str, tuple[float, list[tuple[str, str | None]]]] = (
            collections.OrderedDict()
        )
        self._in_flight: dict[str, asyncio.Task[Any]] = {}
        self.requests = 0

    async def check(self) -> None:
        """One small request: raises `StripeKeyError` for a refused key, TransientError
        when Stripe cannot be reached."""
        await self._call(lambda: self._client.v1.customers.list_async(params={"limit": 1}))

    async def recent(
        self,
        customer_id: str | None,
        *,
        email: str | None = None,
        until: datetime,
        days: int,
        limit: int,
    ) -> list[Transaction]:
        since = until - timedelta(days=days)
        found: list[Transaction] = []
        # Not a Stripe customer id: the e-mail may still find them.
        if customer_id is not None and customer_id.startswith("cus_"):
            found += await self._customer_charges(customer_id, None, since)
        if email is not None:
            for other_id, recorded in await self._customers_by_email(email):
                found += await self._customer_charges(other_id, recorded, since)
        return _window(found, since, until, limit)

    async def referenced(
        self, quoted: Collection[str], *, until: datetime, limit: int
    ) -> list[Transaction]:
        found: list[Transaction] = []
        for charge_id in sorted({text for text in quoted if text.startswith(("ch_", "py_"))}):
            transaction = await self._charge(charge_id)
            if transaction is not None and transaction.created_at <= until:
                found.append(transaction)
        return _window(found, datetime.min.replace(tzinfo=UTC), until, limit)

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]

    # -- lookups, cached ---------------------------------------------------------------------

    async def _customers_by_email(self, email: str) -> list[tuple[str, str | None]]:
        """(id, e-mail as Stripe records it) of each customer with the e-mail `email`."""
        cached = self._emails.get(email)
        if cached is not None and time.monotonic() - cached[0] < self._cache_seconds:
            return cached[1]
        ids = await self._once(f"email:{email}", lambda: self._search_customers(email))
        _remember(self._emails, email, (time.monotonic(), ids))
        return ids

    async def _customer_charges(
        self, customer_id: str, email: str | None, since: datetime
    ) -> list[Transaction]:
        cached = self._charges.get(customer_id)
        fresh = cached is not None and time.monotonic() - cached.fetched < self._cache_seconds
        if cached is not None and fresh and cached.since <= since:
            return cached.transactions
        entry = await self._once(
            f"charges:{customer_id}", lambda: self._fetch_charges(customer_id, email, since)
        )
        _remember(self._charges, customer_id, entry)
        return entry.transactions

    async def _once(self, key: str, fetch: Callable[[], Awaitable[_T]]) -> _T:
        """One fetch per key at a time: concurrent lookups of a customer share it."""
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.ensure_future(fetch())
            self._in_flight[key] = task
            task.add_done_callback(lambda _: self._in_flight.pop(key, None))
        result: _T = await asyncio.shield(task)
        return result

    # -- requests ----------------------------------------------------------------------------

    async def _search_customers(self, email: str) -> list[tuple[str, str | None]]:
        # https://docs.stripe.com/search#search-query-language: quotes inside are escaped.
        query = "email:'" + email.replace("\\", "\\\\").replace("'", "\\'") + "'"
        found: list[tuple[str, str | None]] = []
        page: str | None = None
        while True:
            params: dict[str, Any] = {"query": query, "limit": _PAGE}
            if page is not None:
                params["page"] = page
            result = await self._call(_bound(self._client.v1.customers.search_async, params))
            found += [(customer.id, customer.email) for customer in result.data]
            if not result.has_more or not result.next_page:
                return found
            page = result.next_page

    async def _fetch_charges(
        self, customer_id: str, email: str | None, since: datetime
    ) -> _Charges:
        fetched = time.monotonic()
        if email is None:
            customer = await self._call(
                lambda: self._client.v1.customers.retrieve_async(customer_id)
            )
            email = getattr(customer, "email", None)
        params: dict[str, Any] = {
            "customer": customer_id,
            "limit": _PAGE,
            "created": {"gte": int(since.timestamp())},
        }
        transactions: list[Transaction] = []
        while True:
            page = await self._call(_bound(self._client.v1.charges.list_async, dict(params)))
            for charge in page.data:
                transactions.append(await self._transaction(charge, customer_id, email))
            if not page.has_more or not page.data:
                return _Charges(fetched, since, transactions)
            params["starting_after"] = page.data[-1].id

    async def _charge(self, charge_id: str) -> Transaction | None:
        try:
            charge = await self._call(lambda: self._client.v1.charges.retrieve_async(charge_id))
        except _Missing:
            return None
        customer = charge.customer if isinstance(charge.customer, str) else None
        return await self._transaction(charge, customer or "", None)

    async def _transaction(
        self, charge: stripe.Charge, customer_id: str, email: str | None
    ) -> Transaction:
        dispute = None
        if charge.disputed:
            disputes = await self._call(
                lambda: self._client.v1.disputes.list_async(params={"charge": charge.id})
            )
            dispute = max(disputes.data, key=lambda item: item.created, default=None)
        return _from_charge(charge, customer_id, email, dispute)

    async def _call(self, request: Callable[[], Awaitable[_T]]) -> _T:
        """`request` paced, and tried again after 429s, 5xx and lost connections."""
        for attempt in range(1, self._max_attempts + 1):
            await self._pacer.turn()
            self.requests += 1
            try:
                return await request()
            except (stripe.AuthenticationError, stripe.PermissionError) as error:
                raise StripeKeyError(
                    f"Stripe refused the API key ({error.http_status}: {error.user_message}); "
                    "set STRIPE_API_KEY to a secret or restricted key that may read "
                    "customers, charges and disputes"
                ) from None
            except stripe.InvalidRequestError as error:
                if error.code == "resource_missing":
                    raise _Missing from None
                raise TransientError(f"Stripe: {error.user_message}") from None
            except (stripe.RateLimitError, stripe.APIError, stripe.APIConnectionError) as error:
                headers = {k.lower(): v for k, v in (error.headers or {}).items()}
                if headers.get("stripe-should-retry") == "false" or attempt == self._max_attempts:
                    raise TransientError(
                        f"Stripe did not answer after {attempt} tries: {error.user_message}"
                    ) from None
                self._pacer.pause(_backoff(attempt, headers.get("retry-after")))
        raise AssertionError("unreachable")


class _Missing(Exception):
    """The object asked for by id does not exist (404 resource_missing)."""


class _Pacer:
    """Request starts spaced evenly at `rate` per second; a pause delays every caller."""

    def __init__(self, rate: float) -> None:
        self._spacing = 1.0 / rate
        self._next = 0.0

    async def turn(self) -> None:
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + self._spacing
        if start > now:
            await asyncio.sleep(start - now)

    def pause(self, seconds: float) -> None:
        self._next = max(self._next, time.monotonic() + seconds)


def _backoff(attempt: int, retry_after: str | None) -> float:
    try:
        if retry_after is not None:
            return max(0.0, float(retry_after))
    except ValueError:
        pass
    # Exponential with full jitter from 0.5 s, at most 8 s.
    return random.uniform(0.5, min(8.0, 0.5 * 2**attempt))


def _bound(
    method: Callable[..., Awaitable[_T]], params: dict[str, Any]
) -> Callable[[], Awaitable[_T]]:
    """`method(params=params)` to be called later, with these params (a loop's copy)."""

    def call() -> Awaitable[_T]:
        return method(params=params)

    return call


def _remember(cache: collections.OrderedDict[str, Any], key: str, value: Any) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _CACHED:
        cache.popitem(last=False)


def _window(
    transactions: list[Transaction], since: datetime, until: datetime, limit: int
) -> list[Transaction]:
    inside = {t.transaction_id: t for t in transactions if since <= t.created_at <= until}
    newest = sorted(inside.values(), key=lambda t: (t.created_at, t.transaction_id), reverse=True)
    return newest[:limit]


def _from_charge(
    charge: stripe.Charge, customer_id: str, email: str | None, dispute: stripe.Dispute | None
) -> Transaction:
    currency = charge.currency
    card = charge.payment_method_details.card if charge.payment_method_details else None
    details_email = charge.billing_details.email if charge.billing_details else None
    references = [
        value
        for value in (_id_of(charge.payment_intent), _id_of(getattr(charge, "invoice", None)))
        if value
    ]
    metadata = charge.metadata.to_dict() if charge.metadata else {}
    references += [str(value) for value in metadata.values() if value]
    return Transaction(
        transaction_id=charge.id,
        customer_id=customer_id,
        amount=major_units(charge.amount, currency),
        currency=currency.upper(),
        status="refunded" if charge.refunded else charge.status,
        created_at=datetime.fromtimestamp(charge.created, UTC),
        type=TransactionType.CHARGE,
        description=mask_card_numbers(charge.description) if charge.description else None,
        card_last4=card.last4 if card is not None and card.last4 else None,
        customer_email=email or details_email or charge.receipt_email,
        amount_refunded=(
            major_units(charge.amount_refunded, currency) if charge.amount_refunded else None
        ),
        dispute_status=dispute.status if dispute is not None else None,
        disputed_amount=major_units(dispute.amount, currency) if dispute is not None else None,
        references=tuple(references),
    )


def _id_of(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(getattr(value, "id", "")) or None
