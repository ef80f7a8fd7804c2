"""The analyze step: facts from code first, then the model's classification."""

from __future__ import annotations

from collections.abc import Sequence

from supporter.analysis.grounding import compute_facts
from supporter.domain.errors import PermanentError
from supporter.domain.keys import Quoted, matched_by
from supporter.domain.models import (
    Analysis,
    RelatedTransaction,
    Ticket,
    Transaction,
    TransactionFacts,
)
from supporter.llm.base import AnalysisRequest, Category, ModelProvider, ModelResponse


class Analyzer:
    def __init__(self, provider: ModelProvider, taxonomy: Sequence[Category]) -> None:
        self._provider = provider
        self._taxonomy = list(taxonomy)
        self._names = {category.name for category in taxonomy}

    async def analyze(
        self, ticket: Ticket, transactions: Sequence[Transaction]
    ) -> tuple[TransactionFacts, ModelResponse[Analysis]]:
        facts = compute_facts(ticket, transactions)
        request = AnalysisRequest(
            ticket=ticket, transactions=list(transactions), facts=facts, taxonomy=self._taxonomy
        )
        response = await self._provider.analyze(request)
        if response.value.category not in self._names:
            raise PermanentError(
                f"{response.provider} answered category {response.value.category!r}, "
                "which is not in the taxonomy"
            )
        known = {transaction.transaction_id: transaction for transaction in transactions}
        # A model may invent ids; keep only the customer's real ones.
        related = [i for i in response.value.related_transaction_ids if i in known]
        quoted = Quoted.in_ticket(ticket)
        joined = [
            RelatedTransaction(transaction_id=i, matched_by=matched_by(ticket, known[i], quoted))
            for i in related
        ]
        value = response.value.model_copy(
            update={"related_transaction_ids": related, "related_transactions": joined}
        )
        return facts, response.model_copy(update={"value": value})
