"""Transactions built from values already checked, without validating them again."""

import inspect
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError
from tests.sources.vendor import assert_valid

from supporter.domain.models import Transaction, TransactionType
from supporter.sources.typed import typed_transaction

VALUES = {
    "transaction_id": "ch_1",
    "customer_id": "cus_1",
    "amount": Decimal("12.50"),
    "currency": "EUR",
    "status": "succeeded",
    "created_at": datetime(2024, 1, 18, 10, 35, tzinfo=UTC),
    "type": TransactionType.REFUND,
    "description": "Pro plan",
    "card_last4": "4242",
    "customer_email": "a@example.com",
    "amount_refunded": Decimal("2.00"),
    "dispute_status": "needs_response",
    "disputed_amount": Decimal("12.50"),
    "references": ("pi_1", "INV-7"),
}


def test_every_field_of_the_model_is_a_parameter() -> None:
    """A field added to the model without adding it here would be missing from records."""
    assert list(inspect.signature(typed_transaction).parameters) == list(Transaction.model_fields)


def test_the_record_is_the_one_validation_gives() -> None:
    built = typed_transaction(**VALUES)  # type: ignore[arg-type]

    assert built == Transaction(**VALUES)  # type: ignore[arg-type]
    assert built.model_dump_json() == Transaction(**VALUES).model_dump_json()  # type: ignore[arg-type]
    assert hash(built) == hash(Transaction(**VALUES))  # type: ignore[arg-type]
    assert_valid(built)


def test_defaults_are_the_models() -> None:
    required = {name: VALUES[name] for name in list(VALUES)[:6]}

    assert typed_transaction(**required) == Transaction(**required)  # type: ignore[arg-type]


def test_the_record_stays_frozen() -> None:
    built = typed_transaction(**VALUES)  # type: ignore[arg-type]

    with pytest.raises(ValidationError, match="frozen"):
        built.amount = Decimal(1)  # type: ignore[misc]
    assert built.model_copy(update={"status": "refunded"}).status == "refunded"
