"""The Stripe transaction index through the official `stripe` package, against the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from supporter.domain.errors import TransientError
from supporter.domain.models import Ticket
from supporter.testing.fake_stripe import DEFAULT_API_KEY, FakeStripe, FakeStripeConfig
from supporter.transactions.base import TransactionWindow
from supporter.transactions.stripe import StripeKeyError, StripeTransactionIndex, major_units

NOW = datetime(2024, 5, 1, tzinfo=UTC)


def at(days_before: float) -> int:
    return int((NOW - timedelta(days=days_before)).timestamp())


@pytest.fixture
def server() -> FakeStripe:
    return FakeStripe(FakeStripeConfig(rate=None, search_rate=None))


@pytest.fixture
async def base_url(server: FakeStripe) -> AsyncIterator[str]:
    async with server as url:
        yield url


def index(base_url: str, **options: float) -> StripeTransactionIndex:
    return StripeTransactionIndex(DEFAULT_API_KEY, base_url=base_url, **options)  # type: ignore[arg-type]


async def test_a_customer_found_by_email_brings_the_facts_of_the_export(
    server: FakeStripe, base_url: str
) -> None:
    alice = server.add_customer("Alice.Martin@Example.com ")
    first = server.add_charge(alice, 4999, "usd", created=at(3), metadata={"order": "A-1001"})
    second = server.add_charge(
        alice,
        4999,
        "usd",
        created=at(2),
        amount_refunded=1500,
        description="Card 4111 1111 1111 1111 renewal",
    )
    yen = server.add_charge(alice, 5000, "jpy", created=at(1), refunded=True, amount_refunded=5000)
    dinar = server.add_charge(
        alice, 12345, "kwd", created=at(0.5), dispute=("needs_response", 12345)
    )
    server.add_charge(alice, 100, "usd", created=at(200))  # outside the window
    server.add_charge(server.add_customer("bob@example.com"), 999, "usd", created=at(1))

    lookup = index(base_url)
    found = await lookup.recent(
        None, email="alice.martin@example.com", until=NOW, days=90, limit=20
    )
    await lookup.aclose()

    assert [t.transaction_id for t in found] == [dinar, yen, second, first]
    by_id = {t.transaction_id: t for t in found}
    assert by_id[first].amount == Decimal("49.99")
    assert by_id[first].currency == "USD"
    assert by_id[first].customer_id == alice
    assert by_id[first].customer_email == "Alice.Martin@Example.com "
    assert by_id[first].card_last4 == "4242"
    assert by_id[first].created_at == datetime.fromtimestamp(at(3), UTC)
    assert "A-1001" in by_id[first].references
    assert any(reference.startswith("pi_") for reference in by_id[first].references)
    assert by_id[first].amount_refunded is None
    assert by_id[second].amount_refunded == Decimal("15.00")
    assert by_id[second].status == "succeeded"
    assert by_id[second].description == "Card **** 1111 renewal"
    assert by_id[yen].amount == Decimal(5000)
    assert by_id[yen].status == "refunded"
    assert by_id[dinar].amount == Decimal("12.345")
    assert by_id[dinar].dispute_status == "needs_response"
    assert by_id[dinar].disputed_amount == Decimal("12.345")


async def test_a_stripe_customer_id_is_looked_up_directly_and_others_cost_nothing(
    server: FakeStripe, base_url: str
) -> None:
    carol = server.add_customer("carol@example.com")
    charge = server.add_charge(carol, 2500, "eur", created=at(5))
    lookup = index(base_url)

    found = await lookup.recent(carol, until=NOW, days=90, limit=20)
    assert [t.transaction_id for t in found] == [charge]
    assert found[0].customer_email == "carol@example.com"
    assert await lookup.recent("C00042", until=NOW, days=90, limit=20) == []
    assert sum(server.requests.values()) == 2  # the customer, then the charges
    await lookup.aclose()


async def test_charges_beyond_one_page_are_followed_with_starting_after(
    server: FakeStripe, base_url: str
) -> None:
    dave = server.add_customer("dave@example.com")
    for number in range(250):
        server.add_charge(dave, 100 + number, "usd", created=at(80) + number * 60)
    lookup = index(base_url)

    found = await lookup.recent(dave, until=NOW, days=90, limit=300)
    await lookup.aclose()

    assert len(found) == 250
    assert len({t.transaction_id for t in found}) == 250
    assert found[0].amount == Decimal("3.49")  # the newest
    assert server.requests["/v1/charges"] == 3  # 100 + 100 + 50


async def test_a_customer_is_asked_once_while_cached_and_again_when_stale(
    server: FakeStripe, base_url: str
) -> None:
    erin = server.add_customer("erin@example.com")
    server.add_charge(erin, 700, "gbp", created=at(1))
    cached = index(base_url, cache_seconds=60)
    window = TransactionWindow()
    ticket = Ticket(
        ticket_id="T1",
        customer_id="C1",
        customer_email=" Erin@Example.com",
        subject="Charged",
        body="Why?",
        status="open",
        created_at=NOW,
    )
    results = await asyncio.gather(*(window.of(cached, ticket) for _ in range(5)))
    assert all(len(result) == 1 for result in results)
    await window.of(cached, ticket)
    assert server.requests["/v1/customers/search"] == 1
    assert server.requests["/v1/charges"] == 1
    await cached.aclose()

    stale = index(base_url, cache_seconds=0)
    await window.of(stale, ticket)
    await window.of(stale, ticket)
    assert server.requests["/v1/charges"] == 3
    await stale.aclose()


async def test_a_quoted_charge_id_is_fetched_and_an_unknown_one_is_nothing(
    server: FakeStripe, base_url: str
) -> None:
    charge = server.add_charge(server.add_customer("f@example.com"), 1000, "usd", created=at(400))
    lookup = index(base_url)
    found = await lookup.referenced([charge, "ch_doesnotexist1", "order-1234"], until=NOW, limit=5)
    await lookup.aclose()
    assert [t.transaction_id for t in found] == [charge]


async def test_429s_slow_every_caller_down_and_the_lookups_still_succeed(base_url: str) -> None:
    server = FakeStripe(FakeStripeConfig(rate=5, search_rate=None))
    customers = [server.add_customer(f"c{n}@example.com") for n in range(8)]
    for customer in customers:
        server.add_charge(customer, 1000, "usd", created=at(1))
    async with server as url:
        hasty = index(url, rate=100)  # far above the server's 5 per second
        found = await asyncio.gather(
            *(hasty.recent(c, until=NOW, days=90, limit=5) for c in customers)
        )
        await hasty.aclose()
    assert all(len(result) == 1 for result in found)
    assert server.outcomes[429] > 0
    assert server.outcomes[200] == 16


async def test_pacing_under_the_limit_meets_no_429(server: FakeStripe) -> None:
    server.config.rate = 10
    customers = [server.add_customer(f"p{n}@example.com") for n in range(6)]
    async with server as url:
        paced = index(url, rate=8)
        await asyncio.gather(*(paced.recent(c, until=NOW, days=90, limit=5) for c in customers))
        await paced.aclose()
    assert server.outcomes == {200: 12}


async def test_a_stripe_that_keeps_failing_is_a_transient_error_after_the_tries(
    server: FakeStripe, base_url: str
) -> None:
    customer = server.add_customer("g@example.com")
    server.config.error_rates = {500: 1.0}
    lookup = index(base_url, max_attempts=2)
    with pytest.raises(TransientError, match="after 2 tries"):
        await lookup.recent(customer, until=NOW, days=90, limit=5)
    await lookup.aclose()
    assert server.outcomes[500] == 2


async def test_a_refused_key_is_said_once_without_the_key(
    server: FakeStripe, base_url: str
) -> None:
    lookup = StripeTransactionIndex("sk_test_wrongkey1234567890", base_url=base_url)
    with pytest.raises(StripeKeyError) as raised:
        await lookup.check()
    await lookup.aclose()
    assert "STRIPE_API_KEY" in str(raised.value)
    assert "wrongkey1234567890" not in str(raised.value)
    assert server.outcomes == {401: 1}


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [(4999, "usd", "49.99"), (4999, "JPY", "4999"), (12345, "bhd", "12.345"), (5, "eur", "0.05")],
)
def test_minor_units_become_major_units_per_currency(
    amount: int, currency: str, expected: str
) -> None:
    assert major_units(amount, currency) == Decimal(expected)
