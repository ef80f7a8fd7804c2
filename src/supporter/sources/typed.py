"""A `Transaction` built from values a reader has already checked and typed.

The payment exports' row parsers check every value as they read it (limits,
undecodable bytes, amounts, dates, ids) and give it its final type (`Decimal`,
an aware UTC `datetime`, `TransactionType`, a tuple of references). Validating
those values again in the pydantic model cost about 2 µs a row, a quarter of
reading one; pydantic's own `model_construct` is slower still (a Python loop
over the fields, looking for aliases and defaults). So the record is built the
way `model_construct` builds it, in one step. The keyword arguments are typed,
so mypy holds every caller to the model's types, and the tests check that
validating a record built here gives the same record (tests/sources/vendor.py).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from supporter.domain.models import Transaction, TransactionType

__all__ = ["typed_transaction"]

_new = object.__new__
_set = object.__setattr__  # the model is frozen: its own __setattr__ refuses
_EVERY_FIELD = set(Transaction.model_fields)


def typed_transaction(
    *,
    transaction_id: str,
    customer_id: str,
    amount: Decimal,
    currency: str,
    status: str,
    created_at: datetime,
    type: TransactionType = TransactionType.CHARGE,
    description: str | None = None,
    card_last4: str | None = None,
    customer_email: str | None = None,
    amount_refunded: Decimal | None = None,
    dispute_status: str | None = None,
    disputed_amount: Decimal | None = None,
    references: tuple[str, ...] = (),
) -> Transaction:
    """The transaction of these values, not validated again (see the module docstring)."""
    record = _new(Transaction)
    _set(
        record,
        "__dict__",
        {
            "transaction_id": transaction_id,
            "customer_id": customer_id,
            "amount": amount,
            "currency": currency,
            "status": status,
            "created_at": created_at,
            "type": type,
            "description": description,
            "card_last4": card_last4,
            "customer_email": customer_email,
            "amount_refunded": amount_refunded,
            "dispute_status": dispute_status,
            "disputed_amount": disputed_amount,
            "references": references,
        },
    )
    # Its own set: `model_copy(update=...)` adds to the copy's.
    _set(record, "__pydantic_fields_set__", _EVERY_FIELD.copy())
    _set(record, "__pydantic_extra__", None)
    _set(record, "__pydantic_private__", None)
    return record
