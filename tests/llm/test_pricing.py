"""Prices per model and what a call's usage costs."""

from decimal import Decimal
from pathlib import Path

import pytest

from supporter.domain.models import Usage
from supporter.llm.catalog import ServiceTier
from supporter.llm.pricing import ModelPrice, PriceTable


def test_gpt_4o_cost_counts_cached_input_at_the_cached_rate() -> None:
    usage = Usage(prompt_tokens=2_000_000, cached_tokens=1_000_000, completion_tokens=100_000)
    # 1M uncached * 2.50 + 1M cached * 1.25 + 0.1M output * 10.00
    assert PriceTable().cost("gpt-4o", usage) == Decimal("4.75")


def test_gpt_4o_mini_defaults() -> None:
    usage = Usage(prompt_tokens=1_000_000, cached_tokens=0, completion_tokens=1_000_000)
    assert PriceTable().cost("gpt-4o-mini", usage) == Decimal("0.75")


def test_a_dated_snapshot_costs_what_its_alias_costs() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=500)
    table = PriceTable()
    assert table.cost("gpt-4o-2024-08-06", usage) == table.cost("gpt-4o", usage)
    assert table.cost("gpt-4o-mini-2024-07-18", usage) == table.cost("gpt-4o-mini", usage)


def test_an_unknown_model_has_no_cost_rather_than_zero() -> None:
    assert PriceTable().cost("llama3:8b", Usage(prompt_tokens=10)) is None
    assert PriceTable().price("gpt-4o-turbo-something") is None


def test_no_usage_costs_nothing() -> None:
    assert PriceTable().cost("gpt-4o", Usage()) == 0


def test_overrides_replace_and_add_to_the_defaults() -> None:
    table = PriceTable.from_mapping(
        {
            "gpt-4o": {"input": 2, "cached_input": "1", "output": 8.5},
            "local-model": {"input": 0, "output": 0},
        }
    )
    assert table.price("gpt-4o") == ModelPrice(Decimal(2), Decimal(1), Decimal("8.5"))
    assert table.price("gpt-4o-mini") is not None  # defaults stay
    assert table.cost("local-model", Usage(prompt_tokens=5, completion_tokens=5)) == 0


def test_cached_input_defaults_to_the_input_price() -> None:
    table = PriceTable.from_mapping({"other": {"input": 1.5, "output": 3}})
    assert table.price("other") == ModelPrice(Decimal("1.5"), Decimal("1.5"), Decimal(3))


def test_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "supporter.toml"
    path.write_text(
        'provider = "openai"\n[prices."gpt-4o"]\ninput = 2.50\ncached_input = 1.25\noutput = 9.99\n'
    )
    table = PriceTable.from_toml(path)
    assert table.price("gpt-4o") == ModelPrice(Decimal("2.5"), Decimal("1.25"), Decimal("9.99"))


def test_a_toml_file_without_prices_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "supporter.toml"
    path.write_text('provider = "openai"\n')
    assert PriceTable.from_toml(path).price("gpt-4o") == PriceTable().price("gpt-4o")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"input": 1}, "needs input and output"),
        ({"input": 1, "output": 1, "outptu": 2}, "unknown keys"),
        ({"input": "cheap", "output": 1}, "must be a number"),
        ({"input": -1, "output": 1}, "non-negative"),
        ({"input": True, "output": 1}, "must be a number"),
        ({"input": "NaN", "output": 1}, "non-negative"),
    ],
)
def test_bad_price_entries_say_what_is_wrong(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PriceTable.from_mapping({"m": entry})


def test_gpt_6_luna_bills_cache_writes_apart_and_reasoning_as_output() -> None:
    usage = Usage(
        prompt_tokens=3_000_000,
        cached_tokens=1_000_000,
        cache_write_tokens=1_000_000,
        completion_tokens=2_000_000,
        reasoning_tokens=1_500_000,
    )
    # 1M uncached * 0.10 + 1M cached * 0.01 + 1M written * 0.125 + 2M output * 0.50
    assert PriceTable().cost("gpt-6-luna", usage) == Decimal("1.235")


@pytest.mark.parametrize(
    ("tier", "expected"),
    [("standard", "0.60"), ("batch", "0.30"), ("flex", "0.30"), ("priority", "1.20")],
)
def test_each_service_tier_has_its_price(tier: ServiceTier, expected: str) -> None:
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000)
    assert PriceTable().cost("gpt-6-luna", usage, tier) == Decimal(expected)


def test_a_tier_a_model_is_not_offered_at_has_no_cost() -> None:
    # gpt-4o has no flex price: unknown, never guessed from another tier.
    assert PriceTable().cost("gpt-4o", Usage(prompt_tokens=10), "flex") is None


def test_a_price_override_keeps_the_other_tiers() -> None:
    table = PriceTable.from_mapping({"gpt-6-luna": {"input": 1, "output": 2}})
    usage = Usage(prompt_tokens=1_000_000)
    assert table.cost("gpt-6-luna", usage) == Decimal(1)
    assert table.cost("gpt-6-luna", usage, "batch") == Decimal("0.05")
