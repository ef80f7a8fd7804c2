"""The local provider: a trained classifier behind the model port."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.classifier.labelled import LABELS, clear_examples
from tests.llm.stubs import StubClassifier, analysis_request, reply_request

from supporter.classifier.model import TextClassifier
from supporter.classifier.training import TrainingData, train
from supporter.domain.errors import PermanentError
from supporter.domain.models import Priority
from supporter.llm.base import Category
from supporter.llm.local import LocalProvider, ticket_text
from supporter.llm.offline.replies import compose_reply


@pytest.fixture(scope="module")
def classifier() -> TextClassifier:
    texts, labels = zip(*clear_examples(per_label=30), strict=True)
    return train(TrainingData(texts, labels))


def local(classifier: Any, labels: list[str] = LABELS) -> LocalProvider:
    return LocalProvider(classifier, [Category(name=label) for label in labels])


async def test_the_model_chooses_the_category_and_its_probability_is_the_confidence(
    classifier: TextClassifier,
) -> None:
    provider = local(classifier)
    request = analysis_request("I was charged twice for order 123, please help!", LABELS)
    response = await provider.analyze(request)

    analysis = response.value
    assert response.provider == "local"
    assert response.usage.prompt_tokens == 0
    assert analysis.category == "duplicate_charge"
    probabilities = classifier.probabilities([ticket_text(request.ticket)])[0]
    assert analysis.confidence == round(float(probabilities.max()), 4)
    # Around it, the offline rules: language, a summary naming the category, a priority.
    assert analysis.language == "en"
    assert analysis.summary.startswith("Duplicate charge")
    assert analysis.priority in set(Priority)


async def test_subject_and_body_are_read_together(classifier: TextClassifier) -> None:
    provider = local(classifier)
    request = analysis_request(
        "Please look into it.", LABELS, subject="Locked out, reset my password"
    )
    assert (await provider.analyze(request)).value.category == "account_access"


async def test_an_unsure_answer_asks_for_a_human() -> None:
    stub = StubClassifier(LABELS, {"hmm": [0.3, 0.3, 0.2, 0.2]})
    response = await local(stub).analyze(analysis_request("hmm", LABELS))
    assert response.value.confidence == 0.3
    assert response.value.needs_human


async def test_replies_come_from_the_offline_templates(classifier: TextClassifier) -> None:
    provider = local(classifier)
    request = analysis_request("I want a refund of my money back", LABELS)
    analysis = (await provider.analyze(request)).value
    reply = await provider.draft_reply(reply_request(request, analysis))
    assert reply.provider == "local"
    assert reply.value == compose_reply(reply_request(request, analysis))


async def test_only_the_taxonomy_s_labels_are_answered() -> None:
    stub = StubClassifier(["a", "b", "c"], {"text": [0.7, 0.2, 0.1]})
    provider = local(stub, ["a", "b", "c"])
    answer = await provider.analyze(analysis_request("text", ["b", "c", "unknown"]))
    assert (answer.value.category, answer.value.confidence) == ("b", 0.2)
    with pytest.raises(PermanentError, match="taxonomy"):
        await provider.analyze(analysis_request("text", ["x", "y"]))


async def test_tickets_asked_together_are_classified_in_few_batches() -> None:
    texts = [f"ticket {n}" for n in range(50)]
    stub = StubClassifier(["a", "b"], {text: [0.9, 0.1] for text in texts})
    provider = local(stub, ["a", "b"])
    answers = await asyncio.gather(
        *(provider.analyze(analysis_request(text, ["a", "b"])) for text in texts)
    )
    assert all(answer.value.category == "a" for answer in answers)
    assert sum(len(batch) for batch in stub.batches) == 50
    assert len(stub.batches) <= 2


async def test_a_model_failure_reaches_every_waiting_caller() -> None:
    class Broken(StubClassifier):
        def probabilities(self, texts: Any) -> Any:
            raise MemoryError("out of memory")

    provider = local(Broken(["a", "b"], {}), ["a", "b"])
    results = await asyncio.gather(
        *(provider.analyze(analysis_request(f"t{n}", ["a", "b"])) for n in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(result, MemoryError) for result in results)
    # And the provider still works for the next ticket.
    provider = local(StubClassifier(["a", "b"], {"ok": [0.4, 0.6]}), ["a", "b"])
    assert (await provider.analyze(analysis_request("ok", ["a", "b"]))).value.category == "b"


def test_the_version_names_the_model_and_the_rules(classifier: TextClassifier) -> None:
    provider = local(classifier)
    assert provider.version.startswith(classifier.version + "+offline-")
    assert classifier.metadata.model_id in provider.version
    assert local(classifier, LABELS[:2]).version != provider.version
