"""What Supporter knows of each model, as data: how to call it, what it costs, when it goes.

The packaged `models.toml` is read first; a user's file in the same format
overrides or extends it, model by model and field by field (a new price or
shutdown date needs no release). An unknown model is not an error: it is
called with the parameters every chat model takes, and its cost is unknown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, get_args

__all__ = [
    "EFFORTS",
    "SERVICE_TIERS",
    "SHUTDOWN_WARNING_DAYS",
    "ModelCatalog",
    "ModelInfo",
    "ModelPrice",
    "Sampling",
    "ServiceTier",
    "parse_price",
    "shutdown_notice",
]

ServiceTier = Literal["standard", "batch", "flex", "priority"]
SERVICE_TIERS: Final[tuple[ServiceTier, ...]] = get_args(ServiceTier)
Sampling = Literal["always", "reasoning-off", "never"]
# Every `reasoning_effort` the API knows, least first.
EFFORTS: Final = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
# Dated snapshots ("gpt-4o-2024-08-06") are their alias's model.
_SNAPSHOT_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")
_PRICE_KEYS: Final = frozenset({"input", "cached_input", "cache_write", "output"})
_MODEL_KEYS: Final = frozenset(
    {
        "family",
        "reasoning_efforts",
        "default_effort",
        "sampling",
        "context_window",
        "max_output_tokens",
        "shutdown",
        "replacement",
        "prices",
    }
)


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per 1M tokens. `cache_write` is None where writes to the prompt cache are not
    billed apart: they cost `input`."""

    input: Decimal
    cached_input: Decimal
    output: Decimal
    cache_write: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("input", "cached_input", "output", "cache_write"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"price {name} must not be negative")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    family: str = ""
    # The `reasoning_effort` values it accepts; empty for a model that does not reason.
    reasoning_efforts: tuple[str, ...] = ()
    default_effort: str | None = None
    sampling: Sampling = "always"
    context_window: int | None = None
    max_output_tokens: int | None = None
    shutdown: dt.date | None = None
    replacement: str | None = None
    prices: Mapping[ServiceTier, ModelPrice] = field(default_factory=dict)

    @property
    def reasons(self) -> bool:
        return bool(self.reasoning_efforts)

    def effort(self, wanted: str) -> str | None:
        """The effort to ask for when `wanted` is preferred: it, when the model takes it;
        else the nearest it takes above it; None for a model that does not reason."""
        if not self.reasons:
            return None
        rank = EFFORTS.index(wanted) if wanted in EFFORTS else EFFORTS.index("medium")
        for candidate in EFFORTS[rank:]:
            if candidate in self.reasoning_efforts:
                return candidate
        return self.default_effort

    def takes_sampling(self, effort: str | None) -> bool:
        """Whether `temperature`/`top_p` may be sent with this reasoning effort."""
        if self.sampling == "always":
            return True
        return self.sampling == "reasoning-off" and effort == "none"

    def days_left(self, today: dt.date) -> int | None:
        return None if self.shutdown is None else (self.shutdown - today).days


# How long before a model's shutdown every run and worker says so at start.
SHUTDOWN_WARNING_DAYS: Final = 60


def shutdown_notice(info: ModelInfo, today: dt.date) -> str | None:
    """A warning when `info` shuts down within SHUTDOWN_WARNING_DAYS, else None.

    Raises ValueError, naming the replacement, for a model already shut down: every
    request to it would fail."""
    days = info.days_left(today)
    if days is None or days > SHUTDOWN_WARNING_DAYS:
        return None
    instead = (
        f"use --model {info.replacement}, OpenAI's named replacement"
        if info.replacement
        else "choose another with --model (`supporter models` lists them)"
    )
    if days <= 0:
        raise ValueError(f"model {info.name} was shut down on {info.shutdown}: {instead}")
    return f"model {info.name} shuts down on {info.shutdown} (in {days} days): {instead}"


