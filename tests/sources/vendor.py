"""Reading a fixture export the way a run does: recognised, then read whole."""

from __future__ import annotations

from dataclasses import dataclass
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


async def read(path: Path | str, options: ReadOptions | None = None) -> Read:
    source, choice = open_transactions(FIXTURES / path, options=options)
    rejects: list[Reject] = []
    transactions = {tx.transaction_id: tx async for tx in source.transactions(rejects.append)}
    skipped = dict(source.skipped) if isinstance(source, VendorTransactionSource) else {}
    return Read(choice.format.name, choice.why, transactions, rejects, skipped)
