"""Results as a flat CSV, one row per ticket, for spreadsheets."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from supporter.domain.models import TicketResult

COLUMNS = [
    "ticket_id",
    "customer_id",
    "status",
    "category",
    "priority",
    "sentiment",
    "language",
    "summary",
    "confidence",
    "needs_human",
    "related_transaction_ids",
    "reply_body",
    "cited_transaction_ids",
    "cited_articles",
    "grounding_passed",
    "grounding_problems",
    "provider",
    "attempts",
    "error",
    # Last, so the columns before it keep their places: "ch_1=email ch_2=customer_id".
    "related_matched_by",
]


def flatten(result: TicketResult) -> dict[str, str]:
    analysis, reply, grounding = result.analysis, result.reply, result.grounding
    return {
        "ticket_id": result.ticket_id,
        "customer_id": result.customer_id,
        "status": result.status,
        "category": analysis.category if analysis else "",
        "priority": analysis.priority.value if analysis else "",
        "sentiment": analysis.sentiment.value if analysis else "",
        "language": analysis.language if analysis else "",
        "summary": analysis.summary if analysis else "",
        "confidence": f"{analysis.confidence:.3f}" if analysis else "",
        "needs_human": str(analysis.needs_human).lower() if analysis else "",
        "related_transaction_ids": " ".join(analysis.related_transaction_ids) if analysis else "",
        "reply_body": reply.body if reply else "",
        "cited_transaction_ids": " ".join(reply.cited_transaction_ids) if reply else "",
        "cited_articles": " ".join(reply.cited_articles) if reply else "",
        "grounding_passed": str(grounding.passed).lower() if grounding else "",
        "grounding_problems": "; ".join(grounding.problems) if grounding else "",
        "provider": result.provider or "",
        "attempts": str(result.attempts),
        "error": result.error or "",
        "related_matched_by": " ".join(
            f"{related.transaction_id}={related.matched_by.value}"
            for related in (analysis.related_transactions if analysis else [])
        ),
    }


class CsvResultSink:
    def __init__(self, path: Path, *, append: bool = False) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not append or not path.exists() or path.stat().st_size == 0
        self._file = path.open("a" if append else "w", encoding="utf-8", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=COLUMNS)
        if fresh:
            self._writer.writeheader()

    def write(self, results: Sequence[TicketResult]) -> None:
        self._writer.writerows(flatten(result) for result in results)
        self._file.flush()

    def close(self) -> None:
        self._file.close()
