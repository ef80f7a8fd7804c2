"""`supporter fake-stripe`: serve the Stripe API simulator, filled from our CSV files, to try
`--transactions stripe://` without a Stripe account."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supporter.cli.common import fail
from supporter.cli.fake_llm import parse_error_rates, serve_simulator
from supporter.cli.ui import console
from supporter.domain.models import Transaction, TransactionType
from supporter.sources.base import SourceError
from supporter.sources.csv import CsvTicketSource, CsvTransactionSource

# The simulator (aiohttp) and Stripe's SDK are imported when the command runs: every
# other command would pay for them at start-up.
if TYPE_CHECKING:
    from supporter.testing.fake_stripe import FakeStripe


def _test_key() -> str:
    from supporter.testing.fake_stripe import DEFAULT_API_KEY

    return DEFAULT_API_KEY


def fake_stripe(
    # First: a default computed when the command runs cannot follow the plain defaults.
    api_key: Annotated[
        str,
        typer.Option(
            default_factory=_test_key,
            help="The secret key clients must send (STRIPE_API_KEY).",
        ),
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0 = any free port).")
    ] = 12111,
    rate: Annotated[
        int | None,
        typer.Option(min=1, help="Requests per second before 429s (a sandbox allows 25)."),
    ] = 25,
    error_rate: Annotated[
        str | None, typer.Option(help="Injected errors as STATUS=SHARE pairs: '429=0.1,500=0.01'.")
    ] = None,
    tickets: Annotated[
        Path | None,
        typer.Option(help="Tickets CSV: each customer's e-mail (customer_email) comes from it."),
    ] = None,
    transactions: Annotated[
        Path | None,
        typer.Option(help="Transactions CSV: its charges become Stripe customers' charges."),
    ] = None,
) -> None:
    """Serve a simulated Stripe API (customers, search, charges, disputes) until Ctrl-C.

    With --transactions, each customer of the file becomes a Stripe customer (with the
    e-mail --tickets gives them) and each charge a Stripe charge of theirs; then
    `STRIPE_API_KEY=<key> supporter run --transactions stripe:// --stripe-base-url URL`.
    """
    from supporter.testing.fake_stripe import FakeStripe, FakeStripeConfig

    try:
        error_rates = parse_error_rates(error_rate)
    except typer.BadParameter as error:
        error.param_hint = "'--error-rate'"
        raise
    server = FakeStripe(FakeStripeConfig(api_key=api_key, rate=rate, error_rates=error_rates))
    try:
        customers, charges = asyncio.run(fill_simulator(server, tickets, transactions))
    except SourceError as error:
        fail(str(error))
    if transactions is not None:
        console.print(f"{customers:,} customers with {charges:,} charges loaded", highlight=False)
    asyncio.run(serve_simulator(server, host, port, "simulated Stripe API"))
    total = sum(server.outcomes.values())
    console.print(f"answered {total:,} requests: {dict(server.outcomes.most_common())}")


async def fill_simulator(
    server: FakeStripe, tickets: Path | None, transactions: Path | None
) -> tuple[int, int]:
    if transactions is None:
        return 0, 0
    emails: dict[str, str] = {}
    if tickets is not None:
        async for ticket in CsvTicketSource(tickets).tickets(lambda reject: None):
            if ticket.customer_email:
                emails.setdefault(ticket.customer_id, ticket.customer_email)
    stripe_ids: dict[str, str] = {}
    charges = 0
    async for transaction in CsvTransactionSource(transactions).transactions(lambda reject: None):
        if transaction.type is not TransactionType.CHARGE:
            continue  # refunds and disputes are facts of the charge in Stripe, not charges
        owner = transaction.customer_id
        if owner not in stripe_ids:
            stripe_ids[owner] = server.add_customer(emails.get(owner) or transaction.customer_email)
        _add_charge(server, stripe_ids[owner], transaction)
        charges += 1
    return len(stripe_ids), charges


def _add_charge(server: FakeStripe, customer: str, transaction: Transaction) -> None:
    from supporter.transactions.stripe import minor_units

    currency = transaction.currency.lower()
    refunded_amount = transaction.amount_refunded
    if refunded_amount is None and transaction.status == "refunded":
        refunded_amount = transaction.amount
    refunded = minor_units(refunded_amount or Decimal(0), currency)
    dispute = None
    if transaction.dispute_status is not None:
        disputed = transaction.disputed_amount or transaction.amount
        dispute = (transaction.dispute_status, minor_units(disputed, currency))
    server.add_charge(
        customer,
        minor_units(transaction.amount, currency),
        currency,
        created=int(transaction.created_at.timestamp()),
        dispute=dispute,
        status="succeeded" if transaction.status == "refunded" else transaction.status,
        refunded=transaction.status == "refunded",
        amount_refunded=refunded,
        description=transaction.description,
        payment_method_details={
            "type": "card",
            "card": {"brand": "visa", "last4": transaction.card_last4 or "4242"},
        },
    )