class ModelCatalog:
    """Models by name: the packaged table, then `user_file` over it."""

    def __init__(self, models: Mapping[str, ModelInfo]) -> None:
        self._models = dict(models)

    @classmethod
    def load(cls, user_file: Path | None = None) -> ModelCatalog:
        """Raises ValueError naming the file and the field for a bad entry."""
        packaged = resources.files("supporter.llm").joinpath("models.toml")
        raw = _models_section(tomllib.loads(packaged.read_text(encoding="utf-8")), "models.toml")
        if user_file is not None:
            try:
                with user_file.open("rb") as file:
                    document = tomllib.load(file)
            except (OSError, tomllib.TOMLDecodeError) as error:
                raise ValueError(f"{user_file}: {error}") from None
            for name, entry in _models_section(document, str(user_file)).items():
                raw[name] = _merge(raw.get(name, {}), entry)
            source = str(user_file)
        else:
            source = "models.toml"
        return cls({name: _model(name, entry, source) for name, entry in raw.items()})

    def get(self, model: str) -> ModelInfo | None:
        found = self._models.get(model)
        if found is None:
            found = self._models.get(_SNAPSHOT_SUFFIX.sub("", model))
        return found

    def info(self, model: str) -> ModelInfo:
        """What is known of `model`; an unknown one takes every chat model's parameters."""
        return self.get(model) or ModelInfo(name=model)

    def names(self) -> list[str]:
        return sorted(self._models)

    def with_prices(self, overrides: Mapping[str, ModelPrice]) -> ModelCatalog:
        """The catalog with these standard-tier prices (the `[prices."model"]` tables)."""
        models = dict(self._models)
        for name, price in overrides.items():
            known = self.info(name)
            prices = {**known.prices, "standard": price}
            models[name] = dataclasses.replace(known, prices=prices)
        return ModelCatalog(models)


def _models_section(document: Mapping[str, Any], source: str) -> dict[str, dict[str, Any]]:
    section = document.get("models", {})
    if not isinstance(section, dict) or not all(isinstance(v, dict) for v in section.values()):
        raise ValueError(f'{source}: [models."<name>"] must be tables, one per model')
    return {name: dict(entry) for name, entry in section.items()}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _model(name: str, entry: Mapping[str, Any], source: str) -> ModelInfo:
    where = f'{source}: [models."{name}"]'
    unknown = set(entry) - _MODEL_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
    efforts = entry.get("reasoning_efforts", [])
    if not isinstance(efforts, list) or not all(effort in EFFORTS for effort in efforts):
        raise ValueError(f"{where}: reasoning_efforts must be a list of {list(EFFORTS)}")
    sampling = entry.get("sampling", "always")
    if sampling not in get_args(Sampling):
        raise ValueError(f"{where}: sampling must be one of {list(get_args(Sampling))}")
    shutdown = entry.get("shutdown")
    if shutdown is not None and not isinstance(shutdown, dt.date):
        raise ValueError(f"{where}: shutdown must be a date (2027-01-14, unquoted)")
    prices = entry.get("prices", {})
    if not isinstance(prices, dict):
        raise ValueError(f"{where}: prices must be a table of service tiers")
    bad_tiers = set(prices) - set(SERVICE_TIERS)
    if bad_tiers:
        raise ValueError(f"{where}: unknown service tiers {sorted(bad_tiers)}")
    return ModelInfo(
        name=name,
        family=str(entry.get("family", "")),
        reasoning_efforts=tuple(efforts),
        default_effort=_optional_text(entry, "default_effort", where),
        sampling=sampling,
        context_window=_optional_int(entry, "context_window", where),
        max_output_tokens=_optional_int(entry, "max_output_tokens", where),
        shutdown=shutdown,
        replacement=_optional_text(entry, "replacement", where),
        prices={tier: parse_price(f"{where} prices.{tier}", v) for tier, v in prices.items()},
    )


def parse_price(where: str, entry: object) -> ModelPrice:
    """A price from `{input, cached_input?, cache_write?, output}` (USD per 1M tokens);
    `cached_input` defaults to `input` for a provider without a cache discount."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: a price must be a table of input, cached_input, output")
    unknown = set(entry) - _PRICE_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    if "input" not in entry or "output" not in entry:
        raise ValueError(f"{where}: needs input and output (USD per 1M tokens)")
    input_price = _decimal(where, "input", entry["input"])
    write = entry.get("cache_write")
    return ModelPrice(
        input=input_price,
        cached_input=_decimal(where, "cached_input", entry.get("cached_input", input_price)),
        output=_decimal(where, "output", entry["output"]),
        cache_write=None if write is None else _decimal(where, "cache_write", write),
    )


def _decimal(where: str, key: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"{where}: {key} must be a number")
    try:
        # Through str so 2.5 (a float from TOML) becomes exactly Decimal("2.5").
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{where}: {key} must be a number, not {value!r}") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{where}: {key} must be a non-negative number")
    return number


def _optional_text(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where}: {key} must be text")
    return value


def _optional_int(entry: Mapping[str, Any], key: str, where: str) -> int | None:
    value = entry.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{where}: {key} must be a positive whole number")
    return value
