"""The model table: packaged facts, a user's file over them, shutdown notices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from supporter.llm.catalog import ModelCatalog, shutdown_notice

TODAY = dt.date(2026, 12, 6)


def test_the_packaged_table_knows_the_current_and_the_retiring_models() -> None:
    catalog = ModelCatalog.load()
    luna = catalog.info("gpt-6-luna")
    assert luna.reasons
    assert "none" in luna.reasoning_efforts
    assert luna.shutdown is None
    sol = catalog.info("gpt-6.2-sol")
    assert "none" not in sol.reasoning_efforts
    assert not sol.takes_sampling("low")
    gpt_4o = catalog.info("gpt-4o-2024-08-06")  # a snapshot is its alias
    assert gpt_4o.shutdown == dt.date(2027, 1, 14)
    assert gpt_4o.replacement == "gpt-6-luna"
    assert catalog.info("gpt-5-mini").shutdown == dt.date(2026, 12, 11)


def test_the_effort_asked_for_is_one_the_model_takes() -> None:
    catalog = ModelCatalog.load()
    assert catalog.info("gpt-6-luna").effort("low") == "low"
    # No "none" on gpt-6.2-sol: the least it takes above it.
    assert catalog.info("gpt-6.2-sol").effort("none") == "low"
    assert catalog.info("gpt-4o").effort("low") is None
    assert catalog.info("gpt-6-luna").takes_sampling("none")
    assert not catalog.info("gpt-6-luna").takes_sampling("low")


def test_a_user_file_overrides_a_field_and_adds_a_model(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        '[models."gpt-6-luna"]\n'
        "prices.standard.output = 0.40\n"
        '[models."my-vllm-model"]\n'
        'family = "llama"\n'
        "prices.standard = { input = 0, output = 0 }\n",
        encoding="utf-8",
    )
    catalog = ModelCatalog.load(path)
    luna = catalog.info("gpt-6-luna")
    assert luna.prices["standard"].output == Decimal("0.40")
    assert luna.prices["standard"].input == Decimal("0.10")  # the rest stays
    assert luna.prices["batch"].output == Decimal("0.25")
    assert catalog.info("my-vllm-model").prices["standard"].input == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[models."m"]\nreasoning_efforts = ["turbo"]\n', r'\[models."m"\]: reasoning_efforts'),
        ('[models."m"]\nshutdown = "soon"\n', r'\[models."m"\]: shutdown must be a date'),
        ('[models."m"]\nprices.fast = { input = 1, output = 1 }\n', "unknown service tiers"),
        ('[models."m"]\nprices.flex = { input = 1 }\n', "prices.flex: needs input and output"),
        ('[models."m"]\ncolour = "red"\n', r"unknown fields \['colour'\]"),
        ("[models\n", "Expected"),
    ],
)
def test_a_bad_user_file_names_the_file_and_the_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as caught:
        ModelCatalog.load(path)
    assert "mine.toml" in str(caught.value)


def test_shutdown_notices_warn_within_60_days_and_refuse_after() -> None:
    catalog = ModelCatalog.load()
    gpt_4o = catalog.info("gpt-4o")
    assert shutdown_notice(gpt_4o, dt.date(2026, 11, 1)) is None  # 74 days left
    notice = shutdown_notice(gpt_4o, TODAY)
    assert notice is not None
    assert "shuts down on 2027-01-14 (in 39 days)" in notice
    assert "--model gpt-6-luna" in notice
    with pytest.raises(ValueError, match="was shut down on 2027-01-14: use --model gpt-6-luna"):
        shutdown_notice(gpt_4o, dt.date(2027, 1, 14))
    assert shutdown_notice(catalog.info("gpt-6-luna"), TODAY) is None
    assert shutdown_notice(catalog.info("some-local-model"), TODAY) is None
