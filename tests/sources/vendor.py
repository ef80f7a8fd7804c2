"""Reading a fixture export the way a run does: recognised, then read whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from supporter.domain.models import Reject, Transaction
from supporter.sources.formats import ReadOptions
from supporter.sources.registry import open_transactions
from supporter.sources.tabular import VendorTransactionSource

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Read:
    format: str
    why: str
    transactions: dict[str, Transaction]
    rejects: list[Reject]
    skipped: dict[str, int]


def assert_valid(transaction: Transaction) -> None:
    """A transaction a reader built without pydantic's validation is one validation would
    give: the same values, of the same types, its time in UTC."""
    again = Transaction.model_validate(transaction.model_dump())
    assert again == transaction
    for name in Transaction.model_fields:
        assert type(getattr(again, name)) is type(getattr(transaction, name)), name
    assert transaction.created_at.utcoffset() == timedelta(0)


async def read(path: Path | str, options: ReadOptions | None = None) -> Read:
    source, choice = open_transactions(FIXTURES / path, options=options)
    rejects: list[Reject] = []
    transactions = {tx.transaction_id: tx async for tx in source.transactions(rejects.append)}
    for transaction in transactions.values():
        assert_valid(transaction)
    skipped = dict(source.skipped) if isinstance(source, VendorTransactionSource) else {}
    return Read(choice.format.name, choice.why, transactions, rejects, skipped)
