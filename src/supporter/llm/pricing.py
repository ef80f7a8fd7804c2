"""What model calls cost, from token usage and a per-model price table.

Prices are USD per million tokens, with cached input tokens priced on their
own (prompt caching halves them for GPT-4o). An unknown model has no cost
(None) rather than a cost of 0, so a report never shows a run as free when
it simply does not know.

A table in TOML looks like::

    [prices."gpt-4o"]
    input = 2.50
    cached_input = 1.25
    output = 10.00
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Final

from supporter.domain.models import Usage

__all__ = ["DEFAULT_PRICES", "ModelPrice", "PriceTable"]

_PER_TOKENS: Final = Decimal(1_000_000)
# Dated snapshots ("gpt-4o-2024-08-06") cost what their alias costs.
_SNAPSHOT_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per 1M tokens."""

    input: Decimal
    cached_input: Decimal
    output: Decimal

    def __post_init__(self) -> None:
        for name in ("input", "cached_input", "output"):
            if getattr(self, name) < 0:
                raise ValueError(f"price {name} must not be negative")


DEFAULT_PRICES: Final[Mapping[str, ModelPrice]] = {
    "gpt-4o": ModelPrice(Decimal("2.50"), Decimal("1.25"), Decimal("10.00")),
    "gpt-4o-mini": ModelPrice(Decimal("0.15"), Decimal("0.075"), Decimal("0.60")),
}


class PriceTable:
    """Prices by model name; `overrides` replace or add to the defaults."""

    def __init__(self, overrides: Mapping[str, ModelPrice] | None = None) -> None:
        self._prices: dict[str, ModelPrice] = {**DEFAULT_PRICES, **(overrides or {})}

    @classmethod
    def from_mapping(cls, table: Mapping[str, Mapping[str, object]]) -> PriceTable:
        """From `{model: {"input": 2.5, "cached_input": 1.25, "output": 10}}` (e.g. parsed TOML).

        `cached_input` defaults to `input` when a provider has no cache discount.
        """
        overrides: dict[str, ModelPrice] = {}
        for model, entry in table.items():
            unknown = set(entry) - {"input", "cached_input", "output"}
            if unknown:
                raise ValueError(f"price of {model!r}: unknown keys {sorted(unknown)}")
            if "input" not in entry or "output" not in entry:
                raise ValueError(f"price of {model!r} needs input and output (USD per 1M tokens)")
            input_price = _decimal(model, "input", entry["input"])
            cached = entry.get("cached_input", input_price)
            overrides[model] = ModelPrice(
                input=input_price,
                cached_input=_decimal(model, "cached_input", cached),
                output=_decimal(model, "output", entry["output"]),
            )
        return cls(overrides)

    @classmethod
    def from_toml(cls, path: Path, table: str = "prices") -> PriceTable:
        """From the `[prices."<model>"]` tables of a TOML file (defaults when it has none)."""
        with path.open("rb") as file:
            document = tomllib.load(file)
        section = document.get(table, {})
        if not isinstance(section, dict):
            raise ValueError(f"{path}: [{table}] must be a table of models")
        return cls.from_mapping(section)

    def price(self, model: str) -> ModelPrice | None:
        found = self._prices.get(model)
        if found is None:
            found = self._prices.get(_SNAPSHOT_SUFFIX.sub("", model))
        return found

    def cost(self, model: str, usage: Usage) -> Decimal | None:
        """USD for `usage` on `model`; None when the model's price is unknown.

        `prompt_tokens` includes the cached ones (as OpenAI reports it), which are
        charged at the cached rate instead.
        """
        price = self.price(model)
        if price is None:
            return None
        cached = min(usage.cached_tokens, usage.prompt_tokens)
        uncached = usage.prompt_tokens - cached
        total = (
            uncached * price.input
            + cached * price.cached_input
            + usage.completion_tokens * price.output
        )
        return total / _PER_TOKENS


def _decimal(model: str, key: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"price {key} of {model!r} must be a number")
    try:
        # Through str so 2.5 (a float from TOML) becomes exactly Decimal("2.5").
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"price {key} of {model!r} must be a number, not {value!r}") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"price {key} of {model!r} must be a non-negative number")
    return number
