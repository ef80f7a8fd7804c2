"""The cascade: the local model where it is sure enough, the paid model elsewhere."""

from __future__ import annotations

import pytest
from tests.llm.stubs import PaidModel, StubClassifier, analysis_request, reply_request

from supporter.llm.base import Category
from supporter.llm.cascade import LOCAL_ANSWER, CascadeProvider
from supporter.llm.local import LocalProvider
from supporter.llm.offline import OfflineProvider

LABELS = ["billing", "refund"]
PROBABILITIES = {
    "sure": [0.95, 0.05],
    "exactly at the threshold": [0.1, 0.9],
    "just below": [0.8999, 0.1001],
    "unsure": [0.6, 0.4],
}


def cascade(threshold: float = 0.9) -> tuple[CascadeProvider, PaidModel]:
    local = LocalProvider(
        StubClassifier(LABELS, PROBABILITIES),
        [Category(name=label) for label in LABELS],
    )
    paid = PaidModel("refund")
    return CascadeProvider(local, paid, threshold), paid


@pytest.mark.parametrize(
    ("text", "answered_by", "category"),
    [
        ("sure", LOCAL_ANSWER, "billing"),
        ("exactly at the threshold", LOCAL_ANSWER, "refund"),
        ("just below", "cascade:paid:model", "refund"),
        ("unsure", "cascade:paid:model", "refund"),
    ],
)
async def test_the_local_model_answers_where_its_confidence_reaches_the_threshold(
    text: str, answered_by: str, category: str
) -> None:
    provider, paid = cascade(threshold=0.9)
    request = analysis_request(text, LABELS)
    analysis = await provider.analyze(request)
    assert analysis.provider == answered_by
    assert analysis.value.category == category
    reply = await provider.draft_reply(reply_request(request, analysis.value))
    assert reply.provider == answered_by
    paid_calls = 0 if answered_by == LOCAL_ANSWER else 1
    assert (len(paid.analyses), len(paid.replies)) == (paid_calls, paid_calls)
    assert (analysis.usage.cost_usd > 0) == bool(paid_calls)


async def test_the_reply_follows_the_analysis_without_remembering_it() -> None:
    # A new cascade (another process, say) routes the reply as the first routed the analysis.
    first, _ = cascade()
    second, paid = cascade()
    for text in PROBABILITIES:
        request = analysis_request(text, LABELS)
        analysis = await first.analyze(request)
        reply = await second.draft_reply(reply_request(request, analysis.value))
        assert reply.provider == analysis.provider
    assert len(paid.analyses) == 0


@pytest.mark.parametrize(("threshold", "paid_calls"), [(0.0, 0), (0.5, 0), (0.95, 3), (1.0, 4)])
async def test_the_threshold_sets_how_much_is_paid_for(threshold: float, paid_calls: int) -> None:
    provider, paid = cascade(threshold)
    for text in PROBABILITIES:
        await provider.analyze(analysis_request(text, LABELS))
    assert len(paid.analyses) == paid_calls


async def test_any_provider_can_be_the_fallback_tier() -> None:
    local = LocalProvider(
        StubClassifier(LABELS, PROBABILITIES),
        [Category(name=label) for label in LABELS],
    )
    rules = OfflineProvider([Category(name=label) for label in LABELS])
    provider = CascadeProvider(local, rules, 0.9)
    answer = await provider.analyze(analysis_request("unsure", LABELS))
    assert answer.provider == "cascade:offline"


async def test_version_and_closing() -> None:
    provider, paid = cascade(0.8)
    assert provider.name == "cascade"
    assert "0.8" in provider.version
    assert "stub-1" in provider.version
    assert "paid-1" in provider.version
    assert cascade(0.9)[0].version != provider.version
    await provider.aclose()
    assert paid.closed


def test_a_threshold_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        cascade(1.5)
