"""What model calls cost, from token usage and the model catalog's prices per service tier.

Prices are USD per million tokens (see `models.toml`). An unknown model, or a
tier its price is not known for, has no cost (None) rather than a cost of 0,
so a report never shows a run as free when it simply does not know.

The `[prices."<model>"]` tables of supporter.toml set a model's standard-tier
price over the catalog's::

    [prices."gpt-4o"]
    input = 2.50
    cached_input = 1.25
    output = 10.00
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Final

from supporter.domain.models import Usage
from supporter.llm.catalog import ModelCatalog, ModelPrice, ServiceTier, parse_price

__all__ = ["ModelPrice", "PriceTable"]

_PER_TOKENS: Final = Decimal(1_000_000)


class PriceTable:
    """Prices by model and service tier: the catalog's, with `overrides` (standard tier)."""

    def __init__(
        self,
        overrides: Mapping[str, ModelPrice] | None = None,
        *,
        catalog: ModelCatalog | None = None,
    ) -> None:
        base = catalog if catalog is not None else ModelCatalog.load()
        self.catalog = base.with_prices(overrides or {})

    @classmethod
    def from_mapping(
        cls, table: Mapping[str, Mapping[str, object]], *, catalog: ModelCatalog | None = None
    ) -> PriceTable:
        """From `{model: {"input": 2.5, "cached_input": 1.25, "output": 10}}` (e.g. parsed TOML)."""
        overrides = {
            model: parse_price(f"price of {model!r}", entry) for model, entry in table.items()
        }
        return cls(overrides, catalog=catalog)

    @classmethod
    def from_toml(cls, path: Path, table: str = "prices") -> PriceTable:
        """From the `[prices."<model>"]` tables of a TOML file (the catalog's when it has none)."""
        with path.open("rb") as file:
            document = tomllib.load(file)
        section = document.get(table, {})
        if not isinstance(section, dict):
            raise ValueError(f"{path}: [{table}] must be a table of models")
        return cls.from_mapping(section)

    def price(self, model: str, tier: ServiceTier = "standard") -> ModelPrice | None:
        known = self.catalog.get(model)
        return None if known is None else known.prices.get(tier)

    def cost(self, model: str, usage: Usage, tier: ServiceTier = "standard") -> Decimal | None:
        """USD for `usage` on `model` at `tier`; None when that price is unknown.

        `prompt_tokens` includes the cached and the cache-written ones (as OpenAI
        reports it), which are charged at their own rates instead; reasoning tokens
        are part of `completion_tokens`, charged as output.
        """
        price = self.price(model, tier)
        if price is None:
            return None
        cached = min(usage.cached_tokens, usage.prompt_tokens)
        written = min(usage.cache_write_tokens, usage.prompt_tokens - cached)
        uncached = usage.prompt_tokens - cached - written
        write_price = price.cache_write if price.cache_write is not None else price.input
        total = (
            uncached * price.input
            + cached * price.cached_input
            + written * write_price
            + usage.completion_tokens * price.output
        )
        return total / _PER_TOKENS
